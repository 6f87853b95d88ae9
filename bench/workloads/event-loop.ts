/**
 * The event loop while 100 SCRAM-SHA-256 clients log in at once (client and server in this
 * process, each client deriving its salted password): the worst delay the loop suffers, in
 * milliseconds and in units of one bare PBKDF2 measured in the same run. Under an async driver
 * PBKDF2 must run on libuv's thread pool, so no stall should be longer than one PBKDF2.
 */
import { pbkdf2, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  BaselineScramClient,
  BaselineScramServer,
  ITERATIONS,
  PASSWORD,
  USER,
  floorPbkdf2,
  scramRecord,
} from '../baselines.js';
import { type Line, type Role, type Target, type WorkloadResult, check, checkTargets, median } from '../harness.js';
import { sk } from '../saslkit.js';

interface PgSession {
  response: string;
}
interface PgSasl {
  startSession(mechanisms: readonly string[]): PgSession;
  continueSession(session: PgSession, password: string, serverData: string): Promise<void>;
  finalizeSession(session: PgSession, serverData: string): void;
}

const CLIENTS = 100;

interface Contestant {
  readonly name: string;
  readonly role: Role;
  /** Starts one login; all CLIENTS are started in the same tick. */
  login(): Promise<void>;
}

function contestants(): Contestant[] {
  const salt = randomBytes(16);
  const record = scramRecord(PASSWORD, salt);
  const identity = sk.ScramIdentity.create(USER, PASSWORD, { hashes: ['SHA-256'], iterations: ITERATIONS });
  const options = { lookup: (name: string) => (name === USER ? identity : undefined) };
  const credentials = new sk.ClientCredentials(USER, PASSWORD);
  const pgSasl = createRequire(__filename)('pg/lib/crypto/sasl') as PgSasl;
  return [
    {
      name: 'bare crypto.pbkdf2 callbacks',
      role: 'info',
      // No SCRAM at all, only the 100 PBKDF2s on the pool: what the machine's scheduler does.
      login: () =>
        new Promise<void>((resolve, reject) => {
          pbkdf2(PASSWORD, record.salt, ITERATIONS, 32, 'sha256', (error) => {
            if (error) reject(error);
            else resolve();
          });
        }),
    },
    {
      name: 'baseline: hand-written, crypto.pbkdf2',
      role: 'baseline',
      login: async () => {
        const client = new BaselineScramClient(USER, PASSWORD);
        const server = new BaselineScramServer(() => record);
        const serverFirst = server.first(client.first());
        check(client.verify(server.final(await client.finalAsync(serverFirst))), 'baseline SCRAM login');
      },
    },
    {
      name: 'saslkit promise driver',
      role: 'saslkit',
      login: async () => {
        const client = new sk.PromiseClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache: false }));
        const server = new sk.PromiseServerSession(sk.SCRAM_SHA_256.server(options, await client.start()));
        const first = await server.start();
        check(!first.done, 'SCRAM server-first');
        const last = await server.respond(await client.challenge(first.challenge));
        check(last.done, 'SCRAM outcome');
        check((await client.success(last.outcome.additionalData)).serverVerified, 'SCRAM server verified');
      },
    },
    {
      name: 'pg (node-postgres sasl.js)',
      role: 'peer',
      login: async () => {
        const server = new BaselineScramServer(() => record);
        const session = pgSasl.startSession(['SCRAM-SHA-256']);
        const serverFirst = server.first(Buffer.from(session.response));
        await pgSasl.continueSession(session, PASSWORD, serverFirst.toString('utf8'));
        pgSasl.finalizeSession(session, server.final(Buffer.from(session.response)).toString('utf8'));
      },
    },
    {
      name: 'saslkit sync driver (for contrast)',
      role: 'info',
      // What not to do in a server: every login blocks the loop for its PBKDF2.
      login: () =>
        new Promise<void>((resolve, reject) => {
          setImmediate(() => {
            try {
              const client = new sk.SyncClientSession(sk.SCRAM_SHA_256.client(credentials, { scramCache: false }));
              const server = new sk.SyncServerSession(sk.SCRAM_SHA_256.server(options, client.start()));
              const first = server.start();
              check(!first.done, 'SCRAM server-first');
              const last = server.respond(client.challenge(first.challenge));
              check(last.done && client.success(last.outcome.additionalData).serverVerified, 'SCRAM login');
              resolve();
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        }),
    },
  ];
}

interface Run {
  readonly worstMs: number;
  readonly totalMs: number;
  /** How long the loop was held by starting the 100 logins (everything up to their first real wait). */
  readonly burstMs: number;
}

async function measure(contestant: Contestant): Promise<Run> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Let the histogram's timer start before the burst.
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = performance.now();
  let burstMs = 0;
  setImmediate(() => {
    burstMs = performance.now() - start;
  });
  await Promise.all(Array.from({ length: CLIENTS }, () => contestant.login()));
  const totalMs = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.disable();
  // The histogram counts the delay beyond its 1 ms resolution timer.
  return { worstMs: histogram.max / 1e6, totalMs, burstMs };
}

