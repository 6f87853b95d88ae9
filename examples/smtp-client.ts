/**
 * Logs in to an SMTP server with smtpClientAuth: reads the greeting, sends EHLO, upgrades with
 * STARTTLS when the server offers it (and EHLOs again), authenticates with the chosen mechanism
 * or the strongest one offered, and QUITs. Inside TLS, SCRAM-*-PLUS binds the login to the
 * connection; outside it, the client never picks PLAIN or LOGIN by itself (`encrypted: false`),
 * so a man in the middle who strips STARTTLS and SCRAM does not get the password.
 *
 *   npx ts-node examples/smtp-client.ts [host] [port] [mechanism] [user] [--no-starttls] [--allow-plaintext]
 *
 * Defaults: 127.0.0.1 2525 (the strongest offered) alice. The password (for XOAUTH2 and
 * OAUTHBEARER, the token) comes from SASLKIT_PASSWORD, default alice-pass, which fits
 * examples/smtp-server.ts. SASLKIT_TLS_INSECURE=1 accepts a certificate that does not verify
 * (that server's throwaway one). A mechanism that sends the secret itself is refused outside TLS
 * unless `--allow-plaintext` (a test server without TLS). Exits 0 when the login succeeded.
 */
import { once } from 'node:events';
import { type Socket, connect, isIP } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  type ChannelBindingSource,
  ClientCredentials,
  type LineClientResult,
  LineReader,
  isSaslError,
  lineWriter,
  parseEhlo,
  readSmtpReply,
  sendsSecretInClear,
  smtpClientAuth,
  tlsChannelBinding,
} from 'saslkit';

/** Options of {@link smtpLogin}. */
export interface SmtpLoginOptions {
  /** Server host. Default 127.0.0.1. */
  readonly host?: string;
  readonly port: number;
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server offers that suits the connection. */
  readonly mechanism?: string;
  /** Upgrade with STARTTLS when the server offers it. Default true. */
  readonly starttls?: boolean;
  /** Accept a TLS certificate that does not verify (a test server's self-signed one). */
  readonly insecure?: boolean;
  /** Send PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER (the secret itself) outside TLS when named. Default false. */
  readonly allowPlaintext?: boolean;
  /** Gives up after this many milliseconds. Default 10000. */
  readonly timeoutMs?: number;
}

/** What {@link smtpLogin} did. */
export interface SmtpLoginResult extends LineClientResult {
  /** The TLS version after STARTTLS, or undefined in the clear. */
  readonly tls: string | undefined;
  /** The mechanisms the server offered in the EHLO the login used. */
  readonly offered: readonly string[];
}

/** Connects, authenticates, QUITs. Rejects with the typed error of the exchange (its message has the server's reply, never a secret). */
export async function smtpLogin(options: SmtpLoginOptions): Promise<SmtpLoginResult> {
  const host = options.host ?? '127.0.0.1';
  let socket: Socket = connect({ host, port: options.port, noDelay: true });
  const timer = setTimeout(() => socket.destroy(new Error('SMTP login timed out')), options.timeoutMs ?? 10_000);
  let lines = new LineReader(socket);
  let write = lineWriter(socket);
  try {
    await once(socket, 'connect');
    const greeting = await readSmtpReply(lines);
    if (greeting.code !== 220) throw new Error(`unexpected greeting ${String(greeting.code)}`);
    await write('EHLO client.example');
    let ehlo = parseEhlo(await readSmtpReply(lines));
    let tls: TLSSocket | undefined;
    let binding: ChannelBindingSource | undefined;
    if (options.starttls !== false && ehlo.keywords.has('STARTTLS')) {
      await write('STARTTLS');
      const reply = await readSmtpReply(lines);
      if (reply.code !== 220) throw new Error(`STARTTLS refused: ${String(reply.code)}`);
      lines.close();
      socket.pause(); // the server's handshake bytes stay in the socket for TLS
      const secure = tlsConnect({
        socket,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        rejectUnauthorized: options.insecure !== true,
      });
      // Taken at the handshake, before anything else reads the peer certificate.
      secure.once('secureConnect', () => {
        binding = tlsChannelBinding(secure, 'client');
      });
      await once(secure, 'secureConnect');
      tls = secure;
      socket = secure;
      lines = new LineReader(secure);
      write = lineWriter(secure);
      // Nothing from before TLS is trusted: ask again what the server offers.
      await write('EHLO client.example');
      ehlo = parseEhlo(await readSmtpReply(lines));
    }
    // Naming PLAIN is consent to send the password, but not in the clear: ask for that separately.
    if (
      tls === undefined &&
      options.mechanism !== undefined &&
      sendsSecretInClear(options.mechanism) &&
      options.allowPlaintext !== true
    ) {
      throw new Error(
        `${options.mechanism.toUpperCase()} would send the secret without TLS; refusing (allowPlaintext to send it anyway)`,
      );
    }
    const result = await smtpClientAuth({
      credentials: options.credentials,
      offered: ehlo.mechanisms,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      choose: { encrypted: tls !== undefined },
      client: { host, service: 'smtp', ...(binding === undefined ? {} : { channelBindingData: binding }) },
      lines,
      write,
    });
    await write('QUIT');
    await readSmtpReply(lines).catch(() => undefined);
    return { ...result, tls: tls?.getProtocol() ?? undefined, offered: ehlo.mechanisms };
  } finally {
    clearTimeout(timer);
    lines.close();
    socket.destroy();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [host = '127.0.0.1', port = '2525', mechanism = '', user = 'alice'] = args.filter(
    (arg) => !arg.startsWith('--'),
  );
  const insecure = process.env['SASLKIT_TLS_INSECURE'] === '1';
  const result = await smtpLogin({
    host,
    port: Number(port),
    credentials: new ClientCredentials(user, process.env['SASLKIT_PASSWORD'] ?? 'alice-pass'),
    ...(mechanism === '' ? {} : { mechanism }),
    starttls: !args.includes('--no-starttls'),
    allowPlaintext: args.includes('--allow-plaintext'),
    insecure,
  });
  console.log(
    result.tls === undefined
      ? 'no TLS'
      : `STARTTLS: ${result.tls}${insecure ? ' (certificate not verified: SASLKIT_TLS_INSECURE=1)' : ''}`,
  );
  console.log(`server offers: ${result.offered.join(' ')}`);
  console.log(
    `logged in as ${user} with ${result.mechanism} in ${String(result.roundTrips)} round trip(s)${result.serverVerified ? ', server verified' : ''}: ${result.text}`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(
      `login failed: ${isSaslError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
