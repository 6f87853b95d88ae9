/**
 * `npm run fuzz`: the fuzz properties of spec/fuzz/properties.ts with a large budget (by default
 * 1,500,000 cases over all targets, a few minutes). Prints the cases tried per target, how they
 * ended, and the total; exits non-zero when any property fails (an untyped error, a success
 * without the credential, an unbounded exchange ...), printing the seed and the shrunk input.
 *
 * Environment: FUZZ_SEED (base seed; default: random, printed), FUZZ_CASES (total budget),
 * FUZZ_TARGET (only targets whose name contains this text).
 */
import fc from 'fast-check';
import { observeOutcomes } from '../spec/fuzz/harness.js';
import { type FuzzTarget, discoveryProblems, fuzzTargets, targetSeed } from '../spec/fuzz/properties.js';

const base =
  process.env['FUZZ_SEED'] === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(process.env['FUZZ_SEED']);
const budget = Number(process.env['FUZZ_CASES'] ?? 1_500_000);
const filter = process.env['FUZZ_TARGET'];

/** Splits the budget so that every target gets about the same time: cases are inversely proportional to cost. */
function allocate(targets: readonly FuzzTarget[]): Map<FuzzTarget, number> {
  const inverse = targets.reduce((sum, t) => sum + 1 / t.cost, 0);
  return new Map(targets.map((t) => [t, Math.max(100, Math.round(budget / t.cost / inverse))]));
}

function summary(outcomes: ReadonlyMap<string, number>): string {
  return [...outcomes]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

async function main(): Promise<number> {
  const problems = discoveryProblems();
  for (const problem of problems) console.log(`cannot fuzz ${problem}`);
  const targets = fuzzTargets().filter((t) => filter === undefined || t.name.includes(filter));
  const runs = allocate(targets);
  console.log(`fuzzing ${targets.length} targets, base seed FUZZ_SEED=${base}, budget ${budget} cases`);
  let total = 0;
  let failures = 0;
  const started = Date.now();
  for (const target of targets) {
    const numRuns = runs.get(target) as number;
    const seed = targetSeed(base, target.name);
    const outcomes = new Map<string, number>();
    observeOutcomes((outcome) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1));
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const details = await fc.check(target.property(), { seed, numRuns });
    const cpu = process.cpuUsage(cpu0);
    observeOutcomes(undefined);
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    const perCase = ((cpu.user + cpu.system) / Math.max(1, details.numRuns)).toFixed(0);
    total += details.numRuns;
    if (details.failed) {
      failures += 1;
      console.log(`FAIL ${target.name}: ${details.numRuns} cases, ${seconds} s`);
      console.log(fc.defaultReportMessage(details));
      const error = details.errorInstance;
      console.log(
        error instanceof Error
          ? `${error.message}\n${String(error.stack).split('\n').slice(1, 12).join('\n')}`
          : String(error),
      );
    } else {
      console.log(
        `ok   ${target.name.padEnd(36)} ${String(details.numRuns).padStart(8)} cases ${seconds.padStart(6)} s ${perCase.padStart(6)} us/case  (${summary(outcomes)})`,
      );
    }
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  console.log(
    `total: ${total} cases over ${targets.length} targets in ${minutes} min, ${failures} failed${problems.length > 0 ? `, ${problems.length} exports not fuzzable` : ''} (FUZZ_SEED=${base})`,
  );
  return failures > 0 || problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  },
);
