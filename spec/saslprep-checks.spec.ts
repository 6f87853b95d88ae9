// SASLprep checks pinned after the StrykerJS run on 9182778 (issue 11; see mutation/RESULTS.md):
// how UTF-16 surrogates are paired before the tables are consulted.
import { expect } from 'chai';
import { saslprep } from '../lib/index.js';
import { expectSaslError } from './support/helpers.js';

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
