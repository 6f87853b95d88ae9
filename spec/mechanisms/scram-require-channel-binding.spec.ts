/**
 * ServerOptions.requireChannelBinding (issue 11, item 9): a deployment that wants only -PLUS
 * over TLS refuses a client's GS2 flag `n` or `y` when the connection has binding data, and
 * advertises only the -PLUS variants there. Without binding data (no TLS) the option changes
 * nothing, so it cannot lock every client out of a server that also listens in the clear.
 */
import { expect } from 'chai';
import {
  AuthenticationFailedError,
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  type SaslError,
  type ScramMechanism,
  type ServerOptions,
  SyncServerSession,
  advertisedMechanisms,
  staticChannelBinding,
} from '../../lib/index.js';
import { demoServerOptions } from '../../lib/cli/demo.js';
import { startAuthServer } from '../../lib/cli/server.js';
import { CERT, KEY } from '../cli/support.js';
import { b, expectSaslError, runPair, s } from '../support/helpers.js';

const cb = staticChannelBinding({ 'tls-exporter': Buffer.alloc(32, 5) });
const alice = new ClientCredentials('alice', 'alice-pass');

/** Server options that count lookups, so a refusal can be shown to happen before the store is asked. */
function counted(extra: Partial<ServerOptions> = {}): { options: ServerOptions; lookups: () => number } {
  let n = 0;
  const account = new ClearIdentity('alice', 'alice-pass');
  const options: ServerOptions = {
    lookup: (name) => (n++, name === 'alice' ? account : undefined),
    channelBindingData: cb,
    requireChannelBinding: true,
    ...extra,
  };
  return { options, lookups: () => n };
}

function serverError(error: SaslError): string | undefined {
  expect(error).to.be.instanceOf(AuthenticationFailedError);
  return error instanceof AuthenticationFailedError ? error.serverError : undefined;
}

describe('SCRAM server option requireChannelBinding', () => {
  for (const mechanism of [SCRAM_SHA_1, SCRAM_SHA_256, SCRAM_SHA_512] as ScramMechanism[]) {
    it(`${mechanism.name}: refuses flag n (a client that cannot bind) over a connection with binding data`, () => {
      const { options, lookups } = counted();
      const error = expectSaslError(
        () => runPair(mechanism.client(alice), (ir) => mechanism.server(options, ir)),
        'AUTHENTICATION_FAILED',
      );
      expect(serverError(error)).to.equal('server-does-support-channel-binding');
      expect(error.party).to.equal('client');
      expect(lookups()).to.equal(0);
    });
  }

  it('refuses flag y (a client that could bind but was offered no -PLUS), as without the option', () => {
    const { options, lookups } = counted();
    const error = expectSaslError(
      () => runPair(SCRAM_SHA_256.client(alice, { channelBindingData: cb }), (ir) => SCRAM_SHA_256.server(options, ir)),
      'AUTHENTICATION_FAILED',
    );
    expect(serverError(error)).to.equal('server-does-support-channel-binding');
    expect(lookups()).to.equal(0);
  });

  it('refuses n and y the same for a known and an unknown user (no oracle)', () => {
    const { options } = counted();
    for (const flag of ['n', 'y']) {
      const known = expectSaslError(
        () => new SyncServerSession(SCRAM_SHA_256.server(options, b(`${flag},,n=alice,r=abcdefgh`))).start(),
        'AUTHENTICATION_FAILED',
      );
      const unknown = expectSaslError(
        () => new SyncServerSession(SCRAM_SHA_256.server(options, b(`${flag},,n=mallory,r=abcdefgh`))).start(),
        'AUTHENTICATION_FAILED',
      );
      expect(unknown.message).to.equal(known.message);
      expect(serverError(unknown)).to.equal(serverError(known));
    }
  });

  it('with scramSendErrors, the client is told e=server-does-support-channel-binding (RFC 5802 section 7)', () => {
    const { options } = counted({ scramSendErrors: true });
    const session = new SyncServerSession(SCRAM_SHA_256.server(options, b('n,,n=alice,r=abcdefgh')));
    const step = session.start();
    expect(!step.done && s(step.challenge)).to.equal('e=server-does-support-channel-binding');
  });

  it('accepts flag p: -PLUS logs in', () => {
    const { options, lookups } = counted();
    const result = runPair(SCRAM_SHA_256_PLUS.client(alice, { channelBindingData: cb }), (ir) =>
      SCRAM_SHA_256_PLUS.server(options, ir),
    );
    expect(result.server.authcid).to.equal('alice');
    expect(result.client.serverVerified).to.equal(true);
    expect(result.transcript[0]).to.match(/^C: p=tls-exporter,,n=alice,/);
    expect(lookups()).to.equal(1);
  });

  it('without binding data (no TLS) it changes nothing: n and y are accepted', () => {
    const { options } = counted({ channelBindingData: undefined });
    expect(runPair(SCRAM_SHA_256.client(alice), (ir) => SCRAM_SHA_256.server(options, ir)).server.authcid).to.equal(
      'alice',
    );
    expect(
      runPair(SCRAM_SHA_256.client(alice, { channelBindingData: cb }), (ir) => SCRAM_SHA_256.server(options, ir)).server
        .authcid,
    ).to.equal('alice');
    const empty = counted({ channelBindingData: staticChannelBinding({}) }).options;
    expect(runPair(SCRAM_SHA_256.client(alice), (ir) => SCRAM_SHA_256.server(empty, ir)).server.authcid).to.equal(
      'alice',
    );
  });

  it('off (the default), flag n is still accepted over a connection with binding data', () => {
    const { options } = counted({ requireChannelBinding: false });
    expect(runPair(SCRAM_SHA_256.client(alice), (ir) => SCRAM_SHA_256.server(options, ir)).server.authcid).to.equal(
      'alice',
    );
  });

  it('advertisedMechanisms offers only the -PLUS variants of SCRAM when binding is possible and required', () => {
    const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    // SCRAM-SHA-1 goes too, though it has no -PLUS here: the server would refuse every login with it.
    expect(advertisedMechanisms(auth, { channelBinding: true, requireChannelBinding: true })).to.deep.equal([
      'SCRAM-SHA-256-PLUS',
      'PLAIN',
    ]);
    expect(advertisedMechanisms(auth, { channelBinding: true })).to.deep.equal([
      'SCRAM-SHA-256-PLUS',
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'PLAIN',
    ]);
    // No TLS: nothing to require, the non-PLUS variants stay on offer.
    expect(advertisedMechanisms(auth, { channelBinding: false, requireChannelBinding: true })).to.deep.equal([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'PLAIN',
    ]);
  });
});

describe("saslkit serve's server with requireChannelBinding", () => {
  it('offers SCRAM without -PLUS before TLS and only -PLUS once TLS is up', async () => {
    const server = await startAuthServer({
      protocol: 'smtp',
      options: { ...demoServerOptions(), requireChannelBinding: true },
      tls: { cert: CERT, key: KEY },
    });
    try {
      expect(server.mechanisms).to.include('SCRAM-SHA-256');
      expect(server.mechanismsWithTls).to.include('SCRAM-SHA-256-PLUS');
      expect(
        server.mechanismsWithTls.filter((name) => name.startsWith('SCRAM-') && !name.endsWith('-PLUS')),
      ).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});
