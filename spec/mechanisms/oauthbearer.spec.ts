import { expect } from 'chai';
import {
  ClientCredentials,
  OAUTHBEARER,
  PromiseClientSession,
  PromiseServerSession,
  SASLAuth,
  SyncClientSession,
  SyncServerSession,
  type TokenError,
  type TokenRequest,
  type TokenResult,
  buildOauthbearerResponse,
  parseOauthbearerResponse,
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
import { bytesOf, vector } from '../support/vectors.js';

const RFC_TOKEN = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';
const RFC_ERROR: TokenError = {
  status: 'invalid_token',
  scope: 'example_scope',
  openidConfiguration: 'https://example.com/.well-known/openid-configuration',
};

/** A validator that accepts RFC_TOKEN for user@example.com and records the requests. */
function validator(seen: TokenRequest[] = [], error: TokenError = RFC_ERROR): (request: TokenRequest) => TokenResult {
  return (request) => {
    seen.push(request);
    if (request.token === RFC_TOKEN) return { authcid: 'user@example.com' };
    if (request.token === 'alice-token') return { authcid: 'alice' };
    return { error };
  };
}

const msg = (id: string): Uint8Array => bytesOf(vector(id).expected['message']);

describe('OAUTHBEARER', () => {
  const options = { validateToken: validator() };

  describe('RFC 7628 vectors', () => {
    for (const [id, port] of [
      ['oauthbearer-rfc7628-imap-success', 143],
      ['oauthbearer-rfc7628-smtp-success', 587],
    ] as const) {
      it(`${id}: the client builds it byte for byte; the server parses and accepts it`, () => {
        const message = msg(id);
        const client = new SyncClientSession(
          OAUTHBEARER.client(new ClientCredentials('user@example.com', RFC_TOKEN), {
            host: 'server.example.com',
            port,
          }),
        );
        expect(s(client.start())).to.equal(s(message));
        expect(
          Buffer.from(
            buildOauthbearerResponse(RFC_TOKEN, { user: 'user@example.com', host: 'server.example.com', port }),
          ).equals(Buffer.from(message)),
        ).to.equal(true);
        const claim = parseOauthbearerResponse(message);
        expect(claim).to.include({ user: 'user@example.com', host: 'server.example.com', port, token: RFC_TOKEN });
        const seen: TokenRequest[] = [];
        const step = new SyncServerSession(OAUTHBEARER.server({ validateToken: validator(seen) }, message)).start();
        expect(step.done && step.outcome).to.include({
          mechanism: 'OAUTHBEARER',
          authcid: 'user@example.com',
          authzid: 'user@example.com',
        });
        expect(seen[0]).to.deep.equal({
          mechanism: 'OAUTHBEARER',
          token: RFC_TOKEN,
          user: 'user@example.com',
          host: 'server.example.com',
          port,
        });
        expect(client.success().serverVerified).to.equal(false);
      });
    }

    it('oauthbearer-rfc7628-imap-failure-ir, -imap-error-challenge and -dummy-response: the discovery round trip, byte for byte on both sides', () => {
      const seen: TokenRequest[] = [];
      const client = new SyncClientSession(
        OAUTHBEARER.client(new ClientCredentials('user@example.com', ''), { host: 'server.example.com', port: 143 }),
      );
      const initial = client.start()!;
      expect(s(initial)).to.equal(s(msg('oauthbearer-rfc7628-imap-failure-ir')));
      const server = new SyncServerSession(OAUTHBEARER.server({ validateToken: validator(seen) }, initial));
      const step = server.start();
      expect(step.done).to.equal(false);
      if (step.done) return;
      // The base64 in section 4.3 is the truth (the printed JSON is truncated).
      expect(s(step.challenge)).to.equal(s(msg('oauthbearer-rfc7628-imap-error-challenge')));
      expect(seen[0]).to.include({ token: '', user: 'user@example.com' });
      const dummy = client.challenge(step.challenge);
      expect(Buffer.from(dummy).equals(Buffer.from(msg('oauthbearer-rfc7628-dummy-response')))).to.equal(true);
      const serverError = expectSaslError(() => server.respond(dummy), 'AUTHENTICATION_FAILED');
      expect(serverError).to.have.property('serverError', 'invalid_token');
      const clientError = expectSaslError(() => client.failure(), 'AUTHENTICATION_FAILED');
      expect(clientError).to.have.property('serverError', 'invalid_token');
    });

    it('oauthbearer-rfc7628-smtp-failure-ir: the invalid GS2 header n,user=... is rejected by the strict server', () => {
      const error = expectSaslError(
        () => new SyncServerSession(OAUTHBEARER.server(options, msg('oauthbearer-rfc7628-smtp-failure-ir'))).start(),
        'MALFORMED_MESSAGE',
      );
      expectNoSecrets(error, ['vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==']);
    });

    it('oauthbearer-rfc7628-smtp-error-challenge: the server sends it byte for byte (with the corrected header), the client answers 0x01', () => {
      const error: TokenError = { status: 'invalid_token', schemes: 'bearer mac', scope: 'https://mail.example.com/' };
      const token = 'vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==';
      const client = new SyncClientSession(OAUTHBEARER.client(new ClientCredentials('someuser@example.com', token)));
      const initial = client.start()!;
      expect(s(initial)).to.equal(`n,a=someuser@example.com,\x01auth=Bearer ${token}\x01\x01`);
      const server = new SyncServerSession(OAUTHBEARER.server({ validateToken: validator([], error) }, initial));
      const step = server.start();
      expect(!step.done && s(step.challenge)).to.equal(s(msg('oauthbearer-rfc7628-smtp-error-challenge')));
      if (step.done) return;
      const reply = client.challenge(step.challenge);
      expect(Array.from(reply)).to.deep.equal([1]);
      const serverError = expectSaslError(() => server.respond(reply), 'AUTHENTICATION_FAILED');
      const clientError = expectSaslError(() => client.failure(), 'AUTHENTICATION_FAILED');
      for (const e of [serverError, clientError]) {
        expect(e).to.have.property('serverError', 'invalid_token');
        expectNoSecrets(e, [token]);
      }
    });
  });

  it('authenticates a client against the server, with and without host and port', () => {
    const bare = runPair(OAUTHBEARER.client(new ClientCredentials('', 'alice-token')), (ir) =>
      OAUTHBEARER.server(options, ir),
    );
    expect(bare.transcript).to.deep.equal(['C: n,,\x01auth=Bearer alice-token\x01\x01']);
    expect(bare.server).to.include({ authcid: 'alice', authzid: 'alice' });
    const full = runPair(
      OAUTHBEARER.client(new ClientCredentials('alice', 'alice-token'), { host: 'imap.example.com', port: 993 }),
      (ir) => OAUTHBEARER.server(options, ir),
    );
    expect(full.transcript).to.deep.equal([
      'C: n,a=alice,\x01host=imap.example.com\x01port=993\x01auth=Bearer alice-token\x01\x01',
    ]);
  });

  it('sends the authzid (when set) as the GS2 user, escaped', () => {
    const client = new SyncClientSession(OAUTHBEARER.client(new ClientCredentials('alice', 't', 'a,b=c')));
    expect(s(client.start())).to.equal('n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01');
    expect(parseOauthbearerResponse(b('n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01')).user).to.equal('a,b=c');
  });

  it('treats the GS2 authzid as the authorization identity', () => {
    expectSaslError(
      () =>
        new SyncServerSession(OAUTHBEARER.server(options, b('n,a=bob,\x01auth=Bearer alice-token\x01\x01'))).start(),
      'AUTHORIZATION_FAILED',
    );
    const allowed = new SyncServerSession(
      OAUTHBEARER.server({ ...options, authorize: () => true }, b('n,a=bob,\x01auth=Bearer alice-token\x01\x01')),
    ).start();
    expect(allowed.done && allowed.outcome).to.include({ authcid: 'alice', authzid: 'bob' });
  });

  it('ignores unknown and reserved keys', () => {
    const step = new SyncServerSession(
      OAUTHBEARER.server(options, b('n,,\x01mthd=POST\x01path=/x\x01auth=Bearer alice-token\x01vendor=1\x01\x01')),
    ).start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('never lets an empty token (discovery) succeed, whatever the validator says', () => {
    const seen: TokenRequest[] = [];
    const lax = (request: TokenRequest): TokenResult => {
      seen.push(request);
      return { authcid: 'alice' };
    };
    const session = new SyncServerSession(OAUTHBEARER.server({ validateToken: lax }, b('n,,\x01auth=\x01\x01')));
    const step = session.start();
    expect(!step.done && s(step.challenge)).to.equal('{"status":"invalid_token"}');
    expect(seen[0]?.token).to.equal('');
    const error = expectSaslError(() => session.respond(Uint8Array.of(1)), 'AUTHENTICATION_FAILED');
    expect(error).to.have.property('serverError', 'invalid_token');
  });

  it('runs under the promise drivers with an async validator, including the error round trip', async () => {
    const validateToken = (request: TokenRequest): Promise<TokenResult> =>
      new Promise((resolve) =>
        setImmediate(() => {
          resolve(validator()(request));
        }),
      );
    const ok = await runPairAsync(
      OAUTHBEARER.client(new ClientCredentials('alice', 'alice-token'), { host: 'h', port: 1 }),
      (ir) => OAUTHBEARER.server({ validateToken }, ir),
    );
    expect(ok.server.authcid).to.equal('alice');
    const client = new PromiseClientSession(OAUTHBEARER.client(new ClientCredentials('alice', 'expired-token')));
    const server = new PromiseServerSession(OAUTHBEARER.server({ validateToken }, await client.start()));
    const step = await server.start();
    if (step.done) throw new Error('expected an error challenge');
    const reply = await client.challenge(step.challenge);
    const serverError = await expectSaslRejection(server.respond(reply), 'AUTHENTICATION_FAILED');
    const clientError = await expectSaslRejection(client.failure(), 'AUTHENTICATION_FAILED');
    for (const e of [serverError, clientError]) {
      expect(e).to.have.property('serverError', 'invalid_token');
      expectNoSecrets(e, ['expired-token']);
    }
  });

  it('requires exactly 0x01 after the error challenge', () => {
    for (const reply of [new Uint8Array(), Uint8Array.of(1, 1), b('n,,\x01auth=Bearer alice-token\x01\x01')]) {
      const session = new SyncServerSession(OAUTHBEARER.server(options, b('n,,\x01auth=Bearer wrong\x01\x01')));
      expect(session.start().done).to.equal(false);
      expectSaslError(() => session.respond(reply), 'MALFORMED_MESSAGE');
    }
  });

  it('needs validateToken', () => {
    expectSaslError(
      () => new SyncServerSession(OAUTHBEARER.server({}, b('n,,\x01auth=Bearer t\x01\x01'))).start(),
      'USAGE',
    );
  });

  it('is registered with priority 60, above XOAUTH2', () => {
    expect(OAUTHBEARER).to.include({ name: 'OAUTHBEARER', clientFirst: true, priority: 60 });
    expect(SASLAuth.named(['XOAUTH2', 'OAUTHBEARER']).chooseClient(['XOAUTH2', 'OAUTHBEARER'])?.name).to.equal(
      'OAUTHBEARER',
    );
  });

  describe('malformed input', () => {
    const cases: [string, Uint8Array][] = [
      ['a lone 0x01 as the first message', Uint8Array.of(1)],
      ['an empty message', new Uint8Array()],
      ['the y channel-binding flag', b('y,,\x01auth=Bearer t\x01\x01')],
      ['the p= channel-binding flag', b('p=tls-exporter,,\x01auth=Bearer t\x01\x01')],
      ['an unknown GS2 flag', b('x,,\x01auth=Bearer t\x01\x01')],
      ['a GS2 header missing its second comma', b('n,\x01auth=Bearer t\x01\x01')],
      ['a user= GS2 attribute (RFC 7628 section 4.4 erratum)', b('n,user=u,\x01auth=Bearer t\x01\x01')],
      ['an empty a=', b('n,a=,\x01auth=Bearer t\x01\x01')],
      ['a bad saslname escape', b('n,a=a=2Db,\x01auth=Bearer t\x01\x01')],
      ['a NUL in the GS2 authzid', b('n,a=u\0v,\x01auth=Bearer t\x01\x01')],
      ['text between the GS2 header and the first 0x01', b('n,,x\x01auth=Bearer t\x01\x01')],
      ['no 0x01 after the header', b('n,,auth=Bearer t')],
      ['no auth', b('n,,\x01host=h\x01\x01')],
      ['a repeated key', b('n,,\x01host=h\x01host=h\x01auth=Bearer t\x01\x01')],
      ['a port above 65535', b('n,,\x01port=65536\x01auth=Bearer t\x01\x01')],
      ['a negative port', b('n,,\x01port=-1\x01auth=Bearer t\x01\x01')],
      ['a port that is not a number', b('n,,\x01port=imap\x01auth=Bearer t\x01\x01')],
      ['an empty port', b('n,,\x01port=\x01auth=Bearer t\x01\x01')],
      ['another auth scheme', b('n,,\x01auth=Basic dXNlcg==\x01\x01')],
      ['an empty Bearer token', b('n,,\x01auth=Bearer \x01\x01')],
      ['a missing final 0x01', b('n,,\x01auth=Bearer t\x01')],
      ['invalid UTF-8 in the header', Uint8Array.of(...b('n,a='), 0xff, ...b(',\x01auth=Bearer t\x01\x01'))],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => new SyncServerSession(OAUTHBEARER.server(options, message)).start(), 'MALFORMED_MESSAGE');
      });
    }
    it('accepts port 0 and 65535', () => {
      expect(parseOauthbearerResponse(b('n,,\x01port=0\x01auth=Bearer t\x01\x01')).port).to.equal(0);
      expect(parseOauthbearerResponse(b('n,,\x01port=65535\x01auth=Bearer t\x01\x01')).port).to.equal(65535);
    });
    it('rejects an oversized authzid or host with LIMIT_EXCEEDED', () => {
      expectSaslError(
        () => parseOauthbearerResponse(b(`n,a=${'u'.repeat(2000)},\x01auth=Bearer t\x01\x01`)),
        'LIMIT_EXCEEDED',
      );
      expectSaslError(
        () => parseOauthbearerResponse(b(`n,,\x01host=${'h'.repeat(2000)}\x01auth=Bearer t\x01\x01`)),
        'LIMIT_EXCEEDED',
      );
    });
  });

  describe('client', () => {
    it('refuses a bad port and control characters', () => {
      for (const port of [-1, 65536, 1.5, NaN]) expectSaslError(() => buildOauthbearerResponse('t', { port }), 'USAGE');
      expectSaslError(() => buildOauthbearerResponse('t', { host: 'a\x01b' }), 'USAGE');
      const error = expectSaslError(() => buildOauthbearerResponse('sek\x01rit'), 'USAGE');
      expectNoSecrets(error, ['sek\x01rit']);
    });

    it('refuses success data, an empty challenge, and success after an error challenge', () => {
      const data = new SyncClientSession(OAUTHBEARER.client(new ClientCredentials('a', 't')));
      data.start();
      expectSaslError(() => data.success(b('x')), 'UNEXPECTED_MESSAGE');
      const empty = new SyncClientSession(OAUTHBEARER.client(new ClientCredentials('a', 't')));
      empty.start();
      expectSaslError(() => empty.challenge(new Uint8Array()), 'UNEXPECTED_MESSAGE');
      const late = new SyncClientSession(OAUTHBEARER.client(new ClientCredentials('a', 't')));
      late.start();
      late.challenge(b('{"status":"invalid_token"}'));
      expectSaslError(() => late.success(), 'UNEXPECTED_MESSAGE');
    });
  });
});
