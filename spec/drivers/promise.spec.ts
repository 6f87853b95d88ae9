import { expect } from 'chai';
import {
  type Authenticated,
  type ClientOutcome,
  ExchangeAbortedError,
  LOGIN,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  type ServerStep,
} from '../../lib/index.js';
import { ALICE, asyncStoreOf, b, expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';
import { FinallyProbe, type LineTransport } from '../support/line-transport.js';
import { ALICE_LOGIN, type Login, type Serve, acceptAuth, socketSuite, startLogin } from './socket-suite.js';

/** The server end of the line protocol, stepped by the promise driver. */
async function serve(t: LineTransport, o: Serve = {}): Promise<Authenticated> {
  const { exchange, mechanism } = await acceptAuth(t, o);
  const session = new PromiseServerSession(exchange, { mechanism: mechanism.name, ...o.limits });
  try {
    let step = await session.start();
    while (!step.done) {
      if (o.abort === true) {
        t.send({ kind: 'S', data: '*' });
        throw session.abort('local');
      }
      t.send({ kind: 'S', data: step.challenge });
      const frame = await t.receive();
      if (frame?.kind !== 'C' || frame.data === '*') throw session.abort('client');
      step = await session.respond(frame.data);
    }
    t.send({ kind: 'OK', data: step.outcome.additionalData });
    return step.outcome;
  } catch (error) {
    if (o.abort !== true) t.send({ kind: 'NO' });
    throw error;
  }
}

/** The client end of the line protocol, stepped by the promise driver. */
async function login(t: LineTransport, mechanism: string, o: Login = {}): Promise<ClientOutcome> {
  const session = new PromiseClientSession(startLogin(mechanism, o), { mechanism });
  t.send({ kind: 'AUTH', mechanism, data: await session.start(o.canSendInitial ?? true) });
  for (;;) {
    const frame = await t.receive();
    if (frame?.kind === 'OK') return session.success(frame.data);
    if (frame?.kind === 'NO') return session.failure();
    if (frame?.kind !== 'S') throw session.abort();
    if (frame.data === '*') return session.failure(new ExchangeAbortedError(undefined, { party: 'server' }));
    if (o.abort === true) {
      t.send({ kind: 'C', data: '*' });
      throw session.abort();
    }
    t.send({ kind: 'C', data: await session.challenge(frame.data) });
  }
}

socketSuite('promise', { serve, login, asyncEffects: true });

describe('promise driver sessions', () => {
  const options = { lookup: storeOf(ALICE) };

  it('rejects, never throws, when a session is reused', async () => {
    const session = new PromiseServerSession(PLAIN.server(options));
    await session.start();
    const again = session.start();
    expect(again).to.be.instanceOf(Promise);
    await expectSaslRejection(again, 'USAGE');
    expect((await session.respond(b('\0alice\0alice-pass'))).done).to.equal(true);
    await expectSaslRejection(session.respond(b('\0alice\0alice-pass')), 'USAGE');
    const client = new PromiseClientSession(PLAIN.client(ALICE_LOGIN));
    await client.start();
    await client.success();
    await expectSaslRejection(client.start(), 'USAGE');
  });

  it('rejects, never throws, when a message breaks a limit or is not bytes', async () => {
    const initial = b('\0alice\0alice-pass');
    const limited = new PromiseServerSession(PLAIN.server(options, initial), {
      initialResponse: initial,
      maxMessageBytes: 4,
    });
    const start = limited.start();
    expect(start).to.be.instanceOf(Promise);
    await expectSaslRejection(start, 'LIMIT_EXCEEDED');
    const session = new PromiseServerSession(LOGIN.server(options));
    await session.start();
    const respond = session.respond('alice' as unknown as Uint8Array);
    expect(respond).to.be.instanceOf(Promise);
    await expectSaslRejection(respond, 'USAGE');
    const over = new PromiseClientSession(LOGIN.client(ALICE_LOGIN), { maxMessageBytes: 4 });
    await over.start();
    const tooLong = over.challenge(b('Username:'));
    expect(tooLong).to.be.instanceOf(Promise);
    await expectSaslRejection(tooLong, 'LIMIT_EXCEEDED');
  });

  it('refuses a second session over the same exchange', async () => {
    const exchange = PLAIN.server(options, b('\0alice\0alice-pass'));
    expect((await new PromiseServerSession(exchange).start()).done).to.equal(true);
    expectSaslError(() => new PromiseServerSession(exchange), 'USAGE');
  });

  it('refuses a step while the previous one is still awaiting an effect', async () => {
    const session = new PromiseServerSession(LOGIN.server({ lookup: asyncStoreOf(ALICE) }));
    await session.start();
    await session.respond(b('alice'));
    const first = session.respond(b('alice-pass'));
    await expectSaslRejection(session.respond(b('alice-pass')), 'USAGE');
    const step: ServerStep = await first;
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('never reports an outcome when aborted while an effect is pending', async () => {
    const probe = new FinallyProbe();
    const session = new PromiseServerSession(
      probe.wrap(PLAIN.server({ lookup: asyncStoreOf(ALICE) }, b('\0alice\0alice-pass'))),
    );
    const pending = session.start();
    const abortError = session.abort('local');
    expect(await expectSaslRejection(pending, 'ABORTED')).to.equal(abortError);
    expect(probe.ran).to.equal(true);
  });
});
