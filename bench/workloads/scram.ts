/**
 * SCRAM-SHA-256: the whole exchange (client and server), the client alone against a fixed
 * hand-written server (next to pg's and mongodb's clients), the exchange with the salted password
 * cached (no PBKDF2), and the SCRAM-SHA-1 client alone (next to sasl-scram-sha-1).
 */
import { createRequire } from 'node:module';
import { pbkdf2, randomBytes } from 'node:crypto';
import {
  BaselineScramClient,
  BaselineScramClientOf,
  BaselineScramServer,
  BaselineScramServerOf,
  ITERATIONS,
  PASSWORD,
  type ScramRecord,
  USER,
  baselineScramLogin,
  floorPbkdf2,
  floorPbkdf2Of,
  scramRecord,
  scramRecordOf,
} from '../baselines.js';
import { type Contestant, type OpsWorkload, batched, batchedAsync, check, times, timesAsync } from '../harness.js';
import type { FixedScramServer } from '../peers/fixed-server.js';
import { MONGODB_VERSION, MongodbScramClient } from '../peers/mongodb.js';
import { SASL_SCRAM_SHA_1_VERSION, saslScramSha1Login } from '../peers/sasl-scram-sha-1.js';
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
let fixture:
  | {
      record: ReturnType<typeof scramRecord>;
      serverOptions: { lookup: (name: string) => InstanceType<typeof sk.ScramIdentity> | undefined };
    }
  | undefined;

function setup(): NonNullable<typeof fixture> {
  if (fixture === undefined) {
    const identity = sk.ScramIdentity.create(USER, PASSWORD, { hashes: ['SHA-256'], iterations: ITERATIONS });
    fixture = {
      record: scramRecord(PASSWORD, salt),
      serverOptions: { lookup: (name) => (name === USER ? identity : undefined) },
    };
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

/** The saslkit client alone against a fixed server (SCRAM-SHA-256 unless told). */
function saslkitClientSync(
  scramCache: boolean,
  server: FixedScramServer = fixedServer(),
  mechanism = sk.SCRAM_SHA_256,
): void {
  const client = new sk.SyncClientSession(mechanism.client(credentials, { scramCache }));
  const final = server.final(client.challenge(server.first(client.start() as Uint8Array)));
  check(client.success(final).serverVerified, 'SCRAM client verified the fixed server');
}

async function saslkitClientAsync(
  scramCache: boolean,
  server: FixedScramServer = fixedServer(),
  mechanism = sk.SCRAM_SHA_256,
): Promise<void> {
  const client = new sk.PromiseClientSession(mechanism.client(credentials, { scramCache }));
  const final = server.final(await client.challenge(server.first((await client.start()) as Uint8Array)));
  check((await client.success(final)).serverVerified, 'SCRAM client verified the fixed server');
}

async function pgClient(server: FixedScramServer): Promise<void> {
  const session = pgSasl.startSession(['SCRAM-SHA-256']);
  const serverFirst = server.first(Buffer.from(session.response));
  await pgSasl.continueSession(session, PASSWORD, serverFirst.toString('utf8'));
  pgSasl.finalizeSession(session, server.final(Buffer.from(session.response)).toString('utf8'));
}

/**
 * More salts than mongodb's salted-password cache holds (it empties itself at 200 entries). Each
 * contestant of the fresh-salt lines walks the pool in order with its own counter, so it meets a
 * salt again only after 256 other logins of its own: a caching client (mongodb) never hits.
 */
const SALT_POOL_SIZE = 256;
let saltPool: readonly ScramRecord[] | undefined;

/** Builds the pool once (256 PBKDF2s, about a second), outside every measured round. */
function buildSaltPool(): readonly ScramRecord[] {
  saltPool ??= Array.from({ length: SALT_POOL_SIZE }, () => scramRecord(PASSWORD, randomBytes(16)));
  return saltPool;
}

/** A fixed-server factory that hands out the next salt of the pool on every login. */
function freshSaltServers(): () => BaselineScramServer {
  const pool = buildSaltPool();
  let next = 0;
  return () => {
    const record = pool[next++ % pool.length] as ScramRecord;
    return new BaselineScramServer(() => record);
  };
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
      {
        label: 'full exchange (sync) <= 1.10x one bare PBKDF2',
        of: 'saslkit sync driver',
        versus: 'floor: pbkdf2Sync 4096',
        kind: 'cost',
        op: '<=',
        value: 1.1,
      },
      {
        label: 'full exchange (promise) <= 1.10x one bare PBKDF2',
        of: 'saslkit promise driver',
        versus: 'floor: pbkdf2Sync 4096',
        kind: 'cost',
        op: '<=',
        value: 1.1,
      },
      {
        label: 'full exchange (promise) <= 1.10x one bare PBKDF2 on the pool',
        of: 'saslkit promise driver',
        versus: 'floor, async: crypto.pbkdf2 on the pool',
        kind: 'cost',
        op: '<=',
        value: 1.1,
        info: true,
      },
    ],
    notes: [
      'scramCache: false, so every login derives the salted password (the cached case is scram-cached).',
      "The promise driver runs PBKDF2 on libuv's pool (so the event loop stays free): each login waits for a thread hand-off both ways, which the async floor line pays too.",
    ],
  };
}

