/**
 * SCRAM's key derivation (RFC 5802 section 3): the supported hashes, SaltedPassword through the
 * `derive` effect, ClientKey, ServerKey and StoredKey. Both sides use it: the client to answer, the
 * server to turn a clear-text account into keys, and lib/passwords/scram-secret.ts to store them.
 * @module
 */
import { isWellFormed, utf8 } from '../core/bytes.js';
import { type CryptoSteps, hash as hashStep, hmac as hmacStep, pbkdf2Effect } from '../crypto/ops.js';
import { syncCrypto } from '../crypto/provider.js';
import { KdfTicket } from '../crypto/ticket.js';
import { UsageError, isSaslError } from '../core/errors.js';
import { type Effect, perform } from '../core/exchange.js';
import { saslprep } from './saslprep.js';

/** The hash functions saslkit's SCRAM supports. */
export type ScramHash = 'SHA-1' | 'SHA-256' | 'SHA-512';

/** What SCRAM needs to know about a hash. */
export interface ScramHashInfo {
  /** The hash as named in the mechanism (`SCRAM-SHA-256`) and the stored formats. */
  readonly name: ScramHash;
  /** The `node:crypto` digest name. */
  readonly digest: string;
  /** Output length in bytes: the length of every key, signature and proof. */
  readonly length: number;
  /**
   * saslkit's default iteration count for new secrets and derived keys: 4096 for SHA-1 and
   * SHA-256 (RFC 7677's minimum, and what PostgreSQL and Dovecot use), 10000 for SHA-512
   * (draft-melnikov-scram-sha-512). Clients commonly cap what they accept (Cyrus at 65536), so
   * raise it only for clients you know.
   */
  readonly defaultIterations: number;
}

/** The supported hashes. */
export const SCRAM_HASHES: Readonly<Record<ScramHash, ScramHashInfo>> = {
  'SHA-1': { name: 'SHA-1', digest: 'sha1', length: 20, defaultIterations: 4096 },
  'SHA-256': { name: 'SHA-256', digest: 'sha256', length: 32, defaultIterations: 4096 },
  'SHA-512': { name: 'SHA-512', digest: 'sha512', length: 64, defaultIterations: 10000 },
};

/** The default salt length for new secrets, in bytes (as PostgreSQL and Dovecot). */
export const SCRAM_SALT_LENGTH = 16;
/** The largest iteration count saslkit derives with (Node's PBKDF2 limit). */
export const SCRAM_MAX_STORED_ITERATIONS = 0x7fffffff;

export function info(hash: ScramHash): ScramHashInfo {
  const found = (SCRAM_HASHES as Partial<Record<string, ScramHashInfo>>)[hash];
  if (found === undefined) throw new UsageError('unsupported SCRAM hash');
  return found;
}

export function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > SCRAM_MAX_STORED_ITERATIONS) {
    throw new UsageError('SCRAM iteration count must be an integer from 1 to 2^31-1');
  }
}

/**
 * Normalize(password) of RFC 5802 section 2.2: SASLprep with the stored-string profile. Throws
 * {@link UsageError} for a password SASLprep rejects (a prohibited character, a bidi error) and
 * for one that is not a string.
 */
export function scramNormalizePassword(password: string): string {
  // JavaScript callers (a number read from a config file) would otherwise get node:crypto's
  // TypeError, or SASLprep's printable-ASCII shortcut would hand the number back as it is.
  if (typeof password !== 'string') throw new UsageError('the password must be a string');
  let normalized: string;
  try {
    normalized = saslprep(password, { allowUnassigned: false });
  } catch (error) {
    if (isSaslError(error)) throw new UsageError('the password is not valid under SASLprep (RFC 4013)');
    throw error;
  }
  // UTF-8 would turn a lone surrogate into U+FFFD, so two passwords would derive the same key.
  if (!isWellFormed(normalized)) throw new UsageError('the password contains a lone surrogate');
  return normalized;
}

/**
 * HMAC(key, data) with the SCRAM hash, synchronously: a {@link UsageError} with a provider that
 * has no synchronous forms (WebCrypto), where {@link scramHmacStep} is the way.
 */
