import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  ClearIdentity,
  ClientCredentials,
  DIGEST_MD5,
  HashedIdentity,
  LineQueue,
  type LineServerAuthOptions,
  Pbkdf2Hasher,
  PromiseServerSession,
  SASLAuth,
  type SaslError,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  computeDigestMd5,
  imapServerAuth,
  isSaslError,
  pop3ServerAuth,
  smtpServerAuth,
  buildXmppAbort,
  buildXmppAuth,
  buildXmppResponse,
  parseXmppSaslElement,
  xmppServerAuth,
} from '../../lib/index.js';
import { digestMd5Client, digestMd5Server } from '../../lib/mechanisms/digest-md5.js';
import {
  ALICE,
  asyncStoreOf,
  b,
  expectNoSecrets,
  expectSaslError,
  expectSaslRejection,
  runPair,
  runPairAsync,
  s,
  storeOf,
} from '../support/helpers.js';
import { type Vector, bytesOf, textOf, vector } from '../support/vectors.js';

const CHRIS = new ClearIdentity('chris', 'secret');
const hex = (value: unknown): string => Buffer.from(bytesOf(value)).toString('hex');
const fromB64 = (text: unknown): string => Buffer.from(text as string, 'base64').toString('utf8');

function inputsOf(v: Vector) {
  return {
    username: textOf(v.inputs['username']),
    realm: textOf(v.inputs['realm']),
    password: textOf(v.inputs['password']),
    nonce: textOf(v.inputs['nonce']),
    cnonce: textOf(v.inputs['cnonce']),
    digestUri: textOf(v.inputs['digest_uri']),
  };
}

/** The ManageSieve transcript's base64 payloads, without the quotes. */
function sievePayloads(): string[] {
  const lines = vector('managesieve-rfc5804-digest-md5').expected['lines'] as string[];
  return lines.filter((line) => /^[CS]: "[A-Za-z0-9+/=]{20,}"$/.test(line)).map((line) => fromB64(line.slice(4, -1)));
}

/** Runs the RFC example exchange on both sides, checking every message byte for byte. */
function reproduce(id: string, service: string): void {
  const v = vector(id);
  const input = inputsOf(v);
  const server = new SyncServerSession(
    digestMd5Server({ lookup: storeOf(CHRIS), hostname: input.realm }, undefined, () => input.nonce),
  );
  const client = new SyncClientSession(
    digestMd5Client(new ClientCredentials('chris', 'secret'), { host: input.realm, service }, () => input.cnonce),
  );
  expect(client.start()).to.equal(undefined);
  const first = server.start();
  if (first.done) throw new Error('expected a challenge');
  expect(s(first.challenge)).to.equal(textOf(v.expected['challenge']));
  const response = client.challenge(first.challenge);
  expect(s(response)).to.equal(fromB64(v.expected['client_response_base64']));
  const second = server.respond(response);
  if (second.done) throw new Error('expected rspauth');
  expect(s(second.challenge)).to.equal(textOf(v.expected['rspauth_challenge']));
  const ack = client.challenge(second.challenge);
  expect(ack.length).to.equal(0);
  const done = server.respond(ack);
  expect(done.done && done.outcome).to.include({ mechanism: 'DIGEST-MD5', authcid: 'chris', authzid: 'chris' });
  expect(client.success().serverVerified).to.equal(true);
}

/** A server waiting for the response to a challenge with nonce N, realm example.com. */
function serverAt(options: Parameters<typeof digestMd5Server>[0] = { lookup: storeOf(CHRIS) }): SyncServerSession {
  const session = new SyncServerSession(digestMd5Server({ hostname: 'example.com', ...options }, undefined, () => 'N'));
  session.start();
  return session;
}

