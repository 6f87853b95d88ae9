import { expect } from 'chai';
import {
  LimitExceededError,
  MAX_SASLPREP_LENGTH,
  MalformedMessageError,
  saslprep,
  trySaslprep,
} from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';
import { textOf, vectorsOf } from '../support/vectors.js';

describe('saslprep', () => {
  const vectors = vectorsOf('saslprep');

  it('has all 19 SASLprep vectors (RFC 4013 section 3 table and derived)', () => {
    expect(vectors).to.have.length(19);
  });

  describe('vectors', () => {
    for (const v of vectors) {
      const input = textOf(v.inputs['string']);
      if (v.expected['error'] === true) {
        it(`${v.id}: ${v.description} -> error (${String(v.expected['reason'])})`, () => {
          const error = expectSaslError(() => saslprep(input), 'MALFORMED_MESSAGE');
          const rule = String(v.expected['reason']).startsWith('bidi') ? /bidi rule/ : /prohibited character/;
          expect(error.message).to.match(rule);
          expect(trySaslprep(input)).to.equal(undefined);
          // The query profile changes nothing about prohibited characters or bidi.
          expectSaslError(() => saslprep(input, { allowUnassigned: true }), 'MALFORMED_MESSAGE');
        });
      } else {
        it(`${v.id}: ${v.description}`, () => {
          const output = textOf(v.expected['output']);
          expect(saslprep(input)).to.equal(output);
          expect(saslprep(input, { allowUnassigned: true })).to.equal(output);
          expect(trySaslprep(input)).to.equal(output);
        });
      }
    }
  });

  it('returns printable ASCII unchanged without calling the library', () => {
    expect(saslprep('')).to.equal('');
    expect(saslprep(' user name ~!')).to.equal(' user name ~!');
  });

  it('still checks ASCII control characters (C.2.1)', () => {
    for (const text of ['a\u0000b', 'tab\there', 'line\n', '\u001f'])
      expectSaslError(() => saslprep(text), 'MALFORMED_MESSAGE');
  });

  it('prepares strings that map to nothing to the empty string instead of crashing', () => {
    for (const text of ['\u00AD', '\u00AD\u034F\u180B\u200C\u200D\u2060\uFE0F\uFEFF', '\u1806\u180C\u180D\uFE00']) {
      expect(saslprep(text)).to.equal('');
    }
  });

  it('maps U+200B (both C.1.2 and B.1) to SPACE, like PostgreSQL, consistently', () => {
    expect(saslprep('\u200B')).to.equal(' ');
    expect(saslprep('\u00AD\u200B')).to.equal(' ');
    expect(saslprep('a\u200Bb')).to.equal('a b');
  });

  // Issue 11 item 11: the default stays SPACE (see lib/passwords/saslprep.ts); pysasl's and passlib's
  // reading is an option, used to verify the hashes they made.
  it('zeroWidthSpace: nothing maps U+200B to nothing, as pysasl and passlib do; the rest of SASLprep is unchanged', () => {
    expect(saslprep('a\u200Bb', { zeroWidthSpace: 'nothing' })).to.equal('ab');
    expect(saslprep('a\u200Bb', { zeroWidthSpace: 'space' })).to.equal('a b');
    expect(saslprep('\u200Bp\u00E4ss\u00A0x', { zeroWidthSpace: 'nothing' })).to.equal('p\u00E4ss x');
    expect(saslprep('\u200B', { zeroWidthSpace: 'nothing' })).to.equal('');
    expect(saslprep('\u200B\u00AD', { zeroWidthSpace: 'nothing' })).to.equal('');
    expectSaslError(() => saslprep('a\u200B\u0007', { zeroWidthSpace: 'nothing' }), 'MALFORMED_MESSAGE');
  });

  it('checks the bidi rule on the prepared string, not on the input (pysasl defect)', () => {
    expect(saslprep('\u00AD\u0627\u0628')).to.equal('\u0627\u0628');
    expect(saslprep('\u0627\u0628\u200D')).to.equal('\u0627\u0628');
    expectSaslError(() => saslprep('\u0627\u0628 '), 'MALFORMED_MESSAGE');
  });

  describe('stored versus query profile (unassigned code points, RFC 4013 section 2.5)', () => {
    const unassigned = ['\u0221', '\u{1F511}', 'key \u{1F511}'];
    for (const text of unassigned) {
      it(`${JSON.stringify(text)}: refused when stored, allowed as a query`, () => {
        const error = expectSaslError(() => saslprep(text), 'MALFORMED_MESSAGE');
        expect(error.message).to.match(/unassigned code point/);
        expect(trySaslprep(text)).to.equal(undefined);
        expect(saslprep(text, { allowUnassigned: true })).to.equal(text);
      });
    }
  });

  it('refuses lone surrogates (C.5)', () => {
    // U+FA0E is a CJK ideograph NFKC keeps: a low surrogate after it is still alone.
    // Read as pairs, '\uD840A' would be U+12441 (unassigned in 3.2, so allowed in a query) and
    // '\uD840\uFA0E' U+21E0E, a CJK ideograph.
    for (const text of [
      '\uD800',
      'a\uDC00',
      '\uDBFFx',
      '\uD840A',
      '\uD840\uFA0E',
      '\uFA0E\uDC00',
      '\uDC00\uD800',
      '\uD835\uD835\uDFFF',
    ]) {
      const error = expectSaslError(() => saslprep(text, { allowUnassigned: true }), 'MALFORMED_MESSAGE');
      expect(error.message).to.match(/prohibited/);
    }
    expect(saslprep('\u{10000}'.normalize(), { allowUnassigned: true })).to.equal('\u{10000}');
  });

  it('reads surrogate pairs as one code point, at both ends of the low surrogate range', () => {
    // U+1D400 and U+1D7FF (D835 DC00, D835 DFFF): mathematical A and 9, NFKC to ASCII.
    expect(saslprep('\u{1D400}\u{1D7FF}')).to.equal('A9');
    expect(saslprep('\uFA0E\u{1D7FF}')).to.equal('\uFA0E9');
    expect(saslprep('\u{20000}\u{2F800}')).to.equal('\u{20000}\u4E3D');
    // U+203FF (D840 DFFF), a CJK ideograph NFKC keeps: checked after normalization as one.
    expect(saslprep('\u{203FF}\u00E9')).to.equal('\u{203FF}\u00E9');
  });

  it('carries mechanism and party, and never the input, in its errors', () => {
    const error = expectSaslError(
      () => saslprep('secret\u0007', { mechanism: 'PLAIN', party: 'client' }),
      'MALFORMED_MESSAGE',
    );
    expect(error).to.be.instanceOf(MalformedMessageError);
    expect(error.mechanism).to.equal('PLAIN');
    expect(error.party).to.equal('client');
    expect(error.message).to.not.include('secret');
    expect(error.cause).to.equal(undefined);
    const local = expectSaslError(() => saslprep('\u0007'), 'MALFORMED_MESSAGE');
    expect(local.party).to.equal('local');
  });

  it('refuses a non-ASCII string above MAX_SASLPREP_LENGTH with a limit error', () => {
    expect(saslprep('\u00E9'.repeat(MAX_SASLPREP_LENGTH))).to.have.length(MAX_SASLPREP_LENGTH);
    const error = expectSaslError(() => saslprep('\u00E9'.repeat(MAX_SASLPREP_LENGTH + 1)), 'LIMIT_EXCEEDED');
    if (!(error instanceof LimitExceededError)) throw new Error('expected a LimitExceededError');
    expect(error.limit).to.equal('saslprepLength');
    expect(trySaslprep('\u00E9'.repeat(MAX_SASLPREP_LENGTH + 1))).to.equal(undefined);
    // ASCII needs no library call, so it has no such limit.
    expect(saslprep('a'.repeat(100_000))).to.have.length(100_000);
  });

  it('prepares a non-ASCII string of MAX_SASLPREP_LENGTH that takes every step', () => {
    // Kept, mapped, dropped, normalized: 8 code units in, 7 out, 1024 times.
    const text = 'a\u00A0\u00AD\u00C5\uFB01\u{1D400}b'.repeat(1024);
    expect(text).to.have.length(MAX_SASLPREP_LENGTH);
    expect(saslprep(text)).to.equal('a \u00C5fiAb'.repeat(1024));
  });

  describe('RFC 3454 tables, at their edges', () => {
    const prepared = (text: string, allowUnassigned = false): string => saslprep(text, { allowUnassigned });
    const refused = (text: string, rule: RegExp, allowUnassigned = false): void => {
      const error = expectSaslError(() => saslprep(text, { allowUnassigned }), 'MALFORMED_MESSAGE');
      expect(error.message, JSON.stringify(text)).to.match(rule);
    };

    it('B.1: every entry maps to nothing, its neighbours do not', () => {
      expect(prepared('a\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00\uFE07\uFE0F\uFEFFb')).to.equal(
        'ab',
      );
      expect(prepared('\u00AC\u00AE\u1807')).to.equal('\u00AC\u00AE\u1807');
      refused('\u180E', /prohibited/);
      expect(prepared('\uFE10', true)).to.equal('\uFE10');
    });

    it('C.1.2: every entry maps to SPACE, its neighbours do not', () => {
      const spaces = ['\u00A0', '\u1680', '\u2000', '\u2005', '\u200A', '\u200B', '\u202F', '\u205F', '\u3000'];
      for (const space of spaces) expect(prepared(`a${space}b`), space.codePointAt(0)!.toString(16)).to.equal('a b');
      expect(prepared('\u00A1\u3001')).to.equal('\u00A1\u3001');
      refused('\u2028', /prohibited/);
    });

    it('each prohibited table (RFC 4013 section 2.3) refuses its first and last entries, in both modes', () => {
      const prohibited = {
        'C.2.1': ['\u0000', '\u001F', '\u007F'],
        'C.2.2': [
          '\u0080',
          '\u009F',
          '\u06DD',
          '\u070F',
          '\u180E',
          '\u2028',
          '\u2029',
          '\u2061',
          '\u2063',
          '\uFFF9',
          '\uFFFC',
          '\u{1D173}',
          '\u{1D17A}',
        ],
        'C.3': ['\uE000', '\uF8FF', '\u{F0000}', '\u{FFFFD}', '\u{100000}', '\u{10FFFD}'],
        'C.4': [
          '\uFDD0',
          '\uFDEF',
          '\uFFFE',
          '\uFFFF',
          '\u{1FFFE}',
          '\u{1FFFF}',
          '\u{EFFFE}',
          '\u{FFFFE}',
          '\u{FFFFF}',
          '\u{10FFFE}',
          '\u{10FFFF}',
        ],
        'C.5': ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'],
        'C.6': ['\uFFFA', '\uFFFB', '\uFFFD'],
        'C.7': ['\u2FF0', '\u2FFB'],
        'C.8': ['\u200E', '\u200F', '\u202A', '\u202E', '\u206A', '\u206F'],
        'C.9': ['\u{E0001}', '\u{E0020}', '\u{E007F}'],
      };
      for (const chars of Object.values(prohibited)) {
        for (const char of chars) {
          refused(`a${char}`, /prohibited/);
          refused(`${char}a`, /prohibited/, true);
        }
      }
      // Just outside: assigned in 3.2, or unassigned (refused as such when stored).
      for (const char of [
        '\u0020',
        '\u007E',
        '\u00A1',
        '\u06DC',
        '\u06DE',
        '\u070E',
        '\u2027',
        '\u2030',
        '\uF900',
        '\u{1D172}',
      ]) {
        expect(prepared(`a${char}`, true), char.codePointAt(0)!.toString(16)).to.have.length.greaterThan(0);
      }
      for (const char of ['\u2FFC', '\u{E0000}', '\u{E0002}', '\u{E0080}', '\u{EFFFD}', '\u{1D1DE}']) {
        refused(char, /unassigned/);
        expect(prepared(char, true)).to.equal(char);
      }
    });

    it('C.8: U+0340 and U+0341 are prohibited, but NFKC has already made them U+0300 and U+0301', () => {
      expect(prepared('a\u0340\u0341')).to.equal('\u00E0\u0301');
    });

    it('A.1: the first and last unassigned ranges, and their assigned neighbours', () => {
      refused('\u0221', /unassigned/);
      expect(prepared('\u0220\u0222')).to.equal('\u0220\u0222');
      refused('\u0234', /unassigned/);
      refused('\u024F', /unassigned/);
      expect(prepared('\u0233\u0250')).to.equal('\u0233\u0250');
      refused('\u{E0080}', /unassigned/);
      refused('\u{EFFFD}', /unassigned/);
      expect(prepared('\u{E0080}\u{EFFFD}', true)).to.equal('\u{E0080}\u{EFFFD}');
    });
  });

  describe("Unicode 3.2, not the runtime's Unicode", () => {
    it('maps the Corrigendum #4 ideographs as Unicode 3.2 did', () => {
      expect(saslprep('\u{2F868}\u{2F874}\u{2F91F}\u{2F95F}\u{2F9BF}')).to.equal('\u{2136A}\u5F33\u43AB\u7AAE\u4D57');
      // Their neighbours keep today's (unchanged since 3.2) decompositions.
      expect(saslprep('\u{2F867}\u{2F869}')).to.equal('\u{2F867}'.normalize('NFKC') + '\u{2F869}'.normalize('NFKC'));
      expect(saslprep('\uF951')).to.equal('\u964B');
    });

    it('keeps code points unassigned in 3.2 out of normalization in query mode', () => {
      const query = { allowUnassigned: true };
      // Today U+2C7C is <sub> j and U+0356 a combining mark; in Unicode 3.2 both were unassigned.
      expect(saslprep('\u2C7C', query)).to.equal('\u2C7C');
      expect(saslprep('o\u0356\u0304', query)).to.equal('o\u0356\u0304');
      expect(saslprep('A\u0301\u0221A\u0301\u0221', query)).to.equal('\u00C1\u0221\u00C1\u0221');
      expect(saslprep('\u0221\uFB01', query)).to.equal('\u0221fi');
      expectSaslError(() => saslprep('o\u0356\u0304'), 'MALFORMED_MESSAGE');
    });

    it('checks prohibited characters before unassigned code points, and those before the bidi rule', () => {
      expect(expectSaslError(() => saslprep('\u0221\u0007'), 'MALFORMED_MESSAGE').message).to.match(/prohibited/);
      expect(
        expectSaslError(() => saslprep('\u0221\u0007', { allowUnassigned: true }), 'MALFORMED_MESSAGE').message,
      ).to.match(/prohibited/);
      expect(expectSaslError(() => saslprep('\u0627a\u0221'), 'MALFORMED_MESSAGE').message).to.match(/unassigned/);
      expect(
        expectSaslError(() => saslprep('\u0627a\u0221', { allowUnassigned: true }), 'MALFORMED_MESSAGE').message,
      ).to.match(/bidi rule/);
    });
  });

  describe('bidi rule (RFC 3454 section 6)', () => {
    const ok = [
      '\u0627',
      '\u0627\u0628',
      '\u05D0 1 \u05EA',
      '\u05BE',
      '\uFEFC\u0660\u05EA',
      '\u07B1\u0710',
      '1\u0020!',
      'abc',
      '\u{1D400}x',
    ];
    for (const text of ok) {
      it(`accepts ${JSON.stringify(text)}`, () => {
        expect(saslprep(text)).to.equal(text.normalize('NFKC'));
      });
    }
    const bad = [
      '\u0627a\u0628', // LCat between RandALCat
      '\u0627\u{1D400}\u0628', // LCat outside the BMP
      '\u0627 1', // RandALCat first, not last
      '1\u0627', // last, not first
      '\u0627\u064B', // ends with a mark (NSM), not RandALCat
      'a\u0627', // LCat first
      '\u{10300}\u0627', // LCat outside the BMP first (U+10300 OLD ITALIC LETTER A)
    ];
    for (const text of bad) {
      it(`refuses ${JSON.stringify(text)} in both modes`, () => {
        expect(expectSaslError(() => saslprep(text), 'MALFORMED_MESSAGE').message).to.match(/bidi rule/);
        expect(expectSaslError(() => saslprep(text, { allowUnassigned: true }), 'MALFORMED_MESSAGE').message).to.match(
          /bidi rule/,
        );
      });
    }
  });
});
