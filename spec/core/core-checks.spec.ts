// More of the stepping core's rules (lib/core/core.ts), each pinned on its own: the ones the fifth
// mutation pass (issue 11, mutation/RESULTS.md) found no spec for. core.spec.ts has the rest.
import { expect } from 'chai';
import {
  AuthenticationFailedError,
  type ClientExchange,
  NO_INITIAL_RESPONSE,
  PromiseServerSession,
  type SaslError,
  type ServerExchange,
  ServerSuccess,
  SyncClientSession,
  SyncServerSession,
  effect,
  iterateServer,
  perform,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection, s } from '../support/helpers.js';

const MECH = 'TEST';
const OUTCOME = { mechanism: MECH, authcid: 'user', authzid: 'user' } as const;

function blamed(fn: () => unknown, code: SaslError['code'], party: SaslError['party'], mechanism = MECH): SaslError {
  const error = expectSaslError(fn, code);
  expect({ mechanism: error.mechanism, party: error.party }, error.message).to.deep.equal({ mechanism, party });
  return error;
}

/** A client that sends `hi`, answers every challenge with `ok`, and returns on success. */
function* echoClient(initial: Uint8Array | typeof NO_INITIAL_RESPONSE = b('hi')): ClientExchange {
  let reply: unknown = yield initial;
  for (;;) {
    if (reply instanceof ServerSuccess) return { serverVerified: false };
    reply = yield b('ok');
  }
}

/** A client whose exchange ends when it takes server-final as a challenge (SMTP, IMAP). */
function* finalAsChallenge(): ClientExchange {
  yield b('hi');
  return { serverVerified: true };
}

/** A server that challenges `rounds` times, then succeeds. */
function* challenger(rounds: number): ServerExchange {
  for (let i = 0; i < rounds; i++) yield b(`c${i}`);
  return OUTCOME;
}

