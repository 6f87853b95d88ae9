/**
 * `npm start`: starts examples/smtp-server.ts in-process on a free 127.0.0.1 port and logs in
 * with every mechanism it offers, through examples/smtp-client.ts, then prints a table.
 * -PLUS mechanisms are skipped: they need TLS channel binding, and this demo has no TLS.
 * Exits 0 only if every login succeeded.
 *
 *   npx ts-node examples/smtp-demo.ts
 */
import { performance } from 'node:perf_hooks';
import { ClientCredentials, SASLAuth, isSaslError } from '../lib/index.js';
import { smtpLogin } from './smtp-client.js';
import { DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, startSmtpServer } from './smtp-server.js';

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

interface Row {
  readonly mechanism: string;
  readonly result: string;
  readonly roundTrips: string;
  readonly ms: string;
  readonly ok: boolean;
}

function table(rows: readonly Row[]): string {
  const header: Row = { mechanism: 'mechanism', result: 'result', roundTrips: 'round trips', ms: 'ms', ok: true };
  const all = [header, ...rows];
  const width = (key: 'mechanism' | 'result' | 'roundTrips' | 'ms'): number => Math.max(...all.map((row) => row[key].length));
  const line = (row: Row): string =>
    `${row.mechanism.padEnd(width('mechanism'))}  ${row.result.padEnd(width('result'))}  ${row.roundTrips.padStart(width('roundTrips'))}  ${row.ms.padStart(width('ms'))}`;
  const rule = '-'.repeat(line(header).length);
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const server = await startSmtpServer({ port: 0 });
  const rows: Row[] = [];
  try {
    console.log(`saslkit SMTP demo: server on 127.0.0.1:${server.port} offers AUTH ${server.mechanisms.join(' ')}`);
    const attempts: { label: string; mechanism: string; credentials: ClientCredentials }[] = server.mechanisms.map((mechanism) => ({
      label: mechanism,
      mechanism,
      credentials: demoCredentials(mechanism),
    }));
    // bob is stored as SCRAM secrets only: the server never sees or keeps his password.
    if (server.mechanisms.includes('SCRAM-SHA-256')) {
      attempts.push({ label: 'SCRAM-SHA-256 (bob)', mechanism: 'SCRAM-SHA-256', credentials: new ClientCredentials('bob', 'bob-pass') });
    }
    for (const attempt of attempts) {
      const started = performance.now();
      try {
        const result = await smtpLogin({
          port: server.port,
          mechanism: attempt.mechanism,
          credentials: attempt.credentials,
          client: { host: 'localhost', service: 'smtp', port: server.port },
        });
        const verified = result.serverVerified ? ', server verified' : '';
        rows.push({ mechanism: attempt.label, result: `ok${verified}`, roundTrips: String(result.roundTrips), ms: (performance.now() - started).toFixed(1), ok: true });
      } catch (error) {
        const reason = isSaslError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
        rows.push({ mechanism: attempt.label, result: `FAILED (${reason})`, roundTrips: '-', ms: (performance.now() - started).toFixed(1), ok: false });
      }
    }
    for (const name of SASLAuth.all().serverMechanisms.map((m) => m.name).filter((n) => n.endsWith('-PLUS'))) {
      rows.push({ mechanism: name, result: 'skipped (needs TLS channel binding)', roundTrips: '-', ms: '-', ok: true });
    }
  } finally {
    await server.close();
  }
  console.log(table(rows));
  const failed = rows.filter((row) => !row.ok).length;
  console.log(failed === 0 ? `all ${rows.filter((r) => r.roundTrips !== '-').length} logins succeeded` : `${failed} login(s) failed`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
