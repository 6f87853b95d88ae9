/**
 * The session limits against hostile peers: the initial response under maxMessageBytes and
 * maxRounds, and the exchange's time limit (an AbortSignal) that ends a stalled peer with a
 * TimeoutError and, with `stream.addAbortSignal`, leaves no half-open socket. And the readers
 * under hostile chunking: input that arrives a byte at a time costs each reader about what the
 * same input in one chunk costs (work counted by `readerWork`, not timed).
 */
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { type AddressInfo, type Socket, createConnection, createServer } from 'node:net';
import { PassThrough, addAbortSignal } from 'node:stream';
import {
  ClearIdentity,
  type Identity,
  LOGIN,
  LineQueue,
  LineReader,
  PLAIN,
  PgMessageReader,
  PromiseServerSession,
  SyncServerSession,
  buildPgMessage,
  buildPgStartupMessage,
  buildPlainResponse,
  xmppElements,
} from '../../lib/index.js';
import { readerWork } from '../../lib/transport/lines.js';
import { b, expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';

const ALICE = new ClearIdentity('alice', 'alice-pass');
const options = { lookup: storeOf(ALICE) };

describe('hostile: session limits', () => {
  describe('the initial response goes through the same limits as every message', () => {
    it('an initial response over maxMessageBytes is LIMIT_EXCEEDED before the mechanism parses it', () => {
      const initial = buildPlainResponse('alice', 'x'.repeat(200));
      const session = new SyncServerSession(PLAIN.server(options, initial), {
        initialResponse: initial,
        maxMessageBytes: 100,
      });
      const error = expectSaslError(() => session.start(), 'LIMIT_EXCEEDED');
      expect((error as { limit?: string }).limit).to.equal('maxMessageBytes');
      expect(error.party).to.equal('client');
      expect(session.finished).to.equal(true);
    });

    it('under the promise driver too, as a rejection', async () => {
      const initial = new Uint8Array(20000);
      const session = new PromiseServerSession(PLAIN.server(options, initial), { initialResponse: initial });
      await expectSaslRejection(session.start(), 'LIMIT_EXCEEDED');
    });

    it('the initial response counts as a round (maxRounds)', () => {
      const initial = b('alice');
      const session = new SyncServerSession(LOGIN.server(options, initial), { initialResponse: initial, maxRounds: 1 });
      const step = session.start();
      expect(step.done).to.equal(false);
      const error = expectSaslError(() => session.respond(b('alice-pass')), 'LIMIT_EXCEEDED');
      expect((error as { limit?: string }).limit).to.equal('maxRounds');
    });

    it('an initial response within the limits changes nothing', () => {
      const initial = buildPlainResponse('alice', 'alice-pass');
      const step = new SyncServerSession(PLAIN.server(options, initial), {
        initialResponse: initial,
        maxRounds: 1,
      }).start();
      expect(step.done && step.outcome.authcid).to.equal('alice');
    });
  });

  describe('the time limit of an exchange (signal)', () => {
    it('a store that never answers: the pending step rejects with TIMEOUT blamed on local, later calls too', async () => {
      const never = (): Promise<Identity | undefined> => new Promise(() => undefined);
      const initial = buildPlainResponse('alice', 'alice-pass');
      const session = new PromiseServerSession(PLAIN.server({ lookup: never }, initial), {
        signal: AbortSignal.timeout(30),
      });
      const error = await expectSaslRejection(session.start(), 'TIMEOUT');
      expect(error.party).to.equal('local');
      expect(session.finished).to.equal(true);
      await expectSaslRejection(session.respond(b('late')), 'TIMEOUT');
    });

    it('a peer that stalls between steps: the next call throws TIMEOUT blamed on the peer (sync driver)', () => {
      const controller = new AbortController();
      const session = new SyncServerSession(LOGIN.server(options), { signal: controller.signal });
      expect(session.start().done).to.equal(false);
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      expect(session.finished).to.equal(true);
      const error = expectSaslError(() => session.respond(b('alice')), 'TIMEOUT');
      expect(error.party).to.equal('client');
    });

    it('any other abort reason is ABORTED; a signal aborted before the start ends the session at once', async () => {
      const controller = new AbortController();
      controller.abort();
      const session = new PromiseServerSession(LOGIN.server(options), { signal: controller.signal });
      expect(session.finished).to.equal(true);
      await expectSaslRejection(session.start(), 'ABORTED');
    });

    it('a finished session lets go of the signal (no listener piles up on a shared signal)', async () => {
      const controller = new AbortController();
      for (let i = 0; i < 50; i++) {
        const initial = buildPlainResponse('alice', i % 2 === 0 ? 'alice-pass' : 'wrong');
        const session = new PromiseServerSession(PLAIN.server(options, initial), {
          signal: controller.signal,
          initialResponse: initial,
        });
        await session.start().catch(() => undefined);
      }
      const half = new PromiseServerSession(LOGIN.server(options), { signal: controller.signal });
      await half.start();
      half.abort();
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });

    it('over a socket: a client that stalls mid-exchange gets TIMEOUT on the server and its connection closed', async () => {
      let serverResult: Promise<unknown> = Promise.resolve();
      let settled: Promise<unknown> = Promise.resolve();
      const server = createServer((socket) => {
        serverResult = (async () => {
          const signal = AbortSignal.timeout(100);
          // One signal ends both: the session fails with TIMEOUT, the socket is destroyed.
          addAbortSignal(signal, socket);
          socket.on('error', () => undefined);
          const lines = new LineReader(socket);
          const session = new PromiseServerSession(LOGIN.server(options), { signal });
          const step = await session.start();
          if (!step.done) socket.write(`${Buffer.from(step.challenge).toString('base64')}\r\n`);
          // The destroyed socket fails the read (an AbortError); the session says why it happened.
          const next = await lines.next().catch((): IteratorResult<string> => ({ done: true, value: undefined }));
          if (next.done !== true) return session.respond(Buffer.from(next.value, 'base64'));
          return session.respond(new Uint8Array());
        })();
        // Handled at once, checked below.
        settled = serverResult.catch(() => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client: Socket = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
      client.on('error', () => undefined);
      try {
        const closed = new Promise<void>((resolve) =>
          client.on('close', () => {
            resolve();
          }),
        );
        // The client reads the challenge and then says nothing.
        await new Promise<void>((resolve) =>
          client.once('data', () => {
            resolve();
          }),
        );
        await closed;
        await settled;
        const error = await expectSaslRejection(serverResult, 'TIMEOUT');
        expect(error.party).to.equal('client');
        expect(client.destroyed || client.readyState === 'closed').to.equal(true);
      } finally {
        client.destroy();
        await new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
      }
    });
  });

  describe('readers: input that arrives a byte at a time costs about what one chunk costs', () => {
    const NS = 'urn:ietf:params:xml:ns:xmpp-sasl';

    /** The reader work `run` does. */
    async function workOf(run: () => Promise<unknown>): Promise<{ work: number; result: unknown }> {
      const before = readerWork.units;
      const result = await run();
      return { work: readerWork.units - before, result };
    }

    function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
      const out: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
      return out;
    }

    async function* items<T>(list: readonly T[]): AsyncGenerator<T> {
      for (const item of list) yield await Promise.resolve(item);
    }

    async function elements(chunks: readonly Uint8Array[]): Promise<string[]> {
      const out: string[] = [];
      for await (const element of xmppElements(items(chunks))) out.push(element);
      return out;
    }

    /** Byte by byte vs one chunk: same result, and at most `factor` times the work (and never more than `perByte` units a byte). */
    async function expectLinear(
      bytes: Uint8Array,
      read: (chunks: readonly Uint8Array[]) => Promise<unknown>,
      factor = 3,
      perByte = 8,
    ): Promise<void> {
      const whole = await workOf(() => read([bytes]));
      const split = await workOf(() => read(pieces(bytes, 1)));
      expect(split.result).to.deep.equal(whole.result);
      expect(split.work, `${split.work} units byte by byte, ${whole.work} in one chunk`).to.be.at.most(
        factor * Math.max(whole.work, bytes.length),
      );
      expect(split.work).to.be.at.most(perByte * bytes.length);
    }

    it('xmppElements: a 30 KB <auth> (before: the size re-measured at every byte)', async () => {
      const xml = `<auth xmlns='${NS}' mechanism='PLAIN'>${'QUFB'.repeat(7500)}</auth>`;
      await expectLinear(Buffer.from(xml), elements);
    });

    it('xmppElements: one 30 KB start tag (before: the tag re-scanned from its < at every byte)', async () => {
      let xml = `<auth xmlns='${NS}' mechanism='PLAIN'`;
      for (let i = 0; xml.length < 30000; i++) xml += ` xmlns:a${i}=''`;
      xml += '/>';
      await expectLinear(Buffer.from(xml), elements);
    });

    it('PgMessageReader: a 64 KB message and a startup packet (before: the buffer copied at every byte)', async () => {
      const message = buildPgMessage('p', new Uint8Array(65536 - 4).fill(0x41));
      await expectLinear(message, async (chunks) => {
        const read = await new PgMessageReader(items(chunks), { peer: 'client' }).read();
        return [read.type, read.body.length];
      });
      const startup = buildPgStartupMessage({ user: 'alice', database: 'x'.repeat(9000) });
      await expectLinear(startup, async (chunks) => {
        const read = await new PgMessageReader(items(chunks), { peer: 'client' }).readStartup();
        return read.kind;
      });
    });

    it('LineReader: a 12 KB line (an SMTP or IMAP AUTH line)', async () => {
      const line = Buffer.from(`${'A'.repeat(12000)}\r\n`);
      await expectLinear(line, async (chunks) => {
        const stream = new PassThrough();
        const reader = new LineReader(stream);
        for (const chunk of chunks) stream.write(chunk);
        stream.end();
        const next = await reader.next();
        reader.close();
        return next.done === true ? undefined : next.value;
      });
    });

    it('LineReader and LineQueue: 64K empty lines in one chunk are read in linear work (before: each read moved every queued line)', async () => {
      const count = 65536;
      const { work } = await workOf(async () => {
        const stream = new PassThrough();
        const reader = new LineReader(stream, { highWaterMark: 16 });
        stream.write(Buffer.alloc(count, 0x0a));
        stream.end();
        let lines = 0;
        for (let next = await reader.next(); next.done !== true; next = await reader.next()) lines += 1;
        expect(lines).to.equal(count);
        return lines;
      });
      expect(work).to.be.at.most(4 * count);
      const queue = new LineQueue();
      const queued = await workOf(async () => {
        for (let i = 0; i < count; i++) queue.push('');
        queue.end();
        let lines = 0;
        while ((await queue.next()).done !== true) lines += 1;
        return lines;
      });
      expect(queued.result).to.equal(count);
      expect(queued.work).to.be.at.most(4 * count);
    });
  });
});
