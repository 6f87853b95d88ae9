// ANONYMOUS checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md): every
// range of the trace profile's prohibited tables and of bidi table D.1, at both ends and just
// outside, so that no range of the character classes can shrink, grow or disappear unnoticed.
import { expect } from 'chai';
import { ANONYMOUS, type SaslError, buildAnonymousMessage, parseAnonymousMessage } from '../../lib/index.js';
import { b, expectSaslError } from '../support/helpers.js';

type Range = readonly [number, number];

// RFC 4505 section 3: tables C.2.1, C.2.2, C.3, C.4 (BMP part; planes 1-16 below), C.5, C.6, C.8, C.9.
const PROHIBITED: readonly Range[] = [
  [0x0, 0x1f],
  [0x7f, 0x9f],
  [0x340, 0x341],
  [0x6dd, 0x6dd],
  [0x70f, 0x70f],
  [0x180e, 0x180e],
  [0x200c, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0xe000, 0xf8ff],
  [0xfdd0, 0xfdef],
  [0xfeff, 0xfeff],
  [0xfff9, 0xffff],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff],
];
const NONCHARACTER_PLANES = Array.from({ length: 14 }, (_, i) => (i + 1) * 0x10000);

// RFC 3454 table D.1 (characters with bidi property R or AL).
const RAND_AL: readonly Range[] = [
  [0x5be, 0x5be],
  [0x5c0, 0x5c0],
  [0x5c3, 0x5c3],
  [0x5d0, 0x5ea],
  [0x5f0, 0x5f4],
  [0x61b, 0x61b],
  [0x61f, 0x61f],
  [0x621, 0x63a],
  [0x640, 0x64a],
  [0x66d, 0x66f],
  [0x671, 0x6d5],
  [0x6dd, 0x6dd],
  [0x6e5, 0x6e6],
  [0x6fa, 0x6fe],
  [0x700, 0x70d],
  [0x710, 0x710],
  [0x712, 0x72c],
  [0x780, 0x7a5],
  [0x7b1, 0x7b1],
  [0x200f, 0x200f],
  [0xfb1d, 0xfb1d],
  [0xfb1f, 0xfb28],
  [0xfb2a, 0xfb36],
  [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e],
  [0xfb40, 0xfb41],
  [0xfb43, 0xfb44],
  [0xfb46, 0xfbb1],
  [0xfbd3, 0xfd3d],
  [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7],
  [0xfdf0, 0xfdfc],
  [0xfe70, 0xfe74],
  [0xfe76, 0xfefc],
];

const within = (ranges: readonly Range[], cp: number): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
const prohibited = (cp: number): boolean =>
  within(PROHIBITED, cp) ||
  NONCHARACTER_PLANES.some((plane) => cp === plane + 0xfffe || cp === plane + 0xffff) ||
  (cp >= 0xd800 && cp <= 0xdfff);
const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
const refusal = (trace: string): string | undefined => {
  try {
    parseAnonymousMessage(b(trace));
    return undefined;
  } catch (error) {
    return (error as SaslError).code;
  }
};

