import { expect } from 'chai';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import {
  ClearIdentity,
  CleartextHasher,
  ClientCredentials,
  HashedIdentity,
  type Identity,
  Pbkdf2Hasher,
  PlainCredentials,
  REDACTED,
  ScryptHasher,
  rejectAuthzid,
} from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';

/** Every way an application might print a value: inspect (plain, hidden, deep), String, JSON, console.log, format. */
function renderings(value: unknown): string[] {
  let logged = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  const console = new Console({ stdout: sink, stderr: sink, colorMode: false });
  console.log(value);
  console.log('%s %o %O %j', value, value, value, value);
  console.dir(value, { showHidden: true, depth: null });
  console.error({ nested: [value] });
  return [
    inspect(value),
    inspect(value, { showHidden: true, depth: Infinity, getters: true }),
    inspect({ wrapped: value }, { showHidden: true }),
    String(value),
    JSON.stringify(value),
    JSON.stringify({ wrapped: value }),
    format('%s|%o|%O|%j', value, value, value, value),
    logged,
  ];
}

function expectHidden(value: unknown, secrets: readonly string[]): void {
  for (const rendering of renderings(value)) {
    for (const secret of secrets) expect(rendering, rendering).to.not.include(secret);
  }
}

/** An identity that records which checks ran. */
function spyIdentity(authcidOk: boolean, secretOk: boolean): Identity & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    authcid: 'spy',
    compareAuthcid: () => (calls.push('authcid'), authcidOk),
    compareSecret: () => (calls.push('secret'), secretOk),
    getClearSecret: () => undefined,
  };
}

