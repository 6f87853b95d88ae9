/**
 * Node at the edges only (issue 13): the portable part of lib/ (core, drivers, mechanisms,
 * credentials, identities, hashers, stored secrets, SASLprep, the crypto provider's interface and
 * its WebCrypto form) imports no Node built-in and uses no `Buffer` or `process`, and what the
 * portable entry (lib/index.web.ts, with `.web.ts` siblings swapped in as rollup.config.mjs does)
 * reaches imports no Node built-in at run time. Checked with the TypeScript parser, so comments
 * and strings do not count. Also: portable modules do no work at load beyond building constants.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');

/** Files that are edges by design: Node-only, never reached by the portable entry. */
const EDGES = new Set([
  'channel-binding/tls-socket.ts',
  'passwords/kdf-pool.ts',
  'index.ts',
  'crypto/node.ts',
  'crypto/default.ts',
]);
/** The portable set: these directories and top-level files, minus {@link EDGES}. */
const PORTABLE_DIRS = ['core', 'passwords', 'passwords/hashers', 'channel-binding', 'crypto', 'mechanisms', 'drivers'];

function portableFiles(): string[] {
  const top = readdirSync(LIB).filter((name) => name.endsWith('.ts'));
  const nested = PORTABLE_DIRS.flatMap((dir) =>
    readdirSync(join(LIB, dir))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `${dir}/${name}`),
  );
  return [...top, ...nested].filter((file) => !EDGES.has(file)).sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

const NODE_BUILTINS = new Set(builtinModules);
const isNodeModule = (specifier: string): boolean =>
  specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0] ?? '');

/** Module specifiers imported at run time (type-only imports and exports are erased). */
function runtimeImports(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      node.importClause?.isTypeOnly !== true
    ) {
      const named = node.importClause?.namedBindings;
      const onlyTypes =
        node.importClause !== undefined &&
        node.importClause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      !node.isTypeOnly
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [first] = node.arguments;
      found.push(first !== undefined && ts.isStringLiteral(first) ? first.text : '<dynamic>');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Uses of Node's globals in code (identifiers, not words in comments or strings). */
function nodeGlobals(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isIdentifier(node) &&
      (node.text === 'Buffer' || node.text === 'process' || node.text === '__dirname' || node.text === 'require')
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${relative(ROOT, source.fileName)}:${line + 1}: ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

// Calls allowed at module load: they build constants and touch nothing outside.
const PURE_CALLS =
  /^(Symbol|Symbol\.for|Object\.freeze|Array\.from|Uint8Array\.of|new Map|new Set|new WeakMap|new WeakSet|new RegExp|new Uint8Array|Object\.keys|Object\.fromEntries)$/;

/** Top-level statements that run code at load: calls other than {@link PURE_CALLS} and not marked pure. */
function workAtLoad(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const text = source.getFullText();
  const check = (expression: ts.Node | undefined): void => {
    if (expression === undefined) return;
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) || ts.isClassExpression(node)) return;
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        const callee = `${ts.isNewExpression(node) ? 'new ' : ''}${node.expression.getText(source)}`;
        const leading = text.slice(node.getFullStart(), node.getStart());
        if (!PURE_CALLS.test(callee) && !/@__PURE__|#__PURE__/.test(leading)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          found.push(`${relative(ROOT, source.fileName)}:${line + 1}: ${callee}(...)`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(expression);
  };
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement))
      for (const declaration of statement.declarationList.declarations) check(declaration.initializer);
    else if (ts.isExpressionStatement(statement)) check(statement.expression);
  }
  return found;
}

/** Resolves a relative `.js` specifier to its .ts file, preferring a `.web.ts` sibling as the portable build does. */
function resolveWeb(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier).replace(/\.js$/, '');
  for (const candidate of [`${base}.web.ts`, `${base}.ts`, join(base, 'index.ts')])
    if (existsSync(candidate)) return candidate;
  return undefined;
}

describe('portable lib/ (no Node built-ins below the edges)', () => {
  const files = portableFiles();

  it('covers the core, drivers, mechanisms, stores of secrets and the crypto provider', () => {
    for (const file of [
      'core/core.ts',
      'core/exchange.ts',
      'core/bytes.ts',
      'passwords/scram-secret.ts',
      'mechanisms/scram-cache.ts',
      'passwords/hashers/pbkdf2.ts',
      'passwords/identity.ts',
      'passwords/credentials.ts',
      'mechanisms/scram.ts',
      'drivers/sync.ts',
      'crypto/web.ts',
    ]) {
      expect(files).to.include(file);
    }
  });

  it('imports no Node built-in in a portable file', () => {
    const offending = files.flatMap((file) =>
      runtimeImports(parse(join(LIB, file)))
        .filter(isNodeModule)
        .map((specifier) => `${file}: ${specifier}`),
    );
    expect(offending).to.deep.equal([]);
  });

  it('uses no Buffer, process, __dirname or require in a portable file', () => {
    expect(files.flatMap((file) => nodeGlobals(parse(join(LIB, file))))).to.deep.equal([]);
  });

  it('does no work at module load in a portable file (constants only; shared instances marked pure)', () => {
    expect(files.flatMap((file) => workAtLoad(parse(join(LIB, file))))).to.deep.equal([]);
  });

  it('reaches no Node built-in from the portable entry lib/index.web.ts, with .web.ts siblings swapped in', () => {
    const seen = new Set<string>();
    const offending: string[] = [];
    const queue = [join(LIB, 'index.web.ts')];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of runtimeImports(parse(file))) {
        if (isNodeModule(specifier)) offending.push(`${relative(ROOT, file)}: ${specifier}`);
        const next = resolveWeb(file, specifier);
        if (next !== undefined) queue.push(next);
      }
    }
    expect(seen.has(join(LIB, 'crypto', 'default.web.ts'))).to.equal(true);
    expect(seen.has(join(LIB, 'crypto', 'node.ts'))).to.equal(false);
    expect(offending).to.deep.equal([]);
  });
});
