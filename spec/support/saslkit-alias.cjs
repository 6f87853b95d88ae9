// Preloaded by spec/support/run-example.ts into an example it starts in the repository root: `saslkit`
// resolves to lib/index.ts, as tsconfig.json's "paths" says for the type checker, so a spec runs an example
// over the source tree without a build (.ci/examples.sh runs the same examples over dist/, as a user gets it).
const Module = require('node:module');
const { join } = require('node:path');

const lib = join(process.cwd(), 'lib', 'index.ts');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === 'saslkit' ? lib : request, ...rest);
};
