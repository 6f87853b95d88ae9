/**
 * A minimal SMTP server on 127.0.0.1 that speaks EHLO, AUTH and QUIT, with smtpServerAuth
 * doing the SASL part. It is the `saslkit serve` test server (lib/cli/server.ts) with the demo
 * accounts and no TLS, so it advertises every registered server mechanism except -PLUS.
 *
 *   npx ts-node examples/smtp-server.ts [port]      (or SMTP_PORT=...; default 2525)
 *
 * Demo accounts: alice / alice-pass (clear-text: every mechanism), bob / bob-pass (stored as
 * SCRAM secrets only: SCRAM, PLAIN, LOGIN), the bearer token alice-oauth-token for XOAUTH2 and
 * OAUTHBEARER, and the external identity alice for EXTERNAL. Stop it with Ctrl-C.
 *
 * With a users file instead of the demo accounts, and STARTTLS: `saslkit serve --help`.
 */
import { SASLAuth, type ServerOptions } from '../lib/index.js';
import { DEMO_EXTERNAL_IDENTITY, DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, demoServerOptions, demoStore } from '../lib/cli/demo.js';
import { startAuthServer } from '../lib/cli/server.js';

export { DEMO_EXTERNAL_IDENTITY, DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, demoServerOptions, demoStore };

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
            if (attempt.ok) log(`AUTH ${attempt.mechanism}: authenticated ${attempt.user ?? ''}${attempt.authzid === attempt.user ? '' : ` as ${attempt.authzid ?? ''}`}`);
            else log(`AUTH refused: ${attempt.code === 'STORE_ERROR' ? 'store error' : (attempt.code ?? '')}`);
          },
        }),
  });
  return { port: server.port, mechanisms: server.mechanisms, close: () => server.close() };
}

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? process.env['SMTP_PORT'] ?? 2525);
  const server = await startSmtpServer({
    port,
    log: (text) => {
      console.log(text);
    },
  });
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
