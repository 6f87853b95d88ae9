/**
 * Secret comparisons go through `constantTimeEqual` (lib/core/bytes.ts), and only through it.
 *
 * (a) A scan of lib/**\/*.ts with the TypeScript parser. It flags:
 *   - `===`, `!==`, `==`, `!=` where an operand is named like a secret (a word of its
 *     identifier or property name is one of {@link SECRET_WORDS}; `clientProof`, `rspauth`,
 *     `digests.response`, `storedKey[i]`) and the other operand is not a constant: comparisons
 *     with literals, `undefined`, `null`, `typeof x`, and sizes (`.length`, `.size`,
 *     `.byteLength`) reveal nothing about a secret's content and are not flagged;
 *   - `.equals(...)`, `Buffer.compare(...)` and calls of helpers named `same*`/`*equal*` other
 *     than `constantTimeEqual`, when an operand is named like a secret;
 *   - any `timingSafeEqual` outside lib/core/bytes.ts (imported, or as `crypto.timingSafeEqual`).
 *   Names are the evidence: a secret held in a variable called `x` would slip through, which is
 *   why (b) checks behaviour too.
 * (b) At run time, `constantTimeEqual` is replaced on the lib/core/bytes.ts module object (ts-node
 *   compiles to CommonJS, and every caller reads the export at call time) by a spy. PLAIN,
 *   CRAM-MD5, SCRAM and DIGEST-MD5 servers, and the SCRAM and DIGEST-MD5 clients, must call it
 *   with the presented and expected values, and their decision must follow its answer: forced to
 *   `false` it refuses the right password, forced to `true` it accepts a wrong one.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import * as bytes from '../../lib/core/bytes.js';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  DIGEST_MD5,
  type Mechanism,
  PLAIN,
  SCRAM_SHA_256,
  type ServerOptions,
  toHex,
} from '../../lib/index.js';
import { expectSaslError, runPair } from '../support/helpers.js';

const LIB = join(__dirname, '..', '..', 'lib');

/** Words that make an identifier a secret: `storedKey`, `client_proof`, `rspauth`, `digests`. */
export const SECRET_WORDS = [
  'secret',
  'secrets',
  'digest',
  'digests',
  'proof',
  'signature',
  'key',
  'keys',
  'password',
  'passwd',
  'token',
  'response',
  'rspauth',
  'hmac',
  'mac',
  'salted',
];

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/** The name an expression is known by: `x`, `a.b.storedKey`, `keys[i]`, `(x as T)`. */
function nameOf(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node)) return nameOf(node.expression);
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node))
    return nameOf(node.expression);
  if (ts.isCallExpression(node)) return nameOf(node.expression);
  return undefined;
}

function secretLike(node: ts.Expression): boolean {
  const name = nameOf(node);
  return name !== undefined && words(name).some((w) => SECRET_WORDS.includes(w));
}

const SIZE = new Set(['length', 'size', 'byteLength']);

/** Operands that carry no secret content: constants and sizes. */
function constant(node: ts.Expression): boolean {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return constant(node.expression);
  if (ts.isLiteralExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) return true;
  if (ts.isPrefixUnaryExpression(node) && ts.isNumericLiteral(node.operand)) return true;
  const kind = node.kind;
  if (kind === ts.SyntaxKind.TrueKeyword || kind === ts.SyntaxKind.FalseKeyword || kind === ts.SyntaxKind.NullKeyword)
    return true;
  if (ts.isIdentifier(node) && (node.text === 'undefined' || /^[A-Z][A-Z0-9_]*$/.test(node.text))) return true;
  if (ts.isTypeOfExpression(node)) return true;
  if (ts.isPropertyAccessExpression(node) && SIZE.has(node.name.text)) return true;
  return false;
}

const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** One suspicious comparison: file:line and the code. */
export interface Finding {
  readonly where: string;
  readonly code: string;
}

