/**
 * `npm run soak [-- flags]`: saslkit's SMTP and IMAP server profiles behind `net` servers on
 * 127.0.0.1 (in a child process run with --expose-gc), under N concurrent clients doing full
 * SCRAM-SHA-256 and PLAIN logins while a fraction misbehave: disconnect mid-exchange, send
 * garbage, or stall past the server's time limit. Two phases run the same load, so that the
 * server's heap after the second (after a forced GC) can be compared with the first.
 *
 * Prints logins per second, p50/p99 login latency, failed legitimate logins, the server's heap
 * before, after each phase and the growth per exchange, and its worst event-loop delay. Exits 1
 * when a legitimate login failed, the heap grew more than --max-growth-mb between the phases, a
 * stalled connection was not closed, or a connection stayed open; 2 when the run exceeded
 * --max-seconds. Only loopback addresses are used, and every loop is bounded in count and time.
 *
 * Flags: --clients N (1000), --logins K per legitimate client (2), --bad-fraction F (0.1),
 * --exchange-timeout-ms T (10000), --max-growth-mb M (8), --max-seconds S (600), --phases P (2).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LoginPlan, type Misbehaviour, type Ports, bounded, login, misbehave } from './soak/clients.js';
import type { FromServer, ServerSettings, ServerStats } from './soak/shared.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    logins: { type: 'string', default: '2' },
    'bad-fraction': { type: 'string', default: '0.1' },
    'exchange-timeout-ms': { type: 'string', default: '10000' },
    'max-growth-mb': { type: 'string', default: '8' },
    'max-seconds': { type: 'string', default: '600' },
    phases: { type: 'string', default: '2' },
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
/** No client step waits longer than this. */
const CLIENT_DEADLINE_MS = 60000;

const MECHANISMS = ['SCRAM-SHA-256', 'PLAIN'] as const;
const MISBEHAVIOURS: readonly Misbehaviour[] = ['disconnect', 'garbage', 'stall'];

