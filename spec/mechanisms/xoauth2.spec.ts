import { expect } from 'chai';
import {
  AuthenticationFailedError,
  ClientCredentials,
  PromiseServerSession,
  SASLAuth,
  SyncClientSession,
  SyncServerSession,
  type TokenRequest,
  type TokenResult,
  XOAUTH2,
  buildXoauth2Response,
  parseXoauth2Response,
} from '../../lib/index.js';
import {
  b,
  expectNoSecrets,
  expectSaslError,
  expectSaslRejection,
  runPair,
  runPairAsync,
  s,
} from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

const TOKEN = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg';
const GOOGLE_ERROR = { status: '401', schemes: 'bearer mac', scope: 'https://mail.google.com/' };

/** A validator that knows one token per user, and records what it was asked. */
function validator(tokens: Record<string, string>, seen: TokenRequest[] = []): (request: TokenRequest) => TokenResult {
  return (request) => {
    seen.push(request);
    const owner = Object.keys(tokens).find((user) => tokens[user] === request.token);
    return owner === undefined ? { error: GOOGLE_ERROR } : { authcid: owner };
  };
}

describe('XOAUTH2', () => {
  const options = { validateToken: validator({ 'someuser@example.com': TOKEN, alice: 'alice-token' }) };

  describe('Google vectors', () => {
    const v = vector('xoauth2-google-initial-response');
    const user = textOf(v.inputs['user']);
    const token = textOf(v.inputs['token']);
    const message = bytesOf(v.expected['message']);

    it('xoauth2-google-initial-response: the client builds it byte for byte and the server parses it', () => {
      expect(Buffer.from(buildXoauth2Response(user, token)).equals(Buffer.from(message))).to.equal(true);
      const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials(user, token)));
      expect(Buffer.from(client.start()!).equals(Buffer.from(message))).to.equal(true);
      const claim = parseXoauth2Response(message);
      expect(claim.user).to.equal(user);
      expect(claim.token).to.equal(token);
      const step = new SyncServerSession(XOAUTH2.server(options, message)).start();
      expect(step.done && step.outcome).to.include({ mechanism: 'XOAUTH2', authcid: user, authzid: user });
    });

    it('xoauth2-google-error-challenge: both sides reproduce the round trip, and the status reaches the client', () => {
      const ev = vector('xoauth2-google-error-challenge');
      const seen: TokenRequest[] = [];
      const server = new SyncServerSession(XOAUTH2.server({ validateToken: validator({}, seen) }));
      const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials(user, token)));
      // No SASL-IR: the initial response waits for the server's empty challenge.
      expect(client.start(false)).to.equal(undefined);
      const first = server.start();
      expect(!first.done && first.challenge.length).to.equal(0);
      const initial = client.challenge(first.done ? new Uint8Array() : first.challenge);
      const step = server.respond(initial);
      expect(step.done).to.equal(false);
      if (step.done) return;
      expect(s(step.challenge)).to.equal(s(bytesOf(ev.expected['challenge'])));
      const reply = client.challenge(step.challenge);
      expect(s(reply)).to.equal(s(bytesOf(ev.expected['client_reply'])));
      const serverError = expectSaslError(() => server.respond(reply), 'AUTHENTICATION_FAILED');
      expect(serverError).to.have.property('serverError', '401');
      expect(serverError.party).to.equal('client');
      const clientError = expectSaslError(() => client.failure(), 'AUTHENTICATION_FAILED');
      expect(clientError).to.have.property('serverError', '401');
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ mechanism: 'XOAUTH2', user, token });
      for (const error of [serverError, clientError]) expectNoSecrets(error, [token]);
    });
  });

  it('authenticates a client against the server', () => {
    const result = runPair(XOAUTH2.client(new ClientCredentials('alice', 'alice-token')), (ir) =>
      XOAUTH2.server(options, ir),
    );
    expect(result.server).to.include({ mechanism: 'XOAUTH2', authcid: 'alice', authzid: 'alice' });
    expect(result.client.serverVerified).to.equal(false);
    expect(result.transcript).to.deep.equal(['C: user=alice\x01auth=Bearer alice-token\x01\x01']);
  });

  it('sends an empty challenge when there is no initial response', () => {
    const session = new SyncServerSession(XOAUTH2.server(options));
    const step = session.start();
    expect(!step.done && step.challenge.length).to.equal(0);
    const done = session.respond(b('user=alice\x01auth=Bearer alice-token\x01\x01'));
    expect(done.done && done.outcome.authcid).to.equal('alice');
  });

  it('treats user= as the authorization identity: empty or equal means the token owner', () => {
    const empty = new SyncServerSession(XOAUTH2.server(options, b('user=\x01auth=Bearer alice-token\x01\x01'))).start();
    expect(empty.done && empty.outcome.authzid).to.equal('alice');
    expectSaslError(
      () => new SyncServerSession(XOAUTH2.server(options, b('user=bob\x01auth=Bearer alice-token\x01\x01'))).start(),
      'AUTHORIZATION_FAILED',
    );
    const allowed = new SyncServerSession(
      XOAUTH2.server(
        { ...options, authorize: ({ authcid, authzid }) => authcid === 'alice' && authzid === 'bob' },
        b('user=bob\x01auth=Bearer alice-token\x01\x01'),
      ),
    ).start();
    expect(allowed.done && allowed.outcome).to.include({ authcid: 'alice', authzid: 'bob' });
  });

  it('ignores unknown keys, in any order', () => {
    const step = new SyncServerSession(
      XOAUTH2.server(options, b('auth=Bearer alice-token\x01vendor=x\x01user=alice\x01\x01')),
    ).start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('works with an async validator and an async authorization policy under the promise drivers', async () => {
    const validateToken = (request: TokenRequest): Promise<TokenResult> =>
      new Promise((resolve) =>
        setImmediate(() => {
          resolve(request.token === 'alice-token' ? { authcid: 'alice' } : { error: GOOGLE_ERROR });
        }),
      );
    const authorize = (): Promise<boolean> => Promise.resolve(true);
    const result = await runPairAsync(XOAUTH2.client(new ClientCredentials('admin', 'alice-token')), (ir) =>
      XOAUTH2.server({ validateToken, authorize }, ir),
    );
    expect(result.server).to.include({ authcid: 'alice', authzid: 'admin' });
    const rejected = new PromiseServerSession(
      XOAUTH2.server({ validateToken }, b('user=alice\x01auth=Bearer nope\x01\x01')),
    );
    const step = await rejected.start();
    expect(!step.done && s(step.challenge)).to.equal(`${JSON.stringify(GOOGLE_ERROR)}\n`);
    const error = await expectSaslRejection(rejected.respond(new Uint8Array()), 'AUTHENTICATION_FAILED');
    expect(error).to.have.property('serverError', '401');
  });

  it('refuses an async validator under the sync driver', () => {
    const validateToken = (): Promise<TokenResult> => Promise.resolve({ authcid: 'alice' });
    expectSaslError(
      () => new SyncServerSession(XOAUTH2.server({ validateToken }, b('user=alice\x01auth=Bearer t\x01\x01'))).start(),
      'USAGE',
    );
  });

  it('needs validateToken', () => {
    expectSaslError(
      () => new SyncServerSession(XOAUTH2.server({}, b('user=alice\x01auth=Bearer t\x01\x01'))).start(),
      'USAGE',
    );
    expectSaslError(() => new SyncServerSession(XOAUTH2.server({})).start(), 'USAGE');
  });

  it('requires an empty reply after the error challenge', () => {
    const session = new SyncServerSession(XOAUTH2.server(options, b('user=alice\x01auth=Bearer wrong\x01\x01')));
    expect(session.start().done).to.equal(false);
    expectSaslError(() => session.respond(Uint8Array.of(1)), 'MALFORMED_MESSAGE');
  });

  it('is registered with priority 55 and found by name', () => {
    expect(SASLAuth.named(['xoauth2']).getServer('XOAUTH2')).to.equal(XOAUTH2);
    expect(XOAUTH2).to.include({ name: 'XOAUTH2', clientFirst: true, priority: 55 });
  });

  describe('malformed input', () => {
    const cases: [string, Uint8Array][] = [
      ['no user', b('auth=Bearer t\x01\x01')],
      ['no auth', b('user=alice\x01\x01')],
      ['a repeated user', b('user=alice\x01user=alice\x01auth=Bearer t\x01\x01')],
      ['a repeated auth', b('user=alice\x01auth=Bearer t\x01auth=Bearer t\x01\x01')],
      ['another scheme', b('user=alice\x01auth=Basic dXNlcg==\x01\x01')],
      ['an empty token', b('user=alice\x01auth=Bearer \x01\x01')],
      ['an empty auth value', b('user=alice\x01auth=\x01\x01')],
      ['a missing final 0x01', b('user=alice\x01auth=Bearer t\x01')],
      ['no separators at all', b('user=alice auth=Bearer t')],
      ['invalid UTF-8', Uint8Array.of(...b('user='), 0xc3, 0x28, ...b('\x01auth=Bearer t\x01\x01'))],
      ['an empty message', new Uint8Array()],
      ['a GS2 header (OAUTHBEARER sent to XOAUTH2)', b('n,,\x01auth=Bearer t\x01\x01')],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => new SyncServerSession(XOAUTH2.server(options, message)).start(), 'MALFORMED_MESSAGE');
      });
    }
    // Issue 11: CR, LF and HTAB passed the shared value grammar (RFC 7628 allows them in
    // values) and reached validateToken, authorize() and the result's authzid.
    const controls: [string, string][] = [
      ['CR', '\r'],
      ['LF', '\n'],
      ['CR LF', '\r\n'],
      ['HTAB', '\t'],
      ['NUL', '\u0000'],
      ['ESC', '\u001B'],
      ['US', '\u001F'],
      ['DEL', '\u007F'],
      ['C1 PAD', '\u0080'],
      ['C1 NEL', '\u0085'],
      ['C1 APC', '\u009F'],
    ];
    for (const [name, control] of controls) {
      it(`rejects ${name} inside user= with MALFORMED_MESSAGE, before validateToken and authorize`, () => {
        const seen: TokenRequest[] = [];
        const asked: string[] = [];
        const opts = {
          validateToken: validator({ alice: 'alice-token' }, seen),
          authorize: ({ authzid }: { authzid: string }) => (asked.push(authzid), true),
        };
        for (const user of [`alice${control}`, `${control}alice`, `ali${control}ce`]) {
          const message = b(`user=${user}\x01auth=Bearer alice-token\x01\x01`);
          const error = expectSaslError(
            () => new SyncServerSession(XOAUTH2.server(opts, message)).start(),
            'MALFORMED_MESSAGE',
          );
          expect(error.party).to.equal('client');
          expectNoSecrets(error, ['alice-token', user]);
          expectSaslError(() => parseXoauth2Response(message), 'MALFORMED_MESSAGE');
        }
        expect(seen).to.have.length(0);
        expect(asked).to.have.length(0);
      });
    }

    it('still accepts a user= with spaces and non-ASCII letters', () => {
      expect(parseXoauth2Response(b('user=J\u00F6rg M\u00FCller@example.com\x01auth=Bearer t\x01\x01')).user).to.equal(
        'J\u00F6rg M\u00FCller@example.com',
      );
    });

    it('rejects an oversized user with LIMIT_EXCEEDED', () => {
      expectSaslError(
        () =>
          new SyncServerSession(
            XOAUTH2.server(options, b(`user=${'a'.repeat(2000)}\x01auth=Bearer t\x01\x01`)),
          ).start(),
        'LIMIT_EXCEEDED',
      );
    });
    it('rejects an oversized message with LIMIT_EXCEEDED before parsing it', () => {
      const session = new SyncServerSession(XOAUTH2.server(options), { maxMessageBytes: 64 });
      session.start();
      expectSaslError(
        () => session.respond(b(`user=alice\x01auth=Bearer ${'t'.repeat(100)}\x01\x01`)),
        'LIMIT_EXCEEDED',
      );
    });
  });

  describe('client', () => {
    it('refuses an empty token, control characters and an authzid', () => {
      expectSaslError(() => buildXoauth2Response('alice', ''), 'USAGE');
      const error = expectSaslError(() => buildXoauth2Response('alice', 'sekrit\x01x'), 'USAGE');
      expectNoSecrets(error, ['sekrit']);
      expectSaslError(() => buildXoauth2Response('al\nice', 't'), 'USAGE');
      expectSaslError(
        () => new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't', 'bob'))).start(),
        'USAGE',
      );
    });

    it('refuses success data and an empty challenge', () => {
      const withData = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      withData.start();
      expectSaslError(() => withData.success(b('x')), 'UNEXPECTED_MESSAGE');
      const empty = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      empty.start();
      expectSaslError(() => empty.challenge(new Uint8Array()), 'UNEXPECTED_MESSAGE');
    });

    it('refuses success or another challenge after an error challenge', () => {
      const success = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      success.start();
      success.challenge(b('{"status":"401"}'));
      expectSaslError(() => success.success(), 'UNEXPECTED_MESSAGE');
      const again = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      again.start();
      again.challenge(b('{"status":"401"}'));
      expectSaslError(() => again.challenge(b('{"status":"401"}')), 'UNEXPECTED_MESSAGE');
    });

    it('reads an unparsable error challenge as a failure without a status', () => {
      const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      client.start();
      expect(client.challenge(b('<html>oops</html>')).length).to.equal(0);
      const error = expectSaslError(() => client.failure(), 'AUTHENTICATION_FAILED');
      expect(error).to.have.property('serverError', undefined);
    });

    it('keeps the message and code of a protocol adapter, and falls back to its serverError', () => {
      const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      client.start();
      client.challenge(b('not json'));
      const error = expectSaslError(
        () =>
          client.failure(
            new AuthenticationFailedError('the SMTP server refused authentication: 535', {
              party: 'server',
              serverError: '535',
            }),
          ),
        'AUTHENTICATION_FAILED',
      );
      expect(error.message).to.match(/535/);
      expect(error).to.have.property('serverError', '535');
    });

    it('passes other failures through unchanged', () => {
      const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 't')));
      client.start();
      expect(client.abort().code).to.equal('ABORTED');
    });
  });
});