/** Scans one source text. Exported so that the scanner itself can be tested on samples. */
export function scan(fileName: string, text: string): Finding[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const findings: Finding[] = [];
  const report = (node: ts.Node): void => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    findings.push({ where: `${fileName}:${line + 1}`, code: node.getText() });
  };
  const isBytesModule = fileName.replace(/\\/g, '/').endsWith('lib/core/bytes.ts');
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind)) {
      const { left, right } = node;
      if (!constant(left) && !constant(right) && (secretLike(left) || secretLike(right))) report(node);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const operands = [...node.arguments, ...(ts.isPropertyAccessExpression(callee) ? [callee.expression] : [])];
      const name = nameOf(callee) ?? '';
      const comparing =
        name === 'equals' ||
        (ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'compare' &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'Buffer') ||
        (/^same|equal/i.test(name) && name !== 'constantTimeEqual');
      if (comparing && operands.some((operand) => secretLike(operand))) report(node);
    }
    if (!isBytesModule) {
      if (ts.isImportSpecifier(node) && (node.propertyName ?? node.name).text === 'timingSafeEqual') report(node);
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'timingSafeEqual') report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return findings;
}

/**
 * Comparisons the heuristic flags that are not secret comparisons, each with the reason. A
 * finding is allowed when its file matches and its code contains `code`.
 */
const ALLOWED: readonly { readonly file: string; readonly code: string; readonly why: string }[] = [
  {
    file: 'lib/passwords/hashers/pbkdf2.ts',
    code: 'parts.digest !== this.digest',
    why: "`digest` is the name of the PBKDF2 hash algorithm ('sha256'), not a digest value",
  },
  {
    file: 'lib/core/registry.ts',
    code: 'm.name === key(name)',
    why: '`key()` upper-cases a mechanism name for the registry map',
  },
  {
    file: 'lib/cli/io.ts',
    code: '!== secret',
    why: 'the command-line tool checks that a password typed twice at the local terminal matches; no peer sees the timing (constantTimeEqual would do as well)',
  },
];

