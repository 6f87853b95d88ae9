/**
 * The crypto provider (issue 13): WebCrypto answers as node:crypto does on random inputs, and
 * the mechanisms run with either one, the same code path: node:crypto synchronously (no crypto
 * effect is yielded), WebCrypto through `crypto` effects under the async drivers, and the sync
 * driver refuses those with a UsageError that names the step.
 */
import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync, randomBytes as nodeRandom } from 'node:crypto';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  type ClientOptions,
  DIGEST_MD5,
  type DigestName,
  PLAIN,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  SCRAM_SHA_512,
  type ScramHash,
  ScramIdentity,
  ScramSecret,
  ScryptHasher,
  type ServerOptions,
  SyncClientSession,
  cramMd5Challenge,
  cryptoProvider,
  isEffect,
  nodeCryptoProvider,
  scramHmac,
  setCryptoProvider,
  webCryptoProvider,
} from '../../lib/index.js';
import { hmac, hmacMd5, md5 } from '../../lib/crypto/ops.js';
import { expectSaslError, expectSaslRejection, runPair, runPairAsync, storeOf } from '../support/helpers.js';

const DIGESTS: readonly DigestName[] = ['SHA-1', 'SHA-256', 'SHA-512'];
const NODE_NAME: Record<DigestName, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' };
const random = (max: number): Uint8Array => nodeRandom(Math.floor(Math.random() * (max + 1)));
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('crypto provider', () => {
  const web = webCryptoProvider();
  afterEach(() => {
    setCryptoProvider(undefined);
  });

  describe('WebCrypto equals node:crypto', () => {
    it('hash and HMAC on random inputs, empty keys and keys longer than a block included', async () => {
      for (const digest of DIGESTS) {
        for (let i = 0; i < 40; i++) {
          const data = random(300);
          const key = i === 0 ? new Uint8Array(0) : random(i % 2 === 0 ? 200 : 40);
          expect(hex(await web.hash(digest, data))).to.equal(createHash(NODE_NAME[digest]).update(data).digest('hex'));
          expect(hex(await web.hmac(digest, key, data))).to.equal(
            createHmac(NODE_NAME[digest], key).update(data).digest('hex'),
          );
          expect(hex(await web.hmac(digest, key, data))).to.equal(
            hex(await nodeCryptoProvider.hmac(digest, key, data)),
          );
        }
      }
    });

    it('PBKDF2 on random inputs, the empty password included', async () => {
      for (const digest of DIGESTS) {
        for (let i = 0; i < 6; i++) {
          const password = i === 0 ? new Uint8Array(0) : random(150);
          const salt = random(32);
          const iterations = 1 + Math.floor(Math.random() * 50);
          const length = [20, 32, 64, 100][i % 4] as number;
          const expected = pbkdf2Sync(password, salt, iterations, length, NODE_NAME[digest]).toString('hex');
          expect(hex(await web.pbkdf2(digest, password, salt, iterations, length))).to.equal(expected);
          expect(
            hex(nodeCryptoProvider.sync?.pbkdf2(digest, password, salt, iterations, length) ?? new Uint8Array(0)),
          ).to.equal(expected);
        }
      }
    });

    it("random bytes of any length, above getRandomValues's 65536 per call too", () => {
      for (const length of [0, 1, 24, 65536, 65537, 200000]) expect(web.randomBytes(length).length).to.equal(length);
      const big = web.randomBytes(200000);
      expect(big.subarray(150000).some((byte) => byte !== 0)).to.equal(true);
      expect(hex(web.randomBytes(32))).to.not.equal(hex(web.randomBytes(32)));
    });

    it("MD5 and HMAC-MD5 from saslkit's MD5 (WebCrypto has none) equal node:crypto's", () => {
      setCryptoProvider(web);
      expect(cryptoProvider().md5).to.equal(undefined);
      for (let i = 0; i < 100; i++) {
        const data = random(200);
        const key = random(i % 3 === 0 ? 100 : 30);
        expect(hex(md5(data))).to.equal(createHash('md5').update(data).digest('hex'));
        expect(hex(hmacMd5(key, data))).to.equal(createHmac('md5', key).update(data).digest('hex'));
      }
    });

    it('a runtime without WebCrypto gets a UsageError on first use, not at load', () => {
      const none = webCryptoProvider({} as never);
      expectSaslError(() => none.randomBytes(4), 'USAGE');
    });
  });

  describe('mechanisms, one code path', () => {
    const clientOptions = (nonce: string): ClientOptions => ({ scram: { nonceForTesting: nonce, cache: false } });
    const serverOptions = (identity: ClearIdentity | ScramIdentity): ServerOptions => ({
      lookup: storeOf(identity),
      scram: { nonceForTesting: 'server-nonce', saltSecret: 'fixed' },
    });

    for (const [mechanism, hash] of [
      [SCRAM_SHA_1, 'SHA-1'],
      [SCRAM_SHA_256, 'SHA-256'],
      [SCRAM_SHA_512, 'SHA-512'],
    ] as const) {
      it(`${mechanism.name}: WebCrypto under the promise driver sends exactly what node:crypto sends under the sync driver`, async () => {
        const alice = new ClearIdentity('alice', 'pässword');
        const credentials = new ClientCredentials('alice', 'pässword');
        const sync = runPair(mechanism.client(credentials, clientOptions('client-nonce')), (initial) =>
          mechanism.server(serverOptions(alice), initial),
        );
        setCryptoProvider(web);
        const async = await runPairAsync(mechanism.client(credentials, clientOptions('client-nonce')), (initial) =>
          mechanism.server(serverOptions(alice), initial),
        );
        expect(async.transcript).to.deep.equal(sync.transcript);
        expect(async.client.serverVerified).to.equal(true);
        expect(async.server.authcid).to.equal('alice');
        expect(mechanism.name).to.equal(`SCRAM-${hash satisfies ScramHash}`);
      });
    }

    it('SCRAM with stored secrets, an unknown user and a wrong password under WebCrypto', async () => {
      const bob = ScramIdentity.create('bob', 'bob-pass', { hashes: ['SHA-256'] });
      setCryptoProvider(web);
      const ok = await runPairAsync(SCRAM_SHA_256.client(new ClientCredentials('bob', 'bob-pass')), (initial) =>
        SCRAM_SHA_256.server({ lookup: storeOf(bob) }, initial),
      );
      expect(ok.server.authcid).to.equal('bob');
      await expectSaslRejection(
        runPairAsync(SCRAM_SHA_256.client(new ClientCredentials('bob', 'wrong')), (initial) =>
          SCRAM_SHA_256.server({ lookup: storeOf(bob) }, initial),
        ),
        'AUTHENTICATION_FAILED',
      );
      await expectSaslRejection(
        runPairAsync(SCRAM_SHA_256.client(new ClientCredentials('carol', 'x')), (initial) =>
          SCRAM_SHA_256.server({ lookup: storeOf(bob) }, initial),
        ),
        'AUTHENTICATION_FAILED',
      );
    });

    it('yields crypto effects only with a provider that has no synchronous forms', () => {
      const kinds = (): string[] => {
        const exchange = SCRAM_SHA_256.client(new ClientCredentials('alice', 'pw'), clientOptions('n'));
        const seen: string[] = [];
        exchange.next();
        let step = exchange.next(Buffer.from(`r=nserver,s=${Buffer.from('salt').toString('base64')},i=4096`));
        while (!step.done && isEffect(step.value)) {
          seen.push(step.value.kind);
          step = exchange.next(new Uint8Array(step.value.kind === 'derive' ? 32 : 32));
        }
        void exchange.return({ serverVerified: false });
        return seen;
      };
      expect(kinds()).to.deep.equal(['derive']);
      setCryptoProvider(web);
      expect(kinds()).to.deep.equal(['derive', 'crypto', 'crypto', 'crypto', 'crypto', 'crypto']);
    });

    it('the sync driver refuses a WebCrypto step with a UsageError that names it and the async drivers', () => {
      setCryptoProvider(web);
      const client = new SyncClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('alice', 'pw'), clientOptions('n')),
      );
      client.start(true);
      const error = expectSaslError(() => client.challenge(Buffer.from('r=nserver,s=c2FsdA==,i=4096')), 'USAGE');
      expect(error.message).to.match(/PBKDF2|async driver/);
      expectSaslError(() => scramHmac('SHA-256', new Uint8Array(32), 'x'), 'USAGE');
      expectSaslError(() => ScramSecret.fromPassword('SHA-256', 'pw'), 'USAGE');
    });

    it('PLAIN, CRAM-MD5 and DIGEST-MD5 need no asynchronous crypto: the sync driver runs them under WebCrypto', () => {
      setCryptoProvider(web);
      const alice = new ClearIdentity('alice', 'alice-pass');
      const credentials = new ClientCredentials('alice', 'alice-pass');
      expect(
        runPair(PLAIN.client(credentials), (initial) => PLAIN.server({ lookup: storeOf(alice) }, initial)).server
          .authcid,
      ).to.equal('alice');
      expect(
        runPair(CRAM_MD5.client(credentials), (initial) => CRAM_MD5.server({ lookup: storeOf(alice) }, initial)).server
          .authcid,
      ).to.equal('alice');
      const digest = runPair(DIGEST_MD5.client(credentials, { host: 'localhost', service: 'imap' }), (initial) =>
        DIGEST_MD5.server({ lookup: storeOf(alice) }, initial),
      );
      expect(digest.server.authcid).to.equal('alice');
    });

    it('stored secrets: the async forms under WebCrypto equal the sync forms under node:crypto', async () => {
      const salt = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
      const expected = ScramSecret.fromPassword('SHA-256', 'pencil', { salt, iterations: 4096 }).format();
      setCryptoProvider(web);
      const secret = await ScramSecret.fromPasswordAsync('SHA-256', 'pencil', { salt, iterations: 4096 });
      expect(secret.format()).to.equal(expected);
      expect(await secret.verifyNormalizedAsync('pencil')).to.equal(true);
      expect(await secret.verifyNormalizedAsync('pen')).to.equal(false);
      const identity = await ScramIdentity.createAsync('user', 'pencil', { hashes: ['SHA-1'] });
      expect(await identity.compareSecretAsync('pencil')).to.equal(true);
    });

    it('scrypt is a UsageError where the provider has none (WebCrypto)', async () => {
      setCryptoProvider(web);
      await expectSaslRejection(new ScryptHasher().hashAsync('pw'), 'USAGE');
      expectSaslError(() => new ScryptHasher().hash('pw'), 'USAGE');
    });

    it('an HMAC step answers synchronously with node:crypto', () => {
      const step = hmac('SHA-256', new Uint8Array(1), new Uint8Array(1)).next();
      expect(step.done).to.equal(true);
    });
  });
});

describe('random parts drawn from the provider', () => {
  it('CRAM-MD5 challenges: 64 fresh random bits each time, with either provider (a pooled array is read at its own offset)', () => {
    for (const provider of [nodeCryptoProvider, webCryptoProvider()]) {
      setCryptoProvider(provider);
      const randoms = Array.from(
        { length: 200 },
        () => /^<(\d+)\./.exec(Buffer.from(cramMd5Challenge()).toString())?.[1],
      );
      expect(new Set(randoms).size).to.equal(200);
      // 64 random bits print as 20 digits or fewer, and most of them as 18 or more.
      expect(randoms.filter((r) => r !== undefined && r.length >= 18).length).to.be.greaterThan(190);
    }
    setCryptoProvider(undefined);
  });
});
