import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  CRAM_MD5,
  CleartextHasher,
  ClearIdentity,
  ClientCredentials,
  CramMD5Credentials,
  HashedIdentity,
  Pbkdf2Hasher,
  PromiseClientSession,
  PromiseServerSession,
  SASLAuth,
  SyncClientSession,
  SyncServerSession,
  buildCramMd5Response,
  cramMd5Challenge,
  cramMd5Digest,
  cramMd5Server,
  parseCramMd5Response,
} from '../../lib/index.js';
import {
  ALICE,
  asyncStoreOf,
  b,
  expectNoSecrets,
  expectSaslError,
  expectSaslRejection,
  runPair,
  s,
  storeOf,
} from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

const rfc2195 = vector('cram-md5-rfc2195');
const rfc4954 = vector('cram-md5-rfc4954-smtp');
const TIM = new ClearIdentity(textOf(rfc2195.inputs['username']), textOf(rfc2195.inputs['secret']));
const CAROL = HashedIdentity.create('carol', 'carol-pass', new Pbkdf2Hasher({ rounds: 1000 }));
const DAVE = HashedIdentity.create('dave', 'dave-pass', new CleartextHasher());
const options = { lookup: storeOf(ALICE, TIM, CAROL, DAVE) };
const CHALLENGE = b('<1.2@test>');

/** Runs cramMd5Server with a fixed challenge against a response. */
function serverWith(response: Uint8Array, opts: Parameters<typeof cramMd5Server>[0] = options, challenge = CHALLENGE) {
  const session = new SyncServerSession(cramMd5Server(opts, challenge));
  const first = session.start();
  expect(first.done).to.equal(false);
  return session.respond(response);
}