/** The SCRAM-SHA-256 client alone against a fixed hand-written server. */
export function scramClient(rounds: number, minMs: number): OpsWorkload {
  const mongodb = new MongodbScramClient(USER, PASSWORD);
  const baselineServers = freshSaltServers();
  const syncServers = freshSaltServers();
  const promiseServers = freshSaltServers();
  const pgServers = freshSaltServers();
  const mongodbServers = freshSaltServers();
  // A repeat-login line first logs in once, untimed, so that its slot starts with a warm cache
  // (the fresh-salt mongodb line empties mongodb's cache every 200 logins); and it gets a third
  // of a slot, being many times faster, which keeps the suite short.
  const repeat = (contestant: Contestant, warm: () => unknown): Contestant => ({
    ...contestant,
    measure: async (ms) => {
      await warm();
      return contestant.measure(ms / 3);
    },
  });
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
          check(baselineScramLogin(new BaselineScramClient(USER, PASSWORD), baselineServers()), 'baseline SCRAM login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitClientSync(false, syncServers());
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) =>
        timesAsync(n, () => saslkitClientAsync(false, promiseServers())),
      ),
      batchedAsync('pg (node-postgres sasl.js)', 'peer', (n) => timesAsync(n, () => pgClient(pgServers()))),
      batchedAsync(`mongodb ${MONGODB_VERSION} ScramSHA256, fresh salt`, 'peer', (n) =>
        timesAsync(n, () => mongodb.login(mongodbServers())),
      ),
      repeat(
        batched('saslkit sync, default cache (repeat login)', 'info', (n) => {
          times(n, () => {
            saslkitClientSync(true);
          });
        }),
        () => {
          saslkitClientSync(true);
        },
      ),
      repeat(
        batchedAsync('saslkit promise, default cache (repeat login)', 'info', (n) =>
          timesAsync(n, () => saslkitClientAsync(true)),
        ),
        () => saslkitClientAsync(true),
      ),
      repeat(
        batchedAsync('mongodb, its cache (repeat login)', 'info', (n) =>
          timesAsync(n, () => mongodb.login(fixedServer())),
        ),
        () => mongodb.login(fixedServer()),
      ),
    ],
    targets: [
      {
        label: 'client (sync) >= 1.5x pg',
        of: 'saslkit sync driver',
        versus: 'pg (node-postgres sasl.js)',
        kind: 'throughput',
        op: '>=',
        value: 1.5,
      },
      {
        label: 'client (promise) >= 1.5x pg',
        of: 'saslkit promise driver',
        versus: 'pg (node-postgres sasl.js)',
        kind: 'throughput',
        op: '>=',
        value: 1.5,
      },
      {
        label: 'client (sync) >= 1.5x mongodb (fresh salt)',
        of: 'saslkit sync driver',
        versus: `mongodb ${MONGODB_VERSION} ScramSHA256, fresh salt`,
        kind: 'throughput',
        op: '>=',
        value: 1.5,
      },
      {
        label: 'client (promise) >= 1.5x mongodb (fresh salt)',
        of: 'saslkit promise driver',
        versus: `mongodb ${MONGODB_VERSION} ScramSHA256, fresh salt`,
        kind: 'throughput',
        op: '>=',
        value: 1.5,
      },
      {
        label: 'pg costs >= 1.5 bare PBKDF2s (else no client without a cache can be 1.5x pg)',
        of: 'pg (node-postgres sasl.js)',
        versus: 'floor: pbkdf2Sync 4096',
        kind: 'cost',
        op: '>=',
        value: 1.5,
        info: true,
      },
      {
        label: 'mongodb (fresh salt) costs >= 1.5 bare PBKDF2s (same reason)',
        of: `mongodb ${MONGODB_VERSION} ScramSHA256, fresh salt`,
        versus: 'floor: pbkdf2Sync 4096',
        kind: 'cost',
        op: '>=',
        value: 1.5,
        info: true,
      },
      {
        label: 'client with its default cache (sync, repeat login) >= 1.5x pg',
        of: 'saslkit sync, default cache (repeat login)',
        versus: 'pg (node-postgres sasl.js)',
        kind: 'throughput',
        op: '>=',
        value: 1.5,
        info: true,
      },
      {
        label: 'default cache (sync, repeat login) >= 1.5x mongodb with its cache',
        of: 'saslkit sync, default cache (repeat login)',
        versus: 'mongodb, its cache (repeat login)',
        kind: 'throughput',
        op: '>=',
        value: 1.5,
        info: true,
      },
      {
        label: 'default cache (promise, repeat login) >= 1.5x mongodb with its cache',
        of: 'saslkit promise, default cache (repeat login)',
        versus: 'mongodb, its cache (repeat login)',
        kind: 'throughput',
        op: '>=',
        value: 1.5,
        info: true,
      },
    ],
    notes: [
      `Fresh-salt lines (baseline, saslkit sync/promise with scramCache: false, pg, mongodb): every login meets the next of ${SALT_POOL_SIZE} salts, so every client pays one PBKDF2 per login; mongodb's salted-password cache (200 entries) never hits.`,
      "Repeat-login lines: the same salt every login, so saslkit's default cache (scramCache) and mongodb's module-level cache (keyed by password + salt + iterations) skip PBKDF2; pg has no cache.",
      'mongodb runs its ScramSHA256 auth provider (prepare + auth) over a fake connection answering saslStart/saslContinue from the fixed server; it verifies the server signature itself. PBKDF2 and every HMAC go through async WebCrypto.',
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
          check(
            baselineScramLogin(new BaselineScramClient(USER, PASSWORD, cache), fixedServer()),
            'baseline SCRAM login',
          );
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitLoginSync(true);
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) => timesAsync(n, () => saslkitLoginAsync(true))),
    ],
    targets: [
      {
        label: 'cached-key exchange (sync) >= 0.5x baseline',
        of: 'saslkit sync driver',
        versus: 'baseline: hand-written node:crypto',
        kind: 'throughput',
        op: '>=',
        value: 0.5,
      },
    ],
    notes: [
      'saslkit uses its own client cache (scramCache, the default), keyed by an HMAC so that it holds no password.',
    ],
  };
}

