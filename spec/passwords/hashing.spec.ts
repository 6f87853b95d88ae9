import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AsyncPasswordHasher,
  CleartextHasher,
  DEFAULT_MAX_PBKDF2_ROUNDS,
  DOVECOT_PBKDF2_ROUNDS,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  type PasswordHasher,
  Pbkdf2Hasher,
  ScryptHasher,
  type SyncPasswordHasher,
  UsageError,
  ClientCredentials,
  PLAIN,
  detectHasher,
  noprep,
  saslprep,
} from '../../lib/index.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { expectNoSecrets, expectSaslError, expectSaslRejection, runPair } from '../support/helpers.js';

interface PasslibFixture {
  readonly passlib: string;
  readonly pbkdf2: readonly {
    scheme: string;
    digest: 'sha1' | 'sha256' | 'sha512';
    secret: string;
    rounds: number;
    saltHex: string;
    hash: string;
  }[];
  readonly scrypt: readonly { secret: string; ln: number; r: number; p: number; saltHex: string; hash: string }[];
  readonly pysaslReadByPasslib: readonly {
    scheme: string;
    secret: string;
    hash: string;
    passlibVerifies: boolean;
    passlibRejectsWrongSecret: boolean;
  }[];
}

const PASSLIB = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'hashes', 'passlib.json'), 'utf8'),
) as PasslibFixture;
const hex = (text: string): Uint8Array => Buffer.from(text, 'hex');
const b64 = (text: string): Uint8Array => Buffer.from(text, 'base64');

// pysasl's own test vector (tests of pysasl 1.2.0).
const PYSASL_SALT = 'bzstsT0hfnnXDUPTJqbkhQ==';
const PYSASL_VECTOR = '$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0=';

// Made with Dovecot 2.3.19 `doveadm pw -s PBKDF2 -p PASSWORD` (erin: `-r 20000`).
const DOVEADM = {
  carol: {
    secret: 'carol-pass',
    salt: '7YCyIYrURUIEdIc.',
    stored: '{PBKDF2}$1$7YCyIYrURUIEdIc.$5000$47edd2bab15734050989263a48c0b63bb0539f4d',
  },
  erin: {
    secret: 'p\u00E4ssw\u00F6rd',
    salt: '/XUH.Kjx2VeDUex8',
    stored: '{PBKDF2}$1$/XUH.Kjx2VeDUex8$20000$6fe9ed3304bf13618e4d5108b2c5d02e03cdadf2',
  },
} as const;
const unprefixed = (stored: string): string => stored.slice('{PBKDF2}'.length);

