// SCRAM checks found unpinned by the fifth mutation pass (issue 11, mutation/RESULTS.md): the
// nonce block's refill, NUL in any message, empty nonce and channel-binding values, the salt and
// key derivations of unknown, refused and clear-text accounts (with the salt secret known, as an
// insider would know it), the server and client caches, and mechanisms built at run time rather
// than at module load.
import { expect } from 'chai';
import { createHmac, pbkdf2Sync } from 'node:crypto';
import {
  type Authenticated,
  type ChannelBindingSource,
  ClearIdentity,
  ClientCredentials,
  type CryptoProvider,
  type DigestName,
  type SaslError,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  type ScramHash,
  type ScramMechanismName,
  ScramIdentity,
  ScramSecret,
  type ServerExchange,
  type ServerOptions,
  type ServerYield,
  SyncClientSession,
  SyncServerSession,
  isEffect,
  nodeCryptoProvider,
  parseScramClientFinal,
  parseScramClientFirst,
  parseScramServerFirst,
  scramAuthMessage,
  scramClient,
  scramClientKey,
  scramClientSignature,
  scramMechanism,
  scramServerErrorOf,
  scramStoredKey,
  scramXor,
  setCryptoProvider,
  toBase64,
  verifyScramServerFinal,
} from '../../lib/index.js';
import { clearScramServerCache } from '../../lib/mechanisms/scram.js';
import { b, expectSaslError, runPair, s, storeOf } from '../support/helpers.js';

const HASH: ScramHash = 'SHA-256';
const NODE_HASH: Record<ScramHash, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' };
const attr = (text: string, key: string): string => new RegExp(`(?:^|,)${key}=([^,]*)`).exec(text)?.[1] ?? '';

/** HMAC-SHA-512(secret, "saslkit-scram-<label>\0<block>\0<hash>\0<name>"): the documented derivation. */
function derivedBlock(secret: string, label: string, block: number, hash: ScramHash, name: string): Buffer {
  return createHmac('sha512', secret).update(`saslkit-scram-${label}\u0000${block}\u0000${hash}\u0000${name}`).digest();
}

/** The server-first a SCRAM server sends for `clientFirst`, and its session. */
function serverFirstOf(
  options: ServerOptions,
  clientFirst = 'n,,n=alice,r=abc',
  mechanism = SCRAM_SHA_256,
): { session: SyncServerSession; serverFirst: string } {
  const session = new SyncServerSession(mechanism.server(options, b(clientFirst)));
  const step = session.start();
  if (step.done) throw new Error('expected server-first');
  return { session, serverFirst: s(step.challenge) };
}

/** Wraps node:crypto, reporting each randomBytes length and each HMAC (digest, key as text). */
function countingProvider(onRandom: (length: number) => void, onHmac: (digest: DigestName, key: string) => void) {
  const sync = nodeCryptoProvider.sync;
  if (sync === undefined) throw new Error('node:crypto has synchronous forms');
  const provider: CryptoProvider = {
    ...nodeCryptoProvider,
    randomBytes: (length) => (onRandom(length), nodeCryptoProvider.randomBytes(length)),
    sync: {
      ...sync,
      hmac: (digest, key, data) => (onHmac(digest, Buffer.from(key).toString()), sync.hmac(digest, key, data)),
    },
  };
  return provider;
}

/** Runs a server exchange, recording the kind of every effect it yields. */
function* effectsOf(inner: ServerExchange, kinds: string[]): Generator<ServerYield, Authenticated, unknown> {
  let step = inner.next();
  for (;;) {
    if (step.done) return step.value;
    if (isEffect(step.value)) kinds.push(step.value.kind);
    step = inner.next(yield step.value);
  }
}