const sha1Salt = randomBytes(16);
let sha1Record: ScramRecord | undefined;

/** A fixed hand-written SCRAM-SHA-1 server (constant salt: no contestant here caches). */
const sha1Server = (): BaselineScramServerOf => {
  sha1Record ??= scramRecordOf('sha1', PASSWORD, sha1Salt);
  const record = sha1Record;
  return new BaselineScramServerOf('sha1', () => record);
};

/**
 * The SCRAM-SHA-1 client alone against a fixed server: saslkit next to sasl-scram-sha-1 (what
 * @xmpp uses), the hand-written baseline and the bare PBKDF2-HMAC-SHA-1 floor.
 */
export function scramSha1Client(rounds: number, minMs: number): OpsWorkload {
  const cred = { username: USER, password: PASSWORD };
  return {
    name: 'scram-sha1-client',
    title: 'SCRAM-SHA-1 client only, against a fixed hand-written server (one login at a time)',
    unit: 'logins',
    rounds,
    minMs,
    contestants: [
      batched('floor: pbkdf2Sync 4096 SHA-1', 'floor', (n) => {
        times(n, () => floorPbkdf2Of('sha1', sha1Salt));
      }),
      batched('baseline: hand-written node:crypto', 'baseline', (n) => {
        times(n, () => {
          const client = new BaselineScramClientOf('sha1', USER, PASSWORD);
          const server = sha1Server();
          check(client.verify(server.final(client.final(server.first(client.first())))), 'baseline SCRAM-SHA-1 login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          saslkitClientSync(false, sha1Server(), sk.SCRAM_SHA_1);
        });
      }),
      batchedAsync('saslkit promise driver', 'saslkit', (n) =>
        timesAsync(n, () => saslkitClientAsync(false, sha1Server(), sk.SCRAM_SHA_1)),
      ),
      // About 0.7 s a login: a round's slot ends after the first one, so this line costs a few seconds.
      batchedAsync(`sasl-scram-sha-1 ${SASL_SCRAM_SHA_1_VERSION}`, 'peer', (n) =>
        timesAsync(n, () => saslScramSha1Login(sha1Server(), cred)),
      ),
    ],
    targets: [
      {
        label: 'client (sync) >= 1.5x sasl-scram-sha-1',
        of: 'saslkit sync driver',
        versus: `sasl-scram-sha-1 ${SASL_SCRAM_SHA_1_VERSION}`,
        kind: 'throughput',
        op: '>=',
        value: 1.5,
        info: true,
      },
      {
        label: 'client (promise) >= 1.5x sasl-scram-sha-1',
        of: 'saslkit promise driver',
        versus: `sasl-scram-sha-1 ${SASL_SCRAM_SHA_1_VERSION}`,
        kind: 'throughput',
        op: '>=',
        value: 1.5,
        info: true,
      },
    ],
    notes: [
      'saslkit runs with scramCache: false; sasl-scram-sha-1 caches only when the caller passes its cache back as credentials (not done), so every line pays one PBKDF2-HMAC-SHA-1 per login.',
      'sasl-scram-sha-1 runs PBKDF2 as 4096 awaited WebCrypto HMACs, and never compares the server signature: the harness compares it so that every counted login is a real one.',
    ],
  };
}
