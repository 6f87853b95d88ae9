/**
 * Summarises V8 `.cpuprofile` files (from `BENCH_PROFILE=<dir> npm run bench -- smtp`, or
 * `node --cpu-prof`): self time per function, as a share of the profile's busy samples (idle and
 * the profiler's own samples left out), and the same grouped by where the code lives.
 *
 *   node -r ts-node/register/transpile-only bench/profile.ts <file.cpuprofile>... [--top 25]
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

function summarise(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const places = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined) return;
    if (NOT_WORK.has(node.callFrame.functionName) && node.callFrame.functionName !== '(program)') {
      idle += dt;
      return;
    }
    busy += dt;
    const key = describe(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const where = node.callFrame.functionName === '(program)' ? 'native (program)' : place(node.callFrame);
    places.set(where, (places.get(where) ?? 0) + dt);
  });
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`== ${basename(path)}: ${(busy / 1000).toFixed(1)} ms busy, ${(idle / 1000).toFixed(1)} ms idle`);
  for (const [where, us] of [...places].sort((a, b) => b[1] - a[1])) console.log(`   ${pct(us)}  ${where}`);
  console.log('   self time, top functions:');
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`   ${pct(us)}  ${key}`);
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
for (const path of args.filter((arg, i) => !arg.startsWith('--') && (topAt < 0 || i !== topAt + 1))) summarise(path, top);
