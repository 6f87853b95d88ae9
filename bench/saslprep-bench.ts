/**
 * Cost of one saslprep() call, saslkit's own (lib/passwords/saslprep.ts) against @mongodb-js/saslprep
 * (what lib/passwords/saslprep.ts wrapped before issue 13), on typical names and passwords:
 *
 *     node -r ts-node/register/transpile-only bench/saslprep-bench.ts
 *
 * Prints ns per call for each input and the cost of the first call (which decodes the tables).
 * The old wrapper returned printable ASCII unchanged before calling the library, as saslkit
 * still does: that line is the floor of both.
 */
import { performance } from 'node:perf_hooks';
import oracleSaslprep from '@mongodb-js/saslprep';

import { saslprep } from '../lib/passwords/saslprep.js';

const beforeFirstCall = performance.now();
saslprep('p\u00E4ss');
const firstCall = performance.now() - beforeFirstCall;

const inputs: Record<string, string> = {
  'ASCII password (fast path)': 'correct horse battery staple',
  'Latin-1 password': 'p\u00E4ssw\u00F6rd-\u00DF\u00E9',
  'Cyrillic name': '\u0410\u043B\u0435\u043A\u0441\u0430\u043D\u0434\u0440 \u041F\u0443\u0448\u043A\u0438\u043D',
  'Arabic name (bidi)': '\u0645\u062D\u0645\u062F \u0639\u0644\u064A',
  'CJK + fullwidth (NFKC)': '\u5BC6\u7801\uFF21\uFF22\uFF23\uFF11\uFF12\uFF13',
  'mapped (NBSP, soft hyphen)': 'pass\u00A0word\u00ADx',
  '1 KB mixed': 'a\u00E9\u0416\u4E2D\uFB01 '.repeat(170),
};

function nsPerCall(fn: (text: string) => string, text: string): number {
  const budgetMs = 300;
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < budgetMs) {
    for (let i = 0; i < 100; i++) fn(text);
    calls += 100;
  }
  return ((performance.now() - start) * 1e6) / calls;
}

const ours = (text: string): string => saslprep(text);
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const theirs = (text: string): string => (PRINTABLE_ASCII.test(text) ? text : oracleSaslprep(text));
for (const text of Object.values(inputs))
  if (ours(text) !== theirs(text)) throw new Error(`results differ on ${JSON.stringify(text)}`);

console.log(`first call (decodes the tables) ${firstCall.toFixed(2)} ms`);
console.log(`${'input'.padEnd(30)} ${'saslkit'.padStart(10)} ${'@mongodb-js'.padStart(12)}  ratio`);
for (const [name, text] of Object.entries(inputs)) {
  const a = nsPerCall(ours, text);
  const b = nsPerCall(theirs, text);
  console.log(
    `${name.padEnd(30)} ${`${a.toFixed(0)} ns`.padStart(10)} ${`${b.toFixed(0)} ns`.padStart(12)}  ${(a / b).toFixed(2)}x`,
  );
}
