import { expect } from 'chai';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { hmacMd5FromStates, hmacMd5States, md5 } from '../../lib/crypto/md5.js';

describe('md5 (resumable, for Dovecot CRAM-MD5 states)', () => {
  it('equals node:crypto MD5 on random inputs of every length 0..200, and large ones', () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      expect(Buffer.from(md5(data)).toString('hex'), `length ${length}`).to.equal(
        createHash('md5').update(data).digest('hex'),
      );
    }
    for (const length of [4095, 4096, 65536 + 7, 1 << 20]) {
      const data = randomBytes(length);
      expect(Buffer.from(md5(data)).toString('hex'), `length ${length}`).to.equal(
        createHash('md5').update(data).digest('hex'),
      );
    }
  });

  it('HMAC-MD5 from saved states equals node:crypto HMAC-MD5, for keys of 0..130 bytes', () => {
    for (let length = 0; length <= 130; length++) {
      const key = randomBytes(length);
      const message = randomBytes(length % 70);
      const expected = createHmac('md5', key).update(message).digest('hex');
      expect(Buffer.from(hmacMd5FromStates(hmacMd5States(key), message)).toString('hex'), `key ${length}`).to.equal(
        expected,
      );
    }
  });

  it('refuses a saved state that does not end on a block', () => {
    expect(() => md5(new Uint8Array(1), [0, 0, 0, 0], 10)).to.throw(RangeError);
  });
});
