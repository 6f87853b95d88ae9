// scram-secret.ts checks pinned after the StrykerJS run on lib/scram-secret.ts (issue 11; see
// mutation/RESULTS.md, fifth pass): each case pins one limit or field check on its own.
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  ClearIdentity,
  ClientCredentials,
  PLAIN,
  SCRAM_SHA_256,
  SCRAM_MAX_STORED_ITERATIONS,
  ScramIdentity,
  ScramSecret,
  SyncServerSession,
  deriveEffect,
  isScramKeySource,
  nodeCryptoProvider,
  scramH,
  scramHmac,
  scramNormalizePassword,
  scramSaltedPassword,
  setCryptoProvider,
  toBase64,
} from '../../lib/index.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { b, expectSaslError, expectSaslRejection, runPair, storeOf } from '../support/helpers.js';

const SALT = new Uint8Array(16).fill(3);
const key = (length: number, fill = 1): Uint8Array => new Uint8Array(length).fill(fill);
/** A valid RFC 5803 SCRAM-SHA-256 secret's fields ("pencil", PostgreSQL 15). */
const PG = {
  salt: 'Z8+2c+saufhTCrP3QprCMA==',
  stored: 'iIQAI2q/MnOuXAzaO2BVobOzwQRuyRbTh/2FIeW1Dwc=',
  server: 'p1i1dVfhIF2dn3Eed+aPdIG4e889YcqUJwK+0xjBbHo=',
};
const rfc5803 = (iterations: string): string => `SCRAM-SHA-256$${iterations}:${PG.salt}$${PG.stored}:${PG.server}`;
const dovecot = (iterations: string): string => `{SCRAM-SHA-256}${iterations},${PG.salt},${PG.stored},${PG.server}`;