/** The event-loop workload. */
export async function eventLoop(rounds: number, progress: (text: string) => void): Promise<WorkloadResult> {
  const list = contestants();
  const salt = randomBytes(16);
  const worst = new Map<string, number[]>(list.map((c) => [c.name, []]));
  const total = new Map<string, number[]>(list.map((c) => [c.name, []]));
  const burst = new Map<string, number[]>(list.map((c) => [c.name, []]));
  const pbkdf2Ms: number[] = [];
  // Warm-up round, dropped.
  for (const c of list) await measure(c);
  for (let r = 0; r < rounds; r++) {
    progress(`event-loop: round ${r + 1}/${rounds}`);
    // One bare PBKDF2 on this thread, measured in the same round: the yardstick.
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) floorPbkdf2(salt);
    pbkdf2Ms.push((performance.now() - t0) / 5);
    for (let i = 0; i < list.length; i++) {
      const c = list[(i + r) % list.length] as Contestant;
      const run = await measure(c);
      (worst.get(c.name) as number[]).push(run.worstMs);
      (total.get(c.name) as number[]).push(run.totalMs);
      (burst.get(c.name) as number[]).push(run.burstMs);
    }
  }
  const base = worst.get((list.find((c) => c.role === 'baseline') as Contestant).name) as number[];
  const lines: Line[] = list.map((c) => {
    const mine = worst.get(c.name) as number[];
    return {
      workload: 'event-loop',
      contestant: c.name,
      role: c.role,
      value: median(mine),
      unit: 'ms worst delay',
      vsBaseline: median(mine.map((v, i) => v / (base[i] as number))),
      vsFloor: median(mine.map((v, i) => v / (pbkdf2Ms[i] as number))),
      samples: mine,
      extra: {
        'logins/s': CLIENTS / (median(total.get(c.name) as number[]) / 1000),
        'ms to start all 100': median(burst.get(c.name) as number[]),
      },
    };
  });
  const perRound = new Map<string, number[]>([...worst, ['one PBKDF2', pbkdf2Ms]]);
  const targets: Target[] = [
    {
      label: 'worst event-loop stall <= one PBKDF2 (promise driver, 100 logins)',
      of: 'saslkit promise driver',
      versus: 'one PBKDF2',
      kind: 'figure',
      op: '<=',
      value: 1,
    },
  ];
  return {
    name: 'event-loop',
    title: `Worst event-loop delay while ${CLIENTS} SCRAM-SHA-256 logins run at once (in-process client + server, PBKDF2 each login)`,
    rounds,
    lines,
    targets: checkTargets(targets, perRound, rounds),
    notes: [
      `One bare pbkdf2Sync (4096 iterations) took ${median(pbkdf2Ms).toFixed(1)} ms in these rounds; "x one PBKDF2" divides by it.`,
      'All 100 logins start in one tick, so their work up to the PBKDF2 hand-off runs back to back ("ms to start all 100"), while the pool threads already compete for the two cores.',
      `saslkit admits at most ${sk.kdfPoolStatus().concurrency} PBKDF2 at a time to libuv's ${process.env['UV_THREADPOOL_SIZE'] ?? '4'} threads (configureKdfPool); the bare and hand-written lines and pg start all 100 at once.`,
    ],
  };
}
