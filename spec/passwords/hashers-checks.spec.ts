// lib/passwords/hashers/*.ts checks pinned after the StrykerJS run on the split hashers (issue 11;
// see mutation/RESULTS.md, fifth pass): each case kills one survivor of that run on its own.
import { expect } from 'chai';
import { DovecotPbkdf2Hasher, UsageError } from '../../lib/index.js';

describe('hashers checks (each pinned on its own)', () => {
  describe('a refused option is named in the UsageError, so the caller knows which one to fix', () => {
    it('DovecotPbkdf2Hasher: maxRounds and rounds', () => {
      // maxRounds is checked first; rounds is valid here, so only maxRounds may be named.
      expect(() => new DovecotPbkdf2Hasher({ maxRounds: 0 })).to.throw(UsageError, /^maxRounds must be an integer/);
      expect(() => new DovecotPbkdf2Hasher({ rounds: 0 })).to.throw(UsageError, /^rounds must be an integer/);
      expect(() => new DovecotPbkdf2Hasher({ rounds: 6, maxRounds: 5 })).to.throw(
        UsageError,
        /^rounds must be an integer from 1 to 5$/,
      );
    });
  });
});