interface PhaseResult {
  readonly seconds: number;
  readonly latencies: number[];
  readonly failed: string[];
  readonly misbehaved: Record<Misbehaviour, number>;
  readonly stallCloseMs: number[];
  readonly stallsNotClosed: number;
  readonly clientErrorsWhileMisbehaving: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function runPhase(ports: Ports): Promise<PhaseResult> {
  const badEvery = BAD_FRACTION > 0 ? Math.max(2, Math.round(1 / BAD_FRACTION)) : 0;
  const latencies: number[] = [];
  const failed: string[] = [];
  const misbehaved: Record<Misbehaviour, number> = { disconnect: 0, garbage: 0, stall: 0 };
  const stallCloseMs: number[] = [];
  let stallsNotClosed = 0;
  let clientErrorsWhileMisbehaving = 0;
  const started = performance.now();
  const tasks: Promise<void>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const protocol = c % 2 === 0 ? 'smtp' : 'imap';
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
          const plan: LoginPlan = { protocol: (c + k) % 2 === 0 ? 'smtp' : 'imap', mechanism: MECHANISMS[(c + k) % 4 < 2 ? 0 : 1], user: c + k };
          try {
            latencies.push(await bounded(CLIENT_DEADLINE_MS, 'a login', login(ports, plan)));
          } catch (error) {
            failed.push(`${plan.protocol} ${plan.mechanism}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      })(),
    );
  }
  await Promise.all(tasks);
  return { seconds: (performance.now() - started) / 1000, latencies, failed, misbehaved, stallCloseMs, stallsNotClosed, clientErrorsWhileMisbehaving };
}

function startServer(): Promise<{ child: ChildProcess; ports: Ports }> {
  const settings: ServerSettings = { exchangeTimeoutMs: EXCHANGE_TIMEOUT_MS, idleTimeoutMs: Math.max(10000, EXCHANGE_TIMEOUT_MS * 4) };
  const child = fork(join(__dirname, 'soak', 'server.ts'), [], {
    execArgv: ['--expose-gc', '-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, SOAK_SERVER_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => { reject(new Error(`the soak server exited early (${String(code)})`)); });
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

async function main(): Promise<number> {
  console.log(`soak: ${CLIENTS} concurrent clients per phase, ${PHASES} phases, ${LOGINS} logins per legitimate client, ${Math.round(BAD_FRACTION * 100)}% misbehaving, exchange time limit ${EXCHANGE_TIMEOUT_MS} ms`);
  const { child, ports } = await startServer();
  let exitCode = 0;
  try {
    const before = await serverStats(child);
    console.log(`server heap before: ${mb(before.heapUsed)} (rss ${mb(before.rss)})`);
    const heaps: number[] = [];
    let previousLogins = 0;
    for (let phase = 1; phase <= PHASES; phase++) {
      const result = await runPhase(ports);
      const stats = await settledStats(child);
      heaps.push(stats.heapUsed);
      const sorted = [...result.latencies].sort((a, b) => a - b);
      const serverLogins = stats.counters.logins - previousLogins;
      previousLogins = stats.counters.logins;
      console.log(`\nphase ${phase}: ${result.seconds.toFixed(1)} s`);
      console.log(`  legitimate logins: ${result.latencies.length} ok, ${result.failed.length} failed; ${(result.latencies.length / result.seconds).toFixed(0)} logins/s`);
      console.log(`  latency (connect to success): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`);
      console.log(`  misbehaving clients: ${MISBEHAVIOURS.map((kind) => `${result.misbehaved[kind]} ${kind}`).join(', ')}; stalled connections closed by the server after ${percentile([...result.stallCloseMs].sort((a, b) => a - b), 50).toFixed(0)} ms (p50), ${result.stallsNotClosed} not closed; ${result.clientErrorsWhileMisbehaving} misbehaving clients saw an unexpected reply`);
      console.log(`  server: ${serverLogins} logins counted; failures so far by code ${JSON.stringify(stats.counters.failures)}; exchange time limits hit so far: ${stats.counters.timeouts}; open connections after the phase: ${stats.counters.active}`);
      console.log(`  server heap after GC: ${mb(stats.heapUsed)} (rss ${mb(stats.rss)}, external ${mb(stats.external)}); event loop delay max ${stats.loopMaxMs.toFixed(1)} ms, p99 ${stats.loopP99Ms.toFixed(1)} ms`);
      console.log(`  server CPU ${stats.cpuSeconds.toFixed(1)} s, event loop utilization ${(stats.loopUtilization * 100).toFixed(0)}%; machine load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} CPUs`);
      for (const failure of result.failed.slice(0, 5)) console.log(`  failed: ${failure}`);
      if (result.failed.length > 0) exitCode = 1;
      if (result.stallsNotClosed > 0 || stats.counters.active > 0) exitCode = 1;
    }
    const growth = (heaps.at(-1) ?? 0) - (heaps[0] ?? 0);
    const exchangesAfterFirst = (PHASES - 1) * CLIENTS * LOGINS;
    console.log(`\nserver heap: before ${mb(before.heapUsed)}, after phase 1 ${mb(heaps[0] ?? 0)}, after phase ${PHASES} ${mb(heaps.at(-1) ?? 0)}: growth ${mb(growth)} over ${exchangesAfterFirst} more logins (${(growth / exchangesAfterFirst).toFixed(1)} bytes per login); threshold ${MAX_GROWTH_MB} MB`);
    if (growth > MAX_GROWTH_MB * 1048576) {
      console.log('FAIL: the server heap grew beyond the threshold');
      exitCode = 1;
    }
    console.log(exitCode === 0 ? 'soak: OK' : 'soak: FAILED');
  } finally {
    child.send({ type: 'stop' });
    await bounded(10000, 'server exit', once(child, 'exit')).catch(() => child.kill());
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
