/**
 * The CLI is written as a user writes a program (issue 12): every lib module it uses comes
 * through the package's index (lib/index.ts), never from inside lib/. Its own files (lib/cli/**)
 * may import each other. Imports are read with the TypeScript parser, type-only ones included.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');
const CLI = join(LIB, 'cli');
const INDEX = join(LIB, 'index.ts');

function cliFiles(dir = CLI): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return cliFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every module specifier in `text`, as TypeScript's own pre-processor reads them (imports,
 * re-exports, `import x = require()`, `require()`, `import()` and `import('...')` types; not
 * comments or strings), and `<dynamic>` for an `import()` of a computed name, which no check
 * could follow.
 */
function specifiers(file: string, text: string): string[] {
  const found = ts.preProcessFile(text, true, true).importedFiles.map((imported) => imported.fileName);
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      !(node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0]))
    )
      found.push('<dynamic>');
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true));
  return found;
}

/** The specifiers of `file` that reach into lib/ other than through the index (or leave the repo's lib/cli otherwise). */
function offending(file: string, text: string): string[] {
  return specifiers(file, text).filter((specifier) => {
    if (specifier === '<dynamic>') return true;
    if (!specifier.startsWith('.')) return specifier === 'saslkit' || specifier.startsWith('saslkit/');
    const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    if (target === INDEX) return false;
    return !(target.startsWith(`${CLI}/`) || target === CLI);
  });
}

describe('cli: imports only the public face (lib/index.ts)', () => {
  it('reads every file of lib/cli', () => {
    const files = cliFiles().map((file) => relative(LIB, file));
    expect(files).to.include.members(['cli/main.ts', 'cli/client.ts', 'cli/serve/session.ts', 'cli/trace.ts']);
  });

  it('no lib/cli file imports a lib module other than the index', () => {
    const found = cliFiles().flatMap((file) =>
      offending(file, readFileSync(file, 'utf8')).map((specifier) => `${relative(ROOT, file)}: ${specifier}`),
    );
    expect(found).to.deep.equal([]);
  });

  it('catches each way of reaching past the index', () => {
    const file = join(CLI, 'serve', 'example.ts');
    const cases: readonly (readonly [string, string[]])[] = [
      ["import { md5 } from '../../crypto/md5.js';", ['../../crypto/md5.js']],
      ["import type { Core } from '../../core/core.js';", ['../../core/core.js']],
      ["export { LineReader } from '../../transport/lines.js';", ['../../transport/lines.js']],
      ["const m = await import('../../protocols/smtp.js');", ['../../protocols/smtp.js']],
      ["import m = require('../../core/core.js');", ['../../core/core.js']],
      ["// import { md5 } from '../../crypto/md5.js';\nconst s = \"from '../../core/core.js'\";", []],
      ["const m = require('../../public.js');", ['../../public.js']],
      ["let x: import('../../core/options.js').ServerOptions;", ['../../core/options.js']],
      ['const m = await import(name);', ['<dynamic>']],
      ["import { PLAIN } from 'saslkit';", ['saslkit']],
      // Allowed: the index, the CLI's own files, Node and other packages.
      [
        "import { PLAIN } from '../../index.js'; import { Session } from './session.js'; import { run } from '../io.js'; import { Socket } from 'node:net'; import ts from 'typescript';",
        [],
      ],
    ];
    for (const [text, expected] of cases) expect(offending(file, text), text).to.deep.equal(expected);
  });
});
