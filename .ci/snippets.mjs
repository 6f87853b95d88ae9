#!/usr/bin/env node
/* global console, process */
// Type-checks every TypeScript block (```ts, ```typescript) in README.md and docs/*.md against
// the BUILT package, as a user who copies it would: each block is its own ES module (.mts)
// importing 'saslkit', which resolves through package.json `exports` to dist/index.d.mts, with
// strict settings (module nodenext, exactOptionalPropertyTypes, noUncheckedIndexedAccess,
// skipLibCheck off). A block is skipped only when its info string says `fragment`
// (```ts fragment: why), for signature sketches that are not code.
// Prints each failing block's file:line with the compiler's messages; exits 1 if any fails.
// Usage: npm run build && node .ci/snippets.mjs   (or npm run check:docs)
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(join(REPO, 'package.json'))('typescript');

const DIST_TYPES = join(REPO, 'dist', 'index.d.mts');
if (!existsSync(DIST_TYPES)) {
  console.error(`snippets: ${relative(REPO, DIST_TYPES)} is missing; run npm run build first`);
  process.exit(2);
}

// Third-party modules a page shows an adapter for, which saslkit does not depend on: their
// declarations, as small as the snippets need and true to the real package's API, so that the
// snippet still type-checks honestly (no `any`).
const THIRD_PARTY = `
declare module 'argon2' {
  export const argon2d: 0;
  export const argon2i: 1;
  export const argon2id: 2;
  export interface Options { type?: 0 | 1 | 2; memoryCost?: number; timeCost?: number; parallelism?: number }
  export function hash(plain: string | Buffer, options?: Options): Promise<string>;
  export function verify(digest: string, plain: string | Buffer): Promise<boolean>;
}
`;

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;
const TS_LANGS = new Set(['ts', 'typescript', 'mts']);

/** Every fenced block of a Markdown file: language, the rest of the info string, first code line (1-based), code. */
function blocks(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, marker, lang, rest] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j];
      const t = line.trim();
      if (t.length >= marker.length && [...t].every((c) => c === marker[0])) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    found.push({ lang: lang.toLowerCase(), info: rest.trim(), line: i + 2, code: body.join('\n') });
    i = j;
  }
  return found;
}

const pages = [
  'README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const work = mkdtempSync(join(tmpdir(), 'saslkit-snippets-'));
mkdirSync(join(work, 'node_modules'));
// The package as an installed dependency: resolution goes through its package.json `exports`.
symlinkSync(REPO, join(work, 'node_modules', 'saslkit'), 'dir');
// The peers docs/integrations.md shows saslkit/nodemailer and saslkit/smtp-server with, as the
// repo installed them (their own declarations), so those blocks are checked against real types.
for (const peer of ['nodemailer', 'smtp-server'])
  symlinkSync(join(REPO, 'node_modules', peer), join(work, 'node_modules', peer), 'dir');
writeFileSync(join(work, 'package.json'), '{ "name": "saslkit-snippets", "private": true, "type": "module" }\n');
writeFileSync(join(work, 'third-party.d.ts'), THIRD_PARTY);

const snippets = new Map(); // snippet file -> { page, line }
let skipped = 0;
for (const page of pages) {
  for (const block of blocks(join(REPO, page))) {
    if (!TS_LANGS.has(block.lang)) continue;
    if (/\bfragment\b/.test(block.info)) {
      skipped++;
      continue;
    }
    const file = join(work, `snippet-${String(snippets.size + 1).padStart(3, '0')}.mts`);
    // `export {}` at the end makes every block a module, so that blocks do not share globals,
    // without moving its lines.
    writeFileSync(file, `${block.code}\nexport {};\n`);
    snippets.set(file, { page, line: block.line });
  }
}

const options = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  skipLibCheck: false,
  noEmit: true,
  types: ['node'],
  typeRoots: [join(REPO, 'node_modules', '@types')],
};
const program = ts.createProgram([...snippets.keys(), join(work, 'third-party.d.ts')], options);
const diagnostics = ts.getPreEmitDiagnostics(program);

// The blocks must have been checked against dist/, not against lib/ or an older install.
const resolvedTo = program
  .getSourceFiles()
  .map((f) => f.fileName)
  .filter((f) => f.endsWith('/dist/index.d.mts'));
const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => work, getNewLine: () => '\n' };
const failures = new Map(); // "page:line" -> messages
let other = 0;
// @types/xmpp__client 0.14 imports paths that NodeNext cannot resolve ('@xmpp/iq/callee', a
// directory '../..'): errors inside those declaration files, not in the snippets using them.
const BROKEN_TYPES = /[\\/]node_modules[\\/]@types[\\/]xmpp__[^\\/]+[\\/]/;
for (const diagnostic of diagnostics) {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  const origin = diagnostic.file && snippets.get(diagnostic.file.fileName);
  if (!origin && diagnostic.file && BROKEN_TYPES.test(diagnostic.file.fileName)) continue;
  if (!origin) {
    other++;
    console.error(ts.formatDiagnostic(diagnostic, host).trim());
    continue;
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const key = `${origin.page}:${origin.line}`;
  const list = failures.get(key) ?? [];
  list.push(
    `  ${origin.page}:${origin.line + line}:${character + 1} TS${diagnostic.code}: ${text.replace(/\n/g, '\n    ')}`,
  );
  failures.set(key, list);
}
for (const [key, list] of failures) {
  console.error(`snippet at ${key} does not type-check:`);
  console.error(list.join('\n'));
}
if (resolvedTo.length === 0 && snippets.size > 0) {
  console.error("snippets: 'saslkit' did not resolve to dist/index.d.mts");
  other++;
}
console.log(
  `snippets: ${snippets.size} TypeScript blocks checked in ${pages.length} pages, ${skipped} marked fragment; ${failures.size} failing${other ? `, ${other} other problem(s)` : ''}`,
);
if (failures.size > 0 || other > 0) {
  console.error(`snippets: files kept in ${work}`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
