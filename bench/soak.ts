/**
 * `npm run soak [-- flags]`: saslkit's SMTP and IMAP server profiles behind `net` servers on
 * 127.0.0.1 (in child processes run with --expose-gc), under N concurrent clients doing full
 * SCRAM-SHA-256 and PLAIN logins while a fraction misbehave: disconnect mid-exchange, send
 * garbage, stall past the server's time limit, log in with a wrong password or as an unknown
 * user, or cancel with `*`. Two phases run the same load, so that each server's heap after the
 * second (after a forced GC) can be compared with the first.
 *
 * `--servers N --store postgres` runs N server processes that share one credential store: a
 * table of SCRAM-SHA-256 secrets the soak creates in the CI PostgreSQL (spec/interop/peers/
 * postgres, 127.0.0.1) and drops afterwards, read by saslkit's PostgreSQL store (one pool and one
 * cache per process). Clients go to the servers in turn; the store's queries per login and its
 * cache hit rate are reported.
 *
 * Prints logins per second, p50/p99 login latency, failed legitimate logins, the server's heap
 * before, after each phase and the growth per exchange, and its worst event-loop delay. Exits 1
 * when a legitimate login failed, the heap grew more than --max-growth-mb between the phases, a
 * stalled connection was not closed, or a connection stayed open; 2 when the run exceeded
 * --max-seconds. Only loopback addresses are used, and every loop is bounded in count and time.
 *
 * Flags: --clients N (1000), --logins K per legitimate client (2), --bad-fraction F (0.1),
 * --exchange-timeout-ms T (10000), --max-growth-mb M (8), --max-seconds S (600), --phases P (2),
 * --servers N (1), --store memory|postgres (memory), --users U (50), --cache-ttl-ms T (60000),
 * --pool-size P (4, PostgreSQL connections per server).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BadLoginAccepted,
  type LoginPlan,
  type Misbehaviour,
  type Ports,
  bounded,
  login,
  misbehave,
} from './soak/clients.js';
import {
  type FromServer,
  type ServerSettings,
  type ServerStats,
  type StoreFigures,
  type StoreSettings,
  setUsers,
} from './soak/shared.js';
import { createSoakTable, dropSoakTable } from './soak/store.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    logins: { type: 'string', default: '2' },
    'bad-fraction': { type: 'string', default: '0.1' },
    'exchange-timeout-ms': { type: 'string', default: '10000' },
    'max-growth-mb': { type: 'string', default: '8' },
    'max-seconds': { type: 'string', default: '600' },
    phases: { type: 'string', default: '2' },
    servers: { type: 'string', default: '1' },
    store: { type: 'string', default: 'memory' },
    users: { type: 'string', default: '50' },
    'cache-ttl-ms': { type: 'string', default: '60000' },
    'pool-size': { type: 'string', default: '4' },
  },
});

function numberFlag(name: keyof typeof values, min: number, max: number): number {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}

const CLIENTS = Math.floor(numberFlag('clients', 1, 10000));
const LOGINS = Math.floor(numberFlag('logins', 1, 100));
const BAD_FRACTION = numberFlag('bad-fraction', 0, 0.9);
const EXCHANGE_TIMEOUT_MS = numberFlag('exchange-timeout-ms', 50, 60000);
const MAX_GROWTH_MB = numberFlag('max-growth-mb', 0, 4096);
const MAX_SECONDS = numberFlag('max-seconds', 5, 3600);
const PHASES = Math.floor(numberFlag('phases', 2, 10));
const SERVERS = Math.floor(numberFlag('servers', 1, 16));
const USERS = Math.floor(numberFlag('users', 1, 100000));
const CACHE_TTL_MS = numberFlag('cache-ttl-ms', 0, 3600000);
const POOL_SIZE = Math.floor(numberFlag('pool-size', 1, 32));
const STORE = values.store;
if (STORE !== 'memory' && STORE !== 'postgres') {
  console.error('--store must be memory or postgres');
  process.exit(2);
}
setUsers(USERS);
/** No client step waits longer than this. */
const CLIENT_DEADLINE_MS = 60000;

const MECHANISMS = ['SCRAM-SHA-256', 'PLAIN'] as const;
const MISBEHAVIOURS: readonly Misbehaviour[] = ['disconnect', 'garbage', 'stall', 'wrong-password', 'abort'];

