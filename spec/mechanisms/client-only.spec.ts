/**
 * The client-only mechanisms (issue 13: tree-shakable clients): each has its full mechanism's
 * name, priority and speaker order, logs in against the full server side, and is what the full
 * mechanism's client runs (same messages for the same credentials).
 */
import { expect } from 'chai';
import {
  ANONYMOUS,
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  type ClientMechanism,
  DIGEST_MD5,
  EXTERNAL,
  LOGIN,
  type Mechanism,
  OAUTHBEARER,
  PLAIN,
  SCRAM_SHA_1,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  XOAUTH2,
  anonymousClient,
  cramMd5Client,
  digestMd5ClientMechanism,
  externalClient,
  loginClient,
  oauthbearerClient,
  plainClient,
  scramClient,
  staticChannelBinding,
  xoauth2Client,
} from '../../lib/index.js';
import * as clientEntry from '../../lib/client.js';
import { expectSaslError, runPair, storeOf } from '../support/helpers.js';

const PAIRS: readonly (readonly [ClientMechanism, Mechanism])[] = [
  [plainClient, PLAIN],
  [loginClient, LOGIN],
  [cramMd5Client, CRAM_MD5],
  [digestMd5ClientMechanism, DIGEST_MD5],
  [externalClient, EXTERNAL],
  [anonymousClient, ANONYMOUS],
  [oauthbearerClient, OAUTHBEARER],
  [xoauth2Client, XOAUTH2],
  [scramClient('SCRAM-SHA-1'), SCRAM_SHA_1],
  [scramClient('SCRAM-SHA-512'), SCRAM_SHA_512],
  [scramClient('SCRAM-SHA-256-PLUS'), SCRAM_SHA_256_PLUS],
];

describe('client-only mechanisms', () => {
  it('describe themselves as their full mechanisms do, and carry no server side', () => {
    for (const [client, full] of PAIRS) {
      expect([client.name, client.priority, client.clientFirst]).to.deep.equal([
        full.name,
        full.priority,
        full.clientFirst,
      ]);
      expect(client).to.not.have.property('server');
    }
  });

  it('log in against the full server side', () => {
    const alice = new ClearIdentity('alice', 'alice-pass');
    const credentials = new ClientCredentials('alice', 'alice-pass');
    for (const [client, full] of [
      [plainClient, PLAIN],
      [loginClient, LOGIN],
      [cramMd5Client, CRAM_MD5],
      [scramClient('SCRAM-SHA-1'), SCRAM_SHA_1],
    ] as const) {
      expect(
        runPair(client.client(credentials), (initial) => full.server({ lookup: storeOf(alice) }, initial)).server
          .authcid,
      ).to.equal('alice');
    }
    const digest = runPair(
      digestMd5ClientMechanism.client(credentials, { host: 'localhost', service: 'imap' }),
      (initial) => DIGEST_MD5.server({ lookup: storeOf(alice) }, initial),
    );
    expect(digest.server.authcid).to.equal('alice');
    const bound = staticChannelBinding({ 'tls-exporter': new Uint8Array(32).fill(7) });
    const plus = runPair(
      scramClient('SCRAM-SHA-256-PLUS').client(credentials, { channelBindingData: bound }),
      (initial) => SCRAM_SHA_256_PLUS.server({ lookup: storeOf(alice), channelBindingData: bound }, initial),
    );
    expect(plus.client.serverVerified).to.equal(true);
  });

  it("send what the full mechanisms' clients send", () => {
    const credentials = new ClientCredentials('alice', 'token-or-pass', 'admin');
    for (const [client, full] of [
      [plainClient, PLAIN],
      [oauthbearerClient, OAUTHBEARER],
      [externalClient, EXTERNAL],
    ] as const) {
      expect(client.client(credentials).next().value).to.deep.equal(full.client(credentials).next().value);
    }
    const plain = new ClientCredentials('alice', 'pw');
    expect(xoauth2Client.client(plain).next().value).to.deep.equal(XOAUTH2.client(plain).next().value);
    expect(anonymousClient.client(new ClientCredentials('trace', '')).next().value).to.deep.equal(
      ANONYMOUS.client(new ClientCredentials('trace', '')).next().value,
    );
  });

  it('scramClient refuses a name that is not a SCRAM mechanism saslkit has', () => {
    for (const name of ['SCRAM-MD5', 'scram-sha-256', 'SCRAM-SHA-256-PLUS-PLUS', 'PLAIN']) {
      expectSaslError(() => scramClient(name as 'SCRAM-SHA-256'), 'USAGE');
    }
  });

  it('saslkit/client exports the client side and nothing of the server side', () => {
    expect(clientEntry.plainClient).to.equal(plainClient);
    expect(Object.keys(clientEntry)).to.not.include.members([
      'PLAIN',
      'SCRAM_SHA_256',
      'ScramSecret',
      'ClearIdentity',
      'Pbkdf2Hasher',
      'SyncServerSession',
      'PromiseServerSession',
    ]);
    expect(Object.keys(clientEntry)).to.include.members([
      'ClientCredentials',
      'PromiseClientSession',
      'SyncClientSession',
      'scramClient',
      'saslprep',
      'setCryptoProvider',
    ]);
  });
});
