/**
 * Logs in to an IMAP server (Dovecot, for example) with imapClientAuth: reads the greeting,
 * asks for CAPABILITY when the greeting has none, authenticates with the chosen mechanism (or
 * the strongest one offered), prints the capabilities and the result, and LOGOUTs.
 *
 *   SASLKIT_PASSWORD=alice-pass npx ts-node examples/imap-client.ts [host] [port] [user] [mechanism] [--tls]
 *
 * Defaults: 127.0.0.1 143 alice (the strongest offered). `--tls` connects with implicit TLS
 * (IMAPS, port 993) and offers SCRAM channel binding; SASLKIT_TLS_INSECURE=1 accepts a
 * self-signed certificate. For XOAUTH2 and OAUTHBEARER, SASLKIT_PASSWORD is the token.
 * Exits 0 when the login succeeded.
 */
import { type Socket, connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type ChannelBindingSource,
  ClientCredentials,
  type ImapCapabilities,
  type ImapClientResult,
  LineReader,
  isSaslError,
  lineWriter,
  imapClientAuth,
  parseImapCapabilities,
  tlsChannelBinding,
} from 'saslkit';

/** Options of {@link imapLogin}. */
export interface ImapLoginOptions {
  readonly host?: string;
  readonly port: number;
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server offers. */
  readonly mechanism?: string;
  /** Implicit TLS (IMAPS). */
  readonly tls?: boolean;
  /** With `tls`: accept a certificate that does not verify (a test server's self-signed one). */
  readonly insecure?: boolean;
  /** Gives up after this many milliseconds. Default 20000 (Dovecot delays after failures). */
  readonly timeoutMs?: number;
}

/** What {@link imapLogin} did. */
export interface ImapLoginResult extends ImapClientResult {
  /** The capabilities the server announced before authentication. */
  readonly before: ImapCapabilities;
}

/** Connects, authenticates, logs out. Rejects with the typed error of the exchange. */
export async function imapLogin(options: ImapLoginOptions): Promise<ImapLoginResult> {
  const host = options.host ?? '127.0.0.1';
  let binding: ChannelBindingSource | undefined;
  let socket: Socket;
  if (options.tls === true) {
    const secure = tlsConnect({
      host,
      port: options.port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: options.insecure !== true,
    });
    // Taken at the handshake, before anything else reads the peer certificate.
    secure.once('secureConnect', () => {
      binding = tlsChannelBinding(secure, 'client');
    });
    socket = secure;
  } else {
    socket = connect({ host, port: options.port });
  }
  socket.setNoDelay(true);
  socket.setTimeout(options.timeoutMs ?? 20000, () => socket.destroy(new Error('IMAP login timed out')));
  const lines = new LineReader(socket);
  const write = lineWriter(socket);
  const read = async (): Promise<string> => {
    const next = await lines.next();
    if (next.done === true) throw new Error('the server closed the connection');
    return next.value;
  };
  try {
    const greeting = await read();
    if (!greeting.startsWith('* OK')) throw new Error('the server did not greet with OK');
    let before = parseImapCapabilities(greeting);
    if (!/\[CAPABILITY /i.test(greeting)) {
      await write('c1 CAPABILITY');
      for (let line = await read(); !line.startsWith('c1 '); line = await read()) {
        if (/^\* CAPABILITY /i.test(line)) before = parseImapCapabilities(line);
      }
    }
    const result = await imapClientAuth({
      tag: 'a1',
      capabilities: before,
      credentials: options.credentials,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      // Outside TLS, never pick PLAIN or LOGIN by itself: a man in the middle could strip the rest.
      choose: { channelBinding: binding !== undefined, encrypted: options.tls === true },
      client: {
        host,
        port: options.port,
        service: 'imap',
        ...(binding === undefined ? {} : { channelBindingData: binding }),
      },
      lines,
      write,
    });
    await write('z1 LOGOUT');
    for (let line = await read().catch(() => 'z1 '); !line.startsWith('z1 '); line = await read().catch(() => 'z1 ')) {
      // Skip the untagged BYE.
    }
    return { ...result, before };
  } finally {
    lines.close();
    socket.destroy();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const tls = args.includes('--tls');
  const [host = '127.0.0.1', port = tls ? '993' : '143', user = 'alice', mechanism] = args.filter(
    (arg) => arg !== '--tls',
  );
  const secret = process.env['SASLKIT_PASSWORD'];
  if (secret === undefined) throw new Error('set SASLKIT_PASSWORD to the password (or the bearer token)');
  const result = await imapLogin({
    host,
    port: Number(port),
    credentials: new ClientCredentials(user, secret),
    ...(mechanism === undefined ? {} : { mechanism }),
    tls,
    insecure: process.env['SASLKIT_TLS_INSECURE'] === '1',
  });
  console.log(`capabilities: ${result.before.atoms.join(' ')}`);
  console.log(
    `logged in as ${user} with ${result.mechanism} in ${result.roundTrips} round trip(s)${result.serverVerified ? ', server verified' : ''}: ${result.text}`,
  );
  if (result.capabilities) console.log(`capabilities after login: ${result.capabilities.atoms.join(' ')}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(
      `login failed: ${isSaslError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
