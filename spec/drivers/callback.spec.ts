import { expect } from 'chai';
import {
  type Authenticated,
  CallbackClientSession,
  CallbackServerSession,
  type ClientOutcome,
  ExchangeAbortedError,
  LOGIN,
  PLAIN,
  type ServerStep,
  isSaslError,
} from '../../lib/index.js';
import { ALICE, asyncStoreOf, b, expectSaslError, storeOf } from '../support/helpers.js';
import type { LineTransport } from '../support/line-transport.js';
import { ALICE_LOGIN, type Login, type Serve, acceptAuth, socketSuite, startLogin } from './socket-suite.js';

/** The server end of the line protocol, written in callback style with the callback driver. */
function serve(t: LineTransport, o: Serve = {}): Promise<Authenticated> {
  return new Promise((resolve, reject) => {
    acceptAuth(t, o).then(({ exchange, mechanism }) => {
      const session = new CallbackServerSession(exchange, { mechanism: mechanism.name, ...o.limits });
      const fail = (error: Error): void => {
        if (o.abort !== true) t.send({ kind: 'NO' });
        reject(error);
      };
      const onStep = (error: Error | null, step: ServerStep): void => {
        if (error) {
          fail(error);
        } else if (step.done) {
          t.send({ kind: 'OK', data: step.outcome.additionalData });
          resolve(step.outcome);
        } else if (o.abort === true) {
          t.send({ kind: 'S', data: '*' });
          fail(session.abort('local'));
        } else {
          t.send({ kind: 'S', data: step.challenge });
          t.receive().then((frame) => {
            if (frame?.kind === 'C' && frame.data !== '*') session.respond(frame.data, onStep);
            else fail(session.abort('client'));
          }, fail);
        }
      };
      session.start(onStep);
    }, reject);
  });
}

/** The client end of the line protocol, written in callback style with the callback driver. */
function login(t: LineTransport, mechanism: string, o: Login = {}): Promise<ClientOutcome> {
  return new Promise((resolve, reject) => {
    const session = new CallbackClientSession(startLogin(mechanism, o), { mechanism });
    const done = (error: Error | null, outcome: ClientOutcome): void => {
      if (error) reject(error);
      else resolve(outcome);
    };
    const onResponse = (error: Error | null, response: Uint8Array): void => {
      if (error) {
        reject(error);
      } else {
        t.send({ kind: 'C', data: response });
        receive();
      }
    };
    const receive = (): void => {
      t.receive().then((frame) => {
        if (frame?.kind === 'OK') {
          session.success(frame.data, done);
        } else if (frame?.kind === 'NO') {
          session.failure(done);
        } else if (frame?.kind !== 'S') {
          reject(session.abort());
        } else if (frame.data === '*') {
          session.failure(new ExchangeAbortedError(undefined, { party: 'server' }), done);
        } else if (o.abort === true) {
          t.send({ kind: 'C', data: '*' });
          reject(session.abort());
        } else {
          session.challenge(frame.data, onResponse);
        }
      }, reject);
    };
    session.start(o.canSendInitial ?? true, (error, initial) => {
      if (error) {
        reject(error);
      } else {
        t.send({ kind: 'AUTH', mechanism, data: initial });
        receive();
      }
    });
  });
}

socketSuite('callback', { serve, login, asyncEffects: true });

/** Records every call of a callback, and whether the method that took it had returned. */
function recorder<T>(): {
  callback: (error: Error | null, result: T) => void;
  calls: { error: Error | null; result: T; afterReturn: boolean }[];
  returned: () => void;
  settled: Promise<void>;
} {
  const calls: { error: Error | null; result: T; afterReturn: boolean }[] = [];
  let hasReturned = false;
  let settle = (): void => undefined;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  return {
    calls,
    callback: (error, result) => {
      calls.push({ error, result, afterReturn: hasReturned });
      // Give a wrongly repeated call the chance to show up before the test looks.
      setImmediate(settle);
    },
    returned: () => {
      hasReturned = true;
    },
    settled,
  };
}

describe('callback driver sessions', () => {
  const options = { lookup: storeOf(ALICE) };

  it('calls back once, after returning, even when the step finishes synchronously', async () => {
    const session = new CallbackServerSession(PLAIN.server(options, b('\0alice\0alice-pass')));
    const r = recorder<ServerStep>();
    session.start(r.callback);
    r.returned();
    await r.settled;
    expect(r.calls).to.have.length(1);
    expect(r.calls[0]!.afterReturn).to.equal(true);
    expect(r.calls[0]!.error).to.equal(null);
    expect(r.calls[0]!.result.done && r.calls[0]!.result.outcome.authcid).to.equal('alice');
  });

  it('reports reuse as a USAGE error through the callback, once and after returning', async () => {
    const session = new CallbackServerSession(PLAIN.server(options));
    const first = recorder<ServerStep>();
    session.start(first.callback);
    await first.settled;
    const again = recorder<ServerStep>();
    session.start(again.callback);
    again.returned();
    await again.settled;
    expect(again.calls).to.have.length(1);
    expect(again.calls[0]!.afterReturn).to.equal(true);
    const error = again.calls[0]!.error;
    expect(isSaslError(error) && error.code).to.equal('USAGE');
  });

  it('refuses a step while the previous one is still awaiting an effect', async () => {
    const session = new CallbackServerSession(LOGIN.server({ lookup: asyncStoreOf(ALICE) }));
    const started = recorder<ServerStep>();
    session.start(started.callback);
    await started.settled;
    const user = recorder<ServerStep>();
    session.respond(b('alice'), user.callback);
    await user.settled;
    const [first, second] = [recorder<ServerStep>(), recorder<ServerStep>()];
    session.respond(b('alice-pass'), first.callback);
    session.respond(b('alice-pass'), second.callback);
    await Promise.all([first.settled, second.settled]);
    expect(isSaslError(second.calls[0]!.error) && second.calls[0]!.error.code).to.equal('USAGE');
    const step = first.calls[0]!.result;
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('hands a client failure to the callback as a typed error', async () => {
    const client = new CallbackClientSession(PLAIN.client(ALICE_LOGIN));
    const started = recorder<Uint8Array | undefined>();
    client.start(started.callback);
    await started.settled;
    const failed = recorder<never>();
    client.failure(failed.callback);
    await failed.settled;
    const error = failed.calls[0]!.error;
    expect(isSaslError(error) && [error.code, error.party]).to.deep.equal(['AUTHENTICATION_FAILED', 'server']);
  });

  it('wraps a non-Error thrown by a host callback in a USAGE error', async () => {
    const lookup = (): never => {
      throw 'not an error' as unknown as Error;
    };
    const session = new CallbackServerSession(PLAIN.server({ lookup }, b('\0alice\0alice-pass')));
    const r = recorder<ServerStep>();
    session.start(r.callback);
    await r.settled;
    const error = r.calls[0]!.error;
    expect(isSaslError(error) && error.code).to.equal('USAGE');
    expect(error?.cause).to.equal('not an error');
  });

  it('throws USAGE at once when the callback is missing', () => {
    const session = new CallbackServerSession(PLAIN.server(options));
    expectSaslError(() => {
      (session.start as (callback: unknown) => void)(undefined);
    }, 'USAGE');
  });
});
