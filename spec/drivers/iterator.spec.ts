import { expect } from 'chai';
import {
  type Authenticated,
  type ClientOutcome,
  type ClientStep,
  ExchangeAbortedError,
  LOGIN,
  MalformedMessageError,
  PLAIN,
  type ServerEvent,
  type ServerStep,
  iterateClient,
  iterateServer,
} from '../../lib/index.js';
import { ALICE, asyncStoreOf, b, expectSaslError, expectSaslRejection, s, storeOf } from '../support/helpers.js';
import { countPromises } from '../support/promise-count.js';
import { FinallyProbe, type LineTransport, useLoopback } from '../support/line-transport.js';
import { ALICE_LOGIN, type Login, type Serve, acceptAuth, socketSuite, startLogin } from './socket-suite.js';

/** The server end of the line protocol: a `for await` loop over the driver's steps. */
async function serve(t: LineTransport, o: Serve = {}): Promise<Authenticated> {
  const { exchange, mechanism } = await acceptAuth(t, o);
  try {
    for await (const step of iterateServer(exchange, t.responses(), { mechanism: mechanism.name, ...o.limits })) {
      if (step.done) {
        t.send({ kind: 'OK', data: step.outcome.additionalData });
        return step.outcome;
      }
      if (o.abort === true) {
        t.send({ kind: 'S', data: '*' });
        throw new ExchangeAbortedError(undefined, { mechanism: mechanism.name, party: 'local' });
      }
      t.send({ kind: 'S', data: step.challenge });
    }
  } catch (error) {
    if (o.abort !== true) t.send({ kind: 'NO' });
    throw error;
  }
  throw new Error('the steps ended without an outcome');
}

/** The client end of the line protocol: a `for await` loop over the driver's steps. */
async function login(t: LineTransport, mechanism: string, o: Login = {}): Promise<ClientOutcome> {
  for await (const step of iterateClient(startLogin(mechanism, o), t.events(), {
    mechanism,
    canSendInitial: o.canSendInitial ?? true,
  })) {
    if (step.done) return step.outcome;
    if (step.initial) {
      t.send({ kind: 'AUTH', mechanism, data: step.response });
    } else if (o.abort === true) {
      t.send({ kind: 'C', data: '*' });
      throw new ExchangeAbortedError(undefined, { mechanism, party: 'local' });
    } else {
      t.send({ kind: 'C', data: step.response });
    }
  }
  throw new Error('the steps ended without an outcome');
}

socketSuite('iterator', { serve, login, asyncEffects: true });

/** An async source over fixed items that counts pulls and notices being closed. */
class Source<T> implements AsyncIterable<T> {
  pulls = 0;
  closed = false;
  constructor(private readonly items: readonly T[]) {}
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.items[this.pulls++];
        return Promise.resolve(value === undefined ? { done: true, value: undefined } : { done: false, value });
      },
      return: () => {
        this.closed = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}

/** `Source`, but each item arrives on a later turn of the event loop, as from a socket. */
class LateSource<T> extends Source<T> {
  override [Symbol.asyncIterator](): AsyncIterator<T> {
    const inner = super[Symbol.asyncIterator]();
    return {
      next: () =>
        new Promise((resolve) => {
          setImmediate(() => {
            resolve(inner.next());
          });
        }),
    };
  }
}

/** Collects what a loop saw. */
async function collect<T>(steps: AsyncIterable<T>, each: (step: T) => void = () => undefined): Promise<T[]> {
  const seen: T[] = [];
  for await (const step of steps) {
    each(step);
    seen.push(step);
  }
  return seen;
}

