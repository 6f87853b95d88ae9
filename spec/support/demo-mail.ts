/**
 * A small SMTP client and the demo SMTP server for the protocol specs, over lib/: `smtpLogin`
 * connects, authenticates with the profile's client and quits; `startSmtpServer` is `saslkit
 * serve`'s SMTP server with the demo accounts and no TLS. The IMAP client is
 * examples/imap-client.ts itself, which the IMAP spec runs (spec/support/run-example.ts).
 */
import { type Socket, connect } from 'node:net';
import {
  DEMO_EXTERNAL_IDENTITY,
  DEMO_PASSWORD,
  DEMO_TOKEN,
  DEMO_USER,
  demoCredentials,
  demoServerOptions,
  demoStore,
} from '../../lib/cli/demo.js';
import { startAuthServer } from '../../lib/cli/server.js';
import {
  type ClientCredentials,
  type ClientOptions,
  type LineClientResult,
  LineReader,
  SASLAuth,
  type ServerOptions,
  lineWriter,
  parseEhlo,
  readSmtpReply,
  smtpClientAuth,
} from '../../lib/index.js';

export { DEMO_EXTERNAL_IDENTITY, DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, demoCredentials, demoServerOptions, demoStore };

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

/** Options of {@link startSmtpServer}. */
export interface SmtpServerOptions {
  /** Port to listen on; 0 picks a free one. Default 2525. */
  readonly port?: number;
  /** The mechanisms to offer. Default: every built-in one. */
  readonly auth?: SASLAuth;
  /** Server options for the mechanisms. Default {@link demoServerOptions}. */
  readonly options?: ServerOptions;
  /** Where to report what happens (one line per AUTH attempt). Default: nowhere. */
  readonly log?: (text: string) => void;
}

/** A running server. */
export interface RunningSmtpServer {
  /** The port it listens on, at 127.0.0.1. */
  readonly port: number;
  /** The mechanisms it advertises. */
  readonly mechanisms: readonly string[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the demo SMTP server on 127.0.0.1. */
export async function startSmtpServer(settings: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  const log = settings.log;
  const server = await startAuthServer({
    protocol: 'smtp',
    port: settings.port ?? 2525,
    auth: settings.auth ?? SASLAuth.all(),
    options: settings.options ?? demoServerOptions(),
    ...(log === undefined
      ? {}
      : {
          onAuth: (attempt) => {
            if (attempt.ok)
              log(
                `AUTH ${attempt.mechanism}: authenticated ${attempt.user ?? ''}${attempt.authzid === attempt.user ? '' : ` as ${attempt.authzid ?? ''}`}`,
              );
            else log(`AUTH refused: ${attempt.code === 'STORE_ERROR' ? 'store error' : (attempt.code ?? '')}`);
          },
        }),
  });
  return { port: server.port, mechanisms: server.mechanisms, close: () => server.close() };
}
