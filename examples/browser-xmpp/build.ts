/**
 * Builds the page into a folder, as spec/interop/browser-xmpp.spec.ts does: index.html and
 * main.js (main.ts bundled by esbuild with saslkit's portable build: WebCrypto, no Node module).
 *   node -r ts-node/register/transpile-only examples/browser-xmpp/build.ts /tmp/browser-xmpp
 * then serve that folder over http(s), e.g. `python3 -m http.server -b 127.0.0.1 8000 -d /tmp/browser-xmpp`.
 * (An application that imports 'saslkit' from npm needs only
 * `esbuild main.ts --bundle --format=esm --platform=browser --outfile=main.js`: the package's
 * `browser` condition picks the portable build.)
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleBrowserEntry } from '../../spec/runtimes/bundle.js';

/** Writes index.html and main.js into `out`. */
export async function buildPage(out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(__dirname, 'index.html'), join(out, 'index.html'));
  await bundleBrowserEntry(join(__dirname, 'main.ts'), join(out, 'main.js'));
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? 'browser-xmpp-page');
  buildPage(out).then(() => { console.log(`built ${out}/index.html and main.js`); }, (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
