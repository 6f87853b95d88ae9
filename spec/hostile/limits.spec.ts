/**
 * The session limits against hostile peers: the initial response under maxMessageBytes and
 * maxRounds, and the exchange's time limit (an AbortSignal) that ends a stalled peer with a
 * TimeoutError and, with `stream.addAbortSignal`, leaves no half-open socket.
 */
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { type AddressInfo, type Socket, createConnection, createServer } from 'node:net';
import { addAbortSignal } from 'node:stream';
import {
  ClearIdentity,
  type Identity,
  LOGIN,
  LineReader,
  PLAIN,
  PromiseServerSession,
  SyncServerSession,
  buildPlainResponse,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';

const ALICE = new ClearIdentity('alice', 'alice-pass');
const options = { lookup: storeOf(ALICE) };

describe('hostile: session limits', () => {
  describe('the initial response goes through the same limits as every message', () => {
    it('an initial response over maxMessageBytes is LIMIT_EXCEEDED before the mechanism parses it', () => {
      const initial = buildPlainResponse('alice', 'x'.repeat(200));
      const session = new SyncServerSession(PLAIN.server(options, initial), { initialResponse: initial, maxMessageBytes: 100 });
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
      const step = new SyncServerSession(PLAIN.server(options, initial), { initialResponse: initial, maxRounds: 1 }).start();
      expect(step.done && step.outcome.authcid).to.equal('alice');
    });
  });

  describe('the time limit of an exchange (signal)', () => {
    it('a store that never answers: the pending step rejects with TIMEOUT blamed on local, later calls too', async () => {
      const never = (): Promise<Identity | undefined> => new Promise(() => undefined);
      const initial = buildPlainResponse('alice', 'alice-pass');
      const session = new PromiseServerSession(PLAIN.server({ lookup: never }, initial), { signal: AbortSignal.timeout(30) });
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
        const session = new PromiseServerSession(PLAIN.server(options, initial), { signal: controller.signal, initialResponse: initial });
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
        const closed = new Promise<void>((resolve) => client.on('close', () => { resolve(); }));
        // The client reads the challenge and then says nothing.
        await new Promise<void>((resolve) => client.once('data', () => { resolve(); }));
        await closed;
        await settled;
        const error = await expectSaslRejection(serverResult, 'TIMEOUT');
        expect(error.party).to.equal('client');
        expect(client.destroyed || client.readyState === 'closed').to.equal(true);
      } finally {
        client.destroy();
        await new Promise<void>((resolve) => server.close(() => { resolve(); }));
      }
    });
  });
});
