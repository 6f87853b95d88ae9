/**
 * A minimal SMTP server on 127.0.0.1 that speaks EHLO, AUTH and QUIT, with smtpServerAuth
 * doing the SASL part. It advertises every registered server mechanism it can serve (no
 * -PLUS: there is no TLS here).
 *
 *   npx ts-node examples/smtp-server.ts [port]      (or SMTP_PORT=...; default 2525)
 *
 * Demo accounts: alice / alice-pass (clear-text: every mechanism), bob / bob-pass (stored as
 * SCRAM secrets only: SCRAM, PLAIN, LOGIN), the bearer token alice-oauth-token for XOAUTH2 and
 * OAUTHBEARER, and the external identity alice for EXTERNAL. Stop it with Ctrl-C.
 *
 * The exports are reused by examples/smtp-demo.ts and the specs.
 */
import { type Server, type Socket, createServer } from 'node:net';
import {
  ClearIdentity,
  type Identity,
  LineReader,
  SASLAuth,
  SMTP_MAX_AUTH_LINE,
  ScramIdentity,
  type ServerOptions,
  advertisedMechanisms,
  isSaslError,
  lineWriter,
  smtpAuthKeyword,
  smtpServerAuth,
} from '../lib/index.js';

/** The demo account that every mechanism can log in as. */
export const DEMO_USER = 'alice';
/** alice's password. */
export const DEMO_PASSWORD = 'alice-pass';
/** A bearer token that the demo token validator accepts for alice. */
export const DEMO_TOKEN = 'alice-oauth-token';
/** The identity the demo server pretends the transport established, for EXTERNAL. */
export const DEMO_EXTERNAL_IDENTITY = 'alice';

/** The demo store: alice in clear text, bob as SCRAM secrets only. */
export function demoStore(): (authcid: string) => Identity | undefined {
  const accounts: Identity[] = [new ClearIdentity(DEMO_USER, DEMO_PASSWORD), ScramIdentity.create('bob', 'bob-pass', { iterations: 4096 })];
  return (authcid) => accounts.find((account) => account.authcid === authcid);
}

/** Server options for the demo: the store, a token validator, the external identity. */
export function demoServerOptions(): ServerOptions {
  return {
    lookup: demoStore(),
    hostname: 'localhost',
    externalIdentity: DEMO_EXTERNAL_IDENTITY,
    validateToken: ({ token }) => (token === DEMO_TOKEN ? { authcid: DEMO_USER } : { error: { status: 'invalid_token', schemes: 'bearer', scope: 'mail' } }),
  };
}

/** Options of {@link startSmtpServer}. */
export interface SmtpServerOptions {
  /** Port to listen on; 0 picks a free one. Default 2525. */
  readonly port?: number;
  /** The mechanisms to offer. Default: every built-in one. */
  readonly auth?: SASLAuth;
  /** Server options for the mechanisms. Default {@link demoServerOptions}. */
  readonly options?: ServerOptions;
  /** Where to report what happens (one line per event). Default: nowhere. */
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

const HOSTNAME = 'localhost';

/** Runs one SMTP session until QUIT or the connection closes. */
async function session(socket: Socket, auth: SASLAuth, options: ServerOptions, mechanisms: readonly string[], log: (text: string) => void): Promise<void> {
  const lines = new LineReader(socket, { maxLineLength: SMTP_MAX_AUTH_LINE + 1 });
  const write = lineWriter(socket);
  let user: string | undefined;
  try {
    await write(`220 ${HOSTNAME} ESMTP saslkit demo`);
    for (;;) {
      const next = await lines.next();
      if (next.done === true) return;
      const line = next.value;
      const verb = (line.split(' ')[0] ?? '').toUpperCase();
      switch (verb) {
        case 'EHLO':
          await write(`250-${HOSTNAME} Hello`);
          await write('250-ENHANCEDSTATUSCODES');
          await write(`250 ${smtpAuthKeyword(mechanisms)}`);
          break;
        case 'HELO':
          await write(`250 ${HOSTNAME}`);
          break;
        case 'AUTH':
          if (user !== undefined) {
            await write('503 5.5.1 Already authenticated');
            break;
          }
          try {
            const result = await smtpServerAuth({ command: line, auth, options, lines, write });
            user = result.authzid;
            log(`AUTH ${result.mechanism}: authenticated ${result.authcid}${result.authzid === result.authcid ? '' : ` as ${result.authzid}`}`);
          } catch (error) {
            log(`AUTH refused: ${isSaslError(error) ? error.code : 'store error'}`);
          }
          break;
        case 'NOOP':
        case 'RSET':
          await write('250 2.0.0 OK');
          break;
        case 'QUIT':
          await write('221 2.0.0 Bye');
          socket.end();
          return;
        case 'MAIL':
        case 'RCPT':
        case 'DATA':
          await write(user === undefined ? '530 5.7.0 Authentication required' : '502 5.5.1 This demo does not take mail');
          break;
        default:
          await write('500 5.5.2 Command not recognized');
      }
    }
  } finally {
    lines.close();
  }
}

/** Starts the demo SMTP server on 127.0.0.1. */
export async function startSmtpServer(settings: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  const auth = settings.auth ?? SASLAuth.all();
  const options = settings.options ?? demoServerOptions();
  const log = settings.log ?? (() => undefined);
  // Without TLS there is no channel binding, so no -PLUS.
  const mechanisms = advertisedMechanisms(auth, { channelBinding: false });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Lines are small and each waits for an answer: send them at once.
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    session(socket, auth, options, mechanisms, log).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port ?? 2525, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    port: address.port,
    mechanisms,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? process.env['SMTP_PORT'] ?? 2525);
  const server = await startSmtpServer({ port, log: (text) => { console.log(text); } });
  console.log(`SMTP server on 127.0.0.1:${server.port}; AUTH ${server.mechanisms.join(' ')}`);
  const stop = (): void => {
    void server.close().then(() => {
      console.log('stopped');
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
