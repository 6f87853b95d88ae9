// @ts-check
// Mutation testing (`npm run mutate`): too slow for CI, run it before resolving a security or
// correctness issue and keep mutation/RESULTS.md up to date. See mutation/README.md.
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

// Stryker loads the mocha runner plugin in this process too: the path fix must come first.
const mocha12Paths = fileURLToPath(new URL('./mutation/mocha12-paths.cjs', import.meta.url));
createRequire(import.meta.url)(mocha12Paths);
// Type-checking every spec run would triple the time; `npm run typecheck` does that job.
process.env['TS_NODE_TRANSPILE_ONLY'] ??= '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  plugins: ['@stryker-mutator/mocha-runner', './mutation/ignore-error-messages.mjs'],
  ignorers: ['error-messages'],
  // The mechanisms, the exchange core and the password/identity code (issue 11).
  mutate: [
    'lib/mechanisms/**/*.ts',
    'lib/core.ts',
    'lib/gs2.ts',
    'lib/oauth.ts',
    'lib/identity.ts',
    'lib/hashing.ts',
    'lib/scram-secret.ts',
    'lib/saslprep.ts',
    'lib/credentials.ts',
    'lib/server-auth.ts',
  ],
  mochaOptions: {
    // The interop specs need the live Dovecot/PostgreSQL peers and only re-check what the unit
    // specs pin; leaving them out keeps every run self-contained.
    spec: ['spec/**/*.spec.ts'],
    ignore: ['spec/interop/**'],
  },
  testRunnerNodeArgs: ['--require', mocha12Paths],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 10000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