export function scramHmac(hash: ScramHash, key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return syncCrypto(`HMAC-${info(hash).name}`).hmac(hash, key, typeof data === 'string' ? utf8(data) : data);
}

/** H(data) with the SCRAM hash, synchronously (see {@link scramHmac}). */
export function scramH(hash: ScramHash, data: Uint8Array): Uint8Array {
  return syncCrypto(info(hash).name).hash(hash, data);
}

/** {@link scramHmac} as a crypto step: `yield*` it in a generator; a `crypto` effect where the provider is asynchronous. */
export function scramHmacStep(
  hash: ScramHash,
  key: Uint8Array,
  data: Uint8Array | string,
  mechanism?: string,
): CryptoSteps<Uint8Array> {
  return hmacStep(info(hash).name, key, typeof data === 'string' ? utf8(data) : data, mechanism);
}

/** {@link scramH} as a crypto step (see {@link scramHmacStep}). */
export function scramHStep(hash: ScramHash, data: Uint8Array, mechanism?: string): CryptoSteps<Uint8Array> {
  return hashStep(info(hash).name, data, mechanism);
}

/** SaltedPassword := Hi(Normalize(password), salt, i), synchronously. `password` is already normalized. */
export function scramSaltedPassword(
  hash: ScramHash,
  normalizedPassword: string | Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Uint8Array {
  checkIterations(iterations);
  const password = typeof normalizedPassword === 'string' ? utf8(normalizedPassword) : normalizedPassword;
  return syncCrypto('PBKDF2').pbkdf2(hash, password, salt, iterations, info(hash).length);
}

/**
 * The `derive` effect: PBKDF2 with `pbkdf2Sync` under the sync driver and `crypto.pbkdf2` on
 * libuv's thread pool, admitted through the KDF pool (see {@link configureKdfPool}), under the
 * async drivers. Returns Hi() of RFC 5802 for a SCRAM hash. In a mechanism prefer
 * {@link performDerive}, which also drops the job when the exchange closes before it started.
 */
export function deriveEffect(
  hash: ScramHash,
  normalizedPassword: string | Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Effect<Uint8Array> {
  return deriveRequest(hash, normalizedPassword, salt, iterations, undefined, undefined);
}

function deriveRequest(
  hash: ScramHash,
  normalizedPassword: string | Uint8Array,
  salt: Uint8Array,
  iterations: number,
  ticket: KdfTicket | undefined,
  mechanism: string | undefined,
): Effect<Uint8Array> {
  checkIterations(iterations);
  const { name, length } = info(hash);
  const password = typeof normalizedPassword === 'string' ? utf8(normalizedPassword) : normalizedPassword;
  return pbkdf2Effect(name, password, salt, iterations, length, { ticket, mechanism });
}

/**
 * Yields the {@link deriveEffect} and returns the salted password: `const salted = yield*
 * performDerive(...)`. When the exchange is closed (aborted, timed out) while its PBKDF2 still
 * waits in the KDF pool, the job is dropped, so abandoned logins cost no derivation.
 */
export function* performDerive(
  hash: ScramHash,
  normalizedPassword: string | Uint8Array,
  salt: Uint8Array,
  iterations: number,
  mechanism?: string,
): Generator<Effect<Uint8Array>, Uint8Array, unknown> {
  const ticket = new KdfTicket();
  try {
    return yield* perform(deriveRequest(hash, normalizedPassword, salt, iterations, ticket, mechanism));
  } finally {
    // Runs on `return()` too, which is how the core closes an aborted exchange.
    ticket.cancel();
  }
}

/** ClientKey := HMAC(SaltedPassword, "Client Key"). */
export function scramClientKey(hash: ScramHash, saltedPassword: Uint8Array): Uint8Array {
  return scramHmac(hash, saltedPassword, 'Client Key');
}

/** ServerKey := HMAC(SaltedPassword, "Server Key"). */
export function scramServerKey(hash: ScramHash, saltedPassword: Uint8Array): Uint8Array {
  return scramHmac(hash, saltedPassword, 'Server Key');
}

/** StoredKey := H(ClientKey). */
export function scramStoredKey(hash: ScramHash, clientKey: Uint8Array): Uint8Array {
  return scramH(hash, clientKey);
}
