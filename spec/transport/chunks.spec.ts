import { expect } from 'chai';
import { ExchangeAbortedError, UsageError } from '../../lib/core/errors.js';
import { ChunkBuffer } from '../../lib/transport/chunks.js';
import { readerWork } from '../../lib/transport/lines.js';

async function* chunks(parts: readonly unknown[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield await Promise.resolve(part as Uint8Array);
}

const bytes = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i & 0xff);

describe('transport/chunks', () => {
  describe('ChunkBuffer', () => {
    it('waits for enough bytes, hands out prefixes in order and keeps the rest', async () => {
      const buffer = new ChunkBuffer(
        chunks([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), Uint8Array.of(4, 5, 6)]),
        'test',
        'server',
      );
      await buffer.fill(4);
      expect(buffer.length).to.equal(6);
      expect([...buffer.take(3)]).to.deep.equal([1, 2, 3]);
      expect([...buffer.head(1)]).to.deep.equal([4, 5, 6]);
      expect([...buffer.take(1)]).to.deep.equal([4]);
      expect([...buffer.take(2)]).to.deep.equal([5, 6]);
      expect(buffer.length).to.equal(0);
      expect(buffer.head(0).length).to.equal(0);
    });

    it('joins bytewise chunks with work linear in the bytes, also past the spread batch', async () => {
      const whole = bytes(20000);
      const buffer = new ChunkBuffer(chunks(Array.from(whole, (byte) => Uint8Array.of(byte))), 'test', 'client');
      const before = readerWork.units;
      await buffer.fill(whole.length);
      expect([...buffer.take(whole.length)]).to.deep.equal([...whole]);
      expect(readerWork.units - before).to.be.at.most(2 * whole.length);
    });

    it('reads from a new source after switchSource, keeping what was buffered', async () => {
      const buffer = new ChunkBuffer(chunks([Uint8Array.of(1, 2)]), 'test', 'server');
      await buffer.fill(2);
      buffer.switchSource(chunks([Uint8Array.of(3)]));
      await buffer.fill(3);
      expect([...buffer.take(3)]).to.deep.equal([1, 2, 3]);
    });

    it('reports a source that ends early, blaming the peer, and a source of non-bytes as a usage error', async () => {
      const early = new ChunkBuffer(chunks([Uint8Array.of(1)]), 'test', 'client');
      const error = await early.fill(2).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(ExchangeAbortedError);
      expect((error as ExchangeAbortedError).party).to.equal('client');
      const wrong = new ChunkBuffer(chunks(['text']), 'test', 'server');
      const usage = await wrong.fill(1).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(usage).to.be.instanceOf(UsageError);
      expect((usage as Error).message).to.contain('a test byte source');
    });
  });
});
