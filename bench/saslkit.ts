/**
 * The saslkit under test. By default the built bundle `dist/index.cjs`, i.e. the code users run
 * (one rollup bundle, ES2022, no ts-node in the hot path); `SASLKIT_BENCH_SOURCE=lib` loads the
 * TypeScript sources through ts-node instead (handy while editing, same generated code per
 * function but one module per file). `SASLKIT_BENCH_DIST=<path to index.cjs>` loads another
 * build, e.g. one made from an older commit for a before/after comparison (see README). Types
 * always come from the sources.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

type Saslkit = typeof import('../lib/index.js');

/** A bundle to benchmark instead of this tree's dist/index.cjs. */
const OTHER_DIST = process.env['SASLKIT_BENCH_DIST'];

/** Which build is benchmarked: `dist` (default, or the bundle named by SASLKIT_BENCH_DIST) or `lib`. */
export const SOURCE: 'dist' | 'lib' = process.env['SASLKIT_BENCH_SOURCE'] === 'lib' ? 'lib' : 'dist';

/** The path `sk` is loaded from. */
export const SOURCE_PATH =
  SOURCE === 'lib'
    ? join(__dirname, '..', 'lib/index.ts')
    : OTHER_DIST !== undefined && OTHER_DIST !== ''
      ? resolve(OTHER_DIST)
      : join(__dirname, '..', 'dist/index.cjs');

const load = createRequire(__filename);

/** The saslkit module. */
export const sk = load(SOURCE_PATH) as Saslkit;