describe('core checks (fifth mutation pass)', () => {
  describe('sessions and their errors', () => {
    it('a second session over the same exchange is a USAGE error naming its mechanism', () => {
      const exchange = challenger(1);
      new SyncServerSession(exchange, { mechanism: MECH });
      blamed(() => new SyncServerSession(exchange, { mechanism: MECH }), 'USAGE', 'local');
    });
    it('abort() blames local by default and names the mechanism', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      client.start();
      const error = client.abort();
      expect({ code: error.code, party: error.party, mechanism: error.mechanism }).to.deep.equal({
        code: 'ABORTED',
        party: 'local',
        mechanism: MECH,
      });
    });
    it('abort() after the exchange completed changes nothing: the outcome stays', () => {
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      client.start();
      const outcome = client.success();
      expect(client.abort().code).to.equal('ABORTED');
      expect(client.success()).to.deep.equal(outcome);
    });
    it('a message that is not a Uint8Array is a USAGE error naming the mechanism, and fails the session', () => {
      const server = new SyncServerSession(challenger(2), { mechanism: MECH });
      server.start();
      blamed(() => server.respond('text' as unknown as Uint8Array), 'USAGE', 'local');
      expect(server.finished).to.equal(true);
      const client = new SyncClientSession(echoClient(), { mechanism: MECH });
      client.start();
      blamed(() => client.challenge([1, 2] as unknown as Uint8Array), 'USAGE', 'local');
      expect(client.finished).to.equal(true);
    });
    it('the first error stays: a failure reported after the signal fired does not replace its error', () => {
      const controller = new AbortController();
      const client = new SyncClientSession(echoClient(), { mechanism: MECH, signal: controller.signal });
      client.start();
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      const reported = new AuthenticationFailedError(undefined, { party: 'server' });
      expect(() => client.failure(reported)).to.throw(reported);
      blamed(() => client.challenge(b('c')), 'TIMEOUT', 'server');
    });
    it('a failure reported after the client completed (server-final taken as a challenge) is thrown as reported', () => {
      const client = new SyncClientSession(finalAsChallenge(), { mechanism: MECH });
      client.start();
      expect(client.challenge(b('server-final'))).to.have.length(0);
      const reported = new AuthenticationFailedError(undefined, { mechanism: MECH, party: 'server' });
      expect(() => client.failure(reported)).to.throw(reported);
      expect(client.finished).to.equal(true);
    });
    it('after server-final was taken as a challenge, success with empty data is the outcome', () => {
      const client = new SyncClientSession(finalAsChallenge(), { mechanism: MECH });
      client.start();
      client.challenge(b('server-final'));
      expect(client.success(new Uint8Array(0))).to.deep.equal({ serverVerified: true });
    });
  });

  describe('steps that wait', () => {
    it('a step while an async step is pending is a USAGE error naming the mechanism; the pending step goes on', async () => {
      let answer: (value: undefined) => void = () => undefined;
      function* slow(): ServerExchange {
        yield* perform(effect('lookup', () => new Promise<undefined>((resolve) => (answer = resolve))));
        yield b('c');
        return OUTCOME;
      }
      const server = new PromiseServerSession(slow(), { mechanism: MECH });
      const pending = server.start();
      const error = await expectSaslRejection(server.respond(b('r')), 'USAGE');
      expect([error.mechanism, error.party]).to.deep.equal([MECH, 'local']);
      answer(undefined);
      const step = await pending;
      expect(!step.done && s(step.challenge)).to.equal('c');
    });
    it('every effect of an async step after the first awaited one is answered asynchronously too', async () => {
      const log: string[] = [];
      function* twice(): ServerExchange {
        log.push(yield* perform(effect('lookup', () => Promise.resolve('one'))));
        log.push(yield* perform(effect('lookup', () => Promise.resolve('two'))));
        yield b('c');
        return OUTCOME;
      }
      const step = await new PromiseServerSession(twice(), { mechanism: MECH }).start();
      expect(!step.done && s(step.challenge)).to.equal('c');
      expect(log).to.deep.equal(['one', 'two']);
    });
    it('a signal fired during a sync step (here by the store) fails that step: its challenge is not handed out', () => {
      const controller = new AbortController();
      let closed = false;
      function* aborting(): ServerExchange {
        try {
          yield* perform(
            effect('lookup', () => {
              controller.abort();
              return undefined;
            }),
          );
          yield b('c');
          return OUTCOME;
        } finally {
          closed = true;
        }
      }
      const server = new SyncServerSession(aborting(), { mechanism: MECH, signal: controller.signal });
      blamed(() => server.start(), 'ABORTED', 'local');
      expect(server.finished).to.equal(true);
      blamed(() => server.respond(b('r')), 'ABORTED', 'local');
      expect(closed).to.equal(true);
    });
    it('a session failed by a signal during an async step does not wait for the next answer', async () => {
      // Code running inside the exchange (a callback it calls directly) fires the signal, and the
      // exchange then asks for an answer that never comes: the step must reject at once.
      const controller = new AbortController();
      function* stuck(): ServerExchange {
        yield* perform(effect('lookup', () => Promise.resolve(undefined)));
        controller.abort();
        yield* perform(effect('lookup', () => new Promise<undefined>(() => undefined)));
        yield b('c');
        return OUTCOME;
      }
      const server = new PromiseServerSession(stuck(), { mechanism: MECH, signal: controller.signal });
      const error = await expectSaslRejection(server.start(), 'ABORTED');
      expect([error.mechanism, error.party]).to.deep.equal([MECH, 'local']);
    });
    it('a signal aborted with a null reason is ABORTED (only a TimeoutError reason is TIMEOUT)', () => {
      const controller = new AbortController();
      const server = new SyncServerSession(challenger(2), { mechanism: MECH, signal: controller.signal });
      server.start();
      controller.abort(null);
      expect(server.finished).to.equal(true);
      blamed(() => server.respond(b('r')), 'ABORTED', 'client');
    });
    it("the iterator driver's message timer is cleared once the message arrives", async () => {
      const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      async function* messages(): AsyncGenerator<Uint8Array> {
        await Promise.resolve();
        yield b('r0');
      }
      await Promise.resolve(); // mocha arms its own test timer once the test has returned its promise
      const before = timers();
      const seen: string[] = [];
      for await (const step of iterateServer(challenger(1), messages(), { mechanism: MECH, timeoutMs: 600_000 })) {
        seen.push(step.done ? 'outcome' : s(step.challenge));
        if (step.done) break;
      }
      expect(seen).to.deep.equal(['c0', 'outcome']);
      expect(timers()).to.equal(before);
    });
  });
});
