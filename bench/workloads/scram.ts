/**
 * SCRAM-SHA-256: the whole exchange (client and server), the client alone against a fixed
 * hand-written server, and the exchange with the salted password cached (no PBKDF2).
 */
import { createRequire } from 'node:module';
import { pbkdf2, randomBytes } from 'node:crypto';
import {
  BaselineScramClient,
  BaselineScramServer,
  ITERATIONS,
  PASSWORD,
  USER,
  baselineScramLogin,
  floorPbkdf2,
  scramRecord,
} from '../baselines.js';
import { type OpsWorkload, batched, batchedAsync, check, times, timesAsync } from '../harness.js';
import { sk } from '../saslkit.js';

/** pg's SCRAM client (node_modules/pg/lib/crypto/sasl.js), which has no type declarations. */
interface PgSession {
  response: string;
}
interface PgSasl {
  startSession(mechanisms: readonly string[], stream?: unknown): PgSession;
  continueSession(session: PgSession, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: PgSession, serverData: string): void;
}

const pgSasl = createRequire(__filename)('pg/lib/crypto/sasl') as PgSasl;

const salt = randomBytes(16);
// Built on first use: each costs a PBKDF2, and `npm run bench -- plain` needs neither.
let fixture: { record: ReturnType<typeof scramRecord>; serverOptions: { lookup: (name: string) => InstanceType<typeof sk.ScramIdentity> | undefined } } | undefined;

function setup(): NonNullable<typeof fixture> {
  if (fixture === undefined) {
    const identity = sk.ScramIdentity.create(USER, PASSWORD, { hashes: ['SHA-256'], iterations: ITERATIONS });
    fixture = { record: scramRecord(PASSWORD, salt), serverOptions: { lookup: (name) => (name === USER ? identity : undefined) } };
  }
  return fixture;
}

// The fixed server answers any user name: node-postgres sends `n=*`, as PostgreSQL expects.
const fixedServer = (): BaselineScramServer => {
  const { record } = setup();
  return new BaselineScramServer(() => record);
};
const credentials = new sk.ClientCredentials(USER, PASSWORD);

/** A saslkit login, both sides under the sync driver. */
function saslkitLoginSync(scramCache: boolean): void {
  const client = new sk.SyncClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache }));
  const server = new sk.SyncServerSession(sk.SCRAM_SHA_256.server(setup().serverOptions, client.start()));
  const first = server.start();
  check(!first.done, 'SCRAM server-first');
  const last = server.respond(client.challenge(first.challenge));
  check(last.done && last.outcome.authcid === USER, 'SCRAM server outcome');
  check(client.success(last.outcome.additionalData).serverVerified, 'SCRAM server verified');
}

/** A saslkit login, both sides under the promise driver (PBKDF2 on libuv's pool). */
async function saslkitLoginAsync(scramCache: boolean): Promise<void> {
  const client = new sk.PromiseClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache }));
  const server = new sk.PromiseServerSession(sk.SCRAM_SHA_256.server(setup().serverOptions, await client.start()));
  const first = await server.start();
  check(!first.done, 'SCRAM server-first');
  const last = await server.respond(await client.challenge(first.challenge));
  check(last.done && last.outcome.authcid === USER, 'SCRAM server outcome');
  check((await client.success(last.outcome.additionalData)).serverVerified, 'SCRAM server verified');
}

/** The saslkit client alone against the fixed server. */
function saslkitClientSync(scramCache: boolean): void {
  const server = fixedServer();
  const client = new sk.SyncClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache }));
  const final = server.final(client.challenge(server.first(client.start() as Uint8Array)));
  check(client.success(final).serverVerified, 'SCRAM client verified the fixed server');
}

async function saslkitClientAsync(scramCache: boolean): Promise<void> {
  const server = fixedServer();
  const client = new sk.PromiseClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache }));
  const final = server.final(await client.challenge(server.first((await client.start()) as Uint8Array)));
  check((await client.success(final)).serverVerified, 'SCRAM client verified the fixed server');
}

async function pgClient(): Promise<void> {
  const server = fixedServer();
  const session = pgSasl.startSession(['SCRAM-SHA-256']);
  const serverFirst = server.first(Buffer.from(session.response));
  await pgSasl.continueSession(session, PASSWORD, serverFirst.toString('utf8'));
  pgSasl.finalizeSession(session, server.final(Buffer.from(session.response)).toString('utf8'));
}

const floor = batched('floor: pbkdf2Sync 4096', 'floor', (n) => {
  times(n, () => floorPbkdf2(salt));
});

