/**
 * The measuring machinery: contestants measured in rounds, in a rotating order, with ratios
 * taken inside each round (so that a machine that slows down for a while moves every contestant
 * of that round alike) and medians over the rounds.
 */
import { performance } from 'node:perf_hooks';

/** What a contestant stands for in the report. */
export type Role = 'floor' | 'baseline' | 'saslkit' | 'peer' | 'info';

/** One measurement: how many operations ran in how many seconds. */
export interface Sample {
  readonly ops: number;
  /** Elapsed time, or CPU time of the whole process (every thread) under `BENCH_CLOCK=cpu`. */
  readonly seconds: number;
}

/**
 * `BENCH_CLOCK=cpu` measures in-process workloads by the process's CPU time (all threads: the
 * libuv pool's PBKDF2 counts) instead of elapsed time. Meant for a machine shared with other
 * work, where elapsed time swings with the scheduler; the default is elapsed time.
 */
export const CLOCK: 'wall' | 'cpu' = process.env['BENCH_CLOCK'] === 'cpu' ? 'cpu' : 'wall';

/** Something measured: saslkit, a baseline, a peer, or the bare-crypto floor. */
export interface Contestant {
  readonly name: string;
  readonly role: Role;
  /** Runs operations for at least `minMs` milliseconds and says how many ran. */
  measure(minMs: number): Sample | Promise<Sample>;
}

/**
 * A target from the brief. `kind: 'throughput'` compares ops/s of `of` to `versus`; `'cost'`
 * compares time per operation (the inverse); `'figure'` compares the figures as measured
 * (memory, delays). The ratio is taken per round; the median counts.
 */
export interface Target {
  readonly label: string;
  readonly of: string;
  readonly versus: string;
  readonly kind: 'throughput' | 'cost' | 'figure';
  readonly op: '>=' | '<=';
  readonly value: number;
  /** A reference check printed with the targets but not one of the brief's targets. */
  readonly info?: boolean;
}

/** A workload measured by {@link runOps}. */
export interface OpsWorkload {
  readonly name: string;
  readonly title: string;
  /** What one operation is ("exchanges", "logins" ...). */
  readonly unit: string;
  /** Measuring rounds after one warm-up round. */
  readonly rounds: number;
  /** Time per contestant per round, in milliseconds. */
  readonly minMs: number;
  readonly contestants: readonly Contestant[];
  readonly targets?: readonly Target[];
  readonly notes?: readonly string[];
}

/** One printed line: a contestant's median figure in a workload. */
export interface Line {
  readonly workload: string;
  readonly contestant: string;
  readonly role: Role;
  /** The median figure (ops/s, KB, ms ... see `unit`). */
  readonly value: number;
  readonly unit: string;
  /** Median over rounds of (this ops/s / baseline ops/s); for memory and delay, this / baseline. */
  readonly vsBaseline?: number | undefined;
  /** Median over rounds of (this time per op / floor time per op); for delay, this / one PBKDF2. */
  readonly vsFloor?: number | undefined;
  /** Per-round values, for the JSON report. */
  readonly samples?: readonly number[];
  readonly extra?: Readonly<Record<string, number | string>>;
}

/** A target with its measured value. */
export interface TargetResult extends Target {
  readonly measured: number;
  readonly met: boolean;
}

/** Everything a workload reports. */
export interface WorkloadResult {
  readonly name: string;
  readonly title: string;
  readonly rounds: number;
  readonly lines: readonly Line[];
  readonly targets: readonly TargetResult[];
  readonly notes: readonly string[];
  /** 1-minute load average when the workload started (set by the suite): a shared machine moves every figure. */
  readonly load?: number;
}