describe('iterator driver', () => {
  const options = { lookup: storeOf(ALICE) };

  describe('iterateServer', () => {
    it('pulls a response only after the loop asked for the next step', async () => {
      const responses = new Source([b('alice'), b('alice-pass')]);
      const pullsAtStep: number[] = [];
      const steps = await collect(iterateServer(LOGIN.server(options), responses), () =>
        pullsAtStep.push(responses.pulls),
      );
      expect(pullsAtStep).to.deep.equal([0, 1, 2]);
      expect(steps.map((step) => (step.done ? `done ${step.outcome.authcid}` : s(step.challenge)))).to.deep.equal([
        'Username:',
        'Password:',
        'done alice',
      ]);
    });

    it('yields the outcome at once when the initial response suffices, without pulling', async () => {
      const responses = new Source<Uint8Array>([]);
      const steps = await collect(iterateServer(PLAIN.server(options, b('\0alice\0alice-pass')), responses));
      expect(steps).to.have.length(1);
      expect(steps[0]!.done).to.equal(true);
      expect(responses.pulls).to.equal(0);
    });

    it('ends with ABORTED from the client when the responses end early, and runs finally', async () => {
      const probe = new FinallyProbe();
      const error = await expectSaslRejection(
        collect(iterateServer(probe.wrap(LOGIN.server(options)), new Source([b('alice')]))),
        'ABORTED',
      );
      expect(error.party).to.equal('client');
      expect(probe.ran).to.equal(true);
    });

    it('cancels the exchange when the loop breaks, and leaves the source open', async () => {
      const probe = new FinallyProbe();
      const responses = new Source([b('alice')]);
      for await (const step of iterateServer(probe.wrap(LOGIN.server(options)), responses)) {
        expect(step.done).to.equal(false);
        break;
      }
      expect(probe.ran).to.equal(true);
      expect(responses.closed).to.equal(false);
    });

    it('passes on an error from the source and cancels the exchange', async () => {
      const probe = new FinallyProbe();
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield await Promise.resolve(b('alice'));
        throw new MalformedMessageError('bad base64', { party: 'client' });
      }
      await expectSaslRejection(
        collect(iterateServer(probe.wrap(LOGIN.server(options)), failing())),
        'MALFORMED_MESSAGE',
      );
      expect(probe.ran).to.equal(true);
    });

    it('passes on a mechanism error as it is', async () => {
      await expectSaslRejection(
        collect(iterateServer(LOGIN.server(options), new Source([b('alice'), b('wrong')]))),
        'AUTHENTICATION_FAILED',
      );
    });

    it('can be iterated only once', async () => {
      const steps = iterateServer(PLAIN.server(options, b('\0alice\0alice-pass')), new Source<Uint8Array>([]));
      expect(await collect(steps)).to.have.length(1);
      await expectSaslRejection(collect(steps), 'USAGE');
    });
  });

  describe('iterateClient', () => {
    it('yields the initial response, the answers, then the outcome', async () => {
      const events = new Source<ServerEvent>([
        { type: 'challenge', data: b('Username:') },
        { type: 'challenge', data: b('Password:') },
        { type: 'success' },
      ]);
      const pullsAtStep: number[] = [];
      const steps = await collect(iterateClient(LOGIN.client(ALICE_LOGIN), events), () =>
        pullsAtStep.push(events.pulls),
      );
      expect(pullsAtStep).to.deep.equal([0, 1, 2, 3]);
      const show = (step: ClientStep): string =>
        step.done
          ? `done ${step.outcome.serverVerified}`
          : `${step.initial ? 'initial' : 'answer'} ${step.response === undefined ? '-' : s(step.response)}`;
      expect(steps.map(show)).to.deep.equal(['initial -', 'answer alice', 'answer alice-pass', 'done false']);
    });

    it('holds the initial response for the empty challenge when it cannot be sent with the command', async () => {
      const events = new Source<ServerEvent>([{ type: 'challenge', data: new Uint8Array(0) }, { type: 'success' }]);
      const steps = await collect(iterateClient(PLAIN.client(ALICE_LOGIN), events, { canSendInitial: false }));
      const [first, second, last] = steps as [ClientStep, ClientStep, ClientStep];
      expect(first).to.deep.equal({ done: false, initial: true, response: undefined });
      expect(!second.done && s(second.response)).to.equal('\0alice\0alice-pass');
      expect(last.done).to.equal(true);
    });

    it('ends with the failure the server reported, and runs finally', async () => {
      const probe = new FinallyProbe();
      const events = new Source<ServerEvent>([{ type: 'challenge', data: b('Username:') }, { type: 'failure' }]);
      const error = await expectSaslRejection(
        collect(iterateClient(probe.wrap(LOGIN.client(ALICE_LOGIN)), events)),
        'AUTHENTICATION_FAILED',
      );
      expect(error.party).to.equal('server');
      expect(probe.ran).to.equal(true);
    });

    it('ends with ABORTED from the server when the events end early', async () => {
      const error = await expectSaslRejection(
        collect(iterateClient(LOGIN.client(ALICE_LOGIN), new Source<ServerEvent>([]))),
        'ABORTED',
      );
      expect(error.party).to.equal('server');
    });

    it('refuses an event of an unknown type with USAGE', async () => {
      const events = new Source([{ type: 'continue', data: b('x') } as unknown as ServerEvent]);
      await expectSaslRejection(collect(iterateClient(LOGIN.client(ALICE_LOGIN), events)), 'USAGE');
    });

    it('cancels the exchange when the loop breaks', async () => {
      const probe = new FinallyProbe();
      const events = new Source<ServerEvent>([{ type: 'challenge', data: b('Username:') }]);
      for await (const step of iterateClient(probe.wrap(LOGIN.client(ALICE_LOGIN)), events)) {
        if (!step.done && !step.initial) break;
      }
      expect(probe.ran).to.equal(true);
    });
  });

  it('refuses a timeoutMs that is not a positive number with USAGE', () => {
    for (const timeoutMs of [0, -1, Number.NaN]) {
      expectSaslError(() => iterateServer(LOGIN.server(options), new Source<Uint8Array>([]), { timeoutMs }), 'USAGE');
      expectSaslError(
        () => iterateClient(LOGIN.client(ALICE_LOGIN), new Source<ServerEvent>([]), { timeoutMs }),
        'USAGE',
      );
    }
  });

  describe('the signal while the loop waits for the peer', () => {
    // A peer that never sends its next message.
    const silent = <T>(): AsyncIterable<T> => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<T>>(() => undefined) }),
    });

    it("ends the server loop at once with the signal's error blamed on the client, and cancels the exchange", async () => {
      const probe = new FinallyProbe();
      const controller = new AbortController();
      const steps = iterateServer(probe.wrap(LOGIN.server(options)), silent<Uint8Array>(), {
        mechanism: 'LOGIN',
        signal: controller.signal,
      })[Symbol.asyncIterator]();
      expect((await steps.next()).done).to.equal(false);
      const waiting = steps.next();
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      const error = await expectSaslRejection(waiting, 'TIMEOUT');
      expect([error.party, probe.ran]).to.deep.equal(['client', true]);
      expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('ends the client loop at once with ABORTED blamed on the server for any other reason', async () => {
      const controller = new AbortController();
      const steps = iterateClient(LOGIN.client(ALICE_LOGIN), silent<ServerEvent>(), {
        mechanism: 'LOGIN',
        signal: controller.signal,
      })[Symbol.asyncIterator]();
      await steps.next();
      const waiting = steps.next();
      controller.abort();
      const error = await expectSaslRejection(waiting, 'ABORTED');
      expect(error.party).to.equal('server');
    });
  });

  describe('timeoutMs over a 127.0.0.1 socket', () => {
    const connect = useLoopback();

    it('ends the server loop with TIMEOUT when the client goes quiet, and cancels the exchange', async () => {
      const { server, client } = await connect();
      const probe = new FinallyProbe();
      client.send({ kind: 'AUTH', mechanism: 'LOGIN', data: undefined });
      const { exchange } = await acceptAuth(server, { wrap: probe.wrap });
      const challenges: string[] = [];
      const steps = iterateServer(exchange, server.responses(), { mechanism: 'LOGIN', timeoutMs: 50 });
      const error = await expectSaslRejection(
        collect(steps, (step: ServerStep) => step.done || challenges.push(s(step.challenge))),
        'TIMEOUT',
      );
      expect(error.party).to.equal('client');
      expect(challenges).to.deep.equal(['Username:']);
      expect(probe.ran).to.equal(true);
    });

    it('ends the client loop with TIMEOUT when the server goes quiet, and cancels the exchange', async () => {
      const { client } = await connect();
      const probe = new FinallyProbe();
      const steps = iterateClient(probe.wrap(PLAIN.client(ALICE_LOGIN)), client.events(), {
        mechanism: 'PLAIN',
        timeoutMs: 50,
      });
      const error = await expectSaslRejection(
        collect(steps, (step: ClientStep) => {
          if (!step.done && step.initial) client.send({ kind: 'AUTH', mechanism: 'PLAIN', data: step.response });
        }),
        'TIMEOUT',
      );
      expect(error.party).to.equal('server');
      expect(probe.ran).to.equal(true);
    });
  });
});