describe('credentials', () => {
  describe('ClientCredentials', () => {
    it('holds authcid, secret and authzid (empty when none, as in pysasl)', () => {
      const creds = new ClientCredentials('alice', 'alice-pass');
      expect(creds).to.include({ authcid: 'alice', authzid: '' });
      expect(creds.secret).to.equal('alice-pass');
      expect(new ClientCredentials('alice', 'alice-pass', 'bob').authzid).to.equal('bob');
    });

    it('refuses values that are not strings with a UsageError', () => {
      expectSaslError(() => new ClientCredentials(undefined as never, 'x'), 'USAGE');
      expectSaslError(() => new ClientCredentials('a', null as never), 'USAGE');
      expectSaslError(() => new ClientCredentials('a', 'x', 42 as never), 'USAGE');
    });

    it('rejectAuthzid refuses an authzid a mechanism cannot carry', () => {
      rejectAuthzid(new ClientCredentials('alice', 'x'), 'LOGIN');
      const error = expectSaslError(() => {
        rejectAuthzid(new ClientCredentials('alice', 'x', 'bob'), 'LOGIN');
      }, 'USAGE');
      expect(error.mechanism).to.equal('LOGIN');
    });
  });

  describe('PlainCredentials', () => {
    it('defaults authzid to authcid (pysasl)', () => {
      expect(new PlainCredentials('alice', 'x')).to.include({ authcid: 'alice', authzid: 'alice' });
      expect(new PlainCredentials('alice', 'x', '')).to.include({ authzid: 'alice' });
      expect(new PlainCredentials('alice', 'x', 'bob')).to.include({ authzid: 'bob' });
      expect(new PlainCredentials('alice', 'x').secret).to.equal('x');
      expectSaslError(() => new PlainCredentials('alice', 7 as never), 'USAGE');
    });

    it('verifies against an identity, and never against none', async () => {
      const alice = new ClearIdentity('alice', 'alice-pass');
      expect(new PlainCredentials('alice', 'alice-pass').verify(alice)).to.equal(true);
      expect(new PlainCredentials('al\u00ADice', 'alice-pass').verify(alice)).to.equal(true);
      expect(new PlainCredentials('alice', 'wrong').verify(alice)).to.equal(false);
      expect(new PlainCredentials('bob', 'alice-pass').verify(alice)).to.equal(false);
      expect(new PlainCredentials('alice', 'alice-pass').verify(undefined)).to.equal(false);
      expect(await new PlainCredentials('alice', 'alice-pass').verifyAsync(alice)).to.equal(true);
      expect(await new PlainCredentials('alice', 'alice-pass').verifyAsync(undefined)).to.equal(false);
      const hashed = HashedIdentity.create('alice', 'alice-pass', new Pbkdf2Hasher({ rounds: 1000 }));
      expect(await new PlainCredentials('alice', 'alice-pass').verifyAsync(hashed)).to.equal(true);
      expect(await new PlainCredentials('alice', 'nope').verifyAsync(hashed)).to.equal(false);
    });

    it('runs both checks even when the user name is wrong (no short-circuit, unlike pysasl)', async () => {
      const wrongUser = spyIdentity(false, true);
      expect(new PlainCredentials('x', 'y').verify(wrongUser)).to.equal(false);
      expect(wrongUser.calls).to.deep.equal(['authcid', 'secret']);
      const wrongSecret = spyIdentity(true, false);
      expect(await new PlainCredentials('x', 'y').verifyAsync(wrongSecret)).to.equal(false);
      expect(wrongSecret.calls).to.deep.equal(['authcid', 'secret']);
    });
  });

  describe('secret hygiene: no rendering shows the secret', () => {
    const secret = 'S3cret-\u00E4-value';
    const digestOf = (identity: HashedIdentity): string => identity.digest;
    const pbkdf2 = HashedIdentity.create('alice', secret, new Pbkdf2Hasher({ rounds: 1000 }));
    const scrypt = HashedIdentity.create('alice', secret, new ScryptHasher({ ln: 4 }));
    const clearHashed = HashedIdentity.create('alice', secret, new CleartextHasher());
    const cases: [string, unknown, string[]][] = [
      ['ClientCredentials', new ClientCredentials('alice', secret, 'bob'), [secret]],
      ['PlainCredentials', new PlainCredentials('alice', secret, 'bob'), [secret]],
      ['ClearIdentity', new ClearIdentity('alice', secret), [secret]],
      ['HashedIdentity (PBKDF2)', pbkdf2, [secret, digestOf(pbkdf2), digestOf(pbkdf2).split('$')[4] ?? '']],
      ['HashedIdentity (scrypt)', scrypt, [secret, digestOf(scrypt).split('$')[4] ?? '']],
      ['HashedIdentity (cleartext)', clearHashed, [secret]],
      ['Pbkdf2Hasher', pbkdf2.hasher, [secret]],
      ['ScryptHasher', scrypt.hasher, [secret]],
      ['CleartextHasher', clearHashed.hasher, [secret]],
    ];

    for (const [name, value, secrets] of cases) {
      it(`${name}: util.inspect (also showHidden), String(), JSON.stringify, console.log, util.format`, () => {
        expectHidden(value, secrets);
      });
    }

    it('the harness itself catches a leak (control)', () => {
      expect(() => {
        expectHidden({ password: secret }, [secret]);
      }).to.throw();
      expect(() => {
        expectHidden(
          new (class {
            toString = () => secret;
          })(),
          [secret],
        );
      }).to.throw();
    });

    it('renders the redaction marker and the public fields instead', () => {
      const text = inspect(new ClientCredentials('alice', secret, 'bob'));
      expect(text).to.equal(`ClientCredentials { authcid: "alice", authzid: "bob", secret: "${REDACTED}" }`);
      expect(inspect(pbkdf2)).to.equal(`HashedIdentity { authcid: "alice", digest: "${REDACTED}" }`);
      expect(JSON.parse(JSON.stringify(new PlainCredentials('alice', secret)))).to.deep.equal({
        authcid: 'alice',
        authzid: 'alice',
      });
      expect(JSON.parse(JSON.stringify(new ClearIdentity('alice', secret)))).to.deep.equal({
        type: 'ClearIdentity',
        authcid: 'alice',
      });
      expect(JSON.parse(JSON.stringify(pbkdf2))).to.deep.equal({ type: 'HashedIdentity', authcid: 'alice' });
    });

    it('keeps secrets out of own enumerable and hidden properties', () => {
      for (const [, value, secrets] of cases) {
        const own = Reflect.ownKeys(value as object).map((key) => {
          const descriptor = Object.getOwnPropertyDescriptor(value, key);
          return String(descriptor?.value);
        });
        for (const text of own) for (const hidden of secrets) expect(text).to.not.include(hidden);
      }
    });
  });
});
