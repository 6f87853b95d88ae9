import { expect } from 'chai';
import { PassThrough, Writable } from 'node:stream';
import { lineWriter } from '../../lib/transport/lines.js';

/** A stream that takes `highWaterMark` bytes before asking to wait, and completes writes when told. */
function slowStream(): { stream: Writable; written: string[]; flush: () => void } {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      pending.push(callback);
    },
  });
  return {
    stream,
    written,
    flush: () => {
      for (let done = pending.shift(); done !== undefined; done = pending.shift()) done();
    },
  };
}

const settled = async (promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> => {
  let state: 'resolved' | 'rejected' | 'pending' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('transport/lines', () => {
  describe('lineWriter', () => {
    it('settles at once when the stream takes the line, without waiting for its callback', async () => {
      const { stream, written } = slowStream();
      const write = lineWriter(stream);
      // 4 bytes, under the stream's 8: taken, its callback not called yet.
      expect(await settled(write('ok'))).to.equal('resolved');
      expect(written).to.deep.equal(['ok\r\n']);
    });

    it('waits for the stream to drain when it asks to, then resolves', async () => {
      const { stream, flush } = slowStream();
      const write = lineWriter(stream);
      const first = write('250-a long first line');
      expect(await settled(first)).to.equal('pending');
      flush();
      expect(await settled(first)).to.equal('resolved');
      expect(stream.listenerCount('drain')).to.equal(0);
      expect(stream.listenerCount('close')).to.equal(0);
    });

    it('shares one wait for drain among the lines written before it comes, and keeps order', async () => {
      const { stream, written, flush } = slowStream();
      const write = lineWriter(stream);
      const pending = Array.from({ length: 20 }, (_, i) => write(`250-line ${i}`));
      expect(stream.listenerCount('drain')).to.equal(1);
      expect(await settled(pending[19] as Promise<void>)).to.equal('pending');
      for (let i = 0; i < 20; i++) flush();
      await Promise.all(pending);
      expect(written.join('')).to.equal(Array.from({ length: 20 }, (_, i) => `250-line ${i}\r\n`).join(''));
      expect(stream.listenerCount('drain')).to.equal(0);
      expect(await settled(write('ok'))).to.equal('resolved');
    });

    it('rejects a wait for drain when the stream fails or closes first, and lets go of the stream', async () => {
      const failing = slowStream();
      failing.stream.on('error', () => undefined);
      const waiting = lineWriter(failing.stream)('250-a long first line');
      failing.stream.destroy(new Error('reset'));
      let caught: unknown;
      await waiting.catch((error: unknown) => (caught = error));
      expect((caught as Error).message).to.equal('reset');

      const closing = slowStream();
      const waitingToo = lineWriter(closing.stream)('250-a long first line');
      closing.stream.destroy();
      caught = undefined;
      await waitingToo.catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(Error);
      expect(closing.stream.listenerCount('drain')).to.equal(0);
    });

    it('rejects with the stream error on a stream already ended or destroyed', async () => {
      const ended = new PassThrough();
      ended.on('error', () => undefined);
      ended.end();
      let caught: unknown;
      await lineWriter(ended)('x').catch((error: unknown) => (caught = error));
      expect((caught as { code?: string }).code).to.equal('ERR_STREAM_WRITE_AFTER_END');

      const destroyed = new PassThrough();
      destroyed.on('error', () => undefined);
      destroyed.destroy();
      caught = undefined;
      await lineWriter(destroyed)('x').catch((error: unknown) => (caught = error));
      expect((caught as { code?: string }).code).to.equal('ERR_STREAM_DESTROYED');
    });

    it('appends CRLF to every line, in order', async () => {
      const stream = new PassThrough();
      const write = lineWriter(stream);
      await write('334 VXNlcm5hbWU6');
      await write('');
      expect(String(stream.read())).to.equal('334 VXNlcm5hbWU6\r\n\r\n');
    });
  });
});
