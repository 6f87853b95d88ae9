/**
 * A tiny describe/it/before/after runner, bundled with the portable specs (spec/portable) for
 * runtimes where mocha does not run: Bun, Deno, workerd and Chromium. It runs tests in order,
 * awaits async hooks and tests, times each test out, and reports `N passed, N failed, N skipped`
 * like spec/support/summary-reporter.cjs does under mocha. It has no `skip`: a portable test that
 * cannot run somewhere must fail or state its runtime-specific expectation.
 */

type Fn = () => unknown;

interface Test {
  readonly title: string;
  readonly fn: Fn;
}

interface Suite {
  readonly title: string;
  readonly parent: Suite | undefined;
  readonly children: (Suite | Test)[];
  readonly before: Fn[];
  readonly after: Fn[];
  readonly beforeEach: Fn[];
  readonly afterEach: Fn[];
}

/** One test's result. */
export interface TestResult {
  readonly title: string;
  readonly ok: boolean;
  readonly error?: string;
}

/** What a run of the suite found. */
export interface SuiteResult {
  readonly runtime: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly results: readonly TestResult[];
  /** The closing `N passed, N failed, N skipped` line. */
  readonly summary: string;
}

/** How long one test or hook may take before it fails (PBKDF2 at 4096 iterations takes milliseconds). */
const TIMEOUT_MS = 20_000;

const root: Suite = {
  title: '',
  parent: undefined,
  children: [],
  before: [],
  after: [],
  beforeEach: [],
  afterEach: [],
};
let current: Suite = root;

function describe(title: string, body: () => void): void {
  const suite: Suite = { title, parent: current, children: [], before: [], after: [], beforeEach: [], afterEach: [] };
  current.children.push(suite);
  const outer = current;
  current = suite;
  try {
    body();
  } finally {
    current = outer;
  }
}

function it(title: string, fn: Fn): void {
  current.children.push({ title, fn });
}

const globals = globalThis as unknown as Record<string, unknown>;
globals['describe'] = describe;
globals['it'] = it;
globals['before'] = (fn: Fn): void => {
  current.before.push(fn);
};
globals['after'] = (fn: Fn): void => {
  current.after.push(fn);
};
globals['beforeEach'] = (fn: Fn): void => {
  current.beforeEach.push(fn);
};
globals['afterEach'] = (fn: Fn): void => {
  current.afterEach.push(fn);
};

/** Runs `fn` (sync or async) with a time limit; the timer is cleared either way. */
async function timed(fn: Fn): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.resolve().then(fn), limit]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  }
  return String(error);
}

function chainOf(suite: Suite): Suite[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) chain.unshift(s);
  return chain;
}

function isSuite(node: Suite | Test): node is Suite {
  return 'children' in node;
}

/** Counts the tests under a suite (all fail when its `before` hook fails). */
function countTests(suite: Suite): number {
  return suite.children.reduce((n, child) => n + (isSuite(child) ? countTests(child) : 1), 0);
}

async function runSuite(
  suite: Suite,
  path: string[],
  results: TestResult[],
  log: (line: string) => void,
): Promise<void> {
  const here = suite.title === '' ? path : [...path, suite.title];
  try {
    for (const hook of suite.before) await timed(hook);
  } catch (error) {
    const message = `before hook: ${describeError(error)}`;
    for (let i = 0; i < countTests(suite); i++)
      results.push({ title: `${here.join(' > ')} (test ${i + 1})`, ok: false, error: message });
    log(`  FAIL ${here.join(' > ')}: ${message}`);
    return;
  }
  for (const child of suite.children) {
    if (isSuite(child)) {
      await runSuite(child, here, results, log);
      continue;
    }
    const title = [...here, child.title].join(' > ');
    const chain = chainOf(suite);
    try {
      for (const s of chain) for (const hook of s.beforeEach) await timed(hook);
      await timed(child.fn);
      for (const s of chain.reverse()) for (const hook of s.afterEach) await timed(hook);
      results.push({ title, ok: true });
      log(`  ok   ${title}`);
    } catch (error) {
      results.push({ title, ok: false, error: describeError(error) });
      log(`  FAIL ${title}: ${describeError(error)}`);
    }
  }
  try {
    for (const hook of suite.after) await timed(hook);
  } catch (error) {
    results.push({ title: `${here.join(' > ')} (after hook)`, ok: false, error: describeError(error) });
    log(`  FAIL ${here.join(' > ')} after hook: ${describeError(error)}`);
  }
}

/** Runs every registered test once, logging a line per test, and returns the counts. */
export async function runAll(runtime: string, log: (line: string) => void = () => undefined): Promise<SuiteResult> {
  const results: TestResult[] = [];
  await runSuite(root, [], results, log);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  const summary = `${passed} passed, ${failed} failed, 0 skipped`;
  return { runtime, passed, failed, skipped: 0, results, summary };
}
