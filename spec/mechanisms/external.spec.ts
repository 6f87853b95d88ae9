import { expect } from 'chai';
import {
  ClientCredentials,
  EXTERNAL,
  PromiseServerSession,
  SASLAuth,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  buildExternalResponse,
  parseExternalResponse,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection, runPair, s } from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

const SUBJECT = 'CN=alice,O=Example';
const options: ServerOptions = { externalIdentity: SUBJECT };

function serverStart(opts: ServerOptions, initial: Uint8Array | undefined) {
  return new SyncServerSession(EXTERNAL.server(opts, initial)).start();
}

describe('EXTERNAL', () => {
  describe('RFC 4422 appendix A vectors', () => {
    it('external-rfc4422-empty: empty authzid acts as the external identity', () => {
      const v = vector('external-rfc4422-empty');
      const client = new SyncClientSession(EXTERNAL.client(new ClientCredentials('', '', textOf(v.inputs['authzid']))));
      const initial = client.start();
      expect(initial).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(initial!).equals(Buffer.from(bytesOf(v.expected['message'])))).to.equal(true);
      const step = serverStart(options, initial);
      expect(step.done && step.outcome).to.include({ mechanism: 'EXTERNAL', authcid: SUBJECT, authzid: SUBJECT });
    });

    it('external-rfc4422-authzid: a foreign authzid is refused unless the policy allows it', () => {
      const v = vector('external-rfc4422-authzid');
      const authzid = textOf(v.inputs['authzid']);
      const message = buildExternalResponse(authzid);
      expect(Buffer.from(message).equals(Buffer.from(bytesOf(v.expected['message'])))).to.equal(true);
      expect(message.length).to.equal(v.expected['octets']);
      expectSaslError(() => serverStart(options, message), 'AUTHORIZATION_FAILED');
      const allowed = serverStart(
        { ...options, authorize: (r) => r.authcid === SUBJECT && r.authzid === authzid },
        message,
      );
      expect(allowed.done && allowed.outcome).to.include({ authcid: SUBJECT, authzid });
    });
  });

  it('runs client against server', () => {
    const result = runPair(EXTERNAL.client(new ClientCredentials('', '')), (ir) => EXTERNAL.server(options, ir));
    expect(result.transcript).to.deep.equal(['C: ']);
    expect(result.server).to.include({ authcid: SUBJECT, authzid: SUBJECT });
    expect(result.client.serverVerified).to.equal(false);
  });

  it('accepts an authzid equal to the external identity', () => {
    const step = serverStart(options, b(SUBJECT));
    expect(step.done && step.outcome.authzid).to.equal(SUBJECT);
  });

  it('sends an empty challenge without an initial response; an empty initial response is a message', () => {
    const session = new SyncServerSession(EXTERNAL.server(options));
    const first = session.start();
    expect(!first.done && first.challenge.length).to.equal(0);
    const done = session.respond(new Uint8Array(0));
    expect(done.done && done.outcome.authcid).to.equal(SUBJECT);
    expect(serverStart(options, new Uint8Array(0)).done).to.equal(true);
  });

  it('client waits for the empty challenge when the protocol cannot carry an initial response', () => {
    const client = new SyncClientSession(EXTERNAL.client(new ClientCredentials('', '', 'bob')));
    expect(client.start(false)).to.equal(undefined);
    expect(s(client.challenge(new Uint8Array(0)))).to.equal('bob');
    expect(client.success().serverVerified).to.equal(false);
  });

  it('fails without an external identity', () => {
    for (const opts of [{}, { externalIdentity: '' }]) {
      const error = expectSaslError(() => serverStart(opts, new Uint8Array(0)), 'AUTHENTICATION_FAILED');
      expect(error).to.include({ mechanism: 'EXTERNAL', party: 'client' });
    }
  });

  it('is opt-in, client-first, priority 5', () => {
    expect(SASLAuth.defaults().getServer('EXTERNAL')).to.equal(undefined);
    expect(SASLAuth.named(['external']).getServer('EXTERNAL')).to.equal(EXTERNAL);
    expect(EXTERNAL.clientFirst).to.equal(true);
    expect(EXTERNAL.priority).to.equal(5);
  });

  describe('malformed input', () => {
    const cases: [string, Uint8Array][] = [
      ['a NUL', b('bob\0')],
      ['invalid UTF-8', Uint8Array.of(0x62, 0xff)],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => serverStart(options, message), 'MALFORMED_MESSAGE');
        expectSaslError(() => parseExternalResponse(message), 'MALFORMED_MESSAGE');
      });
    }

    it('rejects an oversized authzid with LIMIT_EXCEEDED', () => {
      expectSaslError(() => serverStart(options, b('a'.repeat(1025))), 'LIMIT_EXCEEDED');
      expect(parseExternalResponse(b('a'.repeat(1024)))).to.have.length(1024);
    });

    it('refuses a response after the exchange finished', () => {
      const session = new SyncServerSession(EXTERNAL.server(options));
      session.start();
      session.respond(new Uint8Array(0));
      expectSaslError(() => session.respond(new Uint8Array(0)), 'USAGE');
    });
  });

  describe('client', () => {
    it('ignores the authcid and secret', () => {
      const client = new SyncClientSession(EXTERNAL.client(new ClientCredentials('ignored', 'ignored-secret')));
      expect(client.start()!.length).to.equal(0);
    });

    it('refuses an authzid with NUL', () => {
      expectSaslError(
        () => new SyncClientSession(EXTERNAL.client(new ClientCredentials('', '', 'a\0b'))).start(),
        'USAGE',
      );
    });

    it('refuses a challenge after its message', () => {
      const client = new SyncClientSession(EXTERNAL.client(new ClientCredentials('', '')));
      client.start();
      expectSaslError(() => client.challenge(b('more?')), 'UNEXPECTED_MESSAGE');
    });

    it('refuses additional data with success', () => {
      const client = new SyncClientSession(EXTERNAL.client(new ClientCredentials('', '')));
      client.start();
      expectSaslError(() => client.success(b('data')), 'UNEXPECTED_MESSAGE');
    });
  });

  describe('under the promise driver', () => {
    it('awaits an async authorization policy', async () => {
      const opts: ServerOptions = {
        ...options,
        authorize: (r) =>
          new Promise((resolve) =>
            setImmediate(() => {
              resolve(r.authzid === 'bob');
            }),
          ),
      };
      const ok = await new PromiseServerSession(EXTERNAL.server(opts, b('bob'))).start();
      expect(ok.done && ok.outcome).to.include({ authcid: SUBJECT, authzid: 'bob' });
      await expectSaslRejection(
        new PromiseServerSession(EXTERNAL.server(opts, b('carol'))).start(),
        'AUTHORIZATION_FAILED',
      );
    });
  });
});
