// The stepping core's own rules (lib/core/core.ts), each pinned so that removing it fails a spec
// (issue 11, found by mutation testing: see mutation/RESULTS.md). The drivers' specs cover the
// same paths through each driver; these check the rule and the error's blame.
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import {
  type Authenticated,
  type ClientExchange,
  ClientCredentials,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_ROUNDS,
  NO_INITIAL_RESPONSE,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  type SaslError,
  type ServerExchange,
  ServerSuccess,
  SyncClientSession,
  SyncServerSession,
  effect,
  perform,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection, s } from '../support/helpers.js';

const MECH = 'TEST';

function blamed(fn: () => unknown, code: SaslError['code'], party: SaslError['party'], mechanism = MECH): SaslError {
  const error = expectSaslError(fn, code);
  expect({ mechanism: error.mechanism, party: error.party }, error.message).to.deep.equal({ mechanism, party });
  return error;
}

function limitOf(error: SaslError): unknown {
  return (error as unknown as { readonly limit?: unknown }).limit;
}

/** A client that sends `hi`, answers every challenge with `ok`, and returns on success. */
function* echoClient(initial: Uint8Array | typeof NO_INITIAL_RESPONSE = b('hi')): ClientExchange {
  let reply: unknown = yield initial;
  for (;;) {
    if (reply instanceof ServerSuccess) return { serverVerified: false };
    reply = yield b('ok');
  }
}

/** A server that challenges `rounds` times, then succeeds. */
function* challenger(rounds: number): ServerExchange {
  for (let i = 0; i < rounds; i++) yield b(`c${i}`);
  return { mechanism: MECH, authcid: 'user', authzid: 'user' };
}

