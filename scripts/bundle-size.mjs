#!/usr/bin/env node
/* global console, process, Buffer */
/**
 * Bundle budgets (issue 13): builds, with esbuild `--platform=browser --minify`, bundles that
 * import client mechanisms from saslkit's browser entry, prints their sizes (raw, minified, gzip)
 * and exits 1 when one is over its budget, when a browser bundle holds a Node built-in, or when
 * an esbuild bundle of the Node build (`--platform=node`) does not run a SCRAM login.
 *
 *   node scripts/bundle-size.mjs            # from the sources: lib/index.web.ts, .web.ts siblings swapped in
 *   node scripts/bundle-size.mjs --dist     # from the build: dist/index.browser.mjs (run `npm run build` first)
 *   node scripts/bundle-size.mjs --json     # one JSON line instead of the table
 *
 * "raw" is the bundle without minifying, "min" minified, "gzip" the minified bundle at gzip -9.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const fromDist = args.has('--dist');
// The browser entries: `saslkit` and `saslkit/client`, built or from their sources.
const ENTRIES = fromDist
  ? { saslkit: join(ROOT, 'dist', 'index.browser.mjs'), 'saslkit/client': join(ROOT, 'dist', 'client.browser.mjs') }
  : { saslkit: join(ROOT, 'lib', 'index.web.ts'), 'saslkit/client': join(ROOT, 'lib', 'client.ts') };

/** The budgets, gzip bytes (issue 13 item 3). Each bundle is what a client-only user imports. */
export const BUDGETS = [
  {
    name: 'PLAIN client (mechanism and credentials)',
    source: `export { ClientCredentials, plainClient } from 'saslkit/client';`,
    gzip: 3 * 1024,
  },
  {
    // Not a budget of issue 13 (which budgets the mechanism): ours, so that the driver stays small too.
    name: 'PLAIN client with the promise driver',
    source: `export { ClientCredentials, PromiseClientSession, plainClient } from 'saslkit/client';`,
    gzip: 4 * 1024,
  },
  {
    // With the driver: what a browser XMPP or database client ships.
    name: 'PLAIN + SCRAM-SHA-256 clients, with SASLprep',
    source: `import { scramClient } from 'saslkit/client';\nexport { ClientCredentials, PromiseClientSession, plainClient } from 'saslkit/client';\nexport const scramSha256 = scramClient('SCRAM-SHA-256');`,
    gzip: 16 * 1024,
  },
  // For information (no budget): the same imports from the main entry, which also carries the
  // protocol profiles' module-level tables that bundlers cannot drop.
  {
    name: 'PLAIN client with the promise driver, from saslkit',
    source: `export { ClientCredentials, PromiseClientSession, plainClient } from 'saslkit';`,
    gzip: undefined,
  },
  {
    name: 'PLAIN + SCRAM-SHA-256 clients, from saslkit',
    source: `import { scramClient } from 'saslkit';\nexport { ClientCredentials, PromiseClientSession, plainClient } from 'saslkit';\nexport const scramSha256 = scramClient('SCRAM-SHA-256');`,
    gzip: undefined,
  },
];

// Resolves `saslkit` to the browser entry and, from the sources, every lib/ module with a
// `.web.ts` sibling to that sibling, as rollup.config.mjs does for dist/index.browser.mjs.
const saslkit = {
  name: 'saslkit-browser-entry',
  setup(b) {
    b.onResolve({ filter: /^saslkit(\/client)?$/ }, (a) => ({ path: ENTRIES[a.path] }));
    b.onResolve({ filter: /^node:|^(crypto|os|zlib|fs|path|stream|tls|net|util|buffer)$/ }, (a) => ({
      errors: [{ text: `a browser bundle reached the Node built-in ${a.path} (from ${a.importer})` }],
    }));
    if (fromDist) return;
    b.onResolve({ filter: /^\.{1,2}\/.*\.js$/ }, (a) => {
      const base = resolve(a.resolveDir, a.path).replace(/\.js$/, '');
      if (existsSync(`${base}.web.ts`)) return { path: `${base}.web.ts` };
      if (existsSync(`${base}.ts`)) return { path: `${base}.ts` };
      return undefined;
    });
  },
};

