'use strict';
// Preloaded into Stryker's processes (see stryker.config.mjs). Mocha 12 renamed the CommonJS files
// under lib/cli to `.cjs`; @stryker-mutator/mocha-runner 9.x still requires them without an
// extension (`mocha/lib/cli/run-helpers`), which Node only completes with .js/.json/.node.
// This retries exactly those requests with `.cjs`; every other request resolves as usual.
const Module = require('module');
const path = require('path');

const mochaCli = path.sep + path.join('mocha', 'lib', 'cli') + path.sep;
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveMochaCjs(request, ...rest) {
  try {
    return resolve.call(this, request, ...rest);
  } catch (error) {
    if (request.includes(mochaCli) && !path.extname(request)) {
      return resolve.call(this, `${request}.cjs`, ...rest);
    }
    throw error;
  }
};
