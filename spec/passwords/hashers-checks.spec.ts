// lib/passwords/hashers/*.ts checks pinned after the StrykerJS run on the split hashers (issue 11;
// see mutation/RESULTS.md, fifth pass): each case kills one survivor of that run on its own.
import { expect } from 'chai';
import { DovecotPbkdf2Hasher, Pbkdf2Hasher, ScryptHasher, UsageError, scramSaltedPassword } from '../../lib/index.js';

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
    it('Pbkdf2Hasher: maxRounds and saltLength', () => {
      expect(() => new Pbkdf2Hasher({ maxRounds: 0 })).to.throw(UsageError, /^maxRounds must be an integer/);
      expect(() => new Pbkdf2Hasher({ saltLength: 7 })).to.throw(UsageError, /^saltLength must be an integer/);
    });
  });

  describe('scrypt strings', () => {
    it('verify reads r and p of two digits (small N keeps the work low)', () => {
      for (const options of [
        { ln: 4, r: 10, p: 1 },
        { ln: 4, r: 1, p: 12 },
      ]) {
        const hasher = new ScryptHasher(options);
        const hashed = hasher.hash('pencil', new Uint8Array(16));
        expect(hashed).to.match(new RegExp(`^\\$scrypt\\$ln=4,r=${options.r},p=${options.p}\\$`));
        expect(hasher.verify('pencil', hashed)).to.equal(true);
        expect(hasher.verify('pencil!', hashed)).to.equal(false);
      }
    });
  });

  it('ScryptHasher: ln, r, p, saltLength and maxMemory are named when refused', () => {
    expect(() => new ScryptHasher({ ln: 0 })).to.throw(UsageError, /^ln must be an integer/);
    expect(() => new ScryptHasher({ r: 0 })).to.throw(UsageError, /^r must be an integer/);
    expect(() => new ScryptHasher({ p: 0 })).to.throw(UsageError, /^p must be an integer/);
    expect(() => new ScryptHasher({ saltLength: 7 })).to.throw(UsageError, /^saltLength must be an integer/);
    expect(() => new ScryptHasher({ maxMemory: 0 })).to.throw(UsageError, /^maxMemory must be an integer/);
  });

  it('ScryptHasher.verify answers false, not a throw, for a good salt beside an undecodable hash', () => {
    const hasher = new ScryptHasher({ ln: 4, r: 1, p: 1 });
    const [head = '', salt = ''] = hasher.hash('pencil', new Uint8Array(16)).split('$').slice(2, 4);
    expect(hasher.verify('pencil', `$scrypt$${head}$${salt}$!!!!`)).to.equal(false);
  });

  describe('scram-keys.ts', () => {
    it('scramSaltedPassword takes the normalized password as bytes as well as text, with the same key', () => {
      // Bytes must reach PBKDF2 as they are, not go through the UTF-8 encoder meant for text.
      const salt = new Uint8Array([1, 2, 3, 4]);
      const fromText = scramSaltedPassword('SHA-256', '\u00E4', salt, 2);
      const fromBytes = scramSaltedPassword('SHA-256', new Uint8Array([0xc3, 0xa4]), salt, 2);
      expect(Buffer.from(fromBytes).toString('hex')).to.equal(Buffer.from(fromText).toString('hex'));
    });
  });
});
