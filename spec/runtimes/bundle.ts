/**
 * Bundles the portable specs (spec/portable/*.spec.ts) with the runner shim and chai into one ES
 * module for a runtime, resolving saslkit the way that runtime's users get it: Bun through its
 * Node compatibility (the Node build), Deno, workerd and Chromium through the portable build
 * (no Node built-in bundled: esbuild fails the build if one is imported).
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** The runtimes the portable suite runs in besides Node. */
export type RuntimeName = 'bun' | 'deno' | 'workerd' | 'chromium';

/** The repository root. */
export const REPO = resolve(__dirname, '..', '..');

/** How each runtime's bundle is made: esbuild's platform and the package.json conditions it uses. */
const TARGETS: Record<
  RuntimeName,
  { platform: 'node' | 'browser' | 'neutral'; conditions: string[]; portable: boolean }
> = {
  bun: { platform: 'node', conditions: ['bun', 'node'], portable: false },
  deno: { platform: 'neutral', conditions: ['deno', 'worker', 'browser'], portable: true },
  workerd: { platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], portable: true },
  chromium: { platform: 'browser', conditions: ['browser'], portable: true },
};

/**
 * lib/ modules that the portable build swaps for their `.web.ts` sibling (as rollup.config.mjs
 * does for the browser/worker/Deno entry): lib/index.ts -> lib/index.web.ts, lib/crypto/default.ts
 * -> default.web.ts, and so on; `saslkit` itself resolves to the portable entry.
 */
function webSiblings(): Plugin {
  const lib = join(REPO, 'lib') + sep;
  const web = (target: string): string | undefined =>
    target.startsWith(lib) && existsSync(`${target}.web.ts`) ? `${target}.web.ts` : undefined;
  return {
    name: 'saslkit-web-siblings',
    setup(b) {
      b.onResolve({ filter: /^saslkit$/ }, () => ({
        path: web(join(REPO, 'lib', 'index')) ?? join(REPO, 'lib', 'index.ts'),
      }));
      b.onResolve({ filter: /^\.{1,2}\/.*\.js$/ }, (args) => {
        const path = web(resolve(dirname(args.importer), args.path).replace(/\.js$/, ''));
        return path === undefined ? undefined : { path };
      });
    },
  };
}

/**
 * package.json says `"sideEffects": false` (true of lib/), which would let esbuild drop the bare
 * spec imports: the specs register their tests when they load, so they are marked as having effects.
 */
function specsHaveEffects(): Plugin {
  const portable = join(REPO, 'spec', 'portable') + sep;
  return {
    name: 'saslkit-specs-have-effects',
    setup(b) {
      b.onResolve({ filter: /\.spec\.ts$/ }, (args) =>
        args.path.startsWith(portable) ? { path: args.path, sideEffects: true } : undefined,
      );
    },
  };
}

/** The spec files of the portable suite, in a stable order. */
export function portableSpecs(): string[] {
  const dir = join(REPO, 'spec', 'portable');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.spec.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** The code that runs the suite and reports, per runtime. */
function tail(runtime: RuntimeName): string {
  switch (runtime) {
    case 'bun':
    case 'deno':
      return `runAll(${JSON.stringify(runtime)}, (line) => console.log(line)).then((r) => console.log(r.summary));`;
    case 'workerd':
      // workerd allows no timers, randomness or crypto at module load: the suite runs per request.
      return `export default { async fetch() { const lines = []; const r = await runAll('workerd', (line) => lines.push(line)); return Response.json({ ...r, lines }); } };`;
    case 'chromium':
      return `const lines = []; runAll('chromium', (line) => lines.push(line)).then((r) => { globalThis.SASLKIT_RESULT = { ...r, lines }; }, (e) => { globalThis.SASLKIT_RESULT = { error: String(e) }; });`;
  }
}

/** Bundles the suite for `runtime` into `outfile` (an ES module). */
export async function bundleSuite(runtime: RuntimeName, outfile: string): Promise<void> {
  const target = TARGETS[runtime];
  const imports = portableSpecs()
    .map((file) => `import ${JSON.stringify(file)};`)
    .join('\n');
  const contents = `import { runAll } from ${JSON.stringify(join(__dirname, 'shim.ts'))};\n${imports}\n${tail(runtime)}\n`;
  await build({
    stdin: { contents, resolveDir: __dirname, loader: 'ts', sourcefile: `portable-${runtime}.ts` },
    bundle: true,
    format: 'esm',
    platform: target.platform,
    conditions: target.conditions,
    mainFields: target.platform === 'node' ? ['module', 'main'] : ['browser', 'module', 'main'],
    target: 'es2022',
    outfile,
    logLevel: 'warning',
    banner: { js: `globalThis.SASLKIT_RUNTIME = ${JSON.stringify(runtime)};` },
    plugins: target.portable ? [specsHaveEffects(), webSiblings()] : [specsHaveEffects()],
  });
}

/**
 * Bundles a browser module (an example or a bench page) for Chromium, with `saslkit` resolved to
 * this checkout's portable build (lib/ with the web modules swapped in), as a page's bundler
 * resolves the package's `browser` condition.
 */
export async function bundleBrowserEntry(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['browser'],
    target: 'es2022',
    outfile,
    logLevel: 'warning',
    plugins: [webSiblings()],
  });
}
