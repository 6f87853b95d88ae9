// hashing.ts checks pinned after the StrykerJS run on lib/hashing.ts (issue 11; see mutation/RESULTS.md,
// fifth pass): each case pins one limit or field check on its own.
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  CleartextHasher,
  DEFAULT_MAX_PBKDF2_ROUNDS,
  DEFAULT_MAX_SCRYPT_MEMORY,
  DovecotPbkdf2Hasher,
  Pbkdf2Hasher,
  ScryptHasher,
  nodeCryptoProvider,
  setCryptoProvider,
} from '../../lib/index.js';
import { expectSaslError, expectSaslRejection } from '../support/helpers.js';

const PYSASL_VECTOR = '$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0=';
const DOVECOT_CAROL = '$1$7YCyIYrURUIEdIc.$5000$47edd2bab15734050989263a48c0b63bb0539f4d';
/** What OpenSSL's scrypt needs for these parameters, in bytes: 128·r·(N + p + 2). */
const scryptMemory = (ln: number, r: number, p: number): number => 128 * r * (2 ** ln + p + 2);

describe('hashing checks (each pinned on its own)', () => {
  describe('option limits are inclusive at both ends', () => {
    it('Pbkdf2Hasher: rounds 1 and rounds = maxRounds; maxRounds up to 2^32-1; saltLength 8 to 1024', () => {
      expect(new Pbkdf2Hasher({ rounds: 1 }).rounds).to.equal(1);
      expect(new Pbkdf2Hasher({ rounds: 7, maxRounds: 7 }).options).to.include({ rounds: 7, maxRounds: 7 });
      expect(new Pbkdf2Hasher({ rounds: 1, maxRounds: 1 }).maxRounds).to.equal(1);
      expect(new Pbkdf2Hasher({ maxRounds: 0xffffffff }).maxRounds).to.equal(0xffffffff);
      expect(new Pbkdf2Hasher({ rounds: DEFAULT_MAX_PBKDF2_ROUNDS }).rounds).to.equal(DEFAULT_MAX_PBKDF2_ROUNDS);
      expect(new Pbkdf2Hasher({ saltLength: 8 }).saltLength).to.equal(8);
      expect(new Pbkdf2Hasher({ saltLength: 1024 }).saltLength).to.equal(1024);
      for (const options of [
        { rounds: 8, maxRounds: 7 },
        { maxRounds: 0x100000000 },
        { saltLength: 7 },
        { saltLength: 1025 },
        { rounds: Number.NaN },
        { rounds: Number.POSITIVE_INFINITY },
        { maxRounds: 2 ** 53 },
      ])
        expectSaslError(() => new Pbkdf2Hasher(options), 'USAGE');
    });

    it('DovecotPbkdf2Hasher: rounds 1 and rounds = maxRounds; maxRounds up to 2^32-1', () => {
      expect(new DovecotPbkdf2Hasher({ rounds: 1 }).rounds).to.equal(1);
      expect(new DovecotPbkdf2Hasher({ rounds: 9, maxRounds: 9 }).options).to.deep.equal({ rounds: 9, maxRounds: 9 });
      expect(new DovecotPbkdf2Hasher({ maxRounds: 0xffffffff }).maxRounds).to.equal(0xffffffff);
      for (const options of [{ rounds: 10, maxRounds: 9 }, { maxRounds: 0x100000000 }, { maxRounds: 0 }])
        expectSaslError(() => new DovecotPbkdf2Hasher(options), 'USAGE');
    });

    it('ScryptHasher: ln 1, the work cap 2^24 itself, and maxMemory equal to what the parameters need', () => {
      expect(new ScryptHasher({ ln: 1, r: 1 }).ln).to.equal(1);
      expect(new ScryptHasher({ saltLength: 8 }).saltLength).to.equal(8);
      expect(new ScryptHasher({ saltLength: 1024 }).saltLength).to.equal(1024);
      // N·r·p = 2^24 exactly is allowed; one more doubling is not, whatever the memory cap.
      const atCap = new ScryptHasher({ ln: 21, r: 8, p: 1, maxMemory: 2 ** 40 });
      expect(atCap.options).to.include({ ln: 21, r: 8, p: 1 });
      expect(new ScryptHasher({ ln: 4, r: 1, p: 2 ** 20, maxMemory: 2 ** 40 }).p).to.equal(2 ** 20);
      expectSaslError(() => new ScryptHasher({ ln: 4, r: 1, p: 2 ** 20 + 1, maxMemory: 2 ** 40 }), 'USAGE');
      expectSaslError(() => new ScryptHasher({ ln: 22, r: 8, p: 1, maxMemory: 2 ** 40 }), 'USAGE');
      expectSaslError(() => new ScryptHasher({ ln: 20, r: 1, p: 1, maxMemory: 2 ** 40 }).copy({ ln: 25 }), 'USAGE');
      // The memory cap is inclusive.
      const need = scryptMemory(4, 8, 1);
      expect(new ScryptHasher({ ln: 4, maxMemory: need }).maxMemory).to.equal(need);
      expectSaslError(() => new ScryptHasher({ ln: 4, maxMemory: need - 1 }), 'USAGE');
      expect(new ScryptHasher().maxMemory).to.equal(DEFAULT_MAX_SCRYPT_MEMORY);
      expect(DEFAULT_MAX_SCRYPT_MEMORY).to.equal(256 * 1024 * 1024);
      for (const options of [{ r: 2 ** 24 + 1 }, { p: 2 ** 24 + 1 }, { maxMemory: 2 ** 53 }, { ln: 1.5 }])
        expectSaslError(() => new ScryptHasher(options), 'USAGE');
    });
  });

  describe('stored strings at their limits', () => {
    it('PBKDF2 rounds equal to maxRounds verify; one more does not (sync, async, identify)', async () => {
      const exact = new Pbkdf2Hasher({ rounds: 1000, maxRounds: 1000 });
      const below = new Pbkdf2Hasher({ rounds: 999, maxRounds: 999 });
      expect(exact.verify('password', PYSASL_VECTOR)).to.equal(true);
      expect(await exact.verifyAsync('password', PYSASL_VECTOR)).to.equal(true);
      expect(exact.identify(PYSASL_VECTOR)).to.equal(true);
      expect(below.verify('password', PYSASL_VECTOR)).to.equal(false);
      expect(await below.verifyAsync('password', PYSASL_VECTOR)).to.equal(false);
      expect(below.identify(PYSASL_VECTOR)).to.equal(false);
      // ... and needsRehash treats the refused string as one to replace.
      expect(below.needsRehash(PYSASL_VECTOR)).to.equal(true);
      expect(new Pbkdf2Hasher({ rounds: 1000 }).needsRehash(PYSASL_VECTOR)).to.equal(false);
    });

    it('a PBKDF2 salt of exactly 1024 bytes is read and written, in both flavours', async () => {
      const salt = new Uint8Array(1024).fill(7);
      for (const format of ['pysasl', 'passlib'] as const) {
        const hasher = new Pbkdf2Hasher({ rounds: 2, saltLength: 1024, format });
        const hashed = hasher.hash('pw', salt);
        expect(hasher.verify('pw', hashed), format).to.equal(true);
        expect(await hasher.verifyAsync('pw', hashed), format).to.equal(true);
        expect(hasher.needsRehash(hashed), format).to.equal(false);
        expect(await hasher.hashAsync('pw', salt)).to.equal(hashed);
      }
    });

    it('Dovecot rounds equal to maxRounds verify; one more does not', async () => {
      const exact = new DovecotPbkdf2Hasher({ maxRounds: 5000 });
      const below = new DovecotPbkdf2Hasher({ rounds: 4999, maxRounds: 4999 });
      expect(exact.verify('carol-pass', DOVECOT_CAROL)).to.equal(true);
      expect(await exact.verifyAsync('carol-pass', DOVECOT_CAROL)).to.equal(true);
      expect(below.verify('carol-pass', DOVECOT_CAROL)).to.equal(false);
      expect(await below.verifyAsync('carol-pass', DOVECOT_CAROL)).to.equal(false);
      expect(below.identify(DOVECOT_CAROL)).to.equal(false);
      expect(below.needsRehash(DOVECOT_CAROL)).to.equal(true);
    });

    it('a scrypt string that needs exactly maxMemory verifies; one byte less refuses it', async () => {
      const writer = new ScryptHasher({ ln: 4, r: 2, p: 3 });
      const hashed = writer.hash('pw');
      const need = scryptMemory(4, 2, 3);
      const exact = new ScryptHasher({ ln: 1, r: 1, maxMemory: need });
      const short = new ScryptHasher({ ln: 1, r: 1, maxMemory: need - 1 });
      expect(exact.verify('pw', hashed)).to.equal(true);
      expect(await exact.verifyAsync('pw', hashed)).to.equal(true);
      expect(exact.identify(hashed)).to.equal(true);
      expect(short.verify('pw', hashed)).to.equal(false);
      expect(await short.verifyAsync('pw', hashed)).to.equal(false);
      expect(short.identify(hashed)).to.equal(false);
      expect(writer.verify('pw2', hashed)).to.equal(false);
    });
  });

  describe('stored strings: fields checked one by one', () => {
    it('scrypt parameters are anchored: nothing before ln= and nothing after p=', () => {
      const hasher = new ScryptHasher({ ln: 4 });
      const hashed = hasher.hash('pw');
      expect(hasher.verify('pw', hashed)).to.equal(true);
      for (const params of ['xln=4,r=8,p=1', 'ln=4,r=8,p=1,x', 'ln=4,r=8,p=1 ', ' ln=4,r=8,p=1', 'ln=4,r=8,p=1,p=1']) {
        const bad = hashed.replace('ln=4,r=8,p=1', params);
        expect(hasher.verify('pw', bad), params).to.equal(false);
        expect(hasher.identify(bad), params).to.equal(false);
      }
    });

    it('a scrypt salt of exactly 1024 bytes is read; 1025 bytes is not', async () => {
      const hasher = new ScryptHasher({ ln: 4, saltLength: 1024 });
      const hashed = hasher.hash('pw', new Uint8Array(1024).fill(9));
      expect(hasher.verify('pw', hashed)).to.equal(true);
      expect(await hasher.verifyAsync('pw', hashed)).to.equal(true);
      expect(hasher.needsRehash(hashed)).to.equal(false);
      const fields = hashed.split('$');
      fields[3] = Buffer.alloc(1025, 9).toString('base64').replace(/=+$/, '');
      const longer = fields.join('$');
      expect(hasher.identify(longer)).to.equal(false);
      expect(hasher.verify('pw', longer)).to.equal(false);
      expectSaslError(() => hasher.hash('pw', new Uint8Array(1025)), 'USAGE');
    });

    it('a Dovecot salt with a lone surrogate is refused (it would hash as U+FFFD)', () => {
      const hasher = new DovecotPbkdf2Hasher({ rounds: 10 });
      const replacement = hasher.hash('pw', 'salt\uFFFD');
      expect(hasher.verify('pw', replacement)).to.equal(true);
      const lone = replacement.replace('\uFFFD', '\uD800');
      expect(hasher.verify('pw', lone)).to.equal(false);
      expect(hasher.identify(lone)).to.equal(false);
      expect(hasher.cost(lone)).to.equal(undefined);
    });

    it('the pysasl reading of a password that is only U+200B is empty, and never matches a hash of the empty password', async () => {
      const hasher = new Pbkdf2Hasher({ rounds: 10 });
      const empty = hasher.hash('');
      expect(hasher.verify('', empty)).to.equal(true);
      expect(hasher.verify(' ', empty, '\u200B')).to.equal(false);
      expect(await hasher.verifyAsync(' ', empty, '\u200B')).to.equal(false);
      expect(hasher.verify('  ', empty, '\u200B\u200B')).to.equal(false);
      // The reading is used when it is not empty.
      const word = hasher.hash('ab');
      expect(hasher.verify('a b', word, 'a\u200Bb')).to.equal(true);
      expect(await hasher.verifyAsync('a b', word, 'a\u200Bb')).to.equal(true);
      expect(hasher.verify('a b', word, 'a b')).to.equal(false);
      expect(await hasher.verifyAsync('a b', word)).to.equal(false);
    });

    it('the pysasl reading is a query: it keeps code points unassigned in Unicode 3.2 (U+0221)', async () => {
      const hasher = new Pbkdf2Hasher({ rounds: 10 });
      const pysasl = hasher.hash('a\u0221');
      expect(hasher.verify('a \u0221', pysasl, 'a\u200B\u0221')).to.equal(true);
      expect(await hasher.verifyAsync('a \u0221', pysasl, 'a\u200B\u0221')).to.equal(true);
      // ... but not prohibited ones.
      const control = hasher.hash('a\u0007');
      expect(hasher.verify('a \u0007', control, 'a\u200B\u0007')).to.equal(false);
    });
  });

  describe('stored strings must start with their marker', () => {
    it('text before the leading $ of a PBKDF2 or scrypt string is refused', async () => {
      const pbkdf2 = new Pbkdf2Hasher({ rounds: 10 });
      const scrypt = new ScryptHasher({ ln: 4 });
      for (const [hasher, hashed] of [
        [pbkdf2, pbkdf2.hash('pw')],
        [scrypt, scrypt.hash('pw')],
      ] as const) {
        expect(hasher.verify('pw', hashed)).to.equal(true);
        for (const prefix of ['x', ' ', '{PBKDF2}']) {
          expect(hasher.verify('pw', prefix + hashed), prefix).to.equal(false);
          expect(await hasher.verifyAsync('pw', prefix + hashed), prefix).to.equal(false);
          expect(hasher.identify(prefix + hashed), prefix).to.equal(false);
        }
      }
    });
  });

  describe('a lone surrogate in the presented secret never matches the hash of U+FFFD', () => {
    const hashers = [
      new Pbkdf2Hasher({ rounds: 10 }),
      new DovecotPbkdf2Hasher({ rounds: 10 }),
      new ScryptHasher({ ln: 4 }),
    ];
    for (const hasher of hashers) {
      it(`${hasher.constructor.name}, sync and async`, async () => {
        const replacement = hasher.hash('a\uFFFD');
        expect(hasher.verify('a\uFFFD', replacement)).to.equal(true);
        for (const lone of ['a\uD800', 'a\uDFFF']) {
          expect(hasher.verify(lone, replacement)).to.equal(false);
          expect(await hasher.verifyAsync(lone, replacement)).to.equal(false);
        }
      });
    }
  });

  describe('a crypto provider without scrypt', () => {
    afterEach(() => {
      setCryptoProvider(undefined);
    });

    it('makes scrypt a USAGE error, sync and async; PBKDF2 still works', async () => {
      const sync = nodeCryptoProvider.sync;
      if (sync === undefined) throw new Error('node:crypto has sync forms');
      setCryptoProvider({
        ...nodeCryptoProvider,
        name: 'no-scrypt',
        sync: {
          hash: (digest, data) => sync.hash(digest, data),
          hmac: (digest, k, data) => sync.hmac(digest, k, data),
          pbkdf2: (digest, password, salt, iterations, length) =>
            sync.pbkdf2(digest, password, salt, iterations, length),
        },
        scrypt: undefined,
      });
      const hasher = new ScryptHasher({ ln: 4 });
      expectSaslError(() => hasher.hash('pw'), 'USAGE');
      await expectSaslRejection(hasher.hashAsync('pw'), 'USAGE');
      expect(new Pbkdf2Hasher({ rounds: 10 }).verify('pw', new Pbkdf2Hasher({ rounds: 10 }).hash('pw'))).to.equal(true);
    });
  });

  describe('cost(): read without the caps', () => {
    it('PBKDF2: the rounds, above maxRounds too; undefined for other strings', () => {
      const hasher = new Pbkdf2Hasher({ rounds: 1, maxRounds: 1 });
      expect(hasher.cost(PYSASL_VECTOR)).to.equal(1000);
      expect(hasher.cost(PYSASL_VECTOR.replace('$1000$', '$4294967295$'))).to.equal(4294967295);
      expect(hasher.cost(DOVECOT_CAROL)).to.equal(undefined);
      expect(hasher.cost(42 as never)).to.equal(undefined);
    });

    it('Dovecot: the rounds, above maxRounds too; undefined for other strings', () => {
      const hasher = new DovecotPbkdf2Hasher({ rounds: 1, maxRounds: 1 });
      expect(hasher.cost(DOVECOT_CAROL)).to.equal(5000);
      expect(hasher.cost(`{PBKDF2}${DOVECOT_CAROL.replace('$5000$', '$9999999999$')}`)).to.equal(9999999999);
      expect(hasher.cost(PYSASL_VECTOR)).to.equal(undefined);
    });

    it('scrypt: N·r·p, above the caps too; undefined for anything else', () => {
      const hasher = new ScryptHasher({ ln: 4 });
      const hashed = hasher.hash('pw');
      expect(hasher.cost(hashed)).to.equal(16 * 8 * 1);
      expect(hasher.cost(hashed.replace('ln=4,r=8,p=1', 'ln=31,r=1000,p=3'))).to.equal(2 ** 31 * 1000 * 3);
      expect(hasher.cost(hashed.replace('ln=4,r=8,p=1', 'ln=10,r=2,p=5'))).to.equal(1024 * 2 * 5);
      expect(hasher.cost(hashed.replace('ln=4,r=8,p=1', 'ln=12,r=16,p=10'))).to.equal(4096 * 16 * 10);
      expect(hasher.cost(hashed.replace('ln=4,r=8,p=1', 'ln=1,r=1234567890,p=1234567890'))).to.equal(
        2 * 1234567890 * 1234567890,
      );
      for (const other of [
        PYSASL_VECTOR,
        hashed.replace('ln=4,r=8,p=1', 'ln=0,r=8,p=1'),
        hashed.replace('ln=4,r=8,p=1', 'ln=100,r=8,p=1'),
        hashed.replace('ln=4,r=8,p=1', 'ln=4,r=08,p=1'),
        hashed.replace('ln=4,r=8,p=1', 'ln=4,r=8,p=0'),
        hashed.replace('ln=4,r=8,p=1', 'ln=4,r=12345678901,p=1'),
        hashed.replace('ln=4,r=8,p=1', 'ln=4,r=8,p=12345678901'),
        hashed.replace('ln=4,r=8,p=1', 'r=8,ln=4,p=1'),
        `x${hashed}`,
        hashed.replace('$scrypt$', '$scrypt2$'),
        hashed.replace('ln=4,r=8,p=1$', 'ln=4,r=8,p=1,x=2$'),
        42 as never,
        // Not a string, though its text form is one: cost() reads strings only, as verify() does.
        [hashed] as never,
        { toString: () => hashed } as never,
      ])
        expect(hasher.cost(other), other).to.equal(undefined);
    });
  });

  describe('names in inspect output', () => {
    it('every hasher is inspected under its own name with its options', () => {
      expect(inspect(new Pbkdf2Hasher({ rounds: 1234 })))
        .to.match(/^Pbkdf2Hasher/)
        .and.include('1234');
      expect(inspect(new DovecotPbkdf2Hasher({ rounds: 4321 })))
        .to.match(/^DovecotPbkdf2Hasher/)
        .and.include('4321');
      expect(inspect(new ScryptHasher({ ln: 5 })))
        .to.match(/^ScryptHasher/)
        .and.include('ln');
      expect(inspect(new CleartextHasher())).to.equal('CleartextHasher {}');
      expect(new CleartextHasher().toJSON()).to.deep.equal({ type: 'CleartextHasher' });
      expect(new Pbkdf2Hasher({ rounds: 5 }).toJSON()).to.deep.include({ type: 'Pbkdf2Hasher', rounds: 5 });
      expect(new DovecotPbkdf2Hasher({ rounds: 5 }).toJSON()).to.deep.equal({
        type: 'DovecotPbkdf2Hasher',
        rounds: 5,
        maxRounds: DEFAULT_MAX_PBKDF2_ROUNDS,
      });
      expect(new ScryptHasher({ ln: 5 }).toJSON()).to.deep.include({ type: 'ScryptHasher', ln: 5 });
    });
  });
});