describe('core', () => {
  describe('an initial response held back (the protocol could not carry it)', () => {
    it('is sent after the empty challenge', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      expect(client.start(false)).to.equal(undefined);
      expect(s(client.challenge(new Uint8Array(0)))).to.equal('hi');
      expect(client.success()).to.deep.equal({ serverVerified: false });
    });
    it('refuses a non-empty first challenge', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      client.start(false);
      blamed(() => client.challenge(b('x')), 'UNEXPECTED_MESSAGE', 'server');
    });
    it('refuses success before it was sent: the client never authenticated', () => {
      const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')), {
        mechanism: 'PLAIN',
      });
      expect(client.start(false)).to.equal(undefined);
      blamed(() => client.success(), 'UNEXPECTED_MESSAGE', 'server', 'PLAIN');
      expect(client.finished).to.equal(true);
    });
    it('is sent with the command when the protocol can carry it', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      expect(s(client.start(true))).to.equal('hi');
      expect(client.success()).to.deep.equal({ serverVerified: false });
    });
  });

  describe('limits on messages from the server', () => {
    it('maxMessageBytes applies to challenges and to success data, exactly the limit passing', () => {
      const at = (n: number, success: boolean): unknown => {
        const client = new SyncClientSession(echoClient(), { mechanism: MECH, maxMessageBytes: 8 });
        client.start();
        return success ? client.success(new Uint8Array(n)) : client.challenge(new Uint8Array(n));
      };
      expect(at(8, false)).to.be.instanceOf(Uint8Array);
      expect(at(8, true)).to.deep.equal({ serverVerified: false });
      expect(limitOf(blamed(() => at(9, false), 'LIMIT_EXCEEDED', 'server'))).to.equal('maxMessageBytes');
      expect(limitOf(blamed(() => at(9, true), 'LIMIT_EXCEEDED', 'server'))).to.equal('maxMessageBytes');
    });
    it('maxRounds counts success data as a message, but not a success without data', () => {
      const run = (challenges: number, data: Uint8Array | undefined): unknown => {
        const client = new SyncClientSession(echoClient(), { mechanism: MECH, maxRounds: 2 });
        client.start();
        for (let i = 0; i < challenges; i++) client.challenge(b('c'));
        return client.success(data);
      };
      expect(run(2, undefined)).to.deep.equal({ serverVerified: false });
      expect(run(1, b('d'))).to.deep.equal({ serverVerified: false });
      expect(limitOf(blamed(() => run(2, b('d')), 'LIMIT_EXCEEDED', 'server'))).to.equal('maxRounds');
      expect(limitOf(blamed(() => run(3, undefined), 'LIMIT_EXCEEDED', 'server'))).to.equal('maxRounds');
    });
    it('the defaults are 16384 bytes and 16 rounds', () => {
      expect([DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_ROUNDS]).to.deep.equal([16384, 16]);
      const client = new SyncClientSession(echoClient());
      client.start();
      client.challenge(new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES));
      expect(
        expectSaslError(() => client.challenge(new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1)), 'LIMIT_EXCEEDED').party,
      ).to.equal('server');
      const rounds = new SyncClientSession(echoClient());
      rounds.start();
      for (let i = 0; i < DEFAULT_MAX_ROUNDS; i++) rounds.challenge(b('c'));
      expect(expectSaslError(() => rounds.challenge(b('c')), 'LIMIT_EXCEEDED').party).to.equal('server');
    });
  });

  describe('limits on messages from the client', () => {
    it('maxMessageBytes: exactly the limit passes, one more fails, the initial response included', () => {
      const server = new SyncServerSession(challenger(2), { mechanism: MECH, maxMessageBytes: 4 });
      server.start();
      expect(server.respond(new Uint8Array(4)).done).to.equal(false);
      expect(limitOf(blamed(() => server.respond(new Uint8Array(5)), 'LIMIT_EXCEEDED', 'client'))).to.equal(
        'maxMessageBytes',
      );
      expect(
        new SyncServerSession(challenger(1), {
          mechanism: MECH,
          maxMessageBytes: 4,
          initialResponse: new Uint8Array(4),
        }).start().done,
      ).to.equal(false);
      const big = new SyncServerSession(challenger(1), {
        mechanism: MECH,
        maxMessageBytes: 4,
        initialResponse: new Uint8Array(5),
      });
      expect(limitOf(blamed(() => big.start(), 'LIMIT_EXCEEDED', 'client'))).to.equal('maxMessageBytes');
    });
    it('maxRounds: exactly the limit passes, one more fails, the initial response counted', () => {
      const server = new SyncServerSession(challenger(5), { mechanism: MECH, maxRounds: 2, initialResponse: b('ir') });
      server.start();
      expect(server.respond(b('r1')).done).to.equal(false);
      expect(limitOf(blamed(() => server.respond(b('r2')), 'LIMIT_EXCEEDED', 'client'))).to.equal('maxRounds');
      const without = new SyncServerSession(challenger(5), { mechanism: MECH, maxRounds: 2 });
      without.start();
      without.respond(b('r1'));
      expect(without.respond(b('r2')).done).to.equal(false);
      blamed(() => without.respond(b('r3')), 'LIMIT_EXCEEDED', 'client');
    });
    it('a failed session stays failed: later calls throw, and the generator was closed', () => {
      let closed = false;
      function* watched(): ServerExchange {
        try {
          yield b('c');
          yield b('c');
          return { mechanism: MECH, authcid: 'user', authzid: 'user' };
        } finally {
          closed = true;
        }
      }
      const server = new SyncServerSession(watched(), { mechanism: MECH, maxMessageBytes: 1 });
      server.start();
      blamed(() => server.respond(b('too long')), 'LIMIT_EXCEEDED', 'client');
      expect(closed).to.equal(true);
      blamed(() => server.respond(b('x')), 'USAGE', 'local');
    });
  });

  describe('client steps out of order', () => {
    it('a challenge after the exchange completed is UNEXPECTED_MESSAGE from the server', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      client.start();
      client.success();
      blamed(() => client.challenge(b('more')), 'UNEXPECTED_MESSAGE', 'server');
    });
    it('success data after server-final was consumed as a challenge is UNEXPECTED_MESSAGE; a bare success is the outcome', () => {
      function* finalAsChallenge(): ClientExchange {
        yield b('hi');
        return { serverVerified: true };
      }
      const again = new SyncClientSession(finalAsChallenge(), { mechanism: MECH });
      again.start();
      expect(again.challenge(b('server-final')).length).to.equal(0);
      expect(again.success()).to.deep.equal({ serverVerified: true });
      const extra = new SyncClientSession(finalAsChallenge(), { mechanism: MECH });
      extra.start();
      extra.challenge(b('server-final'));
      blamed(() => extra.success(b('x')), 'UNEXPECTED_MESSAGE', 'server');
    });
    it('success while the mechanism still expects a challenge is UNEXPECTED_MESSAGE from the server', () => {
      function* twoSteps(): ClientExchange {
        yield b('hi');
        yield b('more');
        return { serverVerified: false };
      }
      const client = new SyncClientSession(twoSteps(), { mechanism: MECH });
      client.start();
      blamed(() => client.success(), 'UNEXPECTED_MESSAGE', 'server');
    });
    it('a mechanism that ignores the server failure is blamed on local', () => {
      function* stubborn(): ClientExchange {
        try {
          yield b('hi');
        } catch {
          // ignores the failure
        }
        yield b('again');
        return { serverVerified: false };
      }
      const client = new SyncClientSession(stubborn(), { mechanism: MECH });
      client.start();
      blamed(() => client.failure(), 'UNEXPECTED_MESSAGE', 'local');
    });
    it('NO_INITIAL_RESPONSE later than the first yield is a USAGE error', () => {
      function* late(): ClientExchange {
        yield b('hi');
        yield NO_INITIAL_RESPONSE;
        return { serverVerified: false };
      }
      const client = new SyncClientSession(late(), { mechanism: MECH });
      client.start();
      blamed(() => client.challenge(b('c')), 'USAGE', 'local');
    });
    it('a client exchange that returns before its first yield is a USAGE error', () => {
      function* empty(): ClientExchange {
        return { serverVerified: false };
      }
      blamed(() => new SyncClientSession(empty(), { mechanism: MECH }).start(), 'USAGE', 'local');
    });
  });

  describe('effects', () => {
    const OUTCOME: Authenticated = { mechanism: MECH, authcid: 'user', authzid: 'user' };

    /** A server that asks one effect answering `answer`, logs what it saw, then challenges once. */
    function* asking(answer: () => unknown, log: string[]): ServerExchange {
      try {
        log.push(`answer ${String(yield* perform(effect('hook', answer)))}`);
      } catch (error) {
        log.push(`caught ${(error as Error).message}`);
      }
      yield b('c');
      return OUTCOME;
    }

    it('the sync driver answers with the sync form; a promise there is a USAGE error that closes the exchange', () => {
      const log: string[] = [];
      const step = new SyncServerSession(asking(() => 42, log)).start();
      expect(!step.done && s(step.challenge)).to.equal('c');
      expect(log).to.deep.equal(['answer 42']);
      let closed = false;
      function* promising(): ServerExchange {
        try {
          yield* perform(effect('lookup', () => Promise.resolve(undefined)));
          return OUTCOME;
        } finally {
          closed = true;
        }
      }
      expectSaslError(() => new SyncServerSession(promising()).start(), 'USAGE');
      expect(closed).to.equal(true);
    });

    it('an async step runs on the calling tick until an answer is a promise, and continues after it', async () => {
      const log: string[] = [];
      const atHand = new PromiseServerSession(asking(() => 'now', log)).start();
      expect(log).to.deep.equal(['answer now']);
      expect((await atHand).done).to.equal(false);
      const later: string[] = [];
      const awaited = new PromiseServerSession(asking(() => Promise.resolve('later'), later)).start();
      expect(later).to.deep.equal([]);
      expect((await awaited).done).to.equal(false);
      expect(later).to.deep.equal(['answer later']);
    });

    it('a thrown or rejected answer is thrown into the mechanism, which may handle it', async () => {
      const thrown: string[] = [];
      new SyncServerSession(
        asking(() => {
          throw new Error('store down');
        }, thrown),
      ).start();
      const rejected: string[] = [];
      await new PromiseServerSession(asking(() => Promise.reject(new Error('store down')), rejected)).start();
      expect([thrown, rejected]).to.deep.equal([['caught store down'], ['caught store down']]);
    });
  });

  describe('the signal, in each state of a session', () => {
    const timeout = (): DOMException => new DOMException('too slow', 'TimeoutError');

    /** A server that records whether its `finally` ran; `effect` is asked before the first challenge. */
    function watched(state: { closed: boolean }, answer?: () => unknown): ServerExchange {
      return (function* (): ServerExchange {
        try {
          if (answer) yield* perform(effect('lookup', answer));
          yield b('c');
          return { mechanism: MECH, authcid: 'user', authzid: 'user' };
        } finally {
          state.closed = true;
        }
      })();
    }

    it('aborted before the start: finished at once; TIMEOUT for a timeout reason, ABORTED for any other, on either side', async () => {
      const timedOut = new AbortController();
      timedOut.abort(timeout());
      const server = new SyncServerSession(watched({ closed: false }), { mechanism: MECH, signal: timedOut.signal });
      expect(server.finished).to.equal(true);
      blamed(() => server.start(), 'TIMEOUT', 'client');
      const aborted = new AbortController();
      aborted.abort();
      const client = new PromiseClientSession(echoClient(), { mechanism: MECH, signal: aborted.signal });
      const error = await expectSaslRejection(client.start(), 'ABORTED');
      expect(error.party).to.equal('server');
    });

    it('between steps: the session fails at once, blamed on the peer, and the exchange is closed', () => {
      const state = { closed: false };
      const controller = new AbortController();
      const server = new SyncServerSession(watched(state), { mechanism: MECH, signal: controller.signal });
      server.start();
      controller.abort(timeout());
      expect([server.finished, state.closed]).to.deep.equal([true, true]);
      blamed(() => server.respond(b('r')), 'TIMEOUT', 'client');
      const clientSignal = new AbortController();
      const client = new SyncClientSession(echoClient(), { mechanism: MECH, signal: clientSignal.signal });
      client.start();
      clientSignal.abort(timeout());
      blamed(() => client.challenge(b('c')), 'TIMEOUT', 'server');
    });

    it('during a pending effect: the step rejects at once, blamed on local, and the exchange is closed', async () => {
      const state = { closed: false };
      const controller = new AbortController();
      const server = new PromiseServerSession(
        watched(state, () => new Promise(() => undefined)),
        { mechanism: MECH, signal: controller.signal },
      );
      const pending = server.start();
      expect(state.closed).to.equal(false);
      controller.abort(timeout());
      const error = await expectSaslRejection(pending, 'TIMEOUT');
      expect([error.party, state.closed]).to.deep.equal(['local', true]);
      await expectSaslRejection(server.respond(b('r')), 'TIMEOUT');
    });

    it('after the exchange completed: nothing changes, and the session let go of the signal', () => {
      const controller = new AbortController();
      const client = new SyncClientSession(echoClient(), { mechanism: MECH, signal: controller.signal });
      client.start();
      const outcome = client.success();
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      controller.abort(timeout());
      expect(client.success()).to.deep.equal(outcome);
    });
  });

  describe('cancelling', () => {
    it('abort() closes the exchange so its finally blocks run; later steps are USAGE errors, the abort error is returned', () => {
      const state = { closed: false };
      function* watched(): ServerExchange {
        try {
          yield b('c');
          return { mechanism: MECH, authcid: 'user', authzid: 'user' };
        } finally {
          state.closed = true;
        }
      }
      const server = new SyncServerSession(watched(), { mechanism: MECH });
      server.start();
      const error = server.abort('client');
      expect([error.code, error.party, state.closed, server.finished]).to.deep.equal(['ABORTED', 'client', true, true]);
      blamed(() => server.respond(b('r')), 'USAGE', 'local');
    });

    it('a mechanism error fails the session; a client that never started still closes on abort()', () => {
      let closed = false;
      function* failing(): ClientExchange {
        try {
          yield b('hi');
          throw new Error('mechanism bug');
        } finally {
          closed = true;
        }
      }
      const client = new SyncClientSession(failing(), { mechanism: MECH });
      client.start();
      expect(() => client.challenge(b('c'))).to.throw('mechanism bug');
      expect([closed, client.finished]).to.deep.equal([true, true]);
      const unstarted = new SyncClientSession(echoClient(), { mechanism: MECH });
      expect(unstarted.abort().code).to.equal('ABORTED');
      expect(unstarted.finished).to.equal(true);
    });
  });
});
