/**
 * Loads TypeScript in the server processes of the loopback workloads, in place of ts-node.
 * ts-node's register module loads node:domain (through its REPL), and once that module is
 * loaded every EventEmitter.emit in the process takes the domain-aware path: a per-event cost
 * no production server pays, and socket servers emit a lot. Here each .ts file is transpiled
 * on its own (no type check, as ts-node/transpile-only did), and a relative `./x.js` import
 * from a .ts file finds `./x.ts` (the sources' ESM-style specifiers).
 */
const Module = require('node:module');
const { existsSync, readFileSync } = require('node:fs');
const { dirname, resolve } = require('node:path');
const ts = require('typescript');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('.') && request.endsWith('.js') && parent?.filename?.endsWith('.ts')) {
    const source = resolve(dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (existsSync(source)) return source;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  sourceMap: false,
};
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