describe('SCRAM edges (fifth mutation pass)', () => {
  afterEach(() => {
    setCryptoProvider(undefined);
  });

  describe('mechanisms built at run time', () => {
    it('scramMechanism and scramClient name and rank each variant as the built-in constants do', () => {
      const hashes: ScramHash[] = ['SHA-1', 'SHA-256', 'SHA-512'];
      for (const [i, hash] of hashes.entries()) {
        for (const plus of [false, true]) {
          const name = `SCRAM-${hash}${plus ? '-PLUS' : ''}`;
          const expected = { name, hash, plus, clientFirst: true, priority: (plus ? 90 : 80) + i + 1 };
          const full = scramMechanism(hash, plus);
          expect({ ...full }, name).to.include(expected);
          expect({ ...scramClient(name as ScramMechanismName) }, name).to.include(expected);
        }
      }
    });
    it('scramClient accepts exactly the six names (anchored at both ends)', () => {
      for (const name of ['xSCRAM-SHA-256', 'SCRAM-SHA-256x', 'SCRAM-SHA-384', 'scram-sha-256', ' SCRAM-SHA-1'])
        expect(expectSaslError(() => scramClient(name as ScramMechanismName), 'USAGE').party, name).to.equal('local');
    });
  });

  it('client nonces: one random block serves exactly 64 nonces, then one more call refills it', () => {
    const calls: number[] = [];
    setCryptoProvider(
      countingProvider(
        (length) => calls.push(length),
        () => undefined,
      ),
    );
    const start = (): string =>
      attr(s(new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', 'pw'))).start()), 'r');
    const nonces = new Set<string>();
    // Up to a refill, wherever earlier specs left the block.
    for (let i = 0; i < 65 && calls.length === 0; i++) nonces.add(start());
    expect(calls, 'a refill within 65 nonces').to.have.length(1);
    for (let i = 1; i < 64; i++) nonces.add(start());
    expect(calls, 'the 63 nonces after the refill come from the same block').to.have.length(1);
    nonces.add(start());
    expect(calls, 'the 65th refills').to.have.length(2);
    expect(calls[0]).to.equal(calls[1]);
    for (const nonce of nonces) expect(nonce).to.match(/^[A-Za-z0-9+/]{32}$/);
  });

  describe('NUL is malformed in every message, before any field is read', () => {
    const cases: [string, () => unknown, SaslError['party']][] = [
      ['client-first user name', () => parseScramClientFirst(b('n,,n=al\u0000ice,r=abc')), 'client'],
      ['client-first authzid', () => parseScramClientFirst(b('n,a=a\u0000b,n=alice,r=abc')), 'client'],
      [
        'client-final extension',
        () => parseScramClientFinal(b(`c=biws,r=abc,x=\u0000,p=${toBase64(new Uint8Array(32))}`), HASH),
        'client',
      ],
      ['server-first extension', () => parseScramServerFirst(b('r=abcd,s=QUJD,i=4096,x=\u0000'), 'abc'), 'server'],
      ['server-first e=', () => parseScramServerFirst(b('e=invalid-proof\u0000'), 'abc'), 'server'],
      [
        'server-final e=',
        () => {
          verifyScramServerFinal(b('e=invalid-proof\u0000'), new Uint8Array(32));
        },
        'server',
      ],
    ];
    for (const [what, run, party] of cases) {
      it(`${what}: MALFORMED_MESSAGE blamed on the ${party}`, () => {
        const error = expectSaslError(run, 'MALFORMED_MESSAGE');
        expect(error.party).to.equal(party);
        if (party === 'client') expect(scramServerErrorOf(error), 'e= value').to.equal('invalid-encoding');
      });
    }
  });

  describe('client-final fields that are empty', () => {
    const proof = toBase64(new Uint8Array(32));
    it('an empty nonce is malformed, not a nonce mismatch', () => {
      expect(
        expectSaslError(() => parseScramClientFinal(b(`c=biws,r=,p=${proof}`), HASH), 'MALFORMED_MESSAGE').party,
      ).to.equal('client');
    });
    it('an empty c= is valid base64 of nothing: parsed, then refused as channel-bindings-dont-match', () => {
      expect(parseScramClientFinal(b(`c=,r=abc,p=${proof}`), HASH).channelBinding).to.have.length(0);
      const { session, serverFirst } = serverFirstOf({
        lookup: storeOf(new ClearIdentity('alice', 'pw')),
        scramSendErrors: true,
      });
      const step = session.respond(b(`c=,r=${attr(serverFirst, 'r')},p=${proof}`));
      expect(!step.done && s(step.challenge)).to.equal('e=channel-bindings-dont-match');
    });
  });

  describe('derived salts and keys (the salt secret known)', () => {
    it('a clear-text account and an unknown user of the same name get the same salt and count', () => {
      const secret = 'salt-secret';
      const known = serverFirstOf({ lookup: storeOf(new ClearIdentity('alice', 'pw')), scramSaltSecret: secret });
      const unknown = serverFirstOf({ lookup: storeOf(new ClearIdentity('bob', 'pw')), scramSaltSecret: secret });
      const expected = toBase64(derivedBlock(secret, 'salt', 0, HASH, 'alice').subarray(0, 16));
      expect(attr(known.serverFirst, 's')).to.equal(expected);
      expect(attr(unknown.serverFirst, 's')).to.equal(expected);
      expect(attr(known.serverFirst, 'i')).to.equal(attr(unknown.serverFirst, 'i'));
    });
    it('a decoy salt longer than one HMAC-SHA-512 is the blocks 0, 1, ... in order', () => {
      const secret = 'salt-secret';
      const model = new ScramIdentity(
        'model',
        new ScramSecret(HASH, new Uint8Array(100).fill(7), 5000, new Uint8Array(32), new Uint8Array(32)),
      );
      const { serverFirst } = serverFirstOf({
        lookup: storeOf(),
        unknownUserIdentity: model,
        scramSaltSecret: secret,
      });
      const expected = Buffer.concat([
        derivedBlock(secret, 'salt', 0, HASH, 'alice'),
        derivedBlock(secret, 'salt', 1, HASH, 'alice'),
      ]).subarray(0, 100);
      expect(attr(serverFirst, 's')).to.equal(toBase64(expected));
      expect(attr(serverFirst, 'i')).to.equal('5000');
    });
    it("an unknown user's decoy costs one HMAC-SHA-512 per 64 bytes: salt, StoredKey, ServerKey", () => {
      const secret = 'salt-secret';
      const macs: string[] = [];
      const model = ScramIdentity.create('model', 'pw', { hashes: ['SHA-512'], iterations: 4096 });
      const options: ServerOptions = { lookup: storeOf(), unknownUserIdentity: model, scramSaltSecret: secret };
      setCryptoProvider(
        countingProvider(
          () => undefined,
          (digest, key) => {
            if (key === secret) macs.push(digest);
          },
        ),
      );
      serverFirstOf(options, 'n,,n=nobody,r=abc', SCRAM_SHA_512);
      expect(macs).to.deep.equal(['SHA-512', 'SHA-512', 'SHA-512']);
    });
    it('an account the server refuses does not log in even with a proof made from the decoy password', () => {
      // A stored clear password SASLprep refuses: the account is answered with the clear-text
      // decoy, whose password is derived from the salt secret. Only `real: false` stops this.
      const secret = 'salt-secret';
      const { session, serverFirst } = serverFirstOf({
        lookup: storeOf(new ClearIdentity('alice', 'p\u0221ss')),
        scramSaltSecret: secret,
      });
      const password = derivedBlock(secret, 'password', 0, HASH, 'alice').subarray(0, 32);
      const salted = pbkdf2Sync(
        password,
        Buffer.from(attr(serverFirst, 's'), 'base64'),
        Number(attr(serverFirst, 'i')),
        32,
        NODE_HASH[HASH],
      );
      const clientKey = scramClientKey(HASH, salted);
      const withoutProof = `c=biws,r=${attr(serverFirst, 'r')}`;
      const authMessage = scramAuthMessage('n=alice,r=abc', serverFirst, withoutProof);
      const proof = scramXor(clientKey, scramClientSignature(HASH, scramStoredKey(HASH, clientKey), authMessage));
      const error = expectSaslError(
        () => session.respond(b(`${withoutProof},p=${toBase64(proof)}`)),
        'AUTHENTICATION_FAILED',
      );
      expect(scramServerErrorOf(error)).to.equal('invalid-proof');
    });
  });

  describe('caches', () => {
    it("clearScramServerCache empties the server's keys derived from clear-text accounts", () => {
      const options: ServerOptions = { lookup: storeOf(new ClearIdentity('carol', 'carol-edges-pass')) };
      const run = (): string[] => {
        const kinds: string[] = [];
        runPair(
          SCRAM_SHA_256.client(new ClientCredentials('carol', 'carol-edges-pass'), { scram: { cache: false } }),
          (ir) => effectsOf(SCRAM_SHA_256.server(options, ir), kinds),
        );
        return kinds;
      };
      clearScramServerCache();
      expect(run()).to.deep.equal(['lookup', 'derive']);
      expect(run(), 'cached').to.deep.equal(['lookup']);
      clearScramServerCache();
      expect(run(), 'emptied').to.deep.equal(['lookup', 'derive']);
    });
  });

  it('a -PLUS client asks its binding source for data only of a type the source lists', () => {
    const asked: unknown[] = [];
    const source: ChannelBindingSource = {
      types: [],
      data: (type) => (asked.push(type), new Uint8Array(1)),
    };
    const error = expectSaslError(
      () =>
        new SyncClientSession(
          SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', 'pw'), { channelBindingData: source }),
        ).start(),
      'MECHANISM_UNAVAILABLE',
    );
    expect(error.mechanism).to.equal('SCRAM-SHA-256-PLUS');
    expect(asked).to.deep.equal([]);
  });
});
