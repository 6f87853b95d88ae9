/**
 * Finds what lib/index.ts exports and how each export is declared, by reading the TypeScript
 * sources with the compiler's parser (syntax only: fast, and no type checker). The fuzzers use
 * it to find every exported parser and to build inputs from its parameter types, so a parser
 * added later is fuzzed without editing the fuzzers.
 *
 * Type annotations become fast-check arbitraries: `string`, `Uint8Array`, numbers, booleans,
 * literals and their unions, arrays, tuples, async iterables, `Readable`, a WebSocket
 * (`XmppWebSocket`: fuzzed text messages, maybe a binary frame, then close), and interfaces or type
 * aliases declared anywhere in lib/ (required properties only; optional ones keep their
 * defaults). A parameter whose type cannot be built is reported, never guessed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import ts from 'typescript';
import { localText } from './mutate.js';

/** lib/, where the sources live. */
export const LIB_DIR = join(__dirname, '..', '..', 'lib');

/** A declared parameter. */
export interface Param {
  readonly name: string;
  /** Optional (`?`) or defaulted: the fuzzers leave it out. */
  readonly optional: boolean;
  readonly type: ts.TypeNode | undefined;
}

/** How an export is declared. */
export interface Declaration {
  readonly name: string;
  readonly file: string;
  readonly kind: 'function' | 'class';
  /** Function parameters, or the constructor's. */
  readonly params: readonly Param[];
  /** Static methods of a class, with their parameters. */
  readonly statics: ReadonlyMap<string, readonly Param[]>;
}

type TypeDecl = ts.InterfaceDeclaration | ts.TypeAliasDeclaration;

/**
 * Exported classes whose instances the fuzzers may build as arguments (a reader handed to a
 * parser): name to constructor, set by the properties module from lib/index.ts's exports.
 */
const constructible = new Map<string, new (...args: unknown[]) => unknown>();

/** Registers a class that may appear as a parameter type; it is built from its constructor's parameters. */
export function allowConstruction(name: string, ctor: new (...args: unknown[]) => unknown): void {
  constructible.set(name, ctor);
}

const sources = new Map<string, ts.SourceFile>();

function source(file: string): ts.SourceFile {
  let parsed = sources.get(file);
  if (parsed === undefined) {
    parsed = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    sources.set(file, parsed);
  }
  return parsed;
}

function moduleFile(from: string, specifier: string): string {
  return join(dirname(from), specifier.replace(/\.js$/, '.ts'));
}

function params(list: ts.NodeArray<ts.ParameterDeclaration>): Param[] {
  return list.map((p) => ({
    name: p.name.getText(),
    optional: p.questionToken !== undefined || p.initializer !== undefined || p.dotDotDotToken !== undefined,
    type: p.type,
  }));
}

function localDeclaration(file: string, name: string): Declaration | undefined {
  for (const statement of source(file).statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name && statement.body !== undefined) {
      return { name, file, kind: 'function', params: params(statement.parameters), statics: new Map() };
    }
    if (ts.isClassDeclaration(statement) && statement.name?.text === name) {
      const ctor = statement.members.find(ts.isConstructorDeclaration);
      const statics = new Map<string, Param[]>();
      for (const member of statement.members) {
        if (
          ts.isMethodDeclaration(member) &&
          (ts.getModifiers(member) ?? []).some((m) => m.kind === ts.SyntaxKind.StaticKeyword)
        ) {
          statics.set(member.name.getText(), params(member.parameters));
        }
      }
      return { name, file, kind: 'class', params: ctor ? params(ctor.parameters) : [], statics };
    }
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (
          d.name.getText() === name &&
          d.initializer !== undefined &&
          (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))
        ) {
          return { name, file, kind: 'function', params: params(d.initializer.parameters), statics: new Map() };
        }
      }
    }
  }
  return undefined;
}

/** The declaration behind an export of `file`, following `export *` and `export { } from`. */
function findExport(file: string, name: string, seen = new Set<string>()): Declaration | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  for (const statement of source(file).statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const from =
      statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
        ? moduleFile(file, statement.moduleSpecifier.text)
        : file;
    const clause = statement.exportClause;
    if (clause === undefined) {
      const found = findExport(from, name, seen);
      if (found) return found;
    } else if (ts.isNamedExports(clause)) {
      for (const element of clause.elements) {
        if (element.name.text !== name) continue;
        const original = element.propertyName?.text ?? name;
        return from === file ? localDeclaration(file, original) : findExport(from, original, new Set());
      }
    }
  }
  const local = localDeclaration(file, name);
  return local;
}

