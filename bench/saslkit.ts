/**
 * The saslkit under test. By default the built bundle `dist/index.cjs`, i.e. the code users run
 * (one rollup bundle, ES2022, no ts-node in the hot path); `SASLKIT_BENCH_SOURCE=lib` loads the
 * TypeScript sources through ts-node instead (handy while editing, same generated code per
 * function but one module per file). Types always come from the sources.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Saslkit = typeof import('../lib/index.js');

/** Which build is benchmarked: `dist` (default) or `lib`. */
export const SOURCE: 'dist' | 'lib' = process.env['SASLKIT_BENCH_SOURCE'] === 'lib' ? 'lib' : 'dist';

/** The path `sk` is loaded from. */
export const SOURCE_PATH = join(__dirname, '..', SOURCE === 'lib' ? 'lib/index.ts' : 'dist/index.cjs');

const load = createRequire(__filename);

/** The saslkit module. */
export const sk = load(SOURCE_PATH) as Saslkit;
