/** ServerOptions.transportAuthcid: the user the transport named, in mechanism-neutral terms (issue 12). */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  PLAIN,
  SCRAM_SHA_256,
  type ServerOptions,
  SyncClientSession,
  buildPlainResponse,
} from '../../lib/index.js';
import { transportAuthcid } from '../../lib/core/options.js';
import { traceServer } from '../hostile/support.js';
import { storeOf } from '../support/helpers.js';

const store = storeOf(new ClearIdentity('alice', 'alice-pass'), new ClearIdentity('bob', 'bob-pass'));

function scram(options: ServerOptions, user: string, password: string): { code: string | undefined } {
  const client = new SyncClientSession(
    SCRAM_SHA_256.client(new ClientCredentials(user, password), { scram: { cache: false } }),
  );
  const trace = traceServer(SCRAM_SHA_256.server(options, client.start()), (challenge) => client.challenge(challenge));
  return { code: trace.error?.code };
}

describe('ServerOptions.transportAuthcid', () => {
  it("SCRAM looks up and checks the transport's user, whatever n= says", () => {
    expect(scram({ lookup: store, transportAuthcid: 'alice' }, 'bob', 'alice-pass').code).to.equal(undefined);
    expect(scram({ lookup: store, transportAuthcid: 'alice' }, 'alice', 'bob-pass').code).to.equal(
      'AUTHENTICATION_FAILED',
    );
    expect(scram({ lookup: store }, 'bob', 'alice-pass').code).to.equal('AUTHENTICATION_FAILED');
  });

  it('protocolAuthcid still works as its deprecated alias; the new name wins', () => {
    const alias: ServerOptions = { lookup: store, protocolAuthcid: 'alice' };
    expect(scram(alias, 'bob', 'alice-pass').code).to.equal(undefined);
    expect(transportAuthcid({ ...alias, transportAuthcid: 'bob' })).to.equal('bob');
  });

  it('PLAIN keeps the name the client sent', () => {
    const trace = traceServer(
      PLAIN.server({ lookup: store, transportAuthcid: 'alice' }, buildPlainResponse('bob', 'alice-pass')),
      [],
    );
    expect(trace.error?.code).to.equal('AUTHENTICATION_FAILED');
  });
});