/** How `name`, an export of lib/index.ts, is declared; undefined when it is not a function or class. */
export function declarationOf(name: string): Declaration | undefined {
  return findExport(join(LIB_DIR, 'index.ts'), name);
}

// Every interface and type alias in lib/, by name, for resolving parameter types.
const typeDecls: Map<string, TypeDecl> = (() => {
  const found = new Map<string, TypeDecl>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        for (const statement of source(path).statements) {
          if (
            (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) &&
            !found.has(statement.name.text)
          )
            found.set(statement.name.text, statement);
        }
      }
    }
  };
  walk(LIB_DIR);
  return found;
})();

/** Builds a fresh value each time it is used, for inputs that are consumed (streams, iterators). */
export class Fresh<T> {
  constructor(
    readonly make: () => T,
    /** How fast-check prints it in a counterexample; computed only then, since inputs can be large. */
    readonly label: () => string,
  ) {}
  [fc.toStringMethod](): string {
    return this.label();
  }
}

/** Replaces every {@link Fresh} in `value` with a new instance. */
export function materialize(value: unknown): unknown {
  if (value instanceof Fresh) return value.make();
  if (Array.isArray(value)) return value.map(materialize);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialize(v)]));
  }
  return value;
}

/** Where a value comes from: the peer (seeded, dictionary-driven) or local code (plain random). */
export interface Sources {
  readonly text: fc.Arbitrary<string>;
  readonly bytes: fc.Arbitrary<Uint8Array>;
  /** Lists of peer lines (capability responses ...). */
  readonly lines: fc.Arbitrary<string[]>;
}

/** Local inputs: plain random values. */
export const LOCAL: Sources = {
  text: localText,
  bytes: fc.uint8Array({ maxLength: 64 }),
  lines: fc.array(localText, { maxLength: 8 }),
};

function asyncSource<T>(items: readonly T[]): Fresh<AsyncIterable<T>> {
  return new Fresh(
    () =>
      (async function* () {
        for (const item of items) yield await Promise.resolve(item);
      })(),
    () => `asyncSource(${fc.stringify(items)})`,
  );
}

function readableOf(chunks: readonly Uint8Array[]): Fresh<Readable> {
  return new Fresh(
    () =>
      Readable.from(
        chunks.map((c) => Buffer.from(c)),
        { objectMode: false },
      ),
    () => `Readable.from(${fc.stringify(chunks)})`,
  );
}

type SocketListener = (event: { readonly data?: unknown; readonly code?: number }) => void;

/**
 * A WebSocket (the WHATWG shape an `XmppWebSocket` parameter asks for) that, once listened to,
 * delivers `messages` as message events, then a binary frame when `binary`, then closes.
 */
class FuzzWebSocket {
  readyState = 1;
  readonly protocol = 'xmpp';
  readonly sent: string[] = [];
  readonly #listeners = new Map<string, Set<SocketListener>>();
  #scheduled = false;

  constructor(
    private readonly messages: readonly string[],
    private readonly binary: boolean,
  ) {}

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 3;
  }

  addEventListener(type: string, listener: SocketListener): void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the reader's constructor has registered all of its listeners.
    setImmediate(() => {
      for (const data of this.messages) this.#emit('message', { data });
      if (this.binary) this.#emit('message', { data: new Uint8Array(1) });
      this.readyState = 3;
      this.#emit('close', { code: 1000 });
    });
  }

  removeEventListener(type: string, listener: SocketListener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  #emit(type: string, event: { readonly data?: unknown; readonly code?: number }): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }
}

function webSocketOf(messages: readonly string[], binary: boolean): Fresh<FuzzWebSocket> {
  return new Fresh(
    () => new FuzzWebSocket(messages, binary),
    () => `webSocket(${fc.stringify(messages)}, ${binary})`,
  );
}

/** Why a type could not be turned into an arbitrary. */
export class Unbuildable extends Error {}

interface Context {
  readonly sources: Sources;
  readonly env: ReadonlyMap<string, ts.TypeNode>;
  readonly depth: number;
}

