import { expect } from 'chai';
import { decodeUtf8, fromBase64 } from '../../lib/core/bytes.js';
import { isSaslError } from '../../lib/core/errors.js';

// The grammar fromBase64 accepts (RFC 4648 section 4, padded), as the regular expression it was
// checked with before the one-pass decoder; canonical = no bits set in the padding position.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function expected(text: string): 'ok' | 'invalid' | 'noncanonical' {
  if (!BASE64.test(text)) return 'invalid';
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? 'ok' : 'noncanonical';
}

function check(text: string): void {
  const want = expected(text);
  if (want === 'ok') {
    expect(Buffer.from(fromBase64(text)).toString('base64'), JSON.stringify(text)).to.equal(text);
    return;
  }
  let error: unknown;
  try {
    fromBase64(text, 'data');
  } catch (thrown) {
    error = thrown;
  }
  expect(isSaslError(error) && error.code, JSON.stringify(text)).to.equal('MALFORMED_MESSAGE');
  expect((error as Error).message, JSON.stringify(text)).to.equal(
    want === 'invalid' ? 'data is not valid base64' : 'data is not canonical base64',
  );
}

describe('bytes', () => {
  describe('fromBase64 (one pass, no regular expression)', () => {
    // Characters that probe every branch: alphabet ends, the value-0 and value-63 letters, padding,
    // characters just outside the alphabet, non-ASCII whose low 7 bits are a base64 letter.
    // Tens of thousands of errors: their stack traces would be most of the time.
    let stackTraceLimit = Error.stackTraceLimit;
    before(() => {
      stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
    });
    after(() => {
      Error.stackTraceLimit = stackTraceLimit;
    });

    const CHARS = ['A', 'B', 'P', 'Q', 'g', 'w', '/', '+', '=', '-', ' ', '\u00c1', '\u0141', '\ud800'];

    it('agrees with the strict grammar on every string of up to 4 probing characters, and of 8 over a few', () => {
      let strings = [''];
      for (let length = 0; length <= 4; length++) {
        for (const text of strings) check(text);
        strings = strings.flatMap((text) => CHARS.map((c) => text + c));
      }
      // Two whole groups, the second with every ending.
      strings = [''];
      for (let length = 0; length < 4; length++)
        strings = strings.flatMap((text) => ['A', 'Q', '='].map((c) => text + c));
      for (const head of strings) for (const tail of strings) check(head + tail);
    });

    it('agrees with it on random strings around valid encodings', () => {
      let seed = 12345;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      for (let i = 0; i < 3000; i++) {
        const bytes = Buffer.alloc(random(40));
        for (let j = 0; j < bytes.length; j++) bytes[j] = random(256);
        const chars = bytes.toString('base64').split('');
        // Mutate one or two positions (or none) with a probing character.
        for (let k = random(3); k > 0 && chars.length > 0; k--)
          chars[random(chars.length)] = CHARS[random(CHARS.length)] as string;
        check(chars.join(''));
      }
    });

    it('decodes the empty string and the padding forms', () => {
      expect(fromBase64('')).to.have.length(0);
      expect([...fromBase64('AA==')]).to.deep.equal([0]);
      expect([...fromBase64('AAA=')]).to.deep.equal([0, 0]);
      expect([...fromBase64('////')]).to.deep.equal([255, 255, 255]);
    });
  });

  describe('decodeUtf8', () => {
    // Short ASCII is built in JavaScript and the rest by the native decoder: every length from 0
    // to 80 crosses that threshold, in fresh arrays and in views into a larger buffer.
    it('ASCII of every length decodes the same way, fresh or a view at an offset', () => {
      const text = Array.from({ length: 80 }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');
      const pool = Buffer.from(`xx${text}`);
      for (let n = 0; n <= 80; n++) {
        const fresh = new Uint8Array(n);
        fresh.set(pool.subarray(2, 2 + n));
        expect(decodeUtf8(fresh, 'field'), `length ${n}`).to.equal(text.slice(0, n));
        expect(decodeUtf8(pool.subarray(2, 2 + n), 'field'), `view, length ${n}`).to.equal(text.slice(0, n));
      }
    });

    it('refuses invalid UTF-8 at every length with MALFORMED_MESSAGE naming the field, and keeps valid UTF-8', () => {
      for (let n = 1; n <= 80; n++) {
        const bad = Buffer.alloc(n, 0x61);
        bad[n - 1] = 0xff;
        let error: unknown;
        try {
          decodeUtf8(bad, 'PLAIN password');
        } catch (thrown) {
          error = thrown;
        }
        expect(isSaslError(error) && error.code, `length ${n}`).to.equal('MALFORMED_MESSAGE');
        expect((error as Error).message).to.equal('PLAIN password is not valid UTF-8');
        const good = Buffer.from(`${'a'.repeat(n - 1)}\u00e9`);
        expect(decodeUtf8(good, 'field')).to.equal(`${'a'.repeat(n - 1)}\u00e9`);
      }
    });
  });
});
