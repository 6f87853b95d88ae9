/**
 * `npm run bench [-- <workload>...] [--quick] [--list]`: runs saslkit side by side with
 * hand-written baselines, the installed peers and the bare-crypto floor, prints one line per
 * (workload, contestant) and the targets, and writes bench/results/latest.json.
 *
 * saslkit is loaded from dist/index.cjs, rebuilt first when it is missing or older than a lib/
 * file, or from the TypeScript sources with SASLKIT_BENCH_SOURCE=lib. This file only makes sure
 * the build is fresh before anything loads it; the suite is in suite.ts. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtMtime(): number {
  try {
    return statSync(join(ROOT, 'dist/index.cjs')).mtimeMs;
  } catch {
    return 0;
  }
}

// SASLKIT_BENCH_DIST names another build (bench/saslkit.ts): nothing to rebuild here then.
const otherBuild = process.env['SASLKIT_BENCH_SOURCE'] === 'lib' || (process.env['SASLKIT_BENCH_DIST'] ?? '') !== '';
if (!otherBuild && !process.argv.includes('--list') && builtMtime() < newestMtime(join(ROOT, 'lib'))) {
  console.log('dist/ is missing or older than lib/: running npm run build');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('npm run build failed; fix the build, or benchmark the sources with SASLKIT_BENCH_SOURCE=lib');
    process.exit(1);
  }
}

createRequire(__filename)('./suite.ts');
