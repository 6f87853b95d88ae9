import { expect } from 'chai';
import { LimitExceededError, MAX_SASLPREP_LENGTH, MalformedMessageError, saslprep, trySaslprep } from '../lib/index.js';
import { expectSaslError } from './support/helpers.js';
import { textOf, vectorsOf } from './support/vectors.js';

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
    for (const text of ['a\u0000b', 'tab\there', 'line\n', '\u001f']) expectSaslError(() => saslprep(text), 'MALFORMED_MESSAGE');
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

  // Issue 11 item 11: the default stays SPACE (see lib/saslprep.ts); pysasl's and passlib's
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
    for (const text of ['\uD800', 'a\uDC00', '\uDBFFx']) expectSaslError(() => saslprep(text, { allowUnassigned: true }), 'MALFORMED_MESSAGE');
    expect(saslprep('\u{10000}'.normalize(), { allowUnassigned: true })).to.equal('\u{10000}');
  });

  it('carries mechanism and party, and never the input, in its errors', () => {
    const error = expectSaslError(() => saslprep('secret\u0007', { mechanism: 'PLAIN', party: 'client' }), 'MALFORMED_MESSAGE');
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

  it('turns a stack overflow inside the library into a limit error, not a RangeError', () => {
    // Call saslprep with less and less stack left until the library's spread call overflows.
    const text = '\u00E9'.repeat(MAX_SASLPREP_LENGTH);
    const results = new Set<string>();
    const deep = (depth: number): string => (depth === 0 ? saslprep(text) : deep(depth - 1));
    for (let depth = 0; depth < 100_000 && !results.has('limit'); depth += 50) {
      try {
        deep(depth);
        results.add('ok');
      } catch (error) {
        if (error instanceof LimitExceededError) {
          expect(error.message).to.equal('string to prepare is too long');
          results.add('limit');
        } else {
          expect(error).to.be.instanceOf(RangeError);
          results.add('overflow');
        }
      }
    }
    expect([...results]).to.include('limit');
  });
});
