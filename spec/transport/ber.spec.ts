import { expect } from 'chai';
import { isSaslError } from '../../lib/core/errors.js';
import { readerWork } from '../../lib/transport/lines.js';
import {
  BER_TAG,
  LdapMessageReader,
  berBoolean,
  berChildren,
  berInteger,
  berNull,
  decodeBer,
  encodeBer,
  encodeBerBoolean,
  encodeBerConstructed,
  encodeBerInteger,
  encodeBerOctetString,
} from '../../lib/transport/ber.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return error.code;
  }
  return 'no error';
}

async function* items(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

async function readAll(chunks: readonly Uint8Array[], max?: number): Promise<{ read: string[]; end: string }> {
  const reader = new LdapMessageReader(
    items(chunks),
    max === undefined ? { peer: 'client' } : { peer: 'client', maxMessageBytes: max },
  );
  const read: string[] = [];
  try {
    for (;;) read.push(toHex(await reader.readBytes()));
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return { read, end: error.code };
  }
}

describe('transport/ber', () => {
  describe('integers', () => {
    const cases: [number, string][] = [
      [0, '020100'],
      [1, '020101'],
      [127, '02017f'],
      [128, '02020080'],
      [256, '02020100'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [65535, '020300ffff'],
      [0x7fffffff, '02047fffffff'],
      [-0x80000000, '020480000000'],
    ];
    for (const [value, encoded] of cases) {
      it(`${value} encodes minimally as ${encoded} and decodes back`, () => {
        expect(toHex(encodeBerInteger(value))).to.equal(encoded);
        expect(berInteger(decodeBer(hex(encoded)))).to.equal(value);
      });
    }

    it('refuses to encode what LDAP cannot carry', () => {
      expect(codeOf(() => encodeBerInteger(2 ** 31))).to.equal('USAGE');
      expect(codeOf(() => encodeBerInteger(1.5))).to.equal('USAGE');
    });
  });

  describe('lengths', () => {
    it('uses the short form below 128 bytes and the shortest long form above', () => {
      expect(toHex(encodeBer(0x04, new Uint8Array(127))).slice(0, 4)).to.equal('047f');
      expect(toHex(encodeBer(0x04, new Uint8Array(128))).slice(0, 6)).to.equal('048180');
      expect(toHex(encodeBer(0x04, new Uint8Array(256))).slice(0, 8)).to.equal('04820100');
    });

    it('reads a non-minimal long form, which OpenLDAP sends (0x84 and four octets)', () => {
      const element = decodeBer(hex('04 84 00000003 616263'));
      expect(Buffer.from(element.contents).toString()).to.equal('abc');
    });
  });

  describe('strict decoding refuses malformed input with a typed error', () => {
    const table: [string, string, string][] = [
      ['an empty input', '', 'MALFORMED_MESSAGE'],
      ['a lone identifier', '30', 'MALFORMED_MESSAGE'],
      ['an indefinite length', '30 80 0000', 'MALFORMED_MESSAGE'],
      ['five length octets', '04 85 0000000001 41', 'MALFORMED_MESSAGE'],
      ['a high tag number', '1f 01 00', 'MALFORMED_MESSAGE'],
      ['a length past the end', '04 05 4142', 'MALFORMED_MESSAGE'],
      ['a long-form length past the end', '04 84 7fffffff 41', 'MALFORMED_MESSAGE'],
      ['trailing bytes', '04 01 41 00', 'MALFORMED_MESSAGE'],
      ['truncated long-form length octets', '04 82 01', 'MALFORMED_MESSAGE'],
    ];
    for (const [name, input, code] of table) {
      it(name, () => {
        expect(codeOf(() => decodeBer(hex(input), { party: 'client' }))).to.equal(code);
      });
    }

    const values: [string, () => unknown][] = [
      ['an integer with no contents', () => berInteger(decodeBer(hex('0200')))],
      ['an integer of five octets', () => berInteger(decodeBer(hex('02 05 0100000000')))],
      ['an integer with a redundant 0x00', () => berInteger(decodeBer(hex('02 02 0001')))],
      ['an integer with a redundant 0xff', () => berInteger(decodeBer(hex('02 02 ff80')))],
      ['a boolean of two octets', () => berBoolean(decodeBer(hex('01 02 ffff')))],
      ['a boolean other than 0x00 or 0xFF', () => berBoolean(decodeBer(hex('01 01 01')))],
      ['a null with contents', () => berNull(decodeBer(hex('05 01 00')))],
      ['children of a primitive element', () => berChildren(decodeBer(hex('04 00')), 0)],
      ['a child running past its parent', () => berChildren(decodeBer(hex('30 03 04 05 41')), 0)],
    ];
    for (const [name, run] of values) {
      it(name, () => {
        expect(codeOf(run)).to.equal('MALFORMED_MESSAGE');
      });
    }

    it('nesting past maxDepth is LIMIT_EXCEEDED', () => {
      const element = decodeBer(encodeBerConstructed(0x10, [encodeBerOctetString('a')]));
      expect(codeOf(() => berChildren(element, 4, { maxDepth: 4 }))).to.equal('LIMIT_EXCEEDED');
      expect(berChildren(element, 3, { maxDepth: 4 })).to.have.length(1);
    });

    it('more than maxChildren elements is LIMIT_EXCEEDED', () => {
      const element = decodeBer(
        encodeBerConstructed(0x10, [encodeBerBoolean(true), encodeBerBoolean(false), encodeBerBoolean(true)]),
      );
      expect(codeOf(() => berChildren(element, 0, { maxChildren: 2 }))).to.equal('LIMIT_EXCEEDED');
      expect(berChildren(element, 0, { maxChildren: 3 }).map((child) => berBoolean(child))).to.deep.equal([
        true,
        false,
        true,
      ]);
    });

    it('an error names no byte of the input', () => {
      try {
        decodeBer(hex('04 05 73656372'), { party: 'client' });
        expect.fail('decoded');
      } catch (error) {
        expect((error as Error).message).not.to.include('secr');
        expect((error as { party: string }).party).to.equal('client');
      }
    });
  });

  describe('encoding', () => {
    it('refuses a tag that is not one low-number identifier octet', () => {
      expect(codeOf(() => encodeBer(0x1f, new Uint8Array(0)))).to.equal('USAGE');
      expect(codeOf(() => encodeBer(0x100, new Uint8Array(0)))).to.equal('USAGE');
    });

    it('writes booleans as 0x00 and 0xFF and strings as UTF-8', () => {
      expect(toHex(encodeBerBoolean(true))).to.equal('0101ff');
      expect(toHex(encodeBerBoolean(false))).to.equal('010100');
      expect(toHex(encodeBerOctetString('é'))).to.equal('0402c3a9');
      expect(decodeBer(encodeBerConstructed(BER_TAG.SEQUENCE, [])).tag).to.equal(0x30);
    });
  });

  describe('LdapMessageReader', () => {
    const first = encodeBerConstructed(0x10, [encodeBerInteger(1), encodeBer(0x42, new Uint8Array(0))]);
    const big = encodeBerConstructed(0x10, [encodeBerInteger(2), encodeBerOctetString(new Uint8Array(300).fill(0x41))]);
    const stream = Uint8Array.from([...first, ...big]);

    it('reads the same messages in one chunk, a byte at a time and cut anywhere', async () => {
      const whole = await readAll([stream]);
      expect(whole).to.deep.equal({ read: [toHex(first), toHex(big)], end: 'ABORTED' });
      expect(await readAll(Array.from(stream, (byte) => Uint8Array.of(byte)))).to.deep.equal(whole);
      for (let cut = 1; cut < stream.length; cut += 7)
        expect(await readAll([stream.subarray(0, cut), stream.subarray(cut)])).to.deep.equal(whole);
    });

    it('does work linear in the bytes however they are chunked', async () => {
      const many = Uint8Array.from(Array.from({ length: 50 }, () => [...big]).flat());
      let before = readerWork.units;
      await readAll([many]);
      const oneChunk = readerWork.units - before;
      before = readerWork.units;
      await readAll(Array.from(many, (byte) => Uint8Array.of(byte)));
      const bytewise = readerWork.units - before;
      expect(bytewise).to.be.at.most(3 * Math.max(oneChunk, many.length));
    });

    it('refuses a message over maxMessageBytes from its header, before the contents arrive', async () => {
      let pulled = 0;
      async function* source(): AsyncGenerator<Uint8Array> {
        pulled++;
        yield await Promise.resolve(hex('30 84 00100000'));
        pulled++;
        yield new Uint8Array(1024);
      }
      const reader = new LdapMessageReader(source(), { peer: 'client', maxMessageBytes: 1000 });
      const error = await reader.readBytes().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as { code: string; limit: string }).code).to.equal('LIMIT_EXCEEDED');
      expect((error as { limit: string }).limit).to.equal('maxMessageBytes');
      expect(pulled).to.equal(1);
    });

    const refusals: [string, string, string][] = [
      ['a message that is not a SEQUENCE', '04 01 41', 'MALFORMED_MESSAGE'],
      ['an indefinite length', '30 80 0201 01', 'MALFORMED_MESSAGE'],
      ['a stream that ends inside a message', '30 05 0201', 'ABORTED'],
      ['a stream that ends inside the length octets', '30 84 00', 'ABORTED'],
    ];
    for (const [name, input, code] of refusals) {
      it(`ends with ${code} on ${name}`, async () => {
        expect((await readAll([hex(input)])).end).to.equal(code);
      });
    }

    it('refuses to switch sources (StartTLS) while bytes it holds are unread', async () => {
      const reader = new LdapMessageReader(items([Uint8Array.from([...first, 0x30])]), { peer: 'client' });
      await reader.readBytes();
      expect(reader.buffered).to.equal(1);
      expect(
        codeOf(() => {
          reader.switchSource(items([]));
        }),
      ).to.equal('MALFORMED_MESSAGE');
      const clean = new LdapMessageReader(items([first]), { peer: 'client' });
      await clean.readBytes();
      clean.switchSource(items([big]));
      expect(toHex(await clean.readBytes())).to.equal(toHex(big));
    });
  });
});
