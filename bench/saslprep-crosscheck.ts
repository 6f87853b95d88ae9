/**
 * Compares lib/passwords/saslprep.ts with an independent Unicode 3.2 SASLprep (bench/saslprep-crosscheck.py,
 * over Python's `stringprep` and `unicodedata.ucd_3_2_0`) on every code point 0..0x10FFFF in both
 * modes and on random strings, and prints the differences (expected: none).
 *
 *     node -r ts-node/register/transpile-only bench/saslprep-crosscheck.ts [randomCount]
 *
 * Not part of npm test: it needs python3. The npm test spec compares with @mongodb-js/saslprep.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { saslprep } from '../lib/passwords/saslprep.js';

const ROOT = join(__dirname, '..');
const randomCount = Number(process.argv[2] ?? 200_000);

// Pools that exercise normalization and the bidi rule in combination (see spec/passwords/saslprep-exhaustive.spec.ts).
const interesting = [
  0x41, 0x61, 0x31, 0x20, 0x7e, 0xc5, 0xe9, 0x300, 0x301, 0x327, 0x345, 0x5b0, 0x5d0, 0x627, 0x628, 0x660, 0x6dd,
  0x1100, 0x1161, 0x11a8, 0xac00, 0x3099, 0x304b, 0x200b, 0xad, 0xa0, 0x2000, 0xfeff, 0x2f868, 0x2f874, 0x2f91f,
  0x2f95f, 0x2f9bf, 0xf951, 0x1e9e, 0x2c7c, 0x1dc0, 0x1dff, 0x0221, 0x1f511, 0x0344, 0x0f73, 0x0f75, 0x0f81, 0x1d15e,
  0x1d160, 0xfb1d, 0xfb1f, 0xfe70, 0xfdfa,
];
const codePoint = fc.oneof(
  fc.constantFrom(...interesting),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x300, max: 0x36f }),
  fc.integer({ min: 0x0, max: 0x10ffff }),
  fc.integer({ min: 0x0, max: 0x2fff }),
);
const randomStrings = fc.sample(fc.array(codePoint, { minLength: 1, maxLength: 8 }), {
  seed: 4013,
  numRuns: randomCount,
});

const cases: { readonly text: string; readonly query: boolean }[] = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  const text = String.fromCodePoint(cp);
  cases.push({ text, query: false }, { text, query: true });
}
for (const points of randomStrings) {
  const text = String.fromCodePoint(...points);
  cases.push({ text, query: false }, { text, query: true });
}

const hex = (text: string): string => Array.from(text, (c) => (c.codePointAt(0) ?? 0).toString(16)).join(' ');
// Lone surrogates: Array.from(text) keeps them as one-unit strings, which codePointAt reads as themselves.
const input = cases.map(({ text, query }) => `${query ? 'q' : 's'} ${hex(text)}`).join('\n') + '\n';
const started = Date.now();
const python = spawnSync('python3', [join(__dirname, 'saslprep-crosscheck.py'), 'prepare'], {
  input,
  maxBuffer: 1 << 30,
  encoding: 'utf8',
  cwd: ROOT,
});
if (python.status !== 0) throw new Error(`python3 failed: ${python.stderr}`);
const expected = python.stdout.split('\n');

function ours(text: string, query: boolean): string {
  try {
    return `ok ${hex(saslprep(text, { allowUnassigned: query }))}`.trimEnd();
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (message.includes('prohibited')) return 'err prohibited';
    if (message.includes('unassigned')) return 'err unassigned';
    if (message.includes('bidi')) return 'err bidi';
    return `err ${message}`;
  }
}

let differences = 0;
cases.forEach(({ text, query }, i) => {
  const reference = (expected[i] ?? '').trimEnd();
  const got = ours(text, query);
  if (got !== reference) {
    differences++;
    if (differences <= 30)
      console.log(`${query ? 'query ' : 'stored'} [${hex(text)}]: saslkit ${got}, Unicode 3.2 reference ${reference}`);
  }
});
console.log(
  `${cases.length} cases (0x110000 code points x 2 modes, ${randomStrings.length} random strings x 2 modes), ${differences} differences, ${Date.now() - started} ms`,
);
process.exitCode = differences === 0 ? 0 : 1;
