/**
 * `saslkit demo` (what `npm start` runs): starts saslkit SMTP and IMAP test servers on
 * 127.0.0.1 with a demo account store and a throwaway self-signed certificate, logs in to each
 * with every registered mechanism through saslkit's client (after STARTTLS, so that
 * SCRAM-*-PLUS has channel binding), and prints a table. Exit 0 when every login succeeded.
 *
 * The demo accounts live here too; the SMTP example server and its specs reuse them.
 * @module
 */
import { performance } from 'node:perf_hooks';
import {
  ClearIdentity,
  ClientCredentials,
  type Identity,
  SASLAuth,
  ScramIdentity,
  type ServerOptions,
  UsageError,
} from '../index.js';
import { flag, parseArgs, stringOption } from './args.js';
import { MailClient } from './mail-client.js';
import { type CliIo, EXIT, describeError, exitCodeFor, formatTable } from './io.js';
import { selfSignedCertificate } from './self-signed.js';
import { startAuthServer } from './server.js';
import { LineTracer } from './trace.js';
import { CLI_PROTOCOLS, type CliProtocol } from './url.js';

/** The demo account that every mechanism can log in as. */
export const DEMO_USER = 'alice';
/** alice's password. */
export const DEMO_PASSWORD = 'alice-pass';
/** A bearer token that the demo token validator accepts for alice. */
export const DEMO_TOKEN = 'alice-oauth-token';
/** The identity the demo server pretends the transport established, for EXTERNAL. */
export const DEMO_EXTERNAL_IDENTITY = 'alice';

/** The demo store: alice in clear text (every mechanism), bob as SCRAM secrets only (SCRAM, PLAIN, LOGIN). */
export function demoStore(): (authcid: string) => Identity | undefined {
  const accounts: Identity[] = [
    new ClearIdentity(DEMO_USER, DEMO_PASSWORD),
    ScramIdentity.create('bob', 'bob-pass', { iterations: 4096 }),
  ];
  return (authcid) => accounts.find((account) => account.authcid === authcid);
}

/** Server options for the demo: the store, a token validator, the external identity. */
export function demoServerOptions(): ServerOptions {
  return {
    lookup: demoStore(),
    hostname: 'localhost',
    externalIdentity: DEMO_EXTERNAL_IDENTITY,
    validateToken: ({ token }) =>
      token === DEMO_TOKEN
        ? { authcid: DEMO_USER }
        : { error: { status: 'invalid_token', schemes: 'bearer', scope: 'mail' } },
  };
}

/** The credentials the demo uses for a mechanism. */
export function demoCredentials(mechanism: string): ClientCredentials {
  switch (mechanism) {
    case 'XOAUTH2':
    case 'OAUTHBEARER':
      return new ClientCredentials(DEMO_USER, DEMO_TOKEN);
    case 'EXTERNAL':
      // No authzid: act as the identity the transport established.
      return new ClientCredentials('', '');
    case 'ANONYMOUS':
      // The authcid is the trace.
      return new ClientCredentials('demo@example.com', '');
    default:
      return new ClientCredentials(DEMO_USER, DEMO_PASSWORD);
  }
}

/** One login of the demo. */
export interface DemoRow {
  readonly protocol: CliProtocol;
  /** The mechanism, with the account when it is not alice. */
  readonly label: string;
  readonly ok: boolean;
  /** `ok`, what was proved, or the one-line reason of the failure. */
  readonly result: string;
  readonly roundTrips: number | undefined;
  /** Milliseconds of the SASL exchange (after connect and STARTTLS). */
  readonly ms: number;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The protocols to run. Default SMTP and IMAP. */
  readonly protocols?: readonly CliProtocol[];
  /** Receives the client-side trace of every login (decoded, secrets redacted). */
  readonly trace?: (line: string) => void;
  /** Called after each login. */
  readonly onRow?: (row: DemoRow) => void;
  /** Called once per server, when it listens. */
  readonly onServer?: (protocol: CliProtocol, port: number, mechanisms: readonly string[]) => void;
}