interface PhaseResult {
  readonly seconds: number;
  readonly latencies: number[];
  readonly failed: string[];
  readonly misbehaved: Record<Misbehaviour, number>;
  readonly stallCloseMs: number[];
  readonly stallsNotClosed: number;
  readonly clientErrorsWhileMisbehaving: number;
  /** Wrong-password or unknown-user logins the server accepted: must be 0. */
  readonly badLoginsAccepted: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function runPhase(servers: readonly Ports[]): Promise<PhaseResult> {
  const badEvery = BAD_FRACTION > 0 ? Math.max(2, Math.round(1 / BAD_FRACTION)) : 0;
  const latencies: number[] = [];
  const failed: string[] = [];
  const misbehaved: Record<Misbehaviour, number> = {
    disconnect: 0,
    garbage: 0,
    stall: 0,
    'wrong-password': 0,
    abort: 0,
  };
  const stallCloseMs: number[] = [];
  let stallsNotClosed = 0;
  let clientErrorsWhileMisbehaving = 0;
  let badLoginsAccepted = 0;
  const started = performance.now();
  const tasks: Promise<void>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const protocol = c % 2 === 0 ? 'smtp' : 'imap';
    // Clients go to the servers in turn (by pairs, so that each server sees both protocols).
    const ports = servers[Math.floor(c / 2) % servers.length] as Ports;
    if (badEvery > 0 && c % badEvery === 0) {
      const kind = MISBEHAVIOURS[(c / badEvery) % MISBEHAVIOURS.length] ?? 'garbage';
      misbehaved[kind] += 1;
      tasks.push(
        bounded(CLIENT_DEADLINE_MS, `${kind} client`, misbehave(ports, protocol, kind, c, EXCHANGE_TIMEOUT_MS)).then(
          (closedAfter) => {
            if (closedAfter !== undefined) stallCloseMs.push(closedAfter);
          },
          (error: unknown) => {
            if (kind === 'stall') stallsNotClosed += 1;
            else if (error instanceof BadLoginAccepted) badLoginsAccepted += 1;
            else clientErrorsWhileMisbehaving += 1;
            if (process.env['SOAK_DEBUG']) console.error(`${kind}: ${String(error)}`);
          },
        ),
      );
      continue;
    }
    tasks.push(
      (async () => {
        for (let k = 0; k < LOGINS; k++) {
          const plan: LoginPlan = {
            protocol: (c + k) % 2 === 0 ? 'smtp' : 'imap',
            mechanism: MECHANISMS[(c + k) % 4 < 2 ? 0 : 1],
            user: c + k,
          };
          try {
            latencies.push(await bounded(CLIENT_DEADLINE_MS, 'a login', login(ports, plan)));
          } catch (error) {
            failed.push(
              `${plan.protocol} ${plan.mechanism}: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        }
      })(),
    );
  }
  await Promise.all(tasks);
  return {
    seconds: (performance.now() - started) / 1000,
    latencies,
    failed,
    misbehaved,
    stallCloseMs,
    stallsNotClosed,
    clientErrorsWhileMisbehaving,
    badLoginsAccepted,
  };
}

function startServer(store: StoreSettings | undefined): Promise<{ child: ChildProcess; ports: Ports }> {
  const settings: ServerSettings = {
    exchangeTimeoutMs: EXCHANGE_TIMEOUT_MS,
    idleTimeoutMs: Math.max(10000, EXCHANGE_TIMEOUT_MS * 4),
    users: USERS,
    store,
  };
  const child = fork(join(__dirname, 'soak', 'server.ts'), [], {
    execArgv: ['--expose-gc', '-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, SOAK_SERVER_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`the soak server exited early (${String(code)})`));
    });
    child.on('message', (message: FromServer) => {
      if (message.type === 'ready') resolve({ child, ports: { smtp: message.smtpPort, imap: message.imapPort } });
    });
  });
}

async function serverStats(child: ChildProcess): Promise<ServerStats> {
  const reply = new Promise<ServerStats>((resolve) => {
    const onMessage = (message: FromServer): void => {
      if (message.type !== 'stats') return;
      child.off('message', onMessage);
      resolve(message.stats);
    };
    child.on('message', onMessage);
  });
  child.send({ type: 'stats' });
  return bounded(30000, 'server stats', reply);
}

/** Waits until the server has no open connection (bounded), and returns its stats. */
async function settledStats(child: ChildProcess): Promise<ServerStats> {
  let stats = await serverStats(child);
  // Each call starts a new loop-delay window: keep the worst figures of the phase.
  let { loopMaxMs, loopP99Ms, cpuSeconds } = stats;
  let busy = stats.loopUtilization;
  for (let i = 0; i < 50 && stats.counters.active > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stats = await serverStats(child);
    loopMaxMs = Math.max(loopMaxMs, stats.loopMaxMs);
    loopP99Ms = Math.max(loopP99Ms, stats.loopP99Ms);
    cpuSeconds += stats.cpuSeconds;
    busy = Math.max(busy, stats.loopUtilization);
  }
  return { ...stats, loopMaxMs, loopP99Ms, cpuSeconds, loopUtilization: busy };
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(2)} MB`;

/** The store's counters summed over the servers (cumulative). */
function storeTotals(stats: readonly ServerStats[]): StoreFigures | undefined {
  const figures = stats.map((stat) => stat.store).filter((figure): figure is StoreFigures => figure !== undefined);
  if (figures.length === 0) return undefined;
  const sum = (key: keyof StoreFigures): number => figures.reduce((total, figure) => total + figure[key], 0);
  return {
    queries: sum('queries'),
    lookups: sum('lookups'),
    hits: sum('hits'),
    misses: sum('misses'),
    joined: sum('joined'),
  };
}

/** The store's figures for one phase (or the run): queries per login and the cache hit rate. */
function storeLine(now: StoreFigures, before: StoreFigures | undefined, logins: number): string {
  const d = (key: keyof StoreFigures): number => now[key] - (before?.[key] ?? 0);
  const hitRate = d('lookups') === 0 ? 0 : (d('hits') + d('joined')) / d('lookups');
  return `${d('queries')} queries for ${d('lookups')} lookups and ${logins} successful logins: ${(d('queries') / Math.max(1, logins)).toFixed(4)} queries per login; cache hit rate ${(hitRate * 100).toFixed(1)}% (${d('hits')} hits, ${d('joined')} joined a running query, ${d('misses')} misses)`;
}

async function main(): Promise<number> {
  console.log(
    `soak: ${CLIENTS} concurrent clients per phase, ${PHASES} phases, ${LOGINS} logins per legitimate client, ${Math.round(BAD_FRACTION * 100)}% misbehaving, exchange time limit ${EXCHANGE_TIMEOUT_MS} ms`,
  );
  console.log(
    `servers: ${SERVERS} process${SERVERS === 1 ? '' : 'es'}, store: ${STORE === 'postgres' ? `PostgreSQL (shared; cache ttl ${CACHE_TTL_MS} ms, pool ${POOL_SIZE} per server)` : 'in memory (one per server)'}, ${USERS} accounts`,
  );
  const runStarted = performance.now();
  const store = STORE === 'postgres' ? await createSoakTable(USERS, CACHE_TTL_MS, POOL_SIZE) : undefined;
  if (store !== undefined)
    console.log(
      `store: table ${store.table} on ${store.connection.host}:${store.connection.port} with ${store.users} SCRAM-SHA-256 secrets`,
    );
  const started: { child: ChildProcess; ports: Ports }[] = [];
  let exitCode = 0;
  try {
    for (let i = 0; i < SERVERS; i++) started.push(await startServer(store));
    const children = started.map((server) => server.child);
    const ports = started.map((server) => server.ports);
    const before = await Promise.all(children.map(serverStats));
    for (const [i, stats] of before.entries())
      console.log(`server ${i + 1} heap before: ${mb(stats.heapUsed)} (rss ${mb(stats.rss)})`);
    const heaps: number[][] = [];
    let previousLogins = 0;
    let previousStore: StoreFigures | undefined;
    for (let phase = 1; phase <= PHASES; phase++) {
      const result = await runPhase(ports);
      const stats = await Promise.all(children.map(settledStats));
      heaps.push(stats.map((stat) => stat.heapUsed));
      const sorted = [...result.latencies].sort((a, b) => a - b);
      const logins = stats.reduce((total, stat) => total + stat.counters.logins, 0);
      const serverLogins = logins - previousLogins;
      previousLogins = logins;
      const failures: Record<string, number> = {};
      for (const stat of stats)
        for (const [code, count] of Object.entries(stat.counters.failures))
          failures[code] = (failures[code] ?? 0) + count;
      const active = stats.reduce((total, stat) => total + stat.counters.active, 0);
      const timeouts = stats.reduce((total, stat) => total + stat.counters.timeouts, 0);
      console.log(`\nphase ${phase}: ${result.seconds.toFixed(1)} s`);
      console.log(
        `  legitimate logins: ${result.latencies.length} ok, ${result.failed.length} failed; ${(result.latencies.length / result.seconds).toFixed(0)} logins/s`,
      );
      console.log(
        `  latency (connect to success): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`,
      );
      console.log(
        `  misbehaving clients: ${MISBEHAVIOURS.map((kind) => `${result.misbehaved[kind]} ${kind}`).join(', ')}; stalled connections closed by the server after ${percentile(
          [...result.stallCloseMs].sort((a, b) => a - b),
          50,
        ).toFixed(
          0,
        )} ms (p50), ${result.stallsNotClosed} not closed; ${result.clientErrorsWhileMisbehaving} misbehaving clients saw an unexpected reply; ${result.badLoginsAccepted} wrong-password logins accepted`,
      );
      console.log(
        `  servers: ${serverLogins} logins counted; failures so far by code ${JSON.stringify(failures)}; exchange time limits hit so far: ${timeouts}; open connections after the phase: ${active}`,
      );
      const storeNow = storeTotals(stats);
      if (storeNow !== undefined) {
        console.log(`  store: ${storeLine(storeNow, previousStore, serverLogins)}`);
        previousStore = storeNow;
      }
      for (const [i, stat] of stats.entries()) {
        console.log(
          `  server ${i + 1}: ${stat.counters.logins} logins so far; heap after GC ${mb(stat.heapUsed)} (rss ${mb(stat.rss)}, external ${mb(stat.external)}); event loop delay max ${stat.loopMaxMs.toFixed(1)} ms, p99 ${stat.loopP99Ms.toFixed(1)} ms; CPU ${stat.cpuSeconds.toFixed(1)} s, loop utilization ${(stat.loopUtilization * 100).toFixed(0)}%`,
        );
      }
      console.log(`  machine load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} CPUs`);
      for (const failure of result.failed.slice(0, 5)) console.log(`  failed: ${failure}`);
      if (result.failed.length > 0 || result.badLoginsAccepted > 0) exitCode = 1;
      if (result.stallsNotClosed > 0 || active > 0) exitCode = 1;
    }
    const exchangesAfterFirst = (PHASES - 1) * CLIENTS * LOGINS;
    for (let i = 0; i < children.length; i++) {
      const first = heaps[0]?.[i] ?? 0;
      const last = heaps.at(-1)?.[i] ?? 0;
      const growth = last - first;
      console.log(
        `\nserver ${i + 1} heap: before ${mb(before[i]?.heapUsed ?? 0)}, after phase 1 ${mb(first)}, after phase ${PHASES} ${mb(last)}: growth ${mb(growth)} over about ${Math.round(exchangesAfterFirst / children.length)} more logins (${(growth / (exchangesAfterFirst / children.length)).toFixed(1)} bytes per login); threshold ${MAX_GROWTH_MB} MB`,
      );
      if (growth > MAX_GROWTH_MB * 1048576) {
        console.log(`FAIL: server ${i + 1}'s heap grew beyond the threshold`);
        exitCode = 1;
      }
    }
    if (previousStore !== undefined)
      console.log(`\nstore over the run: ${storeLine(previousStore, undefined, previousLogins)}`);
    console.log(`wall time ${((performance.now() - runStarted) / 1000).toFixed(1)} s`);
    console.log(exitCode === 0 ? 'soak: OK' : 'soak: FAILED');
  } finally {
    for (const { child } of started) child.send({ type: 'stop' });
    await Promise.all(
      started.map(({ child }) => bounded(10000, 'server exit', once(child, 'exit')).catch(() => child.kill())),
    );
    if (store !== undefined) {
      await dropSoakTable(store).then(
        () => {
          console.log(`store: table ${store.table} dropped`);
        },
        (error: unknown) => {
          console.error(`store: could not drop ${store.table}: ${String(error)}`);
        },
      );
    }
  }
  return exitCode;
}

const deadline = setTimeout(() => {
  console.error(`soak: exceeded --max-seconds ${MAX_SECONDS}`);
  process.exit(2);
}, MAX_SECONDS * 1000);

main().then(
  (code) => {
    clearTimeout(deadline);
    process.exitCode = code;
  },
  (error: unknown) => {
    clearTimeout(deadline);
    console.error('soak: error', error);
    process.exitCode = 2;
  },
);