describe('ANONYMOUS checks: the trace profile, range by range', () => {
  it('refuses both ends of every prohibited range, and accepts the code points just outside', () => {
    const wrong: string[] = [];
    for (const [lo, hi] of PROHIBITED) {
      for (const cp of [lo, hi])
        if (refusal(String.fromCodePoint(cp)) !== 'MALFORMED_MESSAGE') wrong.push(`${hex(cp)} accepted`);
      for (const cp of [lo - 1, hi + 1]) {
        if (cp < 0 || cp > 0x10ffff || prohibited(cp) || within(RAND_AL, cp)) continue;
        if (refusal(String.fromCodePoint(cp)) !== undefined) wrong.push(`${hex(cp)} refused`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('refuses the two noncharacters of every plane 1-14, and accepts the code point before them', () => {
    const wrong: string[] = [];
    for (const plane of NONCHARACTER_PLANES) {
      for (const cp of [plane + 0xfffe, plane + 0xffff])
        if (refusal(String.fromCodePoint(cp)) !== 'MALFORMED_MESSAGE') wrong.push(`${hex(cp)} accepted`);
      if (refusal(String.fromCodePoint(plane + 0xfffd)) !== undefined) wrong.push(`${hex(plane + 0xfffd)} refused`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('treats both ends of every D.1 range as RandALCat (refused next to a letter, accepted alone) and the code points just outside as not', () => {
    const wrong: string[] = [];
    for (const [lo, hi] of RAND_AL) {
      for (const cp of [lo, hi]) {
        if (prohibited(cp)) continue;
        const char = String.fromCodePoint(cp);
        if (refusal(`a${char}`) !== 'MALFORMED_MESSAGE') wrong.push(`a${hex(cp)} accepted`);
        if (refusal(`${char}a${char}`) !== 'MALFORMED_MESSAGE') wrong.push(`${hex(cp)}a${hex(cp)} accepted`);
        if (refusal(`${char}1${char}`) !== undefined) wrong.push(`${hex(cp)}1${hex(cp)} refused`);
      }
      for (const cp of [lo - 1, hi + 1]) {
        if (prohibited(cp) || within(RAND_AL, cp)) continue;
        if (refusal(`a${String.fromCodePoint(cp)}`) !== undefined) wrong.push(`a${hex(cp)} refused`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('counts letters, spacing marks and letter numbers as LCat next to RandALCat', () => {
    // U+05D0 HEBREW LETTER ALEF at both ends; inside: a letter, DEVANAGARI SIGN VISARGA (Mc), ROMAN NUMERAL ONE (Nl).
    for (const inner of ['a', '\u0903', '\u2160'])
      expect(refusal(`\u05d0${inner}\u05d0`), inner).to.equal('MALFORMED_MESSAGE');
    // A digit and a non-spacing mark (Mn) are neither.
    for (const inner of ['1', '\u05b0', ' ']) expect(refusal(`\u05d0${inner}\u05d0`), inner).to.equal(undefined);
  });

  it('needs RandALCat at both ends: first and last characters are checked each', () => {
    expect(refusal('\u05d01')).to.equal('MALFORMED_MESSAGE');
    expect(refusal('1\u05d0')).to.equal('MALFORMED_MESSAGE');
    expect(refusal('\u05d01\u05d0')).to.equal(undefined);
    expect(refusal('\u05d0')).to.equal(undefined);
  });

  it('counts 255 code points, not UTF-16 units, at the limit', () => {
    expect(refusal('\u{1f600}'.repeat(255))).to.equal(undefined);
    expect(refusal('a'.repeat(255))).to.equal(undefined);
    expect(refusal('a'.repeat(256))).to.equal('MALFORMED_MESSAGE');
    const error = expectSaslError(() => parseAnonymousMessage(b('a'.repeat(256))), 'MALFORMED_MESSAGE');
    expect({ mechanism: error.mechanism, party: error.party }).to.deep.equal({
      mechanism: 'ANONYMOUS',
      party: 'client',
    });
  });

  it('the client refuses what the server would refuse, as a USAGE error of ANONYMOUS', () => {
    for (const trace of ['a'.repeat(256), '\u0000', 'a\u05d0', '\u{2fffe}']) {
      const error = expectSaslError(() => buildAnonymousMessage(trace), 'USAGE');
      expect(error.mechanism).to.equal('ANONYMOUS');
    }
    expect(Buffer.from(buildAnonymousMessage()).length).to.equal(0);
    // A lone surrogate can only reach the client's check (the server decodes UTF-8 first).
    for (const trace of ['\ud800', 'a\udfff']) expectSaslError(() => buildAnonymousMessage(trace), 'USAGE');
    expect(Buffer.from(buildAnonymousMessage('\ud7ff')).length).to.equal(3);
  });

  it('the mechanism is client-first with the lowest priority', () => {
    expect({ clientFirst: ANONYMOUS.clientFirst, priority: ANONYMOUS.priority, name: ANONYMOUS.name }).to.deep.equal({
      clientFirst: true,
      priority: 0,
      name: 'ANONYMOUS',
    });
  });
});