describe('hashing', () => {
  describe('Pbkdf2Hasher', () => {
    const fast = new Pbkdf2Hasher({ rounds: 1000 });

    it('writes and verifies the pysasl test vector', async () => {
      expect(fast.hash('password', b64(PYSASL_SALT))).to.equal(PYSASL_VECTOR);
      expect(await fast.hashAsync('password', b64(PYSASL_SALT))).to.equal(PYSASL_VECTOR);
      expect(fast.verify('password', PYSASL_VECTOR)).to.equal(true);
      expect(await fast.verifyAsync('password', PYSASL_VECTOR)).to.equal(true);
      expect(fast.verify('Password', PYSASL_VECTOR)).to.equal(false);
      expect(await fast.verifyAsync('Password', PYSASL_VECTOR)).to.equal(false);
    });

    it('has pysasl defaults: sha256, 500,000 rounds, 16-byte salt, pysasl format', () => {
      expect(new Pbkdf2Hasher().options).to.deep.equal({
        digest: 'sha256',
        rounds: 500_000,
        saltLength: 16,
        format: 'pysasl',
        maxRounds: DEFAULT_MAX_PBKDF2_ROUNDS,
      });
    });

    for (const [digest, ident, saltChars, dkChars] of [
      ['sha1', 'pbkdf2', 24, 28],
      ['sha256', 'pbkdf2-sha256', 24, 44],
      ['sha512', 'pbkdf2-sha512', 24, 88],
    ] as const) {
      it(`writes ${ident} strings with a random salt in both formats`, async () => {
        const hasher = new Pbkdf2Hasher({ digest, rounds: 1000 });
        const hashed = hasher.hash('pencil');
        const [empty, id, rounds, salt, dk, ...rest] = hashed.split('$');
        expect([empty, id, rounds, rest.length]).to.deep.equal(['', ident, '1000', 0]);
        expect(salt).to.have.length(saltChars);
        expect(dk).to.have.length(dkChars);
        expect(hasher.hash('pencil')).to.not.equal(hashed);
        expect(hasher.verify('pencil', hashed)).to.equal(true);
        const passlib = hasher.copy({ format: 'passlib' });
        const adapted = await passlib.hashAsync('pencil');
        expect(adapted).to.not.match(/[=+]/);
        expect(adapted.split('$')[3]).to.have.length(22);
        expect(fast.verify('pencil', adapted)).to.equal(true);
        expect(await fast.verifyAsync('pencil', adapted)).to.equal(true);
      });
    }

    it('takes digest, rounds and salt from the stored string, not from its options', () => {
      const sha512 = new Pbkdf2Hasher({ digest: 'sha512', rounds: 1234, saltLength: 32 }).hash('x');
      expect(new Pbkdf2Hasher({ digest: 'sha1', rounds: 1 }).verify('x', sha512)).to.equal(true);
    });

    it('copies with overrides (pysasl copy) and reports when a hash needs upgrading', () => {
      const copy = fast.copy({ digest: 'sha512' });
      expect(copy).to.be.instanceOf(Pbkdf2Hasher);
      expect(copy.options).to.include({ digest: 'sha512', rounds: 1000 });
      expect(fast.copy().options).to.deep.equal(fast.options);
      const current = fast.hash('x');
      expect(fast.needsRehash(current)).to.equal(false);
      expect(fast.copy({ rounds: 2000 }).needsRehash(current)).to.equal(true);
      expect(fast.copy({ digest: 'sha1' }).needsRehash(current)).to.equal(true);
      expect(fast.copy({ saltLength: 32 }).needsRehash(current)).to.equal(true);
      expect(fast.copy({ format: 'passlib' }).needsRehash(current)).to.equal(true);
      expect(fast.needsRehash('$scrypt$ln=4,r=8,p=1$$')).to.equal(true);
    });

    it('identifies its strings', () => {
      expect(fast.identify(PYSASL_VECTOR)).to.equal(true);
      expect(fast.identify('$scrypt$ln=1,r=1,p=1$$')).to.equal(false);
    });

    it('refuses bad options with a UsageError', () => {
      const bad: unknown[] = [
        { digest: 'md5' },
        { format: 'hex' },
        { rounds: 0 },
        { rounds: 1.5 },
        { rounds: DEFAULT_MAX_PBKDF2_ROUNDS + 1 },
        { rounds: 10, maxRounds: 5 },
        { saltLength: 4 },
        { saltLength: 2048 },
        { maxRounds: 0 },
      ];
      for (const options of bad) expectSaslError(() => new Pbkdf2Hasher(options as never), 'USAGE');
    });

    it('refuses a salt that is not bytes, and a secret that is not well-formed', async () => {
      expectSaslError(() => fast.hash('x', 'salt' as never), 'USAGE');
      expectSaslError(() => fast.hash('x', new Uint8Array(1025)), 'USAGE');
      expectSaslError(() => fast.hash('\uD800'), 'USAGE');
      expectSaslError(() => fast.hash(42 as never), 'USAGE');
      await expectSaslRejection(fast.hashAsync('\uDC00x'), 'USAGE');
      // U+FFFD is what a lone surrogate would become in UTF-8; they must not be interchangeable.
      const replacement = fast.hash('\uFFFD');
      expect(fast.verify('\uD800', replacement)).to.equal(false);
      expect(await fast.verifyAsync('\uD800', replacement)).to.equal(false);
      expect(fast.verify(undefined as never, replacement)).to.equal(false);
    });
  });

  describe('passlib fixtures (generated by passlib ' + PASSLIB.passlib + ')', () => {
    const reader = new Pbkdf2Hasher({ rounds: 1000 });

    for (const entry of PASSLIB.pbkdf2) {
      it(`${entry.scheme} ${JSON.stringify(entry.secret)} salt ${entry.saltHex.length / 2} bytes: verifies, and writes the same string`, async () => {
        expect(reader.verify(entry.secret, entry.hash)).to.equal(true);
        expect(await reader.verifyAsync(entry.secret, entry.hash)).to.equal(true);
        expect(reader.verify(entry.secret + 'x', entry.hash)).to.equal(false);
        const writer = new Pbkdf2Hasher({ digest: entry.digest, rounds: entry.rounds, format: 'passlib' });
        expect(writer.hash(entry.secret, hex(entry.saltHex))).to.equal(entry.hash);
        const detected = detectHasher(entry.hash);
        expect(detected).to.be.instanceOf(Pbkdf2Hasher);
        expect((detected as Pbkdf2Hasher).options).to.include({
          digest: entry.digest,
          rounds: entry.rounds,
          format: 'passlib',
        });
      });
    }

    for (const entry of PASSLIB.pysaslReadByPasslib) {
      it(`pysasl-format ${entry.scheme} ${JSON.stringify(entry.secret)}: passlib verified it, and so do we`, () => {
        expect(entry.passlibVerifies).to.equal(true);
        expect(entry.passlibRejectsWrongSecret).to.equal(true);
        expect(reader.verify(entry.secret, entry.hash)).to.equal(true);
        expect((detectHasher(entry.hash) as Pbkdf2Hasher).format).to.equal('pysasl');
      });
    }

    for (const entry of PASSLIB.scrypt) {
      it(`scrypt ln=${entry.ln},r=${entry.r},p=${entry.p} ${JSON.stringify(entry.secret)}: verifies, and writes the same string`, async () => {
        const hasher = new ScryptHasher({ ln: entry.ln, r: entry.r, p: entry.p });
        expect(hasher.hash(entry.secret, hex(entry.saltHex))).to.equal(entry.hash);
        expect(await hasher.hashAsync(entry.secret, hex(entry.saltHex))).to.equal(entry.hash);
        const reader = new ScryptHasher();
        expect(reader.verify(entry.secret, entry.hash)).to.equal(true);
        expect(await reader.verifyAsync(entry.secret, entry.hash)).to.equal(true);
        expect(reader.verify(entry.secret + 'x', entry.hash)).to.equal(false);
        expect(await reader.verifyAsync(entry.secret + 'x', entry.hash)).to.equal(false);
        const detected = detectHasher(entry.hash);
        expect(detected).to.be.instanceOf(ScryptHasher);
        expect((detected as ScryptHasher).options).to.include({ ln: entry.ln, r: entry.r, p: entry.p });
      });
    }
  });

  describe('ScryptHasher', () => {
    it('has passlib-like defaults (ln=15, r=8, p=1, 16-byte salt) that work within node:crypto limits', async () => {
      const hasher = new ScryptHasher();
      expect(hasher.options).to.include({ ln: 15, r: 8, p: 1, saltLength: 16 });
      const hashed = await hasher.hashAsync('correct horse');
      expect(hashed).to.match(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
      expect(await hasher.verifyAsync('correct horse', hashed)).to.equal(true);
      expect(hasher.verify('correct horse', hashed)).to.equal(true);
    });

    it('copies with overrides and reports when a hash needs upgrading', () => {
      const hasher = new ScryptHasher({ ln: 4 });
      const hashed = hasher.hash('x');
      expect(hasher.copy().options).to.deep.equal(hasher.options);
      expect(hasher.needsRehash(hashed)).to.equal(false);
      expect(hasher.copy({ ln: 5 }).needsRehash(hashed)).to.equal(true);
      expect(hasher.copy({ r: 4 }).needsRehash(hashed)).to.equal(true);
      expect(hasher.copy({ p: 2 }).needsRehash(hashed)).to.equal(true);
      expect(hasher.copy({ saltLength: 8 }).needsRehash(hashed)).to.equal(true);
      expect(hasher.needsRehash(PYSASL_VECTOR)).to.equal(true);
      expect(hasher.identify(hashed)).to.equal(true);
      expect(hasher.identify(PYSASL_VECTOR)).to.equal(false);
    });

    it('refuses parameters over its memory and work caps', () => {
      for (const options of [
        { ln: 0 },
        { ln: 32 },
        { r: 0 },
        { p: 0 },
        { ln: 22 },
        { ln: 22, r: 8, p: 1, maxMemory: 2 ** 40 },
        { saltLength: 7 },
        { maxMemory: 0 },
      ]) {
        expectSaslError(() => new ScryptHasher(options), 'USAGE');
      }
      expectSaslError(() => new ScryptHasher().hash('\uD800'), 'USAGE');
      // ln=18 with r=8 needs 256 MiB plus a little: over the default cap, fine with a larger one.
      expectSaslError(() => new ScryptHasher({ ln: 18 }), 'USAGE');
      expect(new ScryptHasher({ ln: 18, maxMemory: 2 ** 29 }).ln).to.equal(18);
    });
  });

  describe('CleartextHasher', () => {
    const clear = new CleartextHasher();

    it('stores the secret as it is and compares UTF-8 bytes (non-ASCII works, unlike pysasl)', () => {
      expect(clear.hash('p\u00E4ss')).to.equal('p\u00E4ss');
      expect(clear.verify('p\u00E4ss', 'p\u00E4ss')).to.equal(true);
      expect(clear.verify('p\u00E4ss', 'pass')).to.equal(false);
      expect(clear.verify('', 'x')).to.equal(false);
      expect(clear.clearSecret('p\u00E4ss')).to.equal('p\u00E4ss');
    });

    it('refuses lone surrogates on either side and non-strings', () => {
      expectSaslError(() => clear.hash('\uD800'), 'USAGE');
      expect(clear.verify('\uD800', '\uFFFD')).to.equal(false);
      expect(clear.verify('\uFFFD', '\uD800')).to.equal(false);
      expect(clear.verify(undefined as never, 'x')).to.equal(false);
    });

    it('copies (pysasl copy), like the other hashers', () => {
      const copy = clear.copy();
      expect(copy).to.be.instanceOf(CleartextHasher);
      expect(copy).to.not.equal(clear);
      expect(copy.hash('p\u00E4ss')).to.equal('p\u00E4ss');
      expect(copy.verify('p\u00E4ss', 'p\u00E4ss')).to.equal(true);
    });
  });

  it('every built-in hasher has copy(), which keeps its options', () => {
    const hashers = [
      new Pbkdf2Hasher({ rounds: 1000 }),
      new DovecotPbkdf2Hasher({ rounds: 2000 }),
      new ScryptHasher({ ln: 4 }),
      new CleartextHasher(),
    ];
    for (const hasher of hashers) {
      const copy = (hasher as { copy?: () => unknown }).copy?.();
      expect(copy, hasher.constructor.name).to.be.instanceOf(hasher.constructor);
      expect(JSON.stringify(copy)).to.equal(JSON.stringify(hasher));
    }
    expect(new DovecotPbkdf2Hasher().copy({ rounds: 7 }).options).to.deep.equal({
      rounds: 7,
      maxRounds: DEFAULT_MAX_PBKDF2_ROUNDS,
    });
  });

  describe('DovecotPbkdf2Hasher', () => {
    const hasher = new DovecotPbkdf2Hasher();

    it('verifies doveadm strings with and without the {PBKDF2} prefix, sync and async', async () => {
      for (const { secret, stored } of Object.values(DOVEADM)) {
        for (const hashed of [stored, unprefixed(stored), `{pbkdf2}${unprefixed(stored)}`]) {
          expect(hasher.verify(secret, hashed), hashed).to.equal(true);
          expect(await hasher.verifyAsync(secret, hashed), hashed).to.equal(true);
          expect(hasher.identify(hashed)).to.equal(true);
          expect(hasher.verify(`${secret}x`, hashed)).to.equal(false);
          expect(await hasher.verifyAsync(secret.slice(1), hashed)).to.equal(false);
        }
      }
    });

    it('hashes exactly as doveadm does for the same salt and rounds', async () => {
      expect(hasher.hash(DOVEADM.carol.secret, DOVEADM.carol.salt)).to.equal(unprefixed(DOVEADM.carol.stored));
      expect(
        await new DovecotPbkdf2Hasher({ rounds: 20000 }).hashAsync(DOVEADM.erin.secret, DOVEADM.erin.salt),
      ).to.equal(unprefixed(DOVEADM.erin.stored));
    });

    it('writes random 16-character crypt-alphabet salts and round-trips its own strings', async () => {
      const made = hasher.hash('new-pass');
      expect(made).to.match(/^\$1\$[./0-9A-Za-z]{16}\$5000\$[0-9a-f]{40}$/);
      expect(hasher.hash('new-pass')).to.not.equal(made);
      expect(hasher.identify(made)).to.equal(true);
      expect(hasher.verify('new-pass', made)).to.equal(true);
      expect(hasher.verify('new-pas', made)).to.equal(false);
      const madeAsync = await hasher.hashAsync('new-pass');
      expect(madeAsync).to.match(/^\$1\$[./0-9A-Za-z]{16}\$5000\$[0-9a-f]{40}$/);
      expect(await hasher.verifyAsync('new-pass', madeAsync)).to.equal(true);
      expect(new DovecotPbkdf2Hasher({ rounds: 7000 }).hash('x')).to.match(/\$7000\$/);
    });

    it('defaults to Dovecot’s 5000 rounds and reports rehash needs by rounds', () => {
      expect(hasher.options).to.deep.equal({ rounds: DOVECOT_PBKDF2_ROUNDS, maxRounds: DEFAULT_MAX_PBKDF2_ROUNDS });
      expect(DOVECOT_PBKDF2_ROUNDS).to.equal(5000);
      expect(hasher.needsRehash(DOVEADM.carol.stored)).to.equal(false);
      expect(hasher.needsRehash(DOVEADM.erin.stored)).to.equal(true);
      expect(hasher.needsRehash('not a hash')).to.equal(true);
    });

    it('refuses stored strings above maxRounds', () => {
      const capped = new DovecotPbkdf2Hasher({ maxRounds: 10000 });
      expect(capped.verify(DOVEADM.carol.secret, DOVEADM.carol.stored)).to.equal(true);
      expect(capped.verify(DOVEADM.erin.secret, DOVEADM.erin.stored)).to.equal(false);
      expect(capped.identify(DOVEADM.erin.stored)).to.equal(false);
    });

    it('bad options, salts and secrets are usage errors', async () => {
      expectSaslError(() => new DovecotPbkdf2Hasher({ rounds: 0 }), 'USAGE');
      expectSaslError(() => new DovecotPbkdf2Hasher({ rounds: 1.5 }), 'USAGE');
      expectSaslError(() => new DovecotPbkdf2Hasher({ rounds: 20000, maxRounds: 10000 }), 'USAGE');
      for (const salt of ['', 'a$b', 'x'.repeat(1025), '\uD800'])
        expectSaslError(() => hasher.hash('x', salt), 'USAGE');
      expectSaslError(() => hasher.hash('\uD800'), 'USAGE');
      await expectSaslRejection(hasher.hashAsync('x', 'a$b'), 'USAGE');
      expect(hasher.verify('\uD800', DOVEADM.carol.stored)).to.equal(false);
    });

    it('serves a HashedIdentity detected from the stored string (passwords as typed: noprep)', () => {
      const erin = new HashedIdentity('erin', DOVEADM.erin.stored, undefined, { prepare: noprep });
      expect(erin.hasher).to.be.instanceOf(DovecotPbkdf2Hasher);
      expect(erin.compareSecret(DOVEADM.erin.secret)).to.equal(true);
      expect(erin.compareSecret('p\u00E4ssw\u00F6rt')).to.equal(false);
    });
  });

  describe('malformed stored strings: false, never a throw', () => {
    const pbkdf2 = new Pbkdf2Hasher({ rounds: 1000 });
    const scrypt = new ScryptHasher({ ln: 4 });
    const dovecot = new DovecotPbkdf2Hasher();
    const dovecotGood = DOVEADM.carol.stored;
    const dovecotHex = dovecotGood.slice(-40);
    const goodDk = 'dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0=';
    const goodSalt = PYSASL_SALT;
    const scryptGood = scrypt.hash('password', hex('00112233445566778899aabbccddeeff'));
    const [, , scryptParams, scryptSalt, scryptDk] = scryptGood.split('$');
    const cases: [string, PasswordHasher, unknown][] = [
      ['empty', pbkdf2, ''],
      ['a number', pbkdf2, 42],
      ['undefined', pbkdf2, undefined],
      ['no leading $', pbkdf2, PYSASL_VECTOR.slice(1)],
      ['unknown ident', pbkdf2, `$pbkdf2-md5$1000$${goodSalt}$${goodDk}`],
      ['ident case', pbkdf2, `$PBKDF2-SHA256$1000$${goodSalt}$${goodDk}`],
      ['too few fields', pbkdf2, `$pbkdf2-sha256$1000$${goodSalt}`],
      ['trailing field', pbkdf2, `${PYSASL_VECTOR}$junk`],
      ['trailing $', pbkdf2, `${PYSASL_VECTOR}$`],
      ['zero rounds', pbkdf2, `$pbkdf2-sha256$0$${goodSalt}$${goodDk}`],
      ['zero-padded rounds', pbkdf2, `$pbkdf2-sha256$01000$${goodSalt}$${goodDk}`],
      ['negative rounds', pbkdf2, `$pbkdf2-sha256$-1000$${goodSalt}$${goodDk}`],
      ['fractional rounds', pbkdf2, `$pbkdf2-sha256$1000.0$${goodSalt}$${goodDk}`],
      ['hex rounds', pbkdf2, `$pbkdf2-sha256$0x3e8$${goodSalt}$${goodDk}`],
      ['rounds above the cap', pbkdf2, `$pbkdf2-sha256$4294967295$${goodSalt}$${goodDk}`],
      ['rounds overflow', pbkdf2, `$pbkdf2-sha256$99999999999999999999$${goodSalt}$${goodDk}`],
      ['missing salt padding', pbkdf2, `$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ$${goodDk}`],
      ['non-canonical base64', pbkdf2, `$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhR==$${goodDk}`],
      ['space in base64', pbkdf2, `$pbkdf2-sha256$1000$bzst sT0hfnnXDUPTJqbkhQ==$${goodDk}`],
      ['mixed flavours', pbkdf2, `$pbkdf2-sha256$1000$${goodSalt}$${goodDk.replace('+', '.').replace('=', '')}`],
      ['adapted with +', pbkdf2, `$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ$${goodDk.replace('=', '')}`],
      ['dk too short', pbkdf2, `$pbkdf2-sha256$1000$${goodSalt}$${Buffer.alloc(20).toString('base64')}`],
      ['dk too long', pbkdf2, `$pbkdf2$1000$${goodSalt}$${goodDk}`],
      ['salt over 1024 bytes', pbkdf2, `$pbkdf2-sha256$1000$${Buffer.alloc(1026).toString('base64')}$${goodDk}`],
      ['scrypt string', pbkdf2, scryptGood],
      ['scrypt: null', scrypt, null],
      ['scrypt: wrong ident', scrypt, scryptGood.replace('$scrypt$', '$scrypt2$')],
      ['scrypt: $7$ format', scrypt, '$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D'],
      ['scrypt: parameter order', scrypt, scryptGood.replace(scryptParams ?? '', 'r=8,ln=4,p=1')],
      ['scrypt: missing p', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=4,r=8')],
      ['scrypt: zero-padded ln', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=04,r=8,p=1')],
      ['scrypt: ln=0', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=0,r=8,p=1')],
      ['scrypt: ln=31 (memory bomb)', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=31,r=8,p=1')],
      ['scrypt: huge p (work bomb)', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=4,r=8,p=1000000')],
      ['scrypt: r=0', scrypt, scryptGood.replace(scryptParams ?? '', 'ln=4,r=0,p=1')],
      ['scrypt: padded salt', scrypt, scryptGood.replace(scryptSalt ?? '', `${scryptSalt ?? ''}==`)],
      ['scrypt: adapted alphabet', scrypt, `$scrypt$ln=4,r=8,p=1$.../$${scryptDk ?? ''}`],
      ['scrypt: salt length 4n+1', scrypt, `$scrypt$ln=4,r=8,p=1$AAAAA$${scryptDk ?? ''}`],
      ['scrypt: non-canonical tail bits', scrypt, `$scrypt$ln=4,r=8,p=1$AB$${scryptDk ?? ''}`],
      ['scrypt: short hash', scrypt, `$scrypt$ln=4,r=8,p=1$${scryptSalt ?? ''}$${(scryptDk ?? '').slice(0, 40)}`],
      ['scrypt: trailing field', scrypt, `${scryptGood}$x`],
      ['scrypt: no hash', scrypt, `$scrypt$ln=4,r=8,p=1$${scryptSalt ?? ''}`],
      ['scrypt: pbkdf2 string', scrypt, PYSASL_VECTOR],
      ['dovecot: empty', dovecot, ''],
      ['dovecot: null', dovecot, null],
      ['dovecot: prefix only', dovecot, '{PBKDF2}'],
      ['dovecot: prefix twice', dovecot, `{PBKDF2}${dovecotGood}`],
      ['dovecot: other prefix', dovecot, dovecotGood.replace('{PBKDF2}', '{SHA512-CRYPT}')],
      ['dovecot: $2$ ident', dovecot, dovecotGood.replace('$1$', '$2$')],
      ['dovecot: md5-crypt form', dovecot, '$1$7YCyIYrU$Qn3ovnHlRI2yeLwvZ5Cf8.'],
      ['dovecot: empty salt', dovecot, `$1$$5000$${dovecotHex}`],
      ['dovecot: salt over 1024 characters', dovecot, `$1$${'a'.repeat(1025)}$5000$${dovecotHex}`],
      ['dovecot: zero rounds', dovecot, `$1$7YCyIYrURUIEdIc.$0$${dovecotHex}`],
      ['dovecot: zero-padded rounds', dovecot, `$1$7YCyIYrURUIEdIc.$05000$${dovecotHex}`],
      ['dovecot: rounds above the cap', dovecot, `$1$7YCyIYrURUIEdIc.$99999999$${dovecotHex}`],
      ['dovecot: upper-case hex', dovecot, dovecotGood.replace(dovecotHex, dovecotHex.toUpperCase())],
      ['dovecot: short hex', dovecot, dovecotGood.slice(0, -2)],
      ['dovecot: non-hex key', dovecot, `$1$7YCyIYrURUIEdIc.$5000$${'z'.repeat(40)}`],
      ['dovecot: trailing field', dovecot, `${dovecotGood}$x`],
      ['dovecot: trailing newline', dovecot, `${dovecotGood}\n`],
      ['dovecot: pbkdf2 string', dovecot, PYSASL_VECTOR],
      ['pbkdf2: dovecot string', pbkdf2, dovecotGood],
    ];

    it('the unmodified strings verify (so each case below fails for its own reason)', () => {
      expect(pbkdf2.verify('password', PYSASL_VECTOR)).to.equal(true);
      expect(scrypt.verify('password', scryptGood)).to.equal(true);
      expect(dovecot.verify(DOVEADM.carol.secret, dovecotGood)).to.equal(true);
    });

    for (const [name, hasher, hashed] of cases) {
      it(name, async () => {
        const sync = hasher as {
          verify(s: string, h: unknown): boolean;
          verifyAsync(s: string, h: unknown): Promise<boolean>;
          identify(h: unknown): boolean;
        };
        // The secret is the right one wherever the string has one, so only the string's form can fail it.
        const secret = hasher === dovecot ? DOVEADM.carol.secret : 'password';
        expect(sync.verify(secret, hashed)).to.equal(false);
        expect(await sync.verifyAsync(secret, hashed)).to.equal(false);
        expect(sync.identify(hashed)).to.equal(false);
        // A well-formed string of the other scheme is still recognised by detectHasher.
        if (!name.endsWith('string')) expect(detectHasher(hashed as string)).to.equal(undefined);
      });
    }
  });

  describe('detectHasher', () => {
    it('recognises pysasl and passlib PBKDF2 and passlib scrypt, and nothing else', () => {
      expect((detectHasher(PYSASL_VECTOR) as Pbkdf2Hasher).options).to.include({
        digest: 'sha256',
        rounds: 1000,
        format: 'pysasl',
      });
      expect(detectHasher('plain-secret')).to.equal(undefined);
      expect(detectHasher('{PLAIN}secret')).to.equal(undefined);
      expect(detectHasher('$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA')).to.equal(undefined);
    });

    it('recognises Dovecot PBKDF2, with or without {PBKDF2}, configured with the string’s rounds', () => {
      for (const { secret, stored } of Object.values(DOVEADM)) {
        for (const hashed of [stored, unprefixed(stored)]) {
          const detected = detectHasher(hashed);
          expect(detected).to.be.instanceOf(DovecotPbkdf2Hasher);
          expect((detected as DovecotPbkdf2Hasher).rounds).to.equal(Number(hashed.split('$')[3]));
          expect((detected as DovecotPbkdf2Hasher).verify(secret, hashed)).to.equal(true);
        }
      }
      // MD5-crypt shares the $1$ marker but not the layout.
      expect(detectHasher('$1$7YCyIYrU$Qn3ovnHlRI2yeLwvZ5Cf8.')).to.equal(undefined);
    });

    it('asks extra hashers first, through identify', () => {
      const argonish: AsyncPasswordHasher = {
        identify: (hashed) => hashed.startsWith('$argon2'),
        hashAsync: () => Promise.resolve('$argon2id$x'),
        verifyAsync: () => Promise.resolve(false),
      };
      const noIdentify: AsyncPasswordHasher = {
        hashAsync: () => Promise.resolve(''),
        verifyAsync: () => Promise.resolve(false),
      };
      expect(detectHasher('$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', [noIdentify, argonish])).to.equal(argonish);
      expect(detectHasher(PYSASL_VECTOR, [argonish])).to.be.instanceOf(Pbkdf2Hasher);
    });
  });

  // Issue 11 item 11. U+200B is in RFC 3454 tables B.1 (map to nothing) and C.1.2 (map to SPACE).
  // saslkit's SASLprep maps it to SPACE (libidn, PostgreSQL); pysasl and passlib map it to
  // nothing, so their hashes of such a password did not verify. zwsp.json is made by passlib.
  describe('U+200B: hashes pysasl and passlib made (their SASLprep maps it to nothing)', () => {
    const ZWSP = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'hashes', 'zwsp.json'), 'utf8')) as {
      readonly passlib: string;
      readonly cases: readonly {
        secret: string;
        passlibPrepared: string;
        digest: string;
        rounds: number;
        passlib: string;
        pysasl: string;
      }[];
    };
    const counter = new KdfCounter();
    before(() => {
      counter.install();
    });
    after(() => {
      counter.uninstall();
    });

    it(`the fixture is passlib ${ZWSP.passlib}'s, and saslkit's SASLprep maps U+200B to SPACE where passlib drops it`, () => {
      expect(ZWSP.cases).to.have.length(12);
      for (const { secret, passlibPrepared } of ZWSP.cases) {
        expect(passlibPrepared).to.equal(saslprep(secret.replace(/\u200B/g, '')));
        expect(saslprep(secret)).to.equal(secret.replace(/\u200B/g, ' ').normalize('NFKC'));
      }
    });

    for (const format of ['pysasl', 'passlib'] as const) {
      it(`a HashedIdentity with a ${format}-format hash verifies the password as the user types it, sync and async`, async () => {
        for (const c of ZWSP.cases) {
          const identity = new HashedIdentity('erin', c[format]);
          expect(identity.compareSecret(c.secret), `${c.digest} ${JSON.stringify(c.secret)}`).to.equal(true);
          expect(await identity.compareSecretAsync(c.secret), `${c.digest} ${JSON.stringify(c.secret)} async`).to.equal(
            true,
          );
          // The SPACE reading of the same keys is another password.
          expect(identity.compareSecret(c.secret.replace(/\u200B/g, ' '))).to.equal(false);
          expect(identity.compareSecret(`${c.secret}x`)).to.equal(false);
        }
      });
    }

    it('the hasher tries the pysasl mapping only with the unprepared password, and only when it holds U+200B', () => {
      const c = ZWSP.cases.find(
        (x) => x.digest === 'sha256' && x.secret === 'pass\u200Bword',
      ) as (typeof ZWSP.cases)[number];
      const hasher = new Pbkdf2Hasher();
      expect(hasher.verify(saslprep(c.secret), c.pysasl)).to.equal(false);
      expect(hasher.verify(saslprep(c.secret), c.pysasl, c.secret)).to.equal(true);
      expect(hasher.verify('pass word', c.pysasl, 'pass word')).to.equal(false);
    });

    it('costs one PBKDF2 run, or two only when the presented password holds U+200B and the first did not match; an unknown user costs the same', () => {
      const c = ZWSP.cases.find(
        (x) => x.digest === 'sha256' && x.secret === 'two\u200B words',
      ) as (typeof ZWSP.cases)[number];
      const identity = new HashedIdentity('erin', c.pysasl);
      const runs = (secret: string, id: HashedIdentity = identity): number =>
        counter.during(() => id.compareSecret(secret)).runs.length;
      expect(runs('wrong password')).to.equal(1);
      expect(runs('two words')).to.equal(1);
      expect(runs(c.secret)).to.equal(2);
      expect(runs('wrong\u200Bpassword')).to.equal(2);
      // A saslkit hash of the SPACE reading matches at the first run.
      const own = HashedIdentity.create('erin', c.secret, new Pbkdf2Hasher({ rounds: 1000 }));
      expect(runs(c.secret, own)).to.equal(1);
      // PLAIN checks an unknown user against a decoy of the same kind: the same two runs.
      const options = { lookup: (name: string) => (name === 'erin' ? identity : undefined) };
      const login = (user: string): number =>
        counter.during(() => {
          try {
            runPair(PLAIN.client(new ClientCredentials(user, 'wrong\u200Bpassword')), (ir) =>
              PLAIN.server(options, ir),
            );
          } catch {
            // Both fail; only the work done is compared.
          }
        }).runs.length;
      expect(login('erin')).to.equal(2);
      expect(login('mallory')).to.equal(login('erin'));
    });

    it('a custom preparation (noprep) gets no second try', () => {
      const c = ZWSP.cases.find(
        (x) => x.digest === 'sha256' && x.secret === 'pass\u200Bword',
      ) as (typeof ZWSP.cases)[number];
      const identity = new HashedIdentity('erin', c.pysasl, undefined, { prepare: noprep });
      expect(identity.compareSecret(c.secret)).to.equal(false);
      expect(identity.compareSecret('password')).to.equal(true);
    });
  });

  describe('secret hygiene', () => {
    const hashers: SyncPasswordHasher[] = [
      new Pbkdf2Hasher({ rounds: 1000 }),
      new ScryptHasher({ ln: 4 }),
      new DovecotPbkdf2Hasher({ rounds: 1000 }),
      new CleartextHasher(),
    ];
    for (const hasher of hashers) {
      it(`${hasher.constructor.name} holds and shows no secret after hashing and verifying`, async () => {
        const secret = 'hasher-secret-\u00E4';
        const hashed = hasher.hash(secret);
        expect(hasher.verify(secret, hashed)).to.equal(true);
        expect(await (hasher.verifyAsync?.(secret, hashed) ?? true)).to.equal(true);
        expectNoSecrets(hasher, [secret, 'hasher-secret']);
        expect(JSON.stringify(hasher)).to.include(hasher.constructor.name);
      });
    }
  });

  it('UsageError is what bad options throw', () => {
    expect(() => new Pbkdf2Hasher({ rounds: -1 })).to.throw(UsageError, /rounds must be an integer/);
  });
});