/** Runs the demo logins and returns one row each. Servers are closed before it resolves. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRow[]> {
  const certificate = selfSignedCertificate(1);
  const rows: DemoRow[] = [];
  const mechanisms = SASLAuth.all().clientMechanisms.map((m) => m.name);
  for (const protocol of options.protocols ?? ['smtp', 'imap']) {
    const server = await startAuthServer({
      protocol,
      auth: SASLAuth.all(),
      options: demoServerOptions(),
      tls: certificate,
      idleTimeoutMs: 10000,
    });
    try {
      options.onServer?.(protocol, server.port, server.mechanismsWithTls);
      const attempts = mechanisms.map((mechanism) => ({
        label: mechanism,
        mechanism,
        credentials: demoCredentials(mechanism),
      }));
      // bob is stored as SCRAM secrets only: the server never sees or keeps his password.
      attempts.push({
        label: 'SCRAM-SHA-256 (bob)',
        mechanism: 'SCRAM-SHA-256',
        credentials: new ClientCredentials('bob', 'bob-pass'),
      });
      for (const attempt of attempts) {
        const row = await login(protocol, server.port, certificate.cert, attempt, options.trace);
        rows.push(row);
        options.onRow?.(row);
      }
    } finally {
      await server.close();
    }
  }
  return rows;
}

async function login(
  protocol: CliProtocol,
  port: number,
  ca: string,
  attempt: { label: string; mechanism: string; credentials: ClientCredentials },
  trace: ((line: string) => void) | undefined,
): Promise<DemoRow> {
  const tracer =
    trace === undefined
      ? undefined
      : new LineTracer(trace, {
          side: 'client',
          prefix: `[${protocol} ${attempt.label}] `,
          secrets: [attempt.credentials.secret],
        });
  let client: MailClient | undefined;
  let started = performance.now();
  try {
    client = await MailClient.connect({
      target: { protocol, implicitTls: false, host: '127.0.0.1', port, user: undefined },
      ca,
      timeoutMs: 10000,
      tracer,
    });
    await client.startTls();
    started = performance.now();
    const result = await client.authenticate({ credentials: attempt.credentials, mechanism: attempt.mechanism });
    const ms = performance.now() - started;
    const binding = result.mechanism.endsWith('-PLUS') ? client.tls?.bindingTypes[0] : undefined;
    await client.quit();
    const notes = [...(result.serverVerified ? ['server verified'] : []), ...(binding === undefined ? [] : [binding])];
    return {
      protocol,
      label: attempt.label,
      ok: true,
      result: notes.length === 0 ? 'ok' : `ok (${notes.join(', ')})`,
      roundTrips: result.roundTrips,
      ms,
    };
  } catch (error) {
    client?.close();
    return {
      protocol,
      label: attempt.label,
      ok: false,
      result: `FAILED ${describeError(error, [attempt.credentials.secret])}`,
      roundTrips: undefined,
      ms: performance.now() - started,
    };
  }
}

/** `saslkit demo --help`. */
export const DEMO_HELP = `Usage: saslkit demo [--protocol LIST] [--trace]

Starts saslkit SMTP and IMAP test servers on 127.0.0.1 (free ports, a throwaway
self-signed certificate), logs in to each with every mechanism saslkit has, through
saslkit's own client after STARTTLS, and prints a table: protocol, mechanism, result,
round trips, time of the SASL exchange. Needs nothing but Node.

Accounts: alice / alice-pass (stored in clear: every mechanism), bob / bob-pass (stored as
SCRAM secrets only), the bearer token alice-oauth-token (OAUTHBEARER, XOAUTH2); for
EXTERNAL the demo server pretends that TLS identified the client as alice.

Options:
  --protocol LIST   which servers, comma-separated: smtp, imap, pop3 (default smtp,imap)
  --trace           print every exchange on standard error, decoded, secrets redacted
  -h, --help        this help

Examples:
  saslkit demo
  npm start
  saslkit demo --protocol pop3 --trace

Exit codes: 0 when every login succeeded, 1 when one failed, 2 for bad options.
`;

/** Runs `saslkit demo`. Resolves with the exit code. */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv, {
      protocol: { type: 'string' },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (flag(args, 'help')) {
      io.stdout.write(DEMO_HELP);
      return EXIT.OK;
    }
    if (args.positionals.length > 0) throw new UsageError('demo takes no positional arguments');
    const list = stringOption(args, 'protocol');
    const protocols =
      list === undefined
        ? undefined
        : list
            .split(/[\s,]+/)
            .filter((p) => p !== '')
            .map((p) => {
              const found = CLI_PROTOCOLS.find((known) => known === p.toLowerCase());
              if (found === undefined) throw new UsageError('--protocol lists smtp, imap or pop3');
              return found;
            });
    const trace = flag(args, 'trace') ? (line: string) => io.stderr.write(`${line}\n`) : undefined;
    io.stdout.write('saslkit demo: test servers on 127.0.0.1 with STARTTLS and a throwaway self-signed certificate\n');
    const rows = await runDemo({
      ...(protocols === undefined ? {} : { protocols }),
      ...(trace === undefined ? {} : { trace }),
      onServer: (protocol, port, offered) =>
        io.stdout.write(`  ${protocol} on 127.0.0.1:${port} offers after STARTTLS: ${offered.join(' ')}\n`),
    });
    io.stdout.write('\n');
    io.stdout.write(
      `${formatTable(
        ['protocol', 'mechanism', 'result', 'round trips', 'ms'],
        rows.map((row) => [
          row.protocol,
          row.label,
          row.result,
          row.roundTrips === undefined ? '-' : String(row.roundTrips),
          row.ms.toFixed(1),
        ]),
        [3, 4],
      )}\n`,
    );
    const failed = rows.filter((row) => !row.ok).length;
    io.stdout.write(
      failed === 0 ? `\nall ${rows.length} logins succeeded\n` : `\n${failed} of ${rows.length} logins failed\n`,
    );
    return failed === 0 ? EXIT.OK : EXIT.REFUSED;
  } catch (error) {
    io.stderr.write(`saslkit demo: ${describeError(error)}\n`);
    return exitCodeFor(error);
  }
}