async function browserBundle(source, minify) {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    minify,
    treeShaking: true,
    logLevel: 'silent',
    plugins: [saslkit],
  });
  return result.outputFiles[0].contents;
}

/** Sizes of one budgeted bundle. */
async function measure(budget) {
  const raw = await browserBundle(budget.source, false);
  const min = await browserBundle(budget.source, true);
  const gzip = gzipSync(min, { level: 9 }).length;
  const text = Buffer.from(min).toString('utf8');
  // What must stay out of a client-only bundle: server code, hashers, stored secrets, Node.
  const leaks = [
    [
      'server side',
      /PLAIN message must have exactly three|client-first-message is incomplete|no password hasher recognises/,
    ],
    ['hashers', /pbkdf2-sha256|\$scrypt\$/],
    ['stored secrets', /not a SCRAM stored secret/],
    ['Node', /\bBuffer\.|require\(["']node:|from ?["']node:/],
  ]
    .filter(([, pattern]) => pattern.test(text))
    .map(([what]) => what);
  return { name: budget.name, raw: raw.length, min: min.length, gzip, budget: budget.gzip, leaks };
}

/** Bundles the Node build (package.json "exports", import condition) for Node and runs a SCRAM login with it. */
async function nodeBundleRuns() {
  // The Node entry: its build with --dist, else its source (esbuild compiles the TypeScript).
  const dist = fromDist ? join(ROOT, 'dist', 'index.mjs') : join(ROOT, 'lib', 'index.ts');
  if (!existsSync(dist)) return { ok: false, why: `${dist} is missing: run npm run build` };
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-node-bundle-'));
  try {
    const outfile = join(dir, 'bundle.mjs');
    await build({
      stdin: {
        contents: `import { ClearIdentity, ClientCredentials, SCRAM_SHA_256, SyncClientSession, SyncServerSession, saslprep } from ${JSON.stringify(dist)};
const c = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('user', 'pässword')));
const s = new SyncServerSession(SCRAM_SHA_256.server({ lookup: () => new ClearIdentity('user', 'pässword') }, c.start(true)));
let step = s.start();
while (!step.done) step = s.respond(c.challenge(step.challenge));
c.challenge(step.outcome.additionalData);
c.success();
if (saslprep('I\\u00adX') !== 'IX') throw new Error('saslprep');
console.log('ok ' + step.outcome.authcid);`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      minify: true,
      outfile,
      logLevel: 'silent',
    });
    const out = execFileSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 30000 }).trim();
    return { ok: out === 'ok user', why: out };
  } catch (error) {
    return { ok: false, why: String(error?.message ?? error).split('\n')[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const budget of BUDGETS) results.push(await measure(budget));
const node = args.has('--no-node') ? { ok: true, why: 'skipped' } : await nodeBundleRuns();
const over = (r) => r.budget !== undefined && r.gzip > r.budget;
const failed = results.some((r) => over(r) || (r.budget !== undefined && r.leaks.length > 0)) || !node.ok;

if (args.has('--json')) {
  console.log(JSON.stringify({ entry: fromDist ? 'dist' : 'lib', results, node, failed }));
} else {
  console.log(
    `saslkit bundle sizes: esbuild --platform=browser --minify, from ${fromDist ? 'dist/client.browser.mjs' : 'lib/client.ts (saslkit/client, .web.ts siblings)'}; gzip -9`,
  );
  for (const r of results) {
    const verdict = r.budget === undefined ? '(no budget)' : over(r) ? 'OVER BUDGET' : 'ok';
    console.log(
      `  ${r.name.padEnd(52)} raw ${String(r.raw).padStart(7)}  min ${String(r.min).padStart(7)}  gzip ${String(r.gzip).padStart(6)} / ${String(r.budget ?? '-').padStart(5)}  ${verdict}${r.leaks.length > 0 ? `  CARRIES: ${r.leaks.join(', ')}` : ''}`,
    );
  }
  console.log(
    `  esbuild --platform=node bundle of ${fromDist ? 'dist/index.mjs' : 'lib/index.ts'} runs a SCRAM login: ${node.ok ? 'ok' : `FAILED (${node.why})`}`,
  );
}
process.exitCode = failed ? 1 : 0;
