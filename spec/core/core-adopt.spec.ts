// An exchange is driven by one session only (lib/core/core.ts, `adopt`). The mark is a
// symbol-keyed property since the private field stamped through a returning base constructor
// was dropped by rollup's tree-shaking (the bundle then refused no second session); these pin
// the rule through every driver, on both sides, and for exchanges that cannot take the mark.
import { expect } from 'chai';
import {
  CallbackClientSession,
  CallbackServerSession,
  ClientCredentials,
  type ClientExchange,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  type ServerExchange,
  SyncClientSession,
  SyncServerSession,
  iterateClient,
  iterateServer,
} from '../../lib/index.js';
import { ALICE, b, expectSaslError, storeOf } from '../support/helpers.js';

const options = { lookup: storeOf(ALICE) };
const ALICE_LOGIN = new ClientCredentials('alice', 'alice-pass');
const NOTHING: AsyncIterable<never> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true as const, value: undefined }) }),
};

type Adopter<E> = (exchange: E) => unknown;

const servers: Record<string, Adopter<ServerExchange>> = {
  sync: (exchange) => new SyncServerSession(exchange, { mechanism: 'PLAIN' }),
  promise: (exchange) => new PromiseServerSession(exchange, { mechanism: 'PLAIN' }),
  callback: (exchange) => new CallbackServerSession(exchange, { mechanism: 'PLAIN' }),
  iterator: (exchange) => iterateServer(exchange, NOTHING, { mechanism: 'PLAIN' }),
};

const clients: Record<string, Adopter<ClientExchange>> = {
  sync: (exchange) => new SyncClientSession(exchange, { mechanism: 'PLAIN' }),
  promise: (exchange) => new PromiseClientSession(exchange, { mechanism: 'PLAIN' }),
  callback: (exchange) => new CallbackClientSession(exchange, { mechanism: 'PLAIN' }),
  iterator: (exchange) => iterateClient(exchange, NOTHING, { mechanism: 'PLAIN' }),
};

const initial = (): Uint8Array => b('\0alice\0alice-pass');

describe('core: one session per exchange', () => {
  for (const [first, adoptFirst] of Object.entries(servers)) {
    for (const [second, adoptSecond] of Object.entries(servers)) {
      it(`a server exchange under the ${first} driver is refused by the ${second} driver (USAGE)`, () => {
        const exchange = PLAIN.server(options, initial());
        adoptFirst(exchange);
        const error = expectSaslError(() => adoptSecond(exchange), 'USAGE');
        expect(error.mechanism).to.equal('PLAIN');
      });
    }
  }

  for (const [first, adoptFirst] of Object.entries(clients)) {
    for (const [second, adoptSecond] of Object.entries(clients)) {
      it(`a client exchange under the ${first} driver is refused by the ${second} driver (USAGE)`, () => {
        const exchange = PLAIN.client(ALICE_LOGIN);
        adoptFirst(exchange);
        expectSaslError(() => adoptSecond(exchange), 'USAGE');
      });
    }
  }

  it('the refused session leaves the first one running: it completes the exchange', () => {
    const exchange = PLAIN.server(options, initial());
    const session = new SyncServerSession(exchange);
    expectSaslError(() => new SyncServerSession(exchange), 'USAGE');
    const step = session.start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('a frozen exchange is driven as any other, and a second session over it is refused', () => {
    const server = Object.freeze(PLAIN.server(options, initial()));
    const client = Object.freeze(PLAIN.client(ALICE_LOGIN));
    const serverSession = new SyncServerSession(server);
    const clientSession = new SyncClientSession(client);
    expectSaslError(() => new SyncServerSession(server), 'USAGE');
    expectSaslError(() => new PromiseClientSession(client), 'USAGE');
    clientSession.start();
    const step = serverSession.start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
    expect(clientSession.success()).to.deep.equal({ serverVerified: false });
  });

  it('an exchange behind a proxy that refuses new properties is marked apart, and refused the second time', () => {
    const exchange = new Proxy(PLAIN.server(options, initial()), {
      set: () => false,
      defineProperty: () => false,
    });
    new SyncServerSession(exchange);
    expectSaslError(() => new SyncServerSession(exchange), 'USAGE');
  });

  it('two exchanges of the same mechanism are independent: each takes its own session', () => {
    const sessions = [PLAIN.server(options, initial()), PLAIN.server(options, initial())].map(
      (exchange) => new SyncServerSession(exchange),
    );
    for (const session of sessions) expect(session.start().done).to.equal(true);
  });
});