function members(
  decl: ts.InterfaceDeclaration | ts.TypeLiteralNode,
  ctx: Context,
  out: Map<string, fc.Arbitrary<unknown>>,
): void {
  if (ts.isInterfaceDeclaration(decl)) {
    for (const clause of decl.heritageClauses ?? []) {
      for (const base of clause.types) {
        const target = typeDecls.get(base.expression.getText());
        if (target === undefined) throw new Unbuildable(`unknown base interface ${base.expression.getText()}`);
        if (ts.isInterfaceDeclaration(target)) members(target, ctx, out);
        else if (ts.isTypeLiteralNode(target.type)) members(target.type, ctx, out);
        else throw new Unbuildable(`base ${base.expression.getText()} is not an object type`);
      }
    }
  }
  for (const member of decl.members) {
    if (member.questionToken !== undefined) continue;
    if (!ts.isPropertySignature(member))
      throw new Unbuildable(`required member ${member.name?.getText() ?? '?'} is not a property`);
    out.set(member.name.getText(), arbitraryFor(member.type, { ...ctx, depth: ctx.depth + 1 }));
  }
}

function objectArbitrary(decl: ts.InterfaceDeclaration | ts.TypeLiteralNode, ctx: Context): fc.Arbitrary<unknown> {
  const fields = new Map<string, fc.Arbitrary<unknown>>();
  members(decl, ctx, fields);
  return fc.record(Object.fromEntries(fields));
}

/** An arbitrary for a type annotation; throws {@link Unbuildable} when there is none. */
export function arbitraryFor(node: ts.TypeNode | undefined, ctx: Context): fc.Arbitrary<unknown> {
  if (node === undefined) throw new Unbuildable('a parameter without a type annotation');
  if (ctx.depth > 8) throw new Unbuildable('type nests too deeply');
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return ctx.sources.text;
    case ts.SyntaxKind.NumberKeyword:
      return fc.oneof(
        fc.integer({ min: -1, max: 70000 }),
        fc.constantFrom(0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53),
      );
    case ts.SyntaxKind.BooleanKeyword:
      return fc.boolean();
    case ts.SyntaxKind.UndefinedKeyword:
    case ts.SyntaxKind.VoidKeyword:
      return fc.constant(undefined);
    case ts.SyntaxKind.UnknownKeyword:
    case ts.SyntaxKind.AnyKeyword:
      return fc.oneof(ctx.sources.bytes, ctx.sources.text, fc.constant(undefined), fc.integer());
    default:
      break;
  }
  if (ts.isParenthesizedTypeNode(node)) return arbitraryFor(node.type, ctx);
  if (ts.isTypeOperatorNode(node)) return arbitraryFor(node.type, ctx);
  if (ts.isLiteralTypeNode(node)) {
    const literal = node.literal;
    if (ts.isStringLiteral(literal)) return fc.constant(literal.text);
    if (ts.isNumericLiteral(literal)) return fc.constant(Number(literal.text));
    if (literal.kind === ts.SyntaxKind.TrueKeyword) return fc.constant(true);
    if (literal.kind === ts.SyntaxKind.FalseKeyword) return fc.constant(false);
    if (literal.kind === ts.SyntaxKind.NullKeyword) return fc.constant(null);
    throw new Unbuildable(`literal type ${node.getText()}`);
  }
  if (ts.isUnionTypeNode(node)) {
    const options: fc.Arbitrary<unknown>[] = [];
    const reasons: string[] = [];
    for (const member of node.types) {
      try {
        options.push(arbitraryFor(member, ctx));
      } catch (error) {
        if (!(error instanceof Unbuildable)) throw error;
        reasons.push(error.message);
      }
    }
    if (options.length === 0)
      throw new Unbuildable(`no member of ${node.getText()} can be built (${reasons.join('; ')})`);
    return fc.oneof(...options);
  }
  if (ts.isArrayTypeNode(node)) {
    if (node.elementType.kind === ts.SyntaxKind.StringKeyword) return ctx.sources.lines;
    return fc.array(arbitraryFor(node.elementType, ctx), { maxLength: 12 });
  }
  if (ts.isTupleTypeNode(node))
    return fc.tuple(...node.elements.map((e) => arbitraryFor(ts.isNamedTupleMember(e) ? e.type : e, ctx)));
  if (ts.isTypeLiteralNode(node)) return objectArbitrary(node, ctx);
  if (ts.isTypeReferenceNode(node)) return referenceArbitrary(node, ctx);
  throw new Unbuildable(`type ${node.getText()}`);
}

