import { expect } from 'chai';
import {
  type Authenticated,
  type ClientOutcome,
  ExchangeAbortedError,
  PLAIN,
  SyncClientSession,
  SyncServerSession,
} from '../../lib/index.js';
import { ALICE, b, expectSaslError, storeOf } from '../support/helpers.js';
import type { LineTransport } from '../support/line-transport.js';
import { ALICE_LOGIN, type Login, type Serve, acceptAuth, socketSuite, startLogin } from './socket-suite.js';

/** The server end of the line protocol, stepped by the sync driver between socket reads. */
async function serve(t: LineTransport, o: Serve = {}): Promise<Authenticated> {
  const { exchange, mechanism } = await acceptAuth(t, o);
  const session = new SyncServerSession(exchange, { mechanism: mechanism.name, ...o.limits });
  try {
    let step = session.start();
    while (!step.done) {
      if (o.abort === true) {
        t.send({ kind: 'S', data: '*' });
        throw session.abort('local');
      }
      t.send({ kind: 'S', data: step.challenge });
      const frame = await t.receive();
      if (frame?.kind !== 'C' || frame.data === '*') throw session.abort('client');
      step = session.respond(frame.data);
    }
    t.send({ kind: 'OK', data: step.outcome.additionalData });
    return step.outcome;
  } catch (error) {
    if (o.abort !== true) t.send({ kind: 'NO' });
    throw error;
  }
}

/** The client end of the line protocol, stepped by the sync driver. */
async function login(t: LineTransport, mechanism: string, o: Login = {}): Promise<ClientOutcome> {
  const session = new SyncClientSession(startLogin(mechanism, o), { mechanism });
  t.send({ kind: 'AUTH', mechanism, data: session.start(o.canSendInitial ?? true) });
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
    t.send({ kind: 'C', data: session.challenge(frame.data) });
  }
}

socketSuite('sync', { serve, login, asyncEffects: false });

describe('sync driver sessions', () => {
  const options = { lookup: storeOf(ALICE) };

  it('cannot be started twice, nor fed after the outcome', () => {
    const session = new SyncServerSession(PLAIN.server(options));
    session.start();
    expectSaslError(() => session.start(), 'USAGE');
    expect(session.respond(b('\0alice\0alice-pass')).done).to.equal(true);
    expectSaslError(() => session.respond(b('\0alice\0alice-pass')), 'USAGE');
    const client = new SyncClientSession(PLAIN.client(ALICE_LOGIN));
    client.start();
    client.success();
    expectSaslError(() => client.start(), 'USAGE');
  });

  it('refuses a second session over the same exchange', () => {
    const exchange = PLAIN.server(options, b('\0alice\0alice-pass'));
    expect(new SyncServerSession(exchange).start().done).to.equal(true);
    expectSaslError(() => new SyncServerSession(exchange), 'USAGE');
  });

  it('stays failed after an error', () => {
    const session = new SyncServerSession(PLAIN.server(options));
    session.start();
    expectSaslError(() => session.respond(b('no nul')), 'MALFORMED_MESSAGE');
    expect(session.finished).to.equal(true);
    expectSaslError(() => session.respond(b('\0alice\0alice-pass')), 'USAGE');
  });
});
