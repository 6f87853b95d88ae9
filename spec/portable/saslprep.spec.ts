/** SASLprep (RFC 4013): the RFC vectors and the derived ones, in both modes. */
import { expect } from 'chai';
import { saslprep, trySaslprep } from '../../lib/index.js';
import { RUNTIME, bytesOf, s, thrown, vectorsOf } from './support.js';

describe(`portable SASLprep (${RUNTIME})`, () => {
  const vectors = vectorsOf('saslprep');

  it('has the RFC 4013 vectors to run', () => {
    expect(vectors.filter((v) => v.id.startsWith('saslprep-rfc4013-')).length).to.equal(7);
  });

  for (const v of vectors) {
    const input = s(bytesOf(v.inputs['string']));
    if (v.expected['error'] === true) {
      it(`${v.id}: refused (${String(v.expected['reason'])}) with a typed error`, () => {
        thrown(() => saslprep(input), 'MALFORMED_MESSAGE');
        expect(trySaslprep(input)).to.equal(undefined);
      });
    } else {
      it(`${v.id}: prepares to the expected string`, () => {
        const expected = s(bytesOf(v.expected['output']));
        expect(saslprep(input)).to.equal(expected);
        expect(saslprep(input, { allowUnassigned: true })).to.equal(expected);
      });
    }
  }

  it('unassigned code points: refused in stored mode, allowed in query mode', () => {
    const unassigned = '\u0221'; // unassigned in Unicode 3.2 (assigned later)
    thrown(() => saslprep(`a${unassigned}`), 'MALFORMED_MESSAGE');
    expect(saslprep(`a${unassigned}`, { allowUnassigned: true })).to.equal(`a${unassigned}`);
  });
});