// What an async driver cannot avoid: one PBKDF2 on libuv's pool, awaited.
const asyncFloor = batchedAsync('floor, async: crypto.pbkdf2 on the pool', 'info', (n) =>
  timesAsync(
    n,
    () =>
      new Promise<void>((resolve, reject) => {
        pbkdf2(PASSWORD, salt, ITERATIONS, 32, 'sha256', (error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  ),
);

/** Full SCRAM-SHA-256 exchange, PBKDF2 every time. */
export function scramFull(rounds: number, minMs: number): OpsWorkload {
  return {
    name: 'scram-full',
    title: 'SCRAM-SHA-256 full exchange (client + server, client PBKDF2 every login, server holds StoredKey/ServerKey)',
    unit: 'logins',
    rounds,
    minMs,
    contestants: [
      floor,
      asyncFloor,
      batched('baseline: hand-written node:crypto', 'baseline', (n) => {
        times(n, () => {
          check(baselineScramLogin(new BaselineScramClient(USER, PASSWORD), fixedServer()), 'baseline SCRAM login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitLoginSync(false);
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) => timesAsync(n, () => saslkitLoginAsync(false))),
    ],
    targets: [
      { label: 'full exchange (sync) <= 1.10x one bare PBKDF2', of: 'saslkit sync driver', versus: 'floor: pbkdf2Sync 4096', kind: 'cost', op: '<=', value: 1.1 },
      { label: 'full exchange (promise) <= 1.10x one bare PBKDF2', of: 'saslkit promise driver', versus: 'floor: pbkdf2Sync 4096', kind: 'cost', op: '<=', value: 1.1 },
      { label: 'full exchange (promise) <= 1.10x one bare PBKDF2 on the pool', of: 'saslkit promise driver', versus: 'floor, async: crypto.pbkdf2 on the pool', kind: 'cost', op: '<=', value: 1.1, info: true },
    ],
    notes: [
      'scramCache: false, so every login derives the salted password (the cached case is scram-cached).',
      'The promise driver runs PBKDF2 on libuv\'s pool (so the event loop stays free): each login waits for a thread hand-off both ways, which the async floor line pays too.',
    ],
  };
}

/** The SCRAM-SHA-256 client alone against a fixed hand-written server. */
export function scramClient(rounds: number, minMs: number): OpsWorkload {
  return {
    name: 'scram-client',
    title: 'SCRAM-SHA-256 client only, against a fixed hand-written server (one login at a time)',
    unit: 'logins',
    rounds,
    minMs,
    contestants: [
      floor,
      batched('baseline: hand-written node:crypto', 'baseline', (n) => {
        times(n, () => {
          check(baselineScramLogin(new BaselineScramClient(USER, PASSWORD), fixedServer()), 'baseline SCRAM login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitClientSync(false);
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) => timesAsync(n, () => saslkitClientAsync(false))),
      batchedAsync('pg (node-postgres sasl.js)', 'peer', (n) => timesAsync(n, pgClient)),
      batched('saslkit sync, default cache (repeat login)', 'info', (n) => {
        times(n, () => {
          saslkitClientSync(true);
        });
      }),
    ],
    targets: [
      { label: 'client (sync) >= 1.5x pg', of: 'saslkit sync driver', versus: 'pg (node-postgres sasl.js)', kind: 'throughput', op: '>=', value: 1.5 },
      { label: 'client (promise) >= 1.5x pg', of: 'saslkit promise driver', versus: 'pg (node-postgres sasl.js)', kind: 'throughput', op: '>=', value: 1.5 },
      { label: 'pg costs >= 1.5 bare PBKDF2s (else no client without a cache can be 1.5x pg)', of: 'pg (node-postgres sasl.js)', versus: 'floor: pbkdf2Sync 4096', kind: 'cost', op: '>=', value: 1.5, info: true },
      { label: 'client with its default cache (repeat login) >= 1.5x pg', of: 'saslkit sync, default cache (repeat login)', versus: 'pg (node-postgres sasl.js)', kind: 'throughput', op: '>=', value: 1.5, info: true },
    ],
    notes: [
      'saslkit runs with scramCache: false (pg has no cache), except the "default cache" line: a repeated login with the same password and salt skips PBKDF2.',
      'mongodb is not installed, so its SCRAM client is not measured.',
    ],
  };
}

/** SCRAM-SHA-256 with the salted password cached: what a reconnect costs. */
export function scramCached(rounds: number, minMs: number): OpsWorkload {
  const cache = new Map<string, Buffer>();
  return {
    name: 'scram-cached',
    title: 'SCRAM-SHA-256 full exchange with the salted password cached (no PBKDF2)',
    unit: 'logins',
    rounds,
    minMs,
    contestants: [
      batched('baseline: hand-written node:crypto', 'baseline', (n) => {
        times(n, () => {
          check(baselineScramLogin(new BaselineScramClient(USER, PASSWORD, cache), fixedServer()), 'baseline SCRAM login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitLoginSync(true);
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) => timesAsync(n, () => saslkitLoginAsync(true))),
    ],
    targets: [{ label: 'cached-key exchange (sync) >= 0.5x baseline', of: 'saslkit sync driver', versus: 'baseline: hand-written node:crypto', kind: 'throughput', op: '>=', value: 0.5 }],
    notes: ['saslkit uses its own client cache (scramCache, the default), keyed by an HMAC so that it holds no password.'],
  };
}