/** The median of a list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Seconds since an arbitrary origin, high resolution: elapsed, or CPU under `BENCH_CLOCK=cpu`. */
export function now(): number {
  if (CLOCK === 'cpu') {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  return performance.now() / 1000;
}

/**
 * A contestant that runs `run(n)` in batches. The batch size grows until a batch takes a few
 * milliseconds, so that timer reads and the loop cost nothing measurable.
 */
export function batched(name: string, role: Role, run: (n: number) => void): Contestant {
  let size = 1;
  return {
    name,
    role,
    measure(minMs) {
      const start = now();
      let ops = 0;
      for (;;) {
        const t0 = now();
        run(size);
        const t1 = now();
        ops += size;
        if (t1 - t0 < 0.005 && size < 1 << 20) size *= 2;
        if ((t1 - start) * 1000 >= minMs) return { ops, seconds: t1 - start };
      }
    },
  };
}

/** {@link batched} for operations that must be awaited one after the other. */
export function batchedAsync(name: string, role: Role, run: (n: number) => Promise<void>): Contestant {
  let size = 1;
  return {
    name,
    role,
    async measure(minMs) {
      const start = now();
      let ops = 0;
      for (;;) {
        const t0 = now();
        await run(size);
        const t1 = now();
        ops += size;
        if (t1 - t0 < 0.005 && size < 1 << 20) size *= 2;
        if ((t1 - start) * 1000 >= minMs) return { ops, seconds: t1 - start };
      }
    },
  };
}

function ratioOf(target: Target, ops: ReadonlyMap<string, readonly number[]>, round: number): number {
  const of = ops.get(target.of)?.[round];
  const versus = ops.get(target.versus)?.[round];
  if (of === undefined || versus === undefined) return Number.NaN;
  return target.kind === 'cost' ? versus / of : of / versus;
}

/** Checks targets against per-round figures (ops/s, or any figure where ratios are taken as given). */
export function checkTargets(
  targets: readonly Target[],
  perRound: ReadonlyMap<string, readonly number[]>,
  rounds: number,
): TargetResult[] {
  return targets.map((target) => {
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) ratios.push(ratioOf(target, perRound, r));
    const measured = median(ratios.filter((x) => Number.isFinite(x)));
    const met = target.op === '>=' ? measured >= target.value : measured <= target.value;
    return { ...target, measured, met };
  });
}

/** Runs an ops workload: one warm-up round, then `rounds` rounds in rotating order. */
export async function runOps(
  workload: OpsWorkload,
  progress: (text: string) => void = () => undefined,
): Promise<WorkloadResult> {
  const { contestants, rounds, minMs } = workload;
  const ops = new Map<string, number[]>(contestants.map((c) => [c.name, []]));
  // Warm-up: JIT, caches, lazy module loading; its figures are dropped.
  for (const c of contestants) await c.measure(Math.max(250, minMs));
  for (let r = 0; r < rounds; r++) {
    progress(`${workload.name}: round ${r + 1}/${rounds}`);
    for (let i = 0; i < contestants.length; i++) {
      const c = contestants[(i + r) % contestants.length] as Contestant;
      const sample = await c.measure(minMs);
      (ops.get(c.name) as number[]).push(sample.ops / sample.seconds);
    }
  }
  const baseline = contestants.find((c) => c.role === 'baseline');
  const floor = contestants.find((c) => c.role === 'floor');
  const lines: Line[] = contestants.map((c) => {
    const mine = ops.get(c.name) as number[];
    const base = baseline ? (ops.get(baseline.name) as number[]) : undefined;
    const fl = floor ? (ops.get(floor.name) as number[]) : undefined;
    return {
      workload: workload.name,
      contestant: c.name,
      role: c.role,
      value: median(mine),
      unit: `${workload.unit}/s`,
      vsBaseline: base ? median(mine.map((v, i) => v / (base[i] as number))) : undefined,
      vsFloor: fl ? median(mine.map((v, i) => (fl[i] as number) / v)) : undefined,
      samples: mine,
    };
  });
  return {
    name: workload.name,
    title: workload.title,
    rounds,
    lines,
    targets: checkTargets(workload.targets ?? [], ops, rounds),
    notes: [...(workload.notes ?? [])],
  };
}

/** Runs a function `n` times, for workloads whose operation is one call. */
export function times(n: number, op: () => void): void {
  for (let i = 0; i < n; i++) op();
}

/** Awaits `op` `n` times in sequence. */
export async function timesAsync(n: number, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) await op();
}

/** Throws when a benchmarked operation did not do what it should (a benchmark of a failing login is worthless). */
export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`benchmark sanity check failed: ${what}`);
}