function referenceArbitrary(node: ts.TypeReferenceNode, ctx: Context): fc.Arbitrary<unknown> {
  const name = node.typeName.getText();
  const args = node.typeArguments ?? [];
  const bound = ctx.env.get(name);
  if (bound !== undefined) return arbitraryFor(bound, { ...ctx, env: new Map() });
  const first = args[0];
  switch (name) {
    case 'Uint8Array':
    case 'Buffer':
      return ctx.sources.bytes;
    case 'Array':
    case 'ReadonlyArray':
    case 'Iterable':
      if (first?.kind === ts.SyntaxKind.StringKeyword) return ctx.sources.lines;
      return fc.array(arbitraryFor(first, ctx), { maxLength: 12 });
    case 'AsyncIterable':
    case 'AsyncIterator':
    case 'AsyncIterableIterator': {
      const items =
        first?.kind === ts.SyntaxKind.StringKeyword
          ? ctx.sources.lines
          : fc.array(arbitraryFor(first, ctx), { maxLength: 12 });
      return items.map((list) => asyncSource(list));
    }
    case 'Readable':
      return fc.array(ctx.sources.bytes, { maxLength: 8 }).map((chunks) => readableOf(chunks));
    case 'XmppWebSocket':
      return fc.tuple(ctx.sources.lines, fc.boolean()).map(([messages, binary]) => webSocketOf(messages, binary));
    default:
      break;
  }
  const ctor = constructible.get(name);
  const classDecl = ctor === undefined ? undefined : declarationOf(name);
  if (ctor !== undefined && classDecl?.kind === 'class') {
    const args = classDecl.params
      .filter((p) => !p.optional)
      .map((p, i) =>
        arbitraryFor(p.type, { ...ctx, sources: i === 0 ? ctx.sources : LOCAL, env: new Map(), depth: ctx.depth + 1 }),
      );
    return fc.tuple(...args).map(
      (values) =>
        new Fresh(
          () => new ctor(...(materialize(values) as unknown[])),
          () => `new ${name}(${fc.stringify(values)})`,
        ),
    );
  }
  const decl = typeDecls.get(name);
  if (decl === undefined) throw new Unbuildable(`type ${name} is not declared in lib/ and has no generator`);
  const env = new Map<string, ts.TypeNode>();
  (decl.typeParameters ?? []).forEach((param, i) => {
    const arg = args[i] ?? param.default;
    if (arg !== undefined) env.set(param.name.text, arg);
  });
  const inner = { ...ctx, env, depth: ctx.depth + 1 };
  return ts.isInterfaceDeclaration(decl) ? objectArbitrary(decl, inner) : arbitraryFor(decl.type, inner);
}

/**
 * Arbitraries for the required parameters of a declaration: the first from the peer
 * `sources`, the rest local. Optional and defaulted parameters are left out.
 */
export function argumentArbitraries(list: readonly Param[], peer: Sources): fc.Arbitrary<unknown>[] {
  const required = list.filter((p) => !p.optional);
  return required.map((p, i) => {
    try {
      return arbitraryFor(p.type, { sources: i === 0 ? peer : LOCAL, env: new Map(), depth: 0 });
    } catch (error) {
      if (error instanceof Unbuildable) throw new Unbuildable(`parameter ${p.name}: ${error.message}`);
      throw error;
    }
  });
}

/** The names of the required properties of an interface or type alias, with inherited ones. */
export function requiredProperties(node: ts.TypeNode | undefined): { required: string[]; optional: string[] } {
  const out = { required: [] as string[], optional: [] as string[] };
  const visit = (decl: ts.InterfaceDeclaration | ts.TypeLiteralNode): void => {
    if (ts.isInterfaceDeclaration(decl)) {
      for (const clause of decl.heritageClauses ?? [])
        for (const base of clause.types) visitType(typeDecls.get(base.expression.getText()));
    }
    for (const member of decl.members)
      (member.questionToken === undefined ? out.required : out.optional).push(member.name?.getText() ?? '?');
  };
  const visitType = (decl: TypeDecl | undefined): void => {
    if (decl === undefined) return;
    if (ts.isInterfaceDeclaration(decl)) visit(decl);
    else if (ts.isTypeLiteralNode(decl.type)) visit(decl.type);
    else if (ts.isTypeReferenceNode(decl.type)) visitType(typeDecls.get(decl.type.typeName.getText()));
  };
  if (node !== undefined && ts.isTypeReferenceNode(node)) visitType(typeDecls.get(node.typeName.getText()));
  else if (node !== undefined && ts.isTypeLiteralNode(node)) visit(node);
  return out;
}
