/** Size and round limits: typed LimitExceededError from the drivers, SASLprep and SCRAM, in every runtime. */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  LimitExceededError,
  MAX_SASLPREP_LENGTH,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  SCRAM_SHA_256,
  saslprep,
} from '../../lib/index.js';
import { RUNTIME, asyncStoreOf, b, rejection, thrown } from './support.js';

const options = { lookup: asyncStoreOf(new ClearIdentity('alice', 'alice-pass')) };

describe(`portable limits (${RUNTIME})`, () => {
  it('the server driver refuses a message over maxMessageBytes', async () => {
    const huge = b(`\0alice\0${'x'.repeat(5000)}`);
    const error = await rejection(
      new PromiseServerSession(PLAIN.server(options, huge), { maxMessageBytes: 1024 }).start(),
      'LIMIT_EXCEEDED',
    );
    expect(error).to.be.instanceOf(LimitExceededError);
  });

  it('the client driver refuses a challenge over maxMessageBytes', async () => {
    const client = new PromiseClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass')), {
      maxMessageBytes: 64,
    });
    await client.start(true);
    const error = await rejection(
      client.challenge(b(`r=${'x'.repeat(100)},s=QSXCR+Q6sek8bf92,i=4096`)),
      'LIMIT_EXCEEDED',
    );
    expect(error).to.be.instanceOf(LimitExceededError);
  });

  it('the SCRAM client refuses an iteration count above its maximum before deriving anything', async () => {
    const client = new PromiseClientSession(
      SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass'), { scram: { maxIterations: 10000 } }),
    );
    const first = new TextDecoder().decode(await client.start(true));
    const nonce = /r=([^,]+)/.exec(first)?.[1] ?? '';
    await rejection(client.challenge(b(`r=${nonce}srv,s=QSXCR+Q6sek8bf92,i=2000000000`)), 'LIMIT_EXCEEDED');
  });

  it('the server driver counts rounds (maxRounds)', async () => {
    const server = new PromiseServerSession(PLAIN.server(options), { maxRounds: 0 });
    await server.start();
    await rejection(server.respond(b('\0alice\0alice-pass')), 'LIMIT_EXCEEDED');
  });

  it('SASLprep refuses non-ASCII input longer than MAX_SASLPREP_LENGTH', () => {
    const error = thrown(() => saslprep('\u00e9'.repeat(MAX_SASLPREP_LENGTH + 1)), 'LIMIT_EXCEEDED');
    expect(error).to.be.instanceOf(LimitExceededError);
    expect(saslprep('\u00e9'.repeat(MAX_SASLPREP_LENGTH))).to.have.length(MAX_SASLPREP_LENGTH);
  });
});
