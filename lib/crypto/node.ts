/**
 * The node:crypto provider: synchronous forms for the sync driver and the fast paths, and
 * PBKDF2/scrypt on libuv's pool through the KDF pool for the async drivers. Node-only: an edge.
 * @module
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { pooledPbkdf2, pooledScrypt } from '../passwords/kdf-pool.js';
import type { CryptoProvider, DigestName, SyncCrypto } from './provider.js';

/** node:crypto's names for the digests. */
const NODE_DIGEST: Readonly<Record<DigestName, string>> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' };

const sync: SyncCrypto = {
  hash: (digest, data) => createHash(NODE_DIGEST[digest]).update(data).digest(),
  hmac: (digest, key, data) => createHmac(NODE_DIGEST[digest], key).update(data).digest(),
  pbkdf2: (digest, password, salt, iterations, length) =>
    pbkdf2Sync(password, salt, iterations, length, NODE_DIGEST[digest]),
  scrypt: (password, salt, length, params) => scryptSync(password, salt, length, params),
};

/** node:crypto behind the {@link CryptoProvider} interface; the default of the Node build. */
export const nodeCryptoProvider: CryptoProvider = {
  name: 'node:crypto',
  randomBytes: (length) => randomBytes(length),
  sync,
  md5: (data) => createHash('md5').update(data).digest(),
  hmacMd5: (key, data) => createHmac('md5', key).update(data).digest(),
  hash: (digest, data) => Promise.resolve(sync.hash(digest, data)),
  hmac: (digest, key, data) => Promise.resolve(sync.hmac(digest, key, data)),
  pbkdf2: (digest, password, salt, iterations, length, job) =>
    pooledPbkdf2(password, salt, iterations, length, NODE_DIGEST[digest], job?.ticket, job?.mechanism),
  scrypt: (password, salt, length, params) => pooledScrypt(password, salt, length, params),
};
