/**
 * Logs in to an SMTP server with smtpClientAuth: connects, reads the greeting and the EHLO
 * reply, authenticates with the chosen mechanism (or the strongest one offered), and QUITs.
 *
 *   npx ts-node examples/smtp-client.ts [host] [port] [mechanism] [user]
 *
 * Defaults: 127.0.0.1 2525 (the strongest offered) alice. The password (or, for XOAUTH2 and
 * OAUTHBEARER, the token) comes from SASLKIT_PASSWORD, default alice-pass, which fits
 * examples/smtp-server.ts. Exits 0 when the login succeeded.
 *
 * The exports are reused by examples/smtp-demo.ts and the specs.
 */
import { type Socket, connect } from 'node:net';
import {
  ClientCredentials,
  type ClientOptions,
  type LineClientResult,
  LineReader,
  isSaslError,
  lineWriter,
  parseEhlo,
  readSmtpReply,
  smtpClientAuth,
} from '../lib/index.js';

/** Options of {@link smtpLogin}. */
export interface SmtpLoginOptions {
  /** Server host. Default 127.0.0.1. */
  readonly host?: string;
  /** Server port. */
  readonly port: number;
  /** Who to log in as. */
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server offers. */
  readonly mechanism?: string;
  /** Options for the client mechanism (DIGEST-MD5 needs host and service). */
  readonly client?: ClientOptions;
  /** Gives up after this many milliseconds. Default 10000. */
  readonly timeoutMs?: number;
}

/** What {@link smtpLogin} did. */
export interface SmtpLoginResult extends LineClientResult {
  /** The mechanisms the server advertised in EHLO. */
  readonly offered: readonly string[];
}

/**
 * Connects, reads the greeting and EHLO, authenticates, sends QUIT and closes. Rejects with
 * the typed error of the exchange (for example AUTHENTICATION_FAILED with the server's reply).
 */
export async function smtpLogin(options: SmtpLoginOptions): Promise<SmtpLoginResult> {
  const socket: Socket = connect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
  socket.setTimeout(options.timeoutMs ?? 10000, () => socket.destroy(new Error('SMTP login timed out')));
  const lines = new LineReader(socket);
  const write = lineWriter(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const greeting = await readSmtpReply(lines);
    if (greeting.code !== 220) throw new Error(`unexpected greeting ${greeting.code}`);
    await write('EHLO client.example');
    const ehlo = parseEhlo(await readSmtpReply(lines));
    const result = await smtpClientAuth({
      credentials: options.credentials,
      offered: ehlo.mechanisms,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      ...(options.client === undefined ? {} : { client: options.client }),
      lines,
      write,
    });
    await write('QUIT');
    await readSmtpReply(lines).catch(() => undefined);
    return { ...result, offered: ehlo.mechanisms };
  } finally {
    lines.close();
    socket.destroy();
  }
}

async function main(): Promise<void> {
  const [host = '127.0.0.1', port = '2525', mechanism, user = 'alice'] = process.argv.slice(2);
  const secret = process.env['SASLKIT_PASSWORD'] ?? 'alice-pass';
  const result = await smtpLogin({
    host,
    port: Number(port),
    credentials: new ClientCredentials(user, secret),
    ...(mechanism === undefined || mechanism === '' ? {} : { mechanism }),
    client: { host: host === '127.0.0.1' ? 'localhost' : host, service: 'smtp', port: Number(port) },
  });
  console.log(`server offers: ${result.offered.join(' ')}`);
  console.log(`logged in as ${user} with ${result.mechanism} in ${result.roundTrips} round trip(s)${result.serverVerified ? ', server verified' : ''}: ${result.text}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`login failed: ${isSaslError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
