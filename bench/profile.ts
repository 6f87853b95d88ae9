/**
 * Summarises V8 `.cpuprofile` files (from `BENCH_PROFILE=<dir> npm run bench -- smtp`, or
 * `node --cpu-prof`): self time per function, as a share of the profile's busy samples (idle and
 * the profiler's own samples left out), and the same grouped by where the code lives.
 *
 *   node -r ts-node/register/transpile-only bench/profile.ts <file.cpuprofile>... [--top 25]
 *        [--drop <function>]... [--focus <function>]
 *
 * `--drop` leaves out samples with that function on the stack (e.g. the start-up:
 * `--drop executeUserEntryPoint --drop loadPreloadModules`); `--focus` keeps only samples with
 * it on the stack (e.g. `--focus smtpServerAuth`: the AUTH call alone). A whole-process
 * `--cpu-prof` profile of a server has the most samples; see bench/README.md, "Profiling".
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const NOT_WORK = new Set(['(idle)', '(program)', '(root)']);

/**
 * The in-process inspector session's own native frame: starting and stopping the profiler from
 * the server (bench/servers/server.ts) is sampled too, and stopping dwarfs the work. Left out.
 */
function isProfilerOverhead(frame: CallFrame): boolean {
  return frame.url === '' && frame.functionName === 'dispatch';
}

/** Where a function lives: saslkit's bundle, node's own JavaScript, a package, the bench, or native/GC. */
function place(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName === '(garbage collector)' ? 'GC' : 'native';
  if (url.includes('/dist/index.cjs') || url.includes('/lib/')) return 'saslkit';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/node_modules/')) return `package ${url.split('/node_modules/')[1]?.split('/')[0] ?? ''}`;
  if (url.includes('/bench/')) return 'bench host code';
  return 'other';
}

function describe(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.startsWith('node:') ? frame.url : basename(frame.url);
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

interface Filters {
  readonly top: number;
  readonly drop: ReadonlySet<string>;
  readonly focus: string | undefined;
}

function summarise(path: string, { top, drop, focus }: Filters): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const underDispatch = (leaf: ProfileNode): boolean => {
    for (let node: ProfileNode | undefined = leaf; node !== undefined; node = parent.get(node.id))
      if (isProfilerOverhead(node.callFrame)) return true;
    return false;
  };
  const onStack = (leaf: ProfileNode, names: ReadonlySet<string>): boolean => {
    for (let node: ProfileNode | undefined = leaf; node !== undefined; node = parent.get(node.id))
      if (names.has(node.callFrame.functionName)) return true;
    return false;
  };
  const focusSet = new Set(focus === undefined ? [] : [focus]);
  let dropped = 0;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const places = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined) return;
    // Samples inside the inspector session's dispatch, whatever the leaf.
    if (underDispatch(node)) {
      idle += dt;
      return;
    }
    if ((drop.size > 0 && onStack(node, drop)) || (focus !== undefined && !onStack(node, focusSet))) {
      dropped += dt;
      return;
    }
    if (
      (NOT_WORK.has(node.callFrame.functionName) && node.callFrame.functionName !== '(program)') ||
      isProfilerOverhead(node.callFrame)
    ) {
      idle += dt;
      return;
    }
    busy += dt;
    const key = describe(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    // Inclusive time: every function on the sample's stack, once per sample.
    const seen = new Set<string>();
    for (let frame: ProfileNode | undefined = node; frame !== undefined; frame = parent.get(frame.id)) {
      if (NOT_WORK.has(frame.callFrame.functionName)) continue;
      const name = describe(frame.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + dt);
    }
    const where = node.callFrame.functionName === '(program)' ? 'native (program)' : place(node.callFrame);
    places.set(where, (places.get(where) ?? 0) + dt);
  });
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(
    `== ${basename(path)}: ${(busy / 1000).toFixed(1)} ms busy kept (100 %), ${(dropped / 1000).toFixed(1)} ms busy left out by --drop/--focus, ${(idle / 1000).toFixed(1)} ms idle or profiler`,
  );
  for (const [where, us] of [...places].sort((a, b) => b[1] - a[1])) console.log(`   ${pct(us)}  ${where}`);
  console.log('   self time, top functions:');
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`   ${pct(us)}  ${key}`);
  console.log('   total time (self + callees), top functions:');
  for (const [key, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`   ${pct(us)}  ${key}`);
}

const args = process.argv.slice(2);
const paths: string[] = [];
const drop = new Set<string>();
let top = 25;
let focus: string | undefined;
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string;
  if (arg === '--top') top = Number(args[++i]);
  else if (arg === '--drop') drop.add(args[++i] ?? '');
  else if (arg === '--focus') focus = args[++i];
  else paths.push(arg);
}
for (const path of paths) summarise(path, { top, drop, focus });
