/**
 * Builds the page into a folder: index.html and main.js, main.ts bundled by esbuild with saslkit's
 * portable build (the package's `browser` condition: WebCrypto, no Node module). Run `npm run build`
 * first, then
 *   node -r ts-node/register/transpile-only examples/browser-xmpp/build.ts /tmp/browser-xmpp
 * and serve that folder over http(s), e.g. `python3 -m http.server -b 127.0.0.1 8000 -d /tmp/browser-xmpp`
 * (browsers give WebCrypto to secure contexts only: https, or http on 127.0.0.1/localhost).
 * An application that installed saslkit from npm needs only
 * `esbuild main.ts --bundle --format=esm --platform=browser --outfile=main.js`.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** Writes index.html and main.js into `out`. */
export async function buildPage(out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(__dirname, 'index.html'), join(out, 'index.html'));
  await build({
    entryPoints: [join(__dirname, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(out, 'main.js'),
    // The repository's tsconfig maps 'saslkit' to lib/ for type-checking; a page resolves the
    // package itself, through its "browser" export.
    tsconfigRaw: {},
    logLevel: 'warning',
  });
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? 'browser-xmpp-page');
  buildPage(out).then(
    () => {
      console.log(`built ${out}/index.html and main.js`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