function allowed(finding: Finding): boolean {
  return ALLOWED.some((entry) => finding.where.startsWith(`${entry.file}:`) && finding.code.includes(entry.code));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('constant-time comparisons', () => {
  describe('source scan of lib/', () => {
    it('finds no direct comparison of secrets and no timingSafeEqual outside lib/core/bytes.ts', () => {
      const findings = sources(LIB)
        .flatMap((path) => scan(relative(join(LIB, '..'), path).replace(/\\/g, '/'), readFileSync(path, 'utf8')))
        .filter((finding) => !allowed(finding));
      expect(findings.map((f) => `${f.where}: ${f.code}`)).to.deep.equal([]);
    });

    it('flags what it should and leaves constants and sizes alone (the heuristic on samples)', () => {
      const flagged = (code: string): number => scan('lib/sample.ts', code).length;
      expect(flagged('if (presentedDigest === expectedDigest) ok();')).to.equal(1);
      expect(flagged('if (claim.response !== digests.response) fail();')).to.equal(1);
      expect(flagged('const ok = storedKey[i] === computed[i];')).to.equal(1);
      expect(flagged('if (Buffer.from(a).equals(signature)) ok();')).to.equal(1);
      expect(flagged('if (Buffer.compare(proof, other) === 0) ok();')).to.equal(1);
      expect(flagged('if (sameBytes(token, other)) ok();')).to.equal(1);
      expect(flagged("import { timingSafeEqual } from 'node:crypto';")).to.equal(1);
      expect(flagged('crypto.timingSafeEqual(a, b);')).to.equal(1);
      expect(flagged("if (token === '' || secret === undefined || key !== null) x();")).to.equal(0);
      expect(flagged('if (proof.length !== HASH_LENGTH || typeof password === "string") x();')).to.equal(0);
      expect(flagged('if (constantTimeEqual(signature, expected)) ok();')).to.equal(0);
      expect(flagged('if (final.nonce !== nonce || flag === mode) x();')).to.equal(0);
      expect(scan('lib/core/bytes.ts', "import { timingSafeEqual } from 'node:crypto';")).to.deep.equal([]);
    });
  });

  describe('run-time spy on constantTimeEqual', () => {
    type Compare = typeof bytes.constantTimeEqual;
    const exportsObject = bytes as unknown as { constantTimeEqual: Compare };
    const original = exportsObject.constantTimeEqual;
    let calls: [string, string][] = [];
    let forced: boolean | undefined;

    const text = (value: Uint8Array | string): string => (typeof value === 'string' ? value : toHex(value));
    beforeEach(() => {
      calls = [];
      forced = undefined;
      exportsObject.constantTimeEqual = (a, b) => {
        calls.push([text(a), text(b)]);
        const result = original(a, b);
        return forced ?? result;
      };
    });
    afterEach(() => {
      exportsObject.constantTimeEqual = original;
    });

    const alice = new ClearIdentity('alice', 'alice-pass');
    const options: ServerOptions = {
      lookup: (authcid) => (authcid === 'alice' ? alice : undefined),
      scramIterations: 4096,
      hostname: 'example.org',
    };
    const login = (mechanism: Mechanism, password: string): ReturnType<typeof runPair> =>
      runPair(
        mechanism.client(new ClientCredentials('alice', password), { host: 'example.org', service: 'imap' }),
        (initial) => mechanism.server(options, initial),
      );
    const called = (predicate: (pair: [string, string]) => boolean): boolean => calls.some(predicate);

    it('the spy is installed on the module object that the mechanisms read', () => {
      login(PLAIN, 'alice-pass');
      expect(calls.length).to.be.greaterThan(0);
    });

    it('PLAIN compares the presented password with the stored one through it (as strings, the stored one first)', () => {
      login(PLAIN, 'alice-pass');
      expect(calls).to.deep.include(['alice-pass', 'alice-pass']);
      calls = [];
      expectSaslError(() => login(PLAIN, 'alice-wrong'), 'AUTHENTICATION_FAILED');
      // The loop runs over the first string's length: the stored secret's, not the peer's.
      expect(calls).to.deep.include(['alice-pass', 'alice-wrong']);
    });

    it('CRAM-MD5 compares the presented digest through it', () => {
      const result = login(CRAM_MD5, 'alice-pass');
      const digest = (result.transcript.find((line) => line.startsWith('C: alice ')) ?? '').slice('C: alice '.length);
      expect(digest).to.match(/^[0-9a-f]{32}$/);
      expect(called(([a, b]) => a === digest || b === digest)).to.equal(true);
    });

    it('SCRAM compares H(ClientKey) with StoredKey on the server and the server signature on the client through it', () => {
      const result = login(SCRAM_SHA_256, 'alice-pass');
      const signature = (result.transcript.find((line) => line.startsWith('S: v=')) ?? '').slice('S: v='.length);
      expect(signature).to.not.equal('');
      const signatureHex = toHex(Buffer.from(signature, 'base64'));
      expect(
        called(([a, b]) => a === signatureHex || b === signatureHex),
        'client: server signature',
      ).to.equal(true);
      // StoredKey is 32 bytes for SHA-256: the server's proof check compares two such values.
      expect(
        called(([a, b]) => a.length === 64 && b.length === 64 && a === b && a !== signatureHex),
        'server: H(ClientKey) vs StoredKey',
      ).to.equal(true);
    });

    it('DIGEST-MD5 compares the response on the server and rspauth on the client through it', () => {
      const result = login(DIGEST_MD5, 'alice-pass');
      const response = /response=([0-9a-f]{32})/.exec(result.transcript.join('\n'))?.[1];
      const rspauth = /rspauth=([0-9a-f]{32})/.exec(result.transcript.join('\n'))?.[1];
      expect(
        called(([a, b]) => a === response || b === response),
        'server: response',
      ).to.equal(true);
      expect(
        called(([a, b]) => a === rspauth || b === rspauth),
        'client: rspauth',
      ).to.equal(true);
    });

    for (const mechanism of [PLAIN, CRAM_MD5, SCRAM_SHA_256, DIGEST_MD5]) {
      it(`${mechanism.name}'s verdict follows constantTimeEqual's answer`, () => {
        forced = false;
        expectSaslError(() => login(mechanism, 'alice-pass'), 'AUTHENTICATION_FAILED');
        forced = true;
        // Every comparison says "equal": the wrong password gets in, so nothing else decided.
        const server = (() => {
          try {
            return login(mechanism, 'wrong-pass').server;
          } catch (error) {
            // The client side may still refuse (its own check is forced too, so it should not).
            throw new Error(`${mechanism.name} refused although every comparison was forced equal: ${String(error)}`, {
              cause: error,
            });
          }
        })();
        expect(server.authcid).to.equal('alice');
      });
    }
  });
});