/** A valid response to {@link serverAt}'s challenge, with directives overridden or removed (undefined). */
function responseFor(overrides: Record<string, string | undefined> = {}, password = 'secret'): string {
  const base: Record<string, string | undefined> = {
    charset: 'utf-8',
    username: '"chris"',
    realm: '"example.com"',
    nonce: '"N"',
    nc: '00000001',
    cnonce: '"C"',
    'digest-uri': '"imap/example.com"',
    response: computeDigestMd5({
      username: 'chris',
      realm: 'example.com',
      password,
      nonce: 'N',
      cnonce: 'C',
      digestUri: 'imap/example.com',
    }).response,
    qop: 'auth',
    ...overrides,
  };
  return Object.entries(base)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${value as string}`)
    .join(',');
}

describe('DIGEST-MD5', () => {
  describe('RFC vectors', () => {
    for (const id of [
      'digest-md5-rfc2831-imap',
      'digest-md5-rfc2831-acap',
      'digest-md5-rfc5034-pop3',
      'digest-md5-rfc5804-sieve',
    ]) {
      it(`${id}: computes response and rspauth`, () => {
        const v = vector(id);
        const digests = computeDigestMd5(inputsOf(v));
        expect(digests.response).to.equal(hex(v.expected['computed_response']));
        expect(digests.rspauth).to.equal(hex(v.expected['computed_rspauth']));
      });
    }

    it('digest-md5-rfc2831-imap: both sides reproduce the exchange byte for byte', () => {
      reproduce('digest-md5-rfc2831-imap', 'imap');
    });

    it('digest-md5-rfc5034-pop3: both sides reproduce the exchange byte for byte', () => {
      reproduce('digest-md5-rfc5034-pop3', 'pop');
    });

    it('digest-md5-rfc2831-acap: the client accepts rspauth as additional data with success', () => {
      const v = vector('digest-md5-rfc2831-acap');
      const input = inputsOf(v);
      const client = new SyncClientSession(
        digestMd5Client(
          new ClientCredentials('chris', 'secret'),
          { host: input.realm, service: 'acap' },
          () => input.cnonce,
        ),
      );
      client.start();
      const response = s(
        client.challenge(
          b(`realm="${input.realm}",nonce="${input.nonce}",qop="auth",algorithm=md5-sess,charset=utf-8`),
        ),
      );
      expect(response).to.include(`response=${hex(v.expected['published_response'])}`);
      expect(response).to.include('digest-uri="acap/elwood.innosoft.com"');
      expect(client.success(b(`rspauth=${hex(v.expected['published_rspauth'])}`)).serverVerified).to.equal(true);
    });

    it('digest-md5-rfc5804-sieve: framing reproduced; the published (wrong) response is refused, the computed one accepted', () => {
      const v = vector('digest-md5-rfc5804-sieve');
      const input = inputsOf(v);
      const [challenge, published] = sievePayloads() as [string, string];
      const server = new SyncServerSession(
        digestMd5Server({ lookup: storeOf(CHRIS), hostname: input.realm }, undefined, () => input.nonce),
      );
      const first = server.start();
      expect(!first.done && s(first.challenge)).to.equal(challenge);
      expect(published).to.include(`response=${hex(v.expected['published_response'])}`);
      expectSaslError(() => server.respond(b(published)), 'AUTHENTICATION_FAILED');
      const client = new SyncClientSession(
        digestMd5Client(
          new ClientCredentials('chris', 'secret'),
          { host: input.realm, service: 'sieve' },
          () => input.cnonce,
        ),
      );
      client.start();
      const ours = s(client.challenge(b(challenge)));
      expect(ours).to.equal(
        published.replace(hex(v.expected['published_response']), hex(v.expected['computed_response'])),
      );
      const fresh = new SyncServerSession(
        digestMd5Server({ lookup: storeOf(CHRIS), hostname: input.realm }, undefined, () => input.nonce),
      );
      fresh.start();
      const rspauth = fresh.respond(b(ours));
      expect(!rspauth.done && s(rspauth.challenge)).to.equal(`rspauth=${hex(v.expected['computed_rspauth'])}`);
    });

    it('matches the intermediate values of RFC 2831 (H(user:realm:pass), HEX(H(A1)), HEX(H(A2)))', () => {
      const v = vector('digest-md5-rfc2831-imap');
      const input = inputsOf(v);
      const inner = createHash('md5').update(`${input.username}:${input.realm}:${input.password}`).digest();
      expect(inner.toString('hex')).to.equal(hex(v.expected['H_user_realm_pass']));
      expect(
        createHash('md5')
          .update(Buffer.concat([inner, Buffer.from(`:${input.nonce}:${input.cnonce}`)]))
          .digest('hex'),
      ).to.equal(hex(v.expected['HEX_H_A1']));
      expect(createHash('md5').update(`AUTHENTICATE:${input.digestUri}`).digest('hex')).to.equal(
        hex(v.expected['HEX_H_A2_response']),
      );
    });
  });

  it('authenticates with CSPRNG nonces, with rspauth as a challenge or as success data', () => {
    const mk = () =>
      DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host: 'mail.example.com', service: 'smtp' });
    const server = (ir: Uint8Array | undefined) =>
      DIGEST_MD5.server({ lookup: storeOf(ALICE), hostname: 'mail.example.com' }, ir);
    const result = runPair(mk(), server);
    expect(result.server).to.include({ authcid: 'alice', authzid: 'alice' });
    expect(result.client.serverVerified).to.equal(true);
    expect(result.transcript).to.have.length(4);
    expect(result.transcript[1]).to.match(
      /^C: charset=utf-8,username="alice",realm="mail.example.com",nonce="[A-Za-z0-9+/]{32}",nc=00000001,cnonce="[A-Za-z0-9+/]{32}",digest-uri="smtp\/mail.example.com",response=[0-9a-f]{32},qop=auth$/,
    );
    expect(result.transcript[3]).to.equal('C: ');
    // Two runs never share a nonce.
    expect(runPair(mk(), server).transcript[0]).to.not.equal(result.transcript[0]);
  });

  it('runs under the promise drivers against an async store', async () => {
    const result = await runPairAsync(
      DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host: 'localhost', service: 'imap' }),
      (ir) => DIGEST_MD5.server({ lookup: asyncStoreOf(ALICE) }, ir),
    );
    expect(result.server.authcid).to.equal('alice');
    expect(result.client.serverVerified).to.equal(true);
    const session = new PromiseServerSession(
      digestMd5Server({ lookup: asyncStoreOf(CHRIS), hostname: 'example.com' }, undefined, () => 'N'),
    );
    await session.start();
    await expectSaslRejection(session.respond(b(responseFor({}, 'wrong'))), 'AUTHENTICATION_FAILED');
  });

  it('carries an authzid, subject to the authorization policy', () => {
    const client = () =>
      DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass', 'bob'), { host: 'localhost', service: 'imap' });
    expect(() => runPair(client(), (ir) => DIGEST_MD5.server({ lookup: storeOf(ALICE) }, ir)))
      .to.throw()
      .with.property('code', 'AUTHORIZATION_FAILED');
    const result = runPair(client(), (ir) =>
      DIGEST_MD5.server({ lookup: storeOf(ALICE), authorize: ({ authzid }) => authzid === 'bob' }, ir),
    );
    expect(result.server).to.include({ authcid: 'alice', authzid: 'bob' });
    expect(result.transcript[1]).to.match(/,qop=auth,authzid="bob"$/);
  });

  it('quotes and unquotes names with quotes and backslashes', () => {
    const odd = new ClearIdentity('a"b\\c', 'p"w\\d');
    const result = runPair(
      DIGEST_MD5.client(new ClientCredentials('a"b\\c', 'p"w\\d'), { host: 'localhost', service: 'imap' }),
      (ir) => DIGEST_MD5.server({ lookup: storeOf(odd) }, ir),
    );
    expect(result.server.authcid).to.equal('a"b\\c');
    expect(result.transcript[1]).to.include('username="a\\"b\\\\c"');
  });

  it('hashes ISO 8859-1-representable strings as ISO 8859-1 under charset=utf-8, others as UTF-8', () => {
    const latin = computeDigestMd5({
      username: 'bjørn',
      realm: 'r',
      password: 'pässwörd',
      nonce: 'n',
      cnonce: 'c',
      digestUri: 'imap/h',
    });
    const inner = createHash('md5').update(Buffer.from('bjørn:r:pässwörd', 'latin1')).digest();
    const ha1 = createHash('md5')
      .update(Buffer.concat([inner, Buffer.from(':n:c')]))
      .digest('hex');
    const ha2 = createHash('md5').update('AUTHENTICATE:imap/h').digest('hex');
    expect(latin.response).to.equal(createHash('md5').update(`${ha1}:n:00000001:c:auth:${ha2}`).digest('hex'));
    for (const [user, password] of [
      ['bjørn', 'pässwörd'],
      ['用户', '密码'],
      ['bjørn', '密码'],
    ] as const) {
      const identity = new ClearIdentity(user, password);
      const result = runPair(
        DIGEST_MD5.client(new ClientCredentials(user, password), { host: 'localhost', service: 'imap' }),
        (ir) => DIGEST_MD5.server({ lookup: storeOf(identity) }, ir),
      );
      expect(result.server.authcid).to.equal(user);
    }
  });

  it('speaks ISO 8859-1 to a server that does not offer charset=utf-8', () => {
    const client = new SyncClientSession(
      digestMd5Client(new ClientCredentials('bjørn', 'pässwörd'), { host: 'h', service: 'imap' }, () => 'c'),
    );
    client.start();
    const response = client.challenge(b('realm="r",nonce="n",qop="auth",algorithm=md5-sess'));
    const text = Buffer.from(response).toString('latin1');
    expect(text.startsWith('username="bjørn",realm="r"')).to.equal(true);
    expect(Array.from(response)).to.include(0xf8);
    const expected = computeDigestMd5({
      username: 'bjørn',
      realm: 'r',
      password: 'pässwörd',
      nonce: 'n',
      cnonce: 'c',
      digestUri: 'imap/h',
      utf8: false,
    });
    expect(text).to.include(`response=${expected.response}`);
    const wide = new SyncClientSession(
      digestMd5Client(new ClientCredentials('chris', '密码'), { host: 'h', service: 'imap' }),
    );
    wide.start();
    expectSaslError(() => wide.challenge(b('nonce="n",algorithm=md5-sess')), 'USAGE');
  });

  it('chooses the first of several realms, and sends none when none is offered', () => {
    const several = new SyncClientSession(
      digestMd5Client(new ClientCredentials('chris', 'secret'), { host: 'h', service: 'imap' }, () => 'c'),
    );
    several.start();
    expect(s(several.challenge(b('realm="one",realm="two",nonce="n",algorithm=md5-sess,charset=utf-8')))).to.include(
      ',realm="one",',
    );
    const none = new SyncClientSession(
      digestMd5Client(new ClientCredentials('chris', 'secret'), { host: 'h', service: 'imap' }, () => 'c'),
    );
    none.start();
    const response = s(none.challenge(b('nonce="n",algorithm=md5-sess')));
    expect(response).to.not.include('realm=');
    expect(response).to.include(
      `response=${computeDigestMd5({ username: 'chris', realm: '', password: 'secret', nonce: 'n', cnonce: 'c', digestUri: 'imap/h' }).response}`,
    );
  });

  describe('failures', () => {
    it('refuses a wrong password and an unknown user alike, without secrets in the error', () => {
      const wrong = expectSaslError(() => serverAt().respond(b(responseFor({}, 'wrong'))), 'AUTHENTICATION_FAILED');
      const unknownResponse = responseFor({ username: '"mallory"' });
      const unknown = expectSaslError(() => serverAt().respond(b(unknownResponse)), 'AUTHENTICATION_FAILED');
      expect(wrong.message).to.equal(unknown.message);
      const digest = /response=([0-9a-f]{32})/.exec(responseFor({}, 'wrong'))?.[1] ?? '';
      for (const error of [wrong, unknown]) expectNoSecrets(error, ['secret', 'wrong', digest]);
    });

    it('refuses a response to another nonce (a replay)', () => {
      expectSaslError(() => serverAt().respond(b(responseFor({ nonce: '"OTHER"' }))), 'AUTHENTICATION_FAILED');
    });

    it('needs a clear-text password on the server', () => {
      const hashed = HashedIdentity.create('chris', 'secret', new Pbkdf2Hasher({ rounds: 1000 }));
      // It fails like an unknown user, so the reply does not reveal the account; the cause says why.
      const error = expectSaslError(
        () => serverAt({ lookup: storeOf(hashed) }).respond(b(responseFor())),
        'AUTHENTICATION_FAILED',
      );
      expect((error.cause as { code?: unknown }).code).to.equal('MECHANISM_UNAVAILABLE');
    });

    it('needs a lookup option', () => {
      expectSaslError(() => serverAt({}).respond(b(responseFor())), 'USAGE');
    });

    it('refuses an initial response: DIGEST-MD5 is server-first', () => {
      expectSaslError(
        () => new SyncServerSession(DIGEST_MD5.server({ lookup: storeOf(CHRIS) }, new Uint8Array())).start(),
        'UNEXPECTED_MESSAGE',
      );
    });

    it('requires an empty response to rspauth', () => {
      const session = serverAt();
      const step = session.respond(b(responseFor()));
      expect(!step.done && s(step.challenge)).to.match(/^rspauth=[0-9a-f]{32}$/);
      expectSaslError(() => session.respond(b('x')), 'MALFORMED_MESSAGE');
    });

    it('the client refuses a wrong rspauth and a success without one', () => {
      const run = () => {
        const client = new SyncClientSession(
          digestMd5Client(new ClientCredentials('chris', 'secret'), { host: 'h', service: 'imap' }),
        );
        client.start();
        client.challenge(b('realm="r",nonce="n",qop="auth",algorithm=md5-sess,charset=utf-8'));
        return client;
      };
      expectSaslError(() => run().challenge(b(`rspauth=${'0'.repeat(32)}`)), 'SERVER_NOT_VERIFIED');
      expectSaslError(() => run().success(), 'SERVER_NOT_VERIFIED');
      expectSaslError(() => run().success(b(`rspauth=${'0'.repeat(32)}`)), 'SERVER_NOT_VERIFIED');
      expectSaslError(() => run().challenge(b('rspauth=XYZ')), 'MALFORMED_MESSAGE');
      expectSaslError(() => run().challenge(b('realm="r",nonce="n2",algorithm=md5-sess')), 'MALFORMED_MESSAGE');
    });

    it('the client needs host and service, and refuses control characters', () => {
      for (const options of [
        {},
        { host: 'h' },
        { service: 'imap' },
        { host: 'h h', service: 'imap' },
        { host: 'h', service: 'im4p' },
      ]) {
        expectSaslError(
          () => new SyncClientSession(DIGEST_MD5.client(new ClientCredentials('chris', 'secret'), options)).start(),
          'USAGE',
        );
      }
      expectSaslError(
        () =>
          new SyncClientSession(
            DIGEST_MD5.client(new ClientCredentials('ch\nris', 'secret'), { host: 'h', service: 'imap' }),
          ).start(),
        'USAGE',
      );
      expectSaslError(
        () =>
          new SyncClientSession(
            DIGEST_MD5.client(new ClientCredentials('chris', 'bad\uD800'), { host: 'h', service: 'imap' }),
          ).start(),
        'USAGE',
      );
    });

    it('is registered with priority 30 but is not in the defaults', () => {
      expect(DIGEST_MD5).to.include({ name: 'DIGEST-MD5', clientFirst: false, priority: 30 });
      expect(SASLAuth.named(['digest-md5']).getServer('DIGEST-MD5')).to.equal(DIGEST_MD5);
      expect(SASLAuth.defaults().getServer('DIGEST-MD5')).to.equal(undefined);
    });
  });

  // Issue 11 item 5: the digest-uri names the server the client meant to reach (RFC 2831 section
  // 2.1.2). A server that checked it for form only accepted a login relayed by another server.
  describe('digest-uri: the service and host the client meant', () => {
    const TARGET = 'mail.target.example';
    const target =
      (options: Partial<ServerOptions> = {}) =>
      (initial: Uint8Array | undefined) =>
        DIGEST_MD5.server({ lookup: storeOf(ALICE), hostname: TARGET, service: 'imap', ...options }, initial);
    const clientFor = (host: string, service = 'imap') =>
      DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host, service });
    /** A login whose client computed its digest-uri for `host`: the outcome, or the server's error. */
    const loginFor = (
      host: string,
      service = 'imap',
      options: Partial<ServerOptions> = {},
    ): { ok: boolean; error?: SaslError } => {
      try {
        runPair(clientFor(host, service), target(options));
        return { ok: true };
      } catch (error) {
        if (!isSaslError(error)) throw error;
        return { ok: false, error };
      }
    };
    const refusal = (result: { ok: boolean; error?: SaslError }): SaslError => {
      expect(result.ok).to.equal(false);
      const error = result.error as SaslError;
      expect(error).to.include({ code: 'AUTHENTICATION_FAILED', party: 'client', message: 'authentication failed' });
      return error;
    };

    it('a login relayed by another server fails: the client computed imap/evil.example, the target is mail.target.example', () => {
      // evil.example passes the target's challenge on and the client's response back.
      const victim = new SyncClientSession(clientFor('evil.example'));
      victim.start();
      let lookups = 0;
      const server = new SyncServerSession(
        DIGEST_MD5.server({ lookup: (name) => (lookups++, storeOf(ALICE)(name)), hostname: TARGET, service: 'imap' }),
      );
      const first = server.start();
      if (first.done) throw new Error('expected a challenge');
      const response = victim.challenge(first.challenge);
      expect(s(response)).to.include('digest-uri="imap/evil.example"');
      const error = expectSaslError(() => server.respond(response), 'AUTHENTICATION_FAILED');
      // No rspauth went out, and the store was never asked: refused before any account work.
      expect(lookups).to.equal(0);
      expect(error.message).to.equal('authentication failed');
      expect((error.cause as SaslError).message).to.match(/digest-uri names a host/);
      expectNoSecrets(error, ['alice-pass', 'evil.example']);
      // The same user's honest login goes through.
      expect(loginFor(TARGET).ok).to.equal(true);
    });

    it('refuses another service (smtp/ for an imap server), with the reason in cause', () => {
      const error = refusal(loginFor(TARGET, 'smtp'));
      expect((error.cause as SaslError).message).to.match(/digest-uri names another service/);
      expect(loginFor(TARGET.toUpperCase(), 'IMAP').ok, 'serv-type and host compare case-insensitively').to.equal(true);
    });

    it('fails the same way for a known and an unknown user (no oracle), and before a wrong password is even checked', () => {
      const known = refusal(loginFor('evil.example'));
      let unknown: SaslError | undefined;
      try {
        runPair(
          DIGEST_MD5.client(new ClientCredentials('mallory', 'x'), { host: 'evil.example', service: 'imap' }),
          target(),
        );
      } catch (error) {
        unknown = error as SaslError;
      }
      expect(unknown).to.include({ code: known.code, message: known.message, party: known.party });
      expect((unknown?.cause as SaslError).message).to.equal((known.cause as SaslError).message);
    });

    it('accepts the names in hostAliases (an address, another name), with or without a trailing dot', () => {
      refusal(loginFor('192.0.2.7'));
      const aliases = { hostAliases: ['192.0.2.7', 'IMAP.Target.Example'] };
      expect(loginFor('192.0.2.7', 'imap', aliases).ok).to.equal(true);
      expect(loginFor('imap.target.example', 'imap', aliases).ok).to.equal(true);
      expect(loginFor(`${TARGET}.`, 'imap', aliases).ok).to.equal(true);
      refusal(loginFor('evil.example', 'imap', aliases));
    });

    it('checks serv-name when the client sends one (imap/host/serv-name), against the same names', () => {
      const withServName = (servName: string, options: Partial<ServerOptions> = {}) => {
        const response = responseFor({
          'digest-uri': `"imap/example.com/${servName}"`,
          response: computeDigestMd5({
            username: 'chris',
            realm: 'example.com',
            password: 'secret',
            nonce: 'N',
            cnonce: 'C',
            digestUri: `imap/example.com/${servName}`,
          }).response,
        });
        return serverAt({ lookup: storeOf(CHRIS), service: 'imap', ...options }).respond(b(response));
      };
      const error = expectSaslError(() => withServName('evil.example'), 'AUTHENTICATION_FAILED');
      expect((error.cause as SaslError).message).to.match(/digest-uri names a serv-name/);
      expect(withServName('example.com').done).to.equal(false);
      expect(withServName('mx.example.com', { hostAliases: ['mx.example.com'] }).done).to.equal(false);
    });

    it('with the host unset, only the default hostname (localhost) is accepted; without service, any serv-type', () => {
      const bare = (host: string, service: string) => {
        try {
          return runPair(DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host, service }), (ir) =>
            DIGEST_MD5.server({ lookup: storeOf(ALICE) }, ir),
          ).server.authcid;
        } catch (error) {
          return (error as SaslError).code;
        }
      };
      expect(bare('localhost', 'imap')).to.equal('alice');
      expect(bare('localhost', 'xmpp')).to.equal('alice');
      expect(bare('127.0.0.1', 'imap')).to.equal('AUTHENTICATION_FAILED');
    });

    it('refuses a malformed service or alias option with USAGE', () => {
      for (const options of [
        { service: 'im ap' },
        { service: '' },
        { hostAliases: 'h' as never },
        { hostAliases: [42] as never },
      ]) {
        expectSaslError(
          () => new SyncServerSession(DIGEST_MD5.server({ lookup: storeOf(ALICE), ...options })).start(),
          'USAGE',
        );
      }
    });

    describe('the line protocol profiles fill in their service', () => {
      /** Runs one DIGEST-MD5 login through a profile, the client computing for `service`/mail.example.com. */
      async function viaProfile(
        serve: (args: LineServerAuthOptions) => Promise<unknown>,
        command: string,
        prefix: string,
        service: string,
        options: ServerOptions = {},
      ): Promise<{ value?: unknown; error?: unknown }> {
        const client = new SyncClientSession(
          DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host: 'mail.example.com', service }),
        );
        client.start();
        const lines = new LineQueue();
        const write = (line: string): void => {
          if (!line.startsWith(`${prefix} `)) return;
          try {
            lines.push(
              Buffer.from(client.challenge(Buffer.from(line.slice(prefix.length + 1), 'base64'))).toString('base64'),
            );
          } catch {
            lines.push('*');
          }
        };
        try {
          return {
            value: await serve({
              command,
              auth: SASLAuth.named(['DIGEST-MD5']),
              options: { lookup: storeOf(ALICE), hostname: 'mail.example.com', ...options },
              lines,
              write,
            }),
          };
        } catch (error) {
          return { error };
        } finally {
          lines.end();
        }
      }
      const profiles: [string, (args: LineServerAuthOptions) => Promise<unknown>, string, string, string][] = [
        ['SMTP', smtpServerAuth, 'AUTH DIGEST-MD5', '334', 'smtp'],
        ['IMAP', (args) => imapServerAuth(args), 'a1 AUTHENTICATE DIGEST-MD5', '+', 'imap'],
        ['POP3', pop3ServerAuth, 'AUTH DIGEST-MD5', '+', 'pop'],
      ];
      it('XMPP: accepts xmpp/, refuses another service', async () => {
        const viaXmpp = async (service: string): Promise<{ value?: unknown; error?: unknown }> => {
          const client = new SyncClientSession(
            DIGEST_MD5.client(new ClientCredentials('alice', 'alice-pass'), { host: 'mail.example.com', service }),
          );
          client.start();
          const queue = [buildXmppAuth('DIGEST-MD5')];
          let wake: (() => void) | undefined;
          const elements: AsyncIterator<string> = {
            next: async () => {
              while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
              return { done: false, value: queue.shift() as string };
            },
          };
          const write = (element: string): void => {
            const parsed = parseXmppSaslElement(element, 'server');
            if (parsed.kind !== 'challenge') return;
            try {
              queue.push(buildXmppResponse(client.challenge(parsed.data)));
            } catch {
              queue.push(buildXmppAbort());
            }
            wake?.();
          };
          try {
            return {
              value: await xmppServerAuth({
                auth: SASLAuth.named(['DIGEST-MD5']),
                options: { lookup: storeOf(ALICE), hostname: 'mail.example.com' },
                elements,
                write,
              }),
            };
          } catch (error) {
            return { error };
          }
        };
        expect((await viaXmpp('xmpp')).value).to.include({ authcid: 'alice' });
        expect((await viaXmpp('imap')).error).to.include({ code: 'AUTHENTICATION_FAILED' });
      });

      for (const [name, serve, command, prefix, service] of profiles) {
        it(`${name}: accepts ${service}/, refuses another service, and a configured service wins`, async () => {
          expect((await viaProfile(serve, command, prefix, service)).value).to.include({ authcid: 'alice' });
          const other = service === 'smtp' ? 'imap' : 'smtp';
          expect((await viaProfile(serve, command, prefix, other)).error).to.include({ code: 'AUTHENTICATION_FAILED' });
          expect((await viaProfile(serve, command, prefix, other, { service: other })).value).to.include({
            authcid: 'alice',
          });
        });
      }
    });
  });

  describe('malformed client responses', () => {
    const cases: [string, string][] = [
      ['a duplicate directive', `${responseFor()},username="chris"`],
      ['no username', responseFor({ username: undefined })],
      ['an empty username', responseFor({ username: '""' })],
      ['no realm', responseFor({ realm: undefined })],
      ['a realm the server did not offer', responseFor({ realm: '"other.example"' })],
      ['no nonce', responseFor({ nonce: undefined })],
      ['no cnonce', responseFor({ cnonce: undefined })],
      ['an empty cnonce', responseFor({ cnonce: '""' })],
      ['no nc', responseFor({ nc: undefined })],
      ['nc=00000002', responseFor({ nc: '00000002' })],
      ['no qop', responseFor({ qop: undefined })],
      ['qop=auth-int', responseFor({ qop: 'auth-int' })],
      ['no digest-uri', responseFor({ 'digest-uri': undefined })],
      ['a digest-uri without a host', responseFor({ 'digest-uri': '"imap"' })],
      ['a digest-uri with a bad host', responseFor({ 'digest-uri': '"imap/ex ample"' })],
      ['no response', responseFor({ response: undefined })],
      ['an upper-case response', responseFor({ response: 'D388DAD90D4BBD760A152321F2143AF7' })],
      ['a short response', responseFor({ response: 'abc' })],
      ['charset=iso-8859-1', responseFor({ charset: 'iso-8859-1' })],
      ['an unterminated quoted string', responseFor({ username: '"chris' })],
      ['a control character in a quoted string', responseFor({ username: '"ch\u0001ris"' })],
      ['an escaped control character', responseFor({ username: '"ch\\\u0001ris"' })],
      ['a directive without a value', responseFor({ username: '' })],
      ['a directive without =', 'username'],
      ['directives without commas', responseFor().replace(',realm', ' realm')],
      ['a name that is not a token', `"x"=1,${responseFor()}`],
      ['an empty message', ''],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => serverAt().respond(b(message)), 'MALFORMED_MESSAGE');
      });
    }
    it('rejects invalid UTF-8 under charset=utf-8 with MALFORMED_MESSAGE', () => {
      const bytes = Buffer.concat([
        Buffer.from('charset=utf-8,username="'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(`",${responseFor({ charset: undefined, username: undefined })}`),
      ]);
      expectSaslError(() => serverAt().respond(bytes), 'MALFORMED_MESSAGE');
    });
    it('accepts spaces around separators, empty list elements, unknown directives and quoted tokens', () => {
      const spaced = responseFor({ qop: '"auth"', maxbuf: '65536', future: '"x"' })
        .replace(/,/g, ' ,, ')
        .replace('nc=', 'nc = ');
      const step = serverAt().respond(b(spaced));
      expect(step.done).to.equal(false);
    });
    it('rejects an oversized username with LIMIT_EXCEEDED', () => {
      expectSaslError(
        () =>
          serverAt({ lookup: storeOf(CHRIS), maxFieldBytes: 16 }).respond(
            b(responseFor({ username: `"${'c'.repeat(17)}"` })),
          ),
        'LIMIT_EXCEEDED',
      );
    });
  });

  describe('malformed server challenges', () => {
    const cases: [string, string, string][] = [
      ['no nonce', 'realm="r",algorithm=md5-sess', 'MALFORMED_MESSAGE'],
      ['two nonces', 'nonce="a",nonce="b",algorithm=md5-sess', 'MALFORMED_MESSAGE'],
      ['no algorithm', 'nonce="n"', 'MALFORMED_MESSAGE'],
      ['algorithm=md5', 'nonce="n",algorithm=md5', 'MALFORMED_MESSAGE'],
      ['charset=latin1', 'nonce="n",algorithm=md5-sess,charset=latin1', 'MALFORMED_MESSAGE'],
      ['a non-ASCII nonce', 'nonce="n\u00e9",algorithm=md5-sess', 'MALFORMED_MESSAGE'],
      ['an unterminated quote', 'nonce="n,algorithm=md5-sess', 'MALFORMED_MESSAGE'],
      ['qop without auth', 'nonce="n",qop="auth-int,auth-conf",algorithm=md5-sess', 'MECHANISM_UNAVAILABLE'],
      ['success before any challenge', '', 'UNEXPECTED_MESSAGE'],
    ];
    for (const [name, challenge, code] of cases) {
      it(`the client rejects ${name} with ${code}`, () => {
        const client = new SyncClientSession(
          digestMd5Client(new ClientCredentials('chris', 'secret'), { host: 'h', service: 'imap' }),
        );
        client.start();
        if (challenge === '') expectSaslError(() => client.success(), code as 'UNEXPECTED_MESSAGE');
        else expectSaslError(() => client.challenge(b(challenge)), code as 'MALFORMED_MESSAGE');
      });
    }
    it('accepts qop lists that include auth', () => {
      const client = new SyncClientSession(
        digestMd5Client(new ClientCredentials('chris', 'secret'), { host: 'h', service: 'imap' }),
      );
      client.start();
      expect(
        s(client.challenge(b('nonce="n",qop="auth-int, auth",algorithm=MD5-SESS,stale=true,maxbuf=1024'))),
      ).to.include('qop=auth');
    });
  });
});