describe('CRAM-MD5', () => {
  describe('RFC 2195 vector', () => {
    const challenge = bytesOf(rfc2195.inputs['challenge']);
    const response = bytesOf(rfc2195.expected['response']);

    it('computes the digest', () => {
      expect(cramMd5Digest(textOf(rfc2195.inputs['secret']), challenge)).to.equal(
        (rfc2195.expected['digest'] as { hex: string }).hex,
      );
    });

    it('client answers the challenge byte for byte', () => {
      const client = new SyncClientSession(CRAM_MD5.client(new ClientCredentials('tim', 'tanstaaftanstaaf')));
      expect(client.start()).to.equal(undefined);
      expect(Buffer.from(client.challenge(challenge)).equals(Buffer.from(response))).to.equal(true);
      expect(client.success().serverVerified).to.equal(false);
    });

    it('server sends the injected challenge and verifies the response', () => {
      const session = new SyncServerSession(cramMd5Server(options, challenge));
      const first = session.start();
      expect(!first.done && Buffer.from(first.challenge).equals(Buffer.from(challenge))).to.equal(true);
      const done = session.respond(response);
      expect(done.done && done.outcome).to.include({ mechanism: 'CRAM-MD5', authcid: 'tim', authzid: 'tim' });
      expect(done.done && done.outcome.identity).to.equal(TIM);
    });
  });

  describe('RFC 4954 SMTP vector (secret unpublished)', () => {
    const challenge = bytesOf(rfc4954.inputs['challenge']);
    const response = bytesOf(rfc4954.expected['response']);

    it('parses the response into user and digest', () => {
      const claimed = parseCramMd5Response(response, challenge);
      expect(claimed.authcid).to.equal('rjs3');
      expect(claimed.authzid).to.equal('rjs3');
      expect(claimed.digest).to.equal('ec3a59fed395aba1ec6367c4f4b41ac0');
      expect(Buffer.from(claimed.challenge).equals(Buffer.from(challenge))).to.equal(true);
      expect(claimed.verify(new ClearIdentity('rjs3', 'not-the-secret'))).to.equal(false);
    });

    it('server refuses it for a different secret', () => {
      const opts = { lookup: storeOf(new ClearIdentity('rjs3', 'not-the-secret')) };
      expectSaslError(() => serverWith(response, opts, challenge), 'AUTHENTICATION_FAILED');
    });
  });

  it('matches pysasl test vector (testuser/testpass)', () => {
    expect(s(buildCramMd5Response('testuser', 'testpass', b('<abc123.1234@testhost>')))).to.equal(
      'testuser 3a569c3950e95c490fd42f5d89e1ef67',
    );
  });

  describe('challenge', () => {
    it('has the msg-id form with the configured host name and is fresh each time', () => {
      const one = s(cramMd5Challenge());
      const two = s(cramMd5Challenge());
      expect(one).to.match(/^<\d+\.\d+@localhost>$/);
      expect(one).to.not.equal(two);
      expect(s(cramMd5Challenge('mail.example.org'))).to.match(/^<\d+\.\d+@mail\.example\.org>$/);
    });

    it('uses options.hostname in the server challenge', () => {
      const step = new SyncServerSession(CRAM_MD5.server({ ...options, hostname: 'imap.example.net' })).start();
      expect(step.done ? '' : s(step.challenge)).to.match(/^<\d+\.\d+@imap\.example\.net>$/);
    });

    for (const hostname of ['', 'a b', 'evil>', '<x', 'h\u00e9te']) {
      it(`refuses host name ${JSON.stringify(hostname)}`, () => {
        expectSaslError(() => cramMd5Challenge(hostname), 'USAGE');
        expectSaslError(() => new SyncServerSession(CRAM_MD5.server({ ...options, hostname })).start(), 'USAGE');
      });
    }
  });

  it('runs client against server', () => {
    const result = runPair(CRAM_MD5.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      CRAM_MD5.server(options, ir),
    );
    expect(result.transcript).to.have.length(2);
    expect(result.transcript[0]).to.match(/^S: <\d+\.\d+@localhost>$/);
    expect(result.transcript[1]).to.match(/^C: alice [0-9a-f]{32}$/);
    expect(result.server).to.include({ mechanism: 'CRAM-MD5', authcid: 'alice', authzid: 'alice' });
  });

  it('works with a HashedIdentity that keeps the clear secret (CleartextHasher)', () => {
    const result = runPair(CRAM_MD5.client(new ClientCredentials('dave', 'dave-pass')), (ir) =>
      CRAM_MD5.server(options, ir),
    );
    expect(result.server.authcid).to.equal('dave');
  });

  it('is opt-in, server-first, priority 25', () => {
    expect(SASLAuth.defaults().getServer('CRAM-MD5')).to.equal(undefined);
    expect(SASLAuth.named(['cram-md5']).getClient('CRAM-MD5')).to.equal(CRAM_MD5);
    expect(CRAM_MD5.clientFirst).to.equal(false);
    expect(CRAM_MD5.priority).to.equal(25);
  });

  describe('server verification', () => {
    const respond = (user: string, secret: string) => buildCramMd5Response(user, secret, CHALLENGE);

    it('refuses a wrong password and an unknown user with the same error, without secrets', () => {
      const wrong = expectSaslError(() => serverWith(respond('alice', 'wrong-pass')), 'AUTHENTICATION_FAILED');
      const unknown = expectSaslError(() => serverWith(respond('mallory', 'wrong-pass')), 'AUTHENTICATION_FAILED');
      expect(wrong.message).to.equal(unknown.message);
      expect(wrong.party).to.equal('client');
      const digest = s(respond('alice', 'wrong-pass')).split(' ')[1]!;
      expectNoSecrets(wrong, ['wrong-pass', 'alice-pass', digest]);
    });

    it('refuses an identity without a clear secret like an unknown user; the cause says MECHANISM_UNAVAILABLE', () => {
      const error = expectSaslError(() => serverWith(respond('carol', 'carol-pass')), 'AUTHENTICATION_FAILED');
      const unknown = expectSaslError(() => serverWith(respond('mallory', 'carol-pass')), 'AUTHENTICATION_FAILED');
      expect(error.message).to.equal(unknown.message);
      expect((error.cause as { code?: unknown }).code).to.equal('MECHANISM_UNAVAILABLE');
      expectNoSecrets(error, ['carol-pass']);
    });

    it("keys the HMAC with the SASLprep'd stored secret (the client preps too)", () => {
      const opts = { lookup: storeOf(new ClearIdentity('erin', 'pass\u00ADword')) };
      expect(serverWith(respond('erin', 'password'), opts).done).to.equal(true);
      expect(serverWith(respond('erin', 'pass\u00ADword'), opts).done).to.equal(true);
      // Non-ASCII spaces map to U+0020 on both sides.
      const spaced = { lookup: storeOf(new ClearIdentity('erin', 'a\u00A0b')) };
      expect(serverWith(respond('erin', 'a b'), spaced).done).to.equal(true);
    });

    it('uses a secret that SASLprep rejects as it is, on both sides', () => {
      const opts = { lookup: storeOf(new ClearIdentity('erin', 'bad\u0007secret', { prepare: (x) => x })) };
      expect(serverWith(respond('erin', 'bad\u0007secret'), opts).done).to.equal(true);
    });

    it("looks up the SASLprep'd user name", () => {
      expect(serverWith(buildCramMd5Response('al\u00ADice', 'alice-pass', CHALLENGE)).done).to.equal(true);
      const raw = `al\u00ADice ${cramMd5Digest('alice-pass', CHALLENGE)}`;
      expect(serverWith(b(raw)).done).to.equal(true);
    });

    it('never accepts an empty stored secret', () => {
      const opts = { lookup: storeOf(new ClearIdentity('erin', '\u00AD')) };
      expectSaslError(() => serverWith(respond('erin', ''), opts), 'AUTHENTICATION_FAILED');
    });

    it('refuses a response computed over another challenge', () => {
      const other = buildCramMd5Response('alice', 'alice-pass', b('<9.9@test>'));
      expectSaslError(() => serverWith(other), 'AUTHENTICATION_FAILED');
    });

    it('needs a lookup option', () => {
      expectSaslError(() => serverWith(respond('alice', 'alice-pass'), {}), 'USAGE');
    });

    it('stepped by hand: yields its challenge and the lookup itself, refuses a response that is not bytes, and reports the authcid as authzid', () => {
      const refused = cramMd5Server(options, CHALLENGE);
      expect(refused.next().value).to.equal(CHALLENGE);
      expectSaslError(() => refused.next('alice 0123'), 'USAGE');
      const stepped = cramMd5Server(options, CHALLENGE);
      expect(stepped.next().value).to.equal(CHALLENGE);
      const lookup = stepped.next(respond('alice', 'alice-pass'));
      expect((lookup.value as { kind?: unknown }).kind).to.equal('lookup');
      const verify = stepped.next(ALICE);
      expect(verify.done).to.equal(true);
      expect(verify.value).to.deep.include({ mechanism: 'CRAM-MD5', authcid: 'alice', authzid: 'alice' });
    });
  });

  describe('malformed input', () => {
    const digest = cramMd5Digest('alice-pass', CHALLENGE);
    const cases: [string, Uint8Array][] = [
      ['no space', b(`alice${digest}`)],
      ['an empty user name', b(` ${digest}`)],
      ['an upper-case digest', b(`alice ${digest.toUpperCase()}`)],
      ['a short digest', b(`alice ${digest.slice(0, 31)}`)],
      ['a long digest', b(`alice ${digest}0`)],
      ['a non-hex digest', b(`alice ${'g'.repeat(32)}`)],
      ['a trailing space', b(`alice ${digest} `)],
      ['a non-ASCII digest', b(`alice ${'\u00e9'.repeat(16)}`)],
      ['an empty message', new Uint8Array(0)],
      ['an invalid UTF-8 user name', Buffer.concat([Uint8Array.of(0xc3, 0x28, 0x20), b(digest)])],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        const error = expectSaslError(() => serverWith(message), 'MALFORMED_MESSAGE');
        expect(error).to.include({ mechanism: 'CRAM-MD5', party: 'client' });
        expectSaslError(() => parseCramMd5Response(message, CHALLENGE), 'MALFORMED_MESSAGE');
      });
    }

    it('accepts a user name with spaces (split at the last space)', () => {
      const claimed = parseCramMd5Response(b(`tim smith ${digest}`), CHALLENGE);
      expect(claimed.authcid).to.equal('tim smith');
    });

    it('rejects an oversized user name with LIMIT_EXCEEDED', () => {
      expectSaslError(() => serverWith(b(`${'a'.repeat(1025)} ${digest}`)), 'LIMIT_EXCEEDED');
    });

    it('rejects an initial response, empty or not, with UNEXPECTED_MESSAGE', () => {
      expectSaslError(
        () => new SyncServerSession(CRAM_MD5.server(options, new Uint8Array(0))).start(),
        'UNEXPECTED_MESSAGE',
      );
      expectSaslError(
        () => new SyncServerSession(CRAM_MD5.server(options, b(`alice ${digest}`))).start(),
        'UNEXPECTED_MESSAGE',
      );
      expect(new SyncServerSession(CRAM_MD5.server(options, undefined)).start().done).to.equal(false);
    });

    it('refuses a response after the exchange finished', () => {
      const session = new SyncServerSession(cramMd5Server(options, CHALLENGE));
      session.start();
      session.respond(b(`alice ${digest}`));
      expectSaslError(() => session.respond(b('extra')), 'USAGE');
    });
  });

  describe('CramMD5Credentials', () => {
    const claimed = new CramMD5Credentials('alice', CHALLENGE, cramMd5Digest('alice-pass', CHALLENGE));

    it('verifies like pysasl, failing closed', () => {
      expect(claimed.verify(ALICE)).to.equal(true);
      expect(claimed.verify(undefined)).to.equal(false);
      expect(claimed.verify(new ClearIdentity('bob', 'alice-pass'))).to.equal(false);
      expect(claimed.verify(new ClearIdentity('alice', 'other'))).to.equal(false);
      expect(new CramMD5Credentials('alice', CHALLENGE, 'not hex').verify(ALICE)).to.equal(false);
      expectSaslError(() => claimed.verify(CAROL), 'MECHANISM_UNAVAILABLE');
    });

    it('keeps the digest out of inspect and JSON', () => {
      expectNoSecrets(claimed, [claimed.digest]);
      expect(inspect(claimed)).to.include('alice');
      expect(JSON.parse(JSON.stringify(claimed))).to.deep.equal({ authcid: 'alice', authzid: 'alice' });
    });
  });

  describe('client', () => {
    const creds = new ClientCredentials('alice', 'alice-pass');

    it('refuses an empty challenge', () => {
      const client = new SyncClientSession(CRAM_MD5.client(creds));
      client.start();
      const error = expectSaslError(() => client.challenge(new Uint8Array(0)), 'MALFORMED_MESSAGE');
      expect(error.party).to.equal('server');
    });

    it('refuses a second challenge', () => {
      const client = new SyncClientSession(CRAM_MD5.client(creds));
      client.start();
      client.challenge(CHALLENGE);
      const error = expectSaslError(() => client.challenge(CHALLENGE), 'UNEXPECTED_MESSAGE');
      expectNoSecrets(error, ['alice-pass']);
    });

    it('refuses success before it answered, and success with data', () => {
      const early = new SyncClientSession(CRAM_MD5.client(creds));
      early.start();
      expectSaslError(() => early.success(), 'UNEXPECTED_MESSAGE');
      const client = new SyncClientSession(CRAM_MD5.client(creds));
      client.start();
      client.challenge(CHALLENGE);
      expectSaslError(() => client.success(b('data')), 'UNEXPECTED_MESSAGE');
    });

    it('refuses an authzid it cannot carry', () => {
      const error = expectSaslError(
        () => new SyncClientSession(CRAM_MD5.client(new ClientCredentials('alice', 'alice-pass', 'bob'))).start(),
        'USAGE',
      );
      expectNoSecrets(error, ['alice-pass']);
    });

    // Issue 11: the name used to go out as it was, controls included; the server's SASLprep
    // refuses it anyway, so the client now refuses it locally, before sending anything.
    const refusedNames: readonly [string, string][] = [
      ['a\u0007', 'BEL (ASCII control)'],
      ['al\u0000ice', 'NUL'],
      ['alice\r\n', 'CR LF'],
      ['ali\u007Fce', 'DEL'],
      ['ali\u0085ce', 'C1 control (NEL)'],
      ['ali\u200Ece', 'LEFT-TO-RIGHT MARK (C.8)'],
      ['ali\uE000ce', 'private use (C.3)'],
      ['ali\uFFFFce', 'non-character (C.4)'],
      ['\u0627\u0031', 'bidi: RandALCat first, not last'],
      ['\u00AD', 'maps to nothing'],
    ];
    for (const [name, why] of refusedNames) {
      it(`refuses locally a user name SASLprep prohibits: ${why}`, () => {
        const error = expectSaslError(() => buildCramMd5Response(name, 'alice-pass', CHALLENGE), 'USAGE');
        expectNoSecrets(error, ['alice-pass', name]);
        const client = new SyncClientSession(CRAM_MD5.client(new ClientCredentials(name, 'alice-pass')));
        expect(client.start()).to.equal(undefined);
        expectSaslError(() => client.challenge(CHALLENGE), 'USAGE');
      });
    }

    it('still sends a name SASLprep maps (soft hyphen dropped, NBSP to space), prepared', () => {
      expect(s(buildCramMd5Response('al\u00ADice', 'x', CHALLENGE)).startsWith('alice ')).to.equal(true);
      expect(s(buildCramMd5Response('al\u00A0ice', 'x', CHALLENGE)).startsWith('al ice ')).to.equal(true);
    });
  });

  describe('under the promise driver', () => {
    it('verifies against an async store', async () => {
      const session = new PromiseServerSession(CRAM_MD5.server({ lookup: asyncStoreOf(ALICE) }));
      const client = new PromiseClientSession(CRAM_MD5.client(new ClientCredentials('alice', 'alice-pass')));
      expect(await client.start()).to.equal(undefined);
      let step = await session.start();
      while (!step.done) step = await session.respond(await client.challenge(step.challenge));
      expect(step.outcome.authcid).to.equal('alice');
      expect((await client.success()).serverVerified).to.equal(false);
    });

    it('fails an unknown user against an async store', async () => {
      const session = new PromiseServerSession(cramMd5Server({ lookup: asyncStoreOf(ALICE) }, CHALLENGE));
      await session.start();
      await expectSaslRejection(
        session.respond(buildCramMd5Response('mallory', 'x', CHALLENGE)),
        'AUTHENTICATION_FAILED',
      );
    });
  });
});
