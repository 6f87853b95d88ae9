// lib/core/server-core.ts pinned after the sixth mutation pass (issue 11, mutation/RESULTS.md): the
// errors the drivers raise from a server session's own state name the mechanism the session was
// given (`ServerCore.mechanism`), as the client side's do. No spec looked at that name before.
import { expect } from 'chai';
import {
  CallbackServerSession,
  type SaslError,
  type ServerExchange,
  type ServerStep,
  iterateServer,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection } from '../support/helpers.js';

const MECH = 'TEST';

/** A server that challenges once, then succeeds. */
function* oneChallenge(): ServerExchange {
  yield b('c0');
  return { mechanism: MECH, authcid: 'user', authzid: 'user' };
}

/** A client that never answers: the wait for its message only ends by the time limit. */
const silent: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => undefined) }),
};

/** A client that answers with `messages`, in order. */
async function* answers(...messages: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const message of messages) yield await Promise.resolve(message);
}

async function collect(steps: AsyncIterable<ServerStep>): Promise<ServerStep[]> {
  const seen: ServerStep[] = [];
  for await (const step of steps) seen.push(step);
  return seen;
}

const blame = (error: SaslError): unknown => ({ mechanism: error.mechanism, party: error.party });

describe('server core checks (sixth mutation pass)', () => {
  it("the callback driver's USAGE error for a missing callback names the server session's mechanism", () => {
    const session = new CallbackServerSession(oneChallenge(), { mechanism: MECH });
    const error = expectSaslError(() => {
      (session.start as (callback: unknown) => void)(undefined);
    }, 'USAGE');
    expect(blame(error)).to.deep.equal({ mechanism: MECH, party: 'local' });
  });

  it('a loop over server steps that ended is a USAGE error naming the mechanism', async () => {
    const steps = iterateServer(oneChallenge(), answers(b('answer')), { mechanism: MECH });
    expect((await collect(steps)).map((step) => step.done)).to.deep.equal([false, true]);
    const error = expectSaslError(() => steps[Symbol.asyncIterator](), 'USAGE');
    expect(blame(error)).to.deep.equal({ mechanism: MECH, party: 'local' });
  });

  it("the iterator driver's wait for the client's message ends in TIMEOUT naming the mechanism, blaming the client", async () => {
    const steps = iterateServer(oneChallenge(), silent, { mechanism: MECH, timeoutMs: 10 });
    const error = await expectSaslRejection(collect(steps), 'TIMEOUT');
    expect(blame(error)).to.deep.equal({ mechanism: MECH, party: 'client' });
  });
});