describe('scram-secret checks (each pinned on its own)', () => {
  describe('iteration counts: 1 to 2^31-1, inclusive', () => {
    it('the constructor, deriveEffect and both text forms accept 2^31-1 and refuse 2^31', () => {
      expect(SCRAM_MAX_STORED_ITERATIONS).to.equal(2 ** 31 - 1);
      const top = new ScramSecret('SHA-256', SALT, 2 ** 31 - 1, key(32), key(32));
      expect(top.iterations).to.equal(2 ** 31 - 1);
      expect(new ScramSecret('SHA-256', SALT, 1, key(32), key(32)).iterations).to.equal(1);
      for (const bad of [2 ** 31, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
        expectSaslError(() => new ScramSecret('SHA-256', SALT, bad, key(32), key(32)), 'USAGE');
      // deriveEffect checks before it builds the effect (nothing is derived here).
      expect(deriveEffect('SHA-256', 'pw', SALT, 2 ** 31 - 1)).to.be.an('object');
      expectSaslError(() => deriveEffect('SHA-256', 'pw', SALT, 2 ** 31), 'USAGE');
      expectSaslError(() => ScramSecret.fromPassword('SHA-1', 'pw', { iterations: 2 ** 31 }), 'USAGE');
      for (const form of [rfc5803, dovecot]) {
        expect(ScramSecret.tryParse(form('2147483647'))?.iterations).to.equal(2 ** 31 - 1);
        expect(ScramSecret.tryParse(form('1'))?.iterations).to.equal(1);
        expect(ScramSecret.tryParse(form('2147483648'))).to.equal(undefined);
        expect(ScramSecret.tryParse(form('4294967295'))).to.equal(undefined);
        expect(ScramSecret.tryParse(form('+4096'))).to.equal(undefined);
        expect(ScramSecret.tryParse(form('4096 '))).to.equal(undefined);
        expect(ScramSecret.tryParse(form(' 4096'))).to.equal(undefined);
      }
    });
  });

  describe('parts', () => {
    it('both keys must have the hash length', () => {
      expect(new ScramSecret('SHA-1', SALT, 1, key(20), key(20)).hash).to.equal('SHA-1');
      expectSaslError(() => new ScramSecret('SHA-256', SALT, 1, key(20), key(32)), 'USAGE');
      expectSaslError(() => new ScramSecret('SHA-256', SALT, 1, key(32), key(20)), 'USAGE');
      expectSaslError(() => new ScramSecret('SHA-512', SALT, 1, key(64), key(65)), 'USAGE');
    });

    it('an empty salt is refused before any derivation (fromPassword, fromPasswordAsync)', async () => {
      const counter = new KdfCounter();
      counter.install();
      try {
        const sync = counter.during(() => {
          expectSaslError(() => ScramSecret.fromPassword('SHA-256', 'pw', { salt: new Uint8Array(0) }), 'USAGE');
        });
        expect(sync.runs).to.deep.equal([]);
        counter.active = true;
        await expectSaslRejection(ScramSecret.fromPasswordAsync('SHA-256', 'pw', { salt: new Uint8Array(0) }), 'USAGE');
        counter.active = false;
        expect(counter.runs).to.deep.equal([]);
        // The counter sees a derivation when there is one.
        expect(
          counter.during(() => ScramSecret.fromPassword('SHA-1', 'pw', { salt: SALT, iterations: 3 })).runs,
        ).to.deep.equal(['pbkdf2:3:sha1']);
      } finally {
        counter.active = false;
        counter.uninstall();
      }
    });
  });

  describe('text forms', () => {
    it('Dovecot form: anchored at both ends, upper-case scheme, four comma fields', () => {
      expect(ScramSecret.tryParse(dovecot('4096'))?.verifyNormalized('pencil')).to.equal(true);
      for (const text of [
        `x${dovecot('4096')}`,
        ` ${dovecot('4096')}`,
        `${dovecot('4096')}\n`,
        `${dovecot('4096')}\nx`,
        dovecot('4096').replace('SCRAM-SHA-256', 'scram-sha-256'),
        dovecot('4096').replace('{SCRAM-SHA-256}', '{SCRAM-SHA-256 }'),
        dovecot('4096').replace('{SCRAM-SHA-256}', '{SCRAM-}'),
        dovecot('4096').replace('{SCRAM-SHA-256}', '{SCRAM-SHA-256'),
        dovecot('4096').replace('{SCRAM-SHA-256}', 'SCRAM-SHA-256}'),
        dovecot('4096').replace('{SCRAM-SHA-256}', '{SCRAM-SHA-256}{SCRAM-SHA-256}'),
        dovecot('4096').replace(',', ':'),
      ])
        expect(ScramSecret.tryParse(text), JSON.stringify(text)).to.equal(undefined);
    });

    it('RFC 5803 form: exactly three $ fields, the scheme anchored, no Dovecot braces', () => {
      expect(ScramSecret.tryParse(rfc5803('4096'))?.verifyNormalized('pencil')).to.equal(true);
      for (const text of [
        `x${rfc5803('4096')}`,
        `${rfc5803('4096')}x`,
        `SCRAM-SHA-256x$4096:${PG.salt}$${PG.stored}:${PG.server}`,
        `{SCRAM-SHA-256}$4096:${PG.salt}$${PG.stored}:${PG.server}`,
        `SCRAM-SHA-256$4096:${PG.salt}:${PG.stored}:${PG.server}`,
        `SCRAM-SHA-256$4096$${PG.salt}$${PG.stored}:${PG.server}`,
        `SCRAM-SHA-256$4096:${PG.salt}$${PG.stored}$${PG.server}`,
        // Each key on its own: a short or undecodable StoredKey beside a good ServerKey.
        `SCRAM-SHA-256$4096:${PG.salt}$${PG.stored.slice(0, 28)}=:${PG.server}`,
        `SCRAM-SHA-256$4096:${PG.salt}$${PG.stored.slice(1)}:${PG.server}`,
        `SCRAM-SHA-256$4096:${PG.salt}$${PG.stored}:${PG.server.slice(1)}`,
      ])
        expect(ScramSecret.tryParse(text), JSON.stringify(text)).to.equal(undefined);
    });

    it('formats each style: Dovecot braces and commas, RFC 5803 and PostgreSQL the same layout', () => {
      const secret = ScramSecret.parse(rfc5803('4096'));
      expect(secret.format('dovecot')).to.equal(dovecot('4096'));
      expect(secret.format('postgresql')).to.equal(rfc5803('4096'));
      expect(secret.format('rfc5803')).to.equal(rfc5803('4096'));
      expect(secret.format()).to.equal(rfc5803('4096'));
      expect(new ScramIdentity('u', secret).format()).to.deep.equal([rfc5803('4096')]);
    });
  });

  describe('ScramIdentity', () => {
    it('checks PLAIN and LOGIN passwords against the strongest hash it holds: SHA-512, then SHA-256, then SHA-1', () => {
      const options = { iterations: 1, salt: SALT };
      const sha1 = ScramSecret.fromPassword('SHA-1', 'one', options);
      const sha256 = ScramSecret.fromPassword('SHA-256', 'two', options);
      const sha512 = ScramSecret.fromPassword('SHA-512', 'three', options);
      const all = new ScramIdentity('u', [sha1, sha256, sha512]);
      expect(['one', 'two', 'three'].map((pw) => all.compareSecret(pw))).to.deep.equal([false, false, true]);
      const lower = new ScramIdentity('u', [sha1, sha256]);
      expect(['one', 'two', 'three'].map((pw) => lower.compareSecret(pw))).to.deep.equal([false, true, false]);
      const reversed = new ScramIdentity('u', [sha256, sha1]);
      expect(['one', 'two'].map((pw) => reversed.compareSecret(pw))).to.deep.equal([false, true]);
      expect(new ScramIdentity('u', sha1).compareSecret('one')).to.equal(true);
    });

    it('refuses a password that prepares to nothing, even when the stored secret was made from one (sync, async, PLAIN)', async () => {
      const empty = ScramIdentity.create('u', '', { iterations: 1, hashes: ['SHA-256'] });
      expect(empty.getScramSecret('SHA-256')?.verifyNormalized('')).to.equal(true);
      expect(empty.compareSecret('')).to.equal(false);
      expect(empty.compareSecret('\u00AD')).to.equal(false);
      expect(await empty.compareSecretAsync('')).to.equal(false);
      expectSaslError(
        () => new SyncServerSession(PLAIN.server({ lookup: storeOf(empty) }, b('\0u\0\u00AD'))).start(),
        'AUTHENTICATION_FAILED',
      );
    });

    it('prepares a presented password as a stored string (RFC 5802 2.2): an unassigned code point never matches', async () => {
      // Keys another implementation derived from the unprepared text: saslkit's SASLprep would refuse it.
      const raw = 'a\u0221';
      const secret = ScramSecret.fromSaltedPassword('SHA-256', SALT, 1, scramSaltedPassword('SHA-256', raw, SALT, 1));
      expect(secret.verifyNormalized(raw)).to.equal(true);
      const identity = new ScramIdentity('u', secret);
      expect(identity.compareSecret(raw)).to.equal(false);
      expect(await identity.compareSecretAsync(raw)).to.equal(false);
    });

    it('compareSecretAsync refuses what SASLprep refuses without deriving, and matches like the sync form', async () => {
      const identity = ScramIdentity.create('u', 'pw', { iterations: 1, hashes: ['SHA-1'] });
      expect(await identity.compareSecretAsync('pw')).to.equal(true);
      expect(await identity.compareSecretAsync('pw\u0007')).to.equal(false);
      expect(await identity.compareSecretAsync('\uD800')).to.equal(false);
      expect(await identity.compareSecretAsync('PW')).to.equal(false);
    });

    it('compares the authcid with its own preparation when given one; an authcid that does not prepare matches nothing', () => {
      const upper = (text: string): string => {
        if (text.includes('!')) throw new Error('refused');
        return text.toUpperCase();
      };
      const custom = new ScramIdentity('Alice', rfc5803('4096'), { prepare: upper });
      expect(custom.compareAuthcid('ALICE')).to.equal(true);
      expect(custom.compareAuthcid('alice')).to.equal(true);
      expect(custom.compareAuthcid('al\u00ADice')).to.equal(false);
      expect(custom.compareAuthcid('alice!')).to.equal(false);
      // Without one: SASLprep with unassigned code points allowed (a query), on both sides.
      const plain = new ScramIdentity('alice', rfc5803('4096'));
      expect(plain.compareAuthcid('al\u00ADice')).to.equal(true);
      expect(plain.compareAuthcid('ALICE')).to.equal(false);
      expect(plain.compareAuthcid('alice\u0221')).to.equal(false);
      expect(plain.compareAuthcid('al\u0007ice')).to.equal(false);
      // A stored authcid that does not prepare matches nothing, not even itself.
      const unpreparable = new ScramIdentity('bad!', rfc5803('4096'), { prepare: upper });
      expect(unpreparable.compareAuthcid('bad!')).to.equal(false);
      const prohibited = new ScramIdentity('al\u0007ice', rfc5803('4096'));
      expect(prohibited.compareAuthcid('al\u0007ice')).to.equal(false);
      expect(prohibited.compareAuthcid('alice')).to.equal(false);
      expect(prohibited.compareAuthcid('')).to.equal(false);
      expect(unpreparable.compareAuthcid('BAD')).to.equal(false);
    });

    it('createAsync passes iterations and salt through, as create does', async () => {
      const options = { iterations: 7, salt: SALT, hashes: ['SHA-1', 'SHA-512'] as const };
      const sync = ScramIdentity.create('u', 'pw', options);
      const async = await ScramIdentity.createAsync('u', 'pw', options);
      expect(async.format()).to.deep.equal(sync.format());
      expect(async.getScramSecret('SHA-512')?.iterations).to.equal(7);
      expect(toBase64(async.getScramSecret('SHA-1')?.salt ?? new Uint8Array())).to.equal(toBase64(SALT));
      const defaults = await ScramIdentity.createAsync('u', 'pw', { hashes: ['SHA-512'] });
      expect(defaults.getScramSecret('SHA-512')?.iterations).to.equal(10000);
    });

    it('takes one secret or a list, and names itself in inspect and JSON', () => {
      const one = new ScramIdentity('u', rfc5803('4096'));
      expect(one.hashes).to.deep.equal(['SHA-256']);
      const parsed = ScramSecret.parse(rfc5803('4096'));
      expect(new ScramIdentity('u', parsed).getScramSecret('SHA-256')).to.equal(parsed);
      expect(new ScramIdentity('u', [parsed]).getScramSecret('SHA-256')).to.equal(parsed);
      expect(inspect(one))
        .to.match(/^ScramIdentity/)
        .and.include('SHA-256')
        .and.not.include(PG.stored);
      const two = new ScramIdentity('u', [rfc5803('4096'), ScramSecret.fromPassword('SHA-1', 'x', { iterations: 1 })]);
      expect(inspect(two)).to.include('SHA-256 SHA-1');
      expect(inspect(parsed))
        .to.match(/^ScramSecret/)
        .and.include('4096')
        .and.not.include(PG.stored);
      expect(JSON.parse(JSON.stringify(one))).to.deep.equal({
        type: 'ScramIdentity',
        authcid: 'u',
        hashes: ['SHA-256'],
      });
    });
  });

  describe('passwords from JavaScript callers', () => {
    it('a password that is not a string is a USAGE error, never a TypeError from node:crypto', async () => {
      for (const password of [1234, undefined, null, { toString: () => 'pencil' }, new Uint8Array(4)]) {
        expectSaslError(() => scramNormalizePassword(password as never), 'USAGE');
        expectSaslError(() => ScramSecret.fromPassword('SHA-256', password as never, { iterations: 1 }), 'USAGE');
        expectSaslError(() => ScramIdentity.create('u', password as never, { iterations: 1 }), 'USAGE');
        await expectSaslRejection(
          ScramSecret.fromPasswordAsync('SHA-1', password as never, { iterations: 1 }),
          'USAGE',
        );
      }
      expect(scramNormalizePassword('1234')).to.equal('1234');
    });
  });

  describe('what the crypto provider is given', () => {
    afterEach(() => {
      setCryptoProvider(undefined);
    });

    it('passwords and labels reach the provider as UTF-8 bytes (its interface takes Uint8Array), sync and async', async () => {
      const node = nodeCryptoProvider;
      const sync = node.sync;
      if (sync === undefined) throw new Error('node:crypto has sync forms');
      const notBytes: string[] = [];
      const check = (what: string, value: unknown): void => {
        if (!(value instanceof Uint8Array)) notBytes.push(what);
      };
      setCryptoProvider({
        ...node,
        name: 'bytes-only',
        sync: {
          hash: (digest, data) => (check('hash', data), sync.hash(digest, data)),
          hmac: (digest, k, data) => (check('hmac', data), sync.hmac(digest, k, data)),
          pbkdf2: (digest, password, salt, iterations, length) => (
            check('pbkdf2', password),
            sync.pbkdf2(digest, password, salt, iterations, length)
          ),
        },
        pbkdf2: (digest, password, salt, iterations, length, job) => (
          check('pbkdf2 async', password),
          node.pbkdf2(digest, password, salt, iterations, length, job)
        ),
      });
      const k = key(8);
      expect(toBase64(scramHmac('SHA-256', k, '\u00E4'))).to.equal(toBase64(sync.hmac('SHA-256', k, b('\u00E4'))));
      expect(toBase64(scramSaltedPassword('SHA-1', '\u00E4', SALT, 2))).to.equal(
        toBase64(sync.pbkdf2('SHA-1', b('\u00E4'), SALT, 2, 20)),
      );
      const made = ScramSecret.fromPassword('SHA-256', 'p\u00E4ss', { iterations: 2, salt: SALT });
      const madeAsync = await ScramSecret.fromPasswordAsync('SHA-256', 'p\u00E4ss', { iterations: 2, salt: SALT });
      expect(madeAsync.format()).to.equal(made.format());
      expect(await madeAsync.verifyNormalizedAsync('p\u00E4ss')).to.equal(true);
      expect(toBase64(await deriveEffect('SHA-512', '\u00E4', SALT, 2).runAsync())).to.equal(
        toBase64(sync.pbkdf2('SHA-512', b('\u00E4'), SALT, 2, 64)),
      );
      // The server side of an exchange derives from a clear password through performDerive.
      const alice = new ClearIdentity('alice', 'p\u00E4ss');
      const result = runPair(SCRAM_SHA_256.client(new ClientCredentials('alice', 'p\u00E4ss')), (ir) =>
        SCRAM_SHA_256.server({ lookup: storeOf(alice) }, ir),
      );
      expect(result.server.authcid).to.equal('alice');
      expect(notBytes).to.deep.equal([]);
    });
  });

  describe('helpers', () => {
    it('isScramKeySource: only a non-null object with a getScramSecret method', () => {
      const method = (): undefined => undefined;
      expect(isScramKeySource({ getScramSecret: method })).to.equal(true);
      for (const value of [
        null,
        undefined,
        'getScramSecret',
        42,
        {},
        { getScramSecret: 'x' },
        Object.assign(() => undefined, { getScramSecret: method }),
      ])
        expect(isScramKeySource(value), typeof value).to.equal(false);
    });

    it('scramHmac takes text as UTF-8 and bytes as they are; unknown hashes are USAGE errors', () => {
      const k = key(8);
      expect(toBase64(scramHmac('SHA-256', k, 'Client Key'))).to.equal(
        toBase64(scramHmac('SHA-256', k, new TextEncoder().encode('Client Key'))),
      );
      expect(toBase64(scramHmac('SHA-1', k, '\u00E4'))).to.equal(toBase64(scramHmac('SHA-1', k, b('\u00E4'))));
      expect(scramHmac('SHA-512', k, 'x')).to.have.length(64);
      expect(scramH('SHA-1', k)).to.have.length(20);
      expectSaslError(() => scramHmac('MD5' as never, k, 'x'), 'USAGE');
      expectSaslError(() => scramH('SHA-384' as never, k), 'USAGE');
    });
  });
});
