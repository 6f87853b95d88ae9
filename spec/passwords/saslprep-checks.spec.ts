// SASLprep checks pinned after the StrykerJS run on 9182778 (issue 11; see mutation/RESULTS.md):
// how UTF-16 surrogates are paired before the tables are consulted.
import { expect } from 'chai';
import { saslprep } from '../../lib/passwords/saslprep.js';
import { expectSaslError } from '../support/helpers.js';

describe('SASLprep checks: surrogate pairs (each pinned on its own)', () => {
  it('a lone low surrogate after a BMP character is prohibited, not paired with it', () => {
    expectSaslError(() => saslprep('\u00e9\udc00'), 'MALFORMED_MESSAGE');
    expectSaslError(() => saslprep('\u00e9\udc00', { allowUnassigned: true }), 'MALFORMED_MESSAGE');
  });

  it('a high surrogate followed by a character above the low surrogates is a lone surrogate (prohibited)', () => {
    expectSaslError(() => saslprep('\u00e9\ud800\uff21', { allowUnassigned: true }), 'MALFORMED_MESSAGE');
  });

  it('U+DFFF closes a pair: \\ud800\\udfff is U+103FF (unassigned in Unicode 3.2), kept in a query string', () => {
    expect(saslprep('\u00e9\ud800\udfff', { allowUnassigned: true })).to.equal('\u00e9\ud800\udfff');
    expectSaslError(() => saslprep('\u00e9\ud800\udfff'), 'MALFORMED_MESSAGE');
  });
});

describe('SASLprep checks: the tables decoded on first use', () => {
  // The tables are decoded once per module instance, on the first non-ASCII string, and kept:
  // in one process only the first spec to prepare such a string runs the decoding. A fresh
  // instance of the module runs it again (mutation testing needs that: see mutation/RESULTS.md).
  type Saslprep = typeof saslprep;
  function freshSaslprep(): Saslprep {
    const path = require.resolve('../../lib/passwords/saslprep.js');
    const saved = require.cache[path];
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a fresh module instance is the point
    delete require.cache[path];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded again on purpose (see above)
      return (require(path) as { saslprep: Saslprep }).saslprep;
    } finally {
      if (saved !== undefined) require.cache[path] = saved;
    }
  }
  const outcome = (prepare: Saslprep, text: string, allowUnassigned: boolean): string => {
    try {
      return `ok:${prepare(text, { allowUnassigned })}`;
    } catch (error) {
      return `error:${(error as { code?: string }).code ?? '?'}`;
    }
  };
  // [input, stored profile, query profile]: each table (B.1, C.1.2, C.* prohibited, A.1
  // unassigned and assigned neighbours, D.1/D.2 bidi, the Corrigendum #4 ideographs mapped as in
  // Unicode 3.2) near its ends, and plain NFKC.
  const EXPECTED: [string, string, string][] = [
    ['a\u00adb', 'ok:ab', 'ok:ab'],
    ['a\u3001b', 'ok:a\u3001b', 'ok:a\u3001b'], // just after C.1.2's last range (U+3000)
    ['a\uff00b', 'error:MALFORMED_MESSAGE', 'ok:a\uff00b'], // unassigned, just after B.1's last (U+FEFF)
    ['a\ufeffb', 'ok:ab', 'ok:ab'],
    ['a\u00a0b', 'ok:a b', 'ok:a b'],
    ['a\u3000b', 'ok:a b', 'ok:a b'],
    ['a\u200bb', 'ok:a b', 'ok:a b'],
    ['a\u0080b', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\u06ddb', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\ue000b', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\udb80\udc00b', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\ud83f\udffeb', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\ufff9b', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\u0221b', 'error:MALFORMED_MESSAGE', 'ok:a\u0221b'],
    ['a\u0234b', 'error:MALFORMED_MESSAGE', 'ok:a\u0234b'],
    ['a\udb40\udc00b', 'error:MALFORMED_MESSAGE', 'ok:a\udb40\udc00b'],
    ['a\udb40\udc02b', 'error:MALFORMED_MESSAGE', 'ok:a\udb40\udc02b'],
    ['\u05be\u05d0', 'ok:\u05be\u05d0', 'ok:\u05be\u05d0'],
    ['\u06271\u0628', 'ok:\u06271\u0628', 'ok:\u06271\u0628'],
    ['\u0627a\u0628', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['a\u0627', 'error:MALFORMED_MESSAGE', 'error:MALFORMED_MESSAGE'],
    ['\ud87e\udc68', 'ok:\ud844\udf6a', 'ok:\ud844\udf6a'],
    ['\ud87e\udc74', 'ok:\u5f33', 'ok:\u5f33'],
    ['\ud87e\udd1f', 'ok:\u43ab', 'ok:\u43ab'],
    ['\ud87e\udd5f', 'ok:\u7aae', 'ok:\u7aae'],
    ['\ud87e\uddbf', 'ok:\u4d57', 'ok:\u4d57'],
    ['\u00e9', 'ok:\u00e9', 'ok:\u00e9'],
    ['\u2168', 'ok:IX', 'ok:IX'],
    ['\ufb01x', 'ok:fix', 'ok:fix'],
  ];

  it('a fresh instance of the module (its first use) prepares every sample as RFC 4013 says, in both profiles', () => {
    const fresh = freshSaslprep();
    expect(fresh).to.not.equal(saslprep);
    for (const [text, stored, query] of EXPECTED) {
      expect(outcome(fresh, text, false), `${JSON.stringify(text)} stored`).to.equal(stored);
      expect(outcome(fresh, text, true), `${JSON.stringify(text)} query`).to.equal(query);
    }
  });
});