describe('iterator driver steps as an async iterator', () => {
  const options = { lookup: storeOf(ALICE) };
  const show = (result: IteratorResult<ServerStep | ClientStep, unknown>): string => {
    if (result.done === true) return 'end';
    const step = result.value;
    if (step.done) return 'outcome';
    return s('challenge' in step ? step.challenge : step.response);
  };

  it('is its own async iterable, so a loop can take over after the first step', async () => {
    const steps = iterateServer(LOGIN.server(options), new Source([b('alice'), b('alice-pass')]))[
      Symbol.asyncIterator
    ]();
    expect(show(await steps.next())).to.equal('Username:');
    const rest: string[] = [];
    const iterable = steps as unknown as AsyncIterable<ServerStep>;
    expect(iterable[Symbol.asyncIterator]()).to.equal(steps);
    for await (const step of iterable) rest.push(step.done ? `done ${step.outcome.authcid}` : s(step.challenge));
    expect(rest).to.deep.equal(['Password:', 'done alice']);
  });

  it('answers requests made before the previous one settled, in order', async () => {
    const events = new Source<ServerEvent>([
      { type: 'challenge', data: b('Username:') },
      { type: 'challenge', data: b('Password:') },
      { type: 'success' },
    ]);
    const steps = iterateClient(LOGIN.client(ALICE_LOGIN), events)[Symbol.asyncIterator]();
    const results = await Promise.all([steps.next(), steps.next(), steps.next(), steps.next(), steps.next()]);
    expect(results.map(show)).to.deep.equal(['', 'alice', 'alice-pass', 'outcome', 'end']);
  });

  it('queues a request behind a first step that awaits the store', async () => {
    const steps = iterateServer(
      PLAIN.server({ lookup: asyncStoreOf(ALICE) }, b('\0alice\0alice-pass')),
      new Source<Uint8Array>([]),
    )[Symbol.asyncIterator]();
    const [first, second] = await Promise.all([steps.next(), steps.next()]);
    expect(first.done !== true && first.value.done && first.value.outcome.authcid).to.equal('alice');
    expect(second).to.deep.equal({ done: true, value: undefined });
  });

  it('runs return() made during a pending step after it, then cancels the exchange', async () => {
    const probe = new FinallyProbe();
    const responses = new Source([b('alice')]);
    const steps = iterateServer(probe.wrap(LOGIN.server(options)), responses)[Symbol.asyncIterator]();
    expect(show(await steps.next())).to.equal('Username:');
    const pending = steps.next();
    const returned = steps.return!();
    expect(show(await pending)).to.equal('Password:');
    expect(await returned).to.deep.equal({ done: true, value: undefined });
    expect(probe.ran).to.equal(true);
    expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
    expect(responses.closed).to.equal(false);
  });

  it('ends with the error given to throw(), cancelling the exchange', async () => {
    const probe = new FinallyProbe();
    const steps = iterateClient(
      probe.wrap(LOGIN.client(ALICE_LOGIN)),
      new Source<ServerEvent>([{ type: 'challenge', data: b('Username:') }]),
    )[Symbol.asyncIterator]();
    await steps.next();
    const error = new ExchangeAbortedError(undefined, { party: 'local' });
    let thrown: unknown;
    await steps.throw!(error).catch((caught: unknown) => (thrown = caught));
    expect(thrown).to.equal(error);
    expect(probe.ran).to.equal(true);
    expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
  });

  it('refuses a loop over steps that ended (USAGE), after a break as after the outcome; next() stays done', async () => {
    const broken = iterateServer(LOGIN.server(options), new Source([b('alice')]));
    for await (const step of broken) {
      expect(step.done).to.equal(false);
      break;
    }
    await expectSaslRejection(collect(broken), 'USAGE');
    const steps = iterateServer(PLAIN.server(options, b('\0alice\0alice-pass')), new Source<Uint8Array>([]))[
      Symbol.asyncIterator
    ]();
    expect(show(await steps.next())).to.equal('outcome');
    expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
    expectSaslError(() => (steps as unknown as AsyncIterable<ServerStep>)[Symbol.asyncIterator](), 'USAGE');
    expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
    expect(await steps.return!()).to.deep.equal({ done: true, value: undefined });
  });

  it('gives the same steps for a source that answers at once and one that answers on a later turn', async () => {
    const run = async (late: boolean): Promise<string[]> => {
      const make = <T>(items: T[]): Source<T> => (late ? new LateSource(items) : new Source(items));
      const server = await collect(iterateServer(LOGIN.server(options), make([b('alice'), b('alice-pass')])));
      const events = make<ServerEvent>([
        { type: 'challenge', data: b('Username:') },
        { type: 'challenge', data: b('Password:') },
        { type: 'success' },
      ]);
      const client = await collect(iterateClient(LOGIN.client(ALICE_LOGIN), events));
      return [...server, ...client].map((step) => show({ done: false, value: step }));
    };
    const atOnce = await run(false);
    expect(atOnce).to.deep.equal(['Username:', 'Password:', 'outcome', '', 'alice', 'alice-pass', 'outcome']);
    expect(await run(true)).to.deep.equal(atOnce);
  });

  it('costs a bounded number of promises for a PLAIN login whose initial response suffices', async () => {
    const { promises, value } = await countPromises(async () => {
      const client = iterateClient(PLAIN.client(ALICE_LOGIN), new Source<ServerEvent>([{ type: 'success' }]))[
        Symbol.asyncIterator
      ]();
      const first = await client.next();
      if (first.done === true || first.value.done || first.value.response === undefined) throw new Error('no initial');
      let authcid = '';
      for await (const step of iterateServer(PLAIN.server(options, first.value.response), new Source<Uint8Array>([])))
        if (step.done) authcid = step.outcome.authcid;
      const last = await client.next();
      await client.return!();
      return `${authcid} ${show(last)}`;
    });
    expect(value).to.equal('alice outcome');
    // 13 with Node 20's async_hooks on (15 before the finished steps shared one settled promise):
    // the loop's own awaits and async function, the sources' answers, one per step handed out.
    expect(promises).to.be.at.most(13);
  });

  it('rejects, never throws, when the initial response breaks a limit', async () => {
    const initial = b('\0alice\0alice-pass');
    const steps = iterateServer(PLAIN.server(options, initial), new Source<Uint8Array>([]), {
      initialResponse: initial,
      maxMessageBytes: 4,
    })[Symbol.asyncIterator]();
    const first = steps.next();
    expect(first).to.be.instanceOf(Promise);
    await expectSaslRejection(first, 'LIMIT_EXCEEDED');
    expect(await steps.next()).to.deep.equal({ done: true, value: undefined });
  });
});
