import { expect } from 'chai';
import {
  type AsyncPasswordHasher,
  ClearIdentity,
  CleartextHasher,
  HashedIdentity,
  PLAIN,
  type PasswordHasher,
  Pbkdf2Hasher,
  PlainCredentials,
  PromiseServerSession,
  ScryptHasher,
  SyncServerSession,
  UsageError,
  configureKdfPool,
  kdfPoolStatus,
  noprep,
} from '../../lib/index.js';
import { b, expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';

const fast = new Pbkdf2Hasher({ rounds: 1000 });
const PYSASL_VECTOR = '$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0=';

/** An async-only hasher, as an argon2 or bcrypt binding would be (scrypt underneath). */
function asyncOnly(): AsyncPasswordHasher & { calls: number } {
  const inner = new ScryptHasher({ ln: 4 });
  return {
    calls: 0,
    hashAsync(secret) {
      this.calls++;
      return inner.hashAsync(secret);
    },
    verifyAsync(secret, hashed) {
      this.calls++;
      return inner.verifyAsync(secret, hashed);
    },
  };
}

describe('identity', () => {
  describe('ClearIdentity', () => {
    const alice = new ClearIdentity('alice', 'alice-pass');

    it("has pysasl's surface: authcid, compareAuthcid, compareSecret, getClearSecret", () => {
      expect(alice.authcid).to.equal('alice');
      expect(alice.compareAuthcid('alice')).to.equal(true);
      expect(alice.compareAuthcid('Alice')).to.equal(false);
      expect(alice.compareAuthcid('alic')).to.equal(false);
      expect(alice.compareSecret('alice-pass')).to.equal(true);
      expect(alice.compareSecret('alice-pas')).to.equal(false);
      expect(alice.getClearSecret()).to.equal('alice-pass');
    });

    it('prepares both sides with SASLprep', () => {
      expect(alice.compareAuthcid('al\u00ADice')).to.equal(true);
      expect(alice.compareSecret('alice-\u00ADpass')).to.equal(true);
      const stored = new ClearIdentity('\u2168', 'I\u00ADX');
      expect(stored.compareAuthcid('IX')).to.equal(true);
      expect(stored.compareSecret('\u2168')).to.equal(true);
      // The clear secret is returned as stored, not prepared (pysasl does the same).
      expect(stored.getClearSecret()).to.equal('I\u00ADX');
    });

    it('checks the bidi rule on the prepared string (pysasl rejects this valid name)', () => {
      const arabic = new ClearIdentity('\u00AD\u0627\u0628', 'secret');
      expect(arabic.compareAuthcid('\u0627\u0628')).to.equal(true);
      expect(arabic.compareAuthcid('\u0627\u0628\u200D')).to.equal(true);
    });

    it('fails closed: presented strings SASLprep refuses compare false instead of throwing (pysasl raises)', () => {
      for (const bad of ['alice\u0007', '\u0627a\u0628', '\u0627\u0031', 'a\uE000', '\uD800']) {
        expect(alice.compareAuthcid(bad)).to.equal(false);
        expect(alice.compareSecret(bad)).to.equal(false);
      }
      expect(alice.compareSecret(undefined as never)).to.equal(false);
      expect(alice.compareAuthcid(42 as never)).to.equal(false);
    });

    it('never matches an empty prepared password or user name', () => {
      const empty = new ClearIdentity('\u00AD', '\u00AD');
      expect(empty.compareAuthcid('')).to.equal(false);
      expect(empty.compareAuthcid('\u00AD')).to.equal(false);
      expect(empty.compareSecret('')).to.equal(false);
      expect(empty.compareSecret('\u00AD')).to.equal(false);
      expect(alice.compareSecret('\u00AD')).to.equal(false);
    });

    it('uses the stored profile for stored strings and the query profile for presented ones', () => {
      // U+0221 is unassigned in Unicode 3.2: fine in what a user types, refused in a store.
      const stored = new ClearIdentity('user\u0221', 'pass\u0221');
      expect(stored.compareAuthcid('user\u0221')).to.equal(false);
      expect(stored.compareSecret('pass\u0221')).to.equal(false);
      const plain = new ClearIdentity('user', 'pass');
      expect(plain.compareAuthcid('user\u0221')).to.equal(false);
      // With noprep, such strings are compared exactly.
      const raw = new ClearIdentity('user\u0221', 'pass\u{1F511}', { prepare: noprep });
      expect(raw.compareAuthcid('user\u0221')).to.equal(true);
      expect(raw.compareSecret('pass\u{1F511}')).to.equal(true);
      expect(raw.compareAuthcid('user\u00AD\u0221')).to.equal(false);
    });

    it('uses a custom preparation on both sides, and fails closed when it throws or misbehaves', () => {
      const lower = new ClearIdentity('Alice', 'Pass', { prepare: (text) => text.toLowerCase() });
      expect(lower.compareAuthcid('ALICE')).to.equal(true);
      expect(lower.compareSecret('pASS')).to.equal(true);
      const throwing = new ClearIdentity('alice', 'pass', {
        prepare: (text) => {
          if (text === 'boom') throw new Error('boom');
          return text;
        },
      });
      expect(throwing.compareSecret('boom')).to.equal(false);
      expect(throwing.compareSecret('pass')).to.equal(true);
      const broken = new ClearIdentity('alice', 'pass', { prepare: () => undefined as never });
      expect(broken.compareAuthcid('alice')).to.equal(false);
      expect(broken.compareSecret('pass')).to.equal(false);
    });

    it('does not let a lone surrogate match U+FFFD under noprep', () => {
      const raw = new ClearIdentity('u', '\uFFFD', { prepare: noprep });
      expect(raw.compareSecret('\uD800')).to.equal(false);
      expect(raw.compareSecret('\uFFFD')).to.equal(true);
    });
  });

  describe('HashedIdentity', () => {
    it('create() prepares and hashes the secret (pysasl HashedIdentity.create)', () => {
      const bob = HashedIdentity.create('bob', 'bob-\u00ADpass', fast);
      expect(bob.authcid).to.equal('bob');
      expect(bob.hasher).to.equal(fast);
      expect(fast.verify('bob-pass', bob.digest)).to.equal(true);
      expect(bob.compareAuthcid('bob')).to.equal(true);
      expect(bob.compareSecret('bob-pass')).to.equal(true);
      expect(bob.compareSecret('bob-\u200Dpass')).to.equal(true);
      expect(bob.compareSecret('bob-pas')).to.equal(false);
      expect(bob.getClearSecret()).to.equal(undefined);
    });

    it('verifies a stored pysasl string, detecting the hasher when none is given', async () => {
      const carol = new HashedIdentity('carol', PYSASL_VECTOR);
      expect(carol.hasher).to.be.instanceOf(Pbkdf2Hasher);
      expect(carol.digest).to.equal(PYSASL_VECTOR);
      expect(carol.compareSecret('password')).to.equal(true);
      expect(await carol.compareSecretAsync('password')).to.equal(true);
      expect(await carol.compareSecretAsync('passw0rd')).to.equal(false);
    });

    it('refuses an unrecognised digest without a hasher, and an object that is not a hasher', () => {
      const unknown = expectSaslError(() => new HashedIdentity('dave', '{SSHA}abc'), 'USAGE');
      expect(unknown.message).to.not.include('abc');
      expectSaslError(() => new HashedIdentity('dave', 42 as never), 'USAGE');
      expectSaslError(() => new HashedIdentity('dave', 'x', {} as never), 'USAGE');
      expectSaslError(() => new HashedIdentity('dave', 'x', null as never), 'USAGE');
    });

    it('gives the clear secret back only with CleartextHasher', () => {
      const clear = HashedIdentity.create('erin', 'p\u00E4ss', new CleartextHasher());
      expect(clear.getClearSecret()).to.equal('p\u00E4ss');
      expect(clear.compareSecret('p\u00E4ss')).to.equal(true);
    });

    it('refuses to create an identity whose secret cannot be stored', async () => {
      for (const secret of ['', '\u00AD', 'bell\u0007', 'key\u{1F511}']) {
        expectSaslError(() => HashedIdentity.create('frank', secret, fast), 'USAGE');
        await expectSaslRejection(HashedIdentity.createAsync('frank', secret, fast), 'USAGE');
      }
      expect(
        HashedIdentity.create('frank', 'key\u{1F511}', fast, { prepare: noprep }).compareSecret('key\u{1F511}'),
      ).to.equal(true);
    });

    it('createAsync hashes on the thread pool, or falls back to hash', async () => {
      const pooled = await HashedIdentity.createAsync('gina', 'gina-pass', fast);
      expect(pooled.compareSecret('gina-pass')).to.equal(true);
      const clear = await HashedIdentity.createAsync('gina', 'gina-pass', new CleartextHasher());
      expect(clear.digest).to.equal('gina-pass');
      await expectSaslRejection(HashedIdentity.createAsync('gina', 'x', { verify: () => false } as never), 'USAGE');
    });

    it('fails closed when presented strings cannot be prepared', async () => {
      const hank = HashedIdentity.create('hank', 'hank-pass', fast);
      expect(hank.compareSecret('bad\u0007')).to.equal(false);
      expect(hank.compareSecret('')).to.equal(false);
      expect(await hank.compareSecretAsync('bad\u0007')).to.equal(false);
      expect(await hank.compareSecretAsync('\u00AD')).to.equal(false);
      expect(hank.compareAuthcid('hank\u0007')).to.equal(false);
    });

    it('fails closed when the hasher throws, rejects, or answers something other than true', async () => {
      const throwing: PasswordHasher = {
        hash: () => 'x',
        verify: () => {
          throw new Error('boom');
        },
        hashAsync: () => Promise.resolve('x'),
        verifyAsync: () => Promise.reject(new Error('boom')),
      };
      const identity = new HashedIdentity('ivan', 'x', throwing);
      expect(identity.compareSecret('pass')).to.equal(false);
      expect(await identity.compareSecretAsync('pass')).to.equal(false);
      const truthy = new HashedIdentity('ivan', 'x', { hash: () => 'x', verify: () => 1 as never });
      expect(truthy.compareSecret('pass')).to.equal(false);
      expect(await truthy.compareSecretAsync('pass')).to.equal(false);
    });

    it('refuses a verify that returns a promise (a misnamed async verifier) with a UsageError, never a match', async () => {
      const misnamed = new HashedIdentity('judy', 'x', {
        hash: () => 'x',
        verify: (() => Promise.resolve(true)) as never,
      });
      const error = expectSaslError(() => misnamed.compareSecret('pass'), 'USAGE');
      expect(error.message).to.match(/verifyAsync/);
      const rejecting = new HashedIdentity('judy', 'x', {
        hash: () => 'x',
        verify: (() => Promise.reject(new Error('no'))) as never,
      });
      expectSaslError(() => rejecting.compareSecret('pass'), 'USAGE');
      // On the async path the promise is simply awaited.
      expect(await misnamed.compareSecretAsync('pass')).to.equal(true);
    });

    describe('async-only hasher (argon2/bcrypt style)', () => {
      it('works through compareSecretAsync and createAsync', async () => {
        const hasher = asyncOnly();
        const kim = await HashedIdentity.createAsync('kim', 'kim-pass', hasher);
        expect(await kim.compareSecretAsync('kim-pass')).to.equal(true);
        expect(await kim.compareSecretAsync('kim-pas')).to.equal(false);
        expect(hasher.calls).to.equal(3);
        expect(kim.getClearSecret()).to.equal(undefined);
      });

      it('is a UsageError, not a false, on the sync paths', async () => {
        const hasher = asyncOnly();
        const kim = await HashedIdentity.createAsync('kim', 'kim-pass', hasher);
        const error = expectSaslError(() => kim.compareSecret('kim-pass'), 'USAGE');
        expect(error).to.be.instanceOf(UsageError);
        expect(error.message).to.match(/async-only/);
        expectSaslError(() => HashedIdentity.create('kim', 'kim-pass', hasher), 'USAGE');
        expectSaslError(() => new PlainCredentials('kim', 'kim-pass').verify(kim), 'USAGE');
        expect(await new PlainCredentials('kim', 'kim-pass').verifyAsync(kim)).to.equal(true);
      });

      it('is a UsageError under the sync driver and authenticates under the promise driver', async () => {
        const kim = await HashedIdentity.createAsync('kim', 'kim-pass', asyncOnly());
        const options = { lookup: storeOf(kim) };
        expectSaslError(() => new SyncServerSession(PLAIN.server(options, b('\0kim\0kim-pass'))).start(), 'USAGE');
        const step = await new PromiseServerSession(PLAIN.server(options, b('\0kim\0kim-pass'))).start();
        expect(step.done && step.outcome.authcid).to.equal('kim');
        await expectSaslRejection(
          new PromiseServerSession(PLAIN.server(options, b('\0kim\0wrong'))).start(),
          'AUTHENTICATION_FAILED',
        );
      });
    });

    it('reports a full KDF pool as LIMIT_EXCEEDED, not as a wrong password', async () => {
      const before = kdfPoolStatus();
      const mia = HashedIdentity.create('mia', 'mia-pass', fast);
      configureKdfPool({ concurrency: 1, maxQueued: 0 });
      try {
        const first = mia.compareSecretAsync('mia-pass');
        const second = mia.compareSecretAsync('mia-pass');
        const refused = await second.then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).to.have.property('code', 'LIMIT_EXCEEDED');
        expect(String(refused)).not.to.include('mia-pass');
        expect(await first).to.equal(true);
        const options = { lookup: storeOf(mia) };
        const running = new PromiseServerSession(PLAIN.server(options, b('\0mia\0mia-pass'))).start();
        await expectSaslRejection(
          new PromiseServerSession(PLAIN.server(options, b('\0mia\0mia-pass'))).start(),
          'LIMIT_EXCEEDED',
        );
        const step = await running;
        expect(step.done && step.outcome.authcid).to.equal('mia');
      } finally {
        configureKdfPool({ concurrency: before.concurrency, maxQueued: before.maxQueued });
      }
    });

    it('works with scrypt and both drivers', async () => {
      const lee = HashedIdentity.create('lee', 'lee-pass', new ScryptHasher({ ln: 4 }));
      const options = { lookup: storeOf(lee) };
      const sync = new SyncServerSession(PLAIN.server(options, b('\0lee\0lee-pass'))).start();
      expect(sync.done && sync.outcome.identity).to.equal(lee);
      const step = await new PromiseServerSession(PLAIN.server(options, b('\0lee\0lee-pass'))).start();
      expect(step.done).to.equal(true);
    });
  });
});
