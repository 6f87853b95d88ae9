/**
 * What every password hasher shares: the {@link PasswordHasher} interface that the built-in
 * hashers and adapters for argon2, bcrypt or any other scheme implement, and the helpers the
 * built-in ones use (the KDFs through the crypto provider, strict parsing of stored strings).
 *
 * Stored hash strings are treated as hostile input: `verify` parses them strictly, caps their
 * cost parameters, and answers `false` for anything it does not understand; it never throws.
 * @module
 */
import { fromBase64, isWellFormed, toBase64, utf8 } from '../../core/bytes.js';
import { UsageError } from '../../core/errors.js';
import { randomBytes } from '../../crypto/ops.js';
import { type DigestName, type ScryptParams, cryptoProvider, syncCrypto } from '../../crypto/provider.js';

/** Members every hasher may have. A hasher needs at least one complete pair: sync or async. */
export interface PasswordHasherBase {
  /** Hashes a (prepared) secret into the stored string form. */
  hash?(secret: string): string;
  /**
   * True when `secret` matches the stored `hashed` string. False, never a throw, for a malformed
   * hash. `unprepared` is the password as the client sent it, passed by an identity that prepared
   * `secret` with saslkit's default SASLprep: a hasher whose strings another implementation wrote
   * may try that implementation's preparation of it too (see {@link Pbkdf2Hasher.verify}).
   */
  verify?(secret: string, hashed: string, unprepared?: string): boolean;
  /** {@link PasswordHasherBase.hash} off the event loop. */
  hashAsync?(secret: string): Promise<string>;
  /** {@link PasswordHasherBase.verify} off the event loop. Async drivers prefer it. */
  verifyAsync?(secret: string, hashed: string, unprepared?: string): Promise<boolean>;
  /** The clear secret inside `hashed`, for a hasher that stores it (cleartext); else absent. */
  clearSecret?(hashed: string): string | undefined;
  /** True when `hashed` is in this hasher's format; used by {@link detectHasher}. */
  identify?(hashed: string): boolean;
  /**
   * What verifying against `hashed` costs, in PBKDF2-iteration units (the built-ins: PBKDF2
   * rounds, scrypt N·r·p), read from the string without a cap; undefined when it cannot tell.
   * Servers refuse accounts above `ServerOptions.maxStoredCost` with it.
   */
  cost?(hashed: string): number | undefined;
}

/** A hasher that works on the calling thread; it may add the async pair too. All built-ins are this. */
export interface SyncPasswordHasher extends PasswordHasherBase {
  hash(secret: string): string;
  verify(secret: string, hashed: string, unprepared?: string): boolean;
}

/**
 * A hasher that only works asynchronously, as argon2 and bcrypt bindings usually do. Under the
 * sync driver an identity with such a hasher throws a {@link UsageError}; it never answers false.
 */
export interface AsyncPasswordHasher extends PasswordHasherBase {
  hashAsync(secret: string): Promise<string>;
  verifyAsync(secret: string, hashed: string, unprepared?: string): Promise<boolean>;
}

/**
 * A password hasher: sync, async, or both. `verify`/`verifyAsync` must answer false (not throw
 * or reject) for a hash string they do not recognise; identities also catch, to fail closed.
 */
export type PasswordHasher = SyncPasswordHasher | AsyncPasswordHasher;

const DIGEST_NAMES: Readonly<Record<'sha1' | 'sha256' | 'sha512', DigestName>> = {
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
};

// Through the crypto provider. On Node the async forms go through the KDF pool, which bounds how
// many run on libuv's threads at once; the sync forms are a UsageError where the provider has none.
export function pbkdf2Sync(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
  length: number,
  digest: 'sha1' | 'sha256' | 'sha512',
): Uint8Array {
  return syncCrypto('PBKDF2').pbkdf2(DIGEST_NAMES[digest], password, salt, rounds, length);
}

export function pbkdf2Async(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
  length: number,
  digest: 'sha1' | 'sha256' | 'sha512',
): Promise<Uint8Array> {
  return cryptoProvider().pbkdf2(DIGEST_NAMES[digest], password, salt, rounds, length);
}

export function scryptSync(password: Uint8Array, salt: Uint8Array, length: number, params: ScryptParams): Uint8Array {
  const sync = syncCrypto('scrypt');
  if (sync.scrypt === undefined) throw new UsageError('scrypt is not available from this crypto provider');
  return sync.scrypt(password, salt, length, params);
}

export async function scryptAsync(
  password: Uint8Array,
  salt: Uint8Array,
  length: number,
  params: ScryptParams,
): Promise<Uint8Array> {
  const provider = cryptoProvider();
  if (provider.scrypt === undefined) throw new UsageError(`scrypt is not available from ${provider.name}`);
  return provider.scrypt(password, salt, length, params);
}

/** Largest salt a stored string may carry, in bytes (passlib's limit). */
export const MAX_SALT_BYTES = 1024;

// A lone surrogate becomes U+FFFD in UTF-8, so two different secrets would share a hash.
// Parameters are `unknown` because JavaScript callers and stores can pass anything.
export function isText(value: unknown): value is string {
  return typeof value === 'string' && isWellFormed(value);
}

export function checkSecret(secret: unknown): Uint8Array {
  if (!isText(secret)) throw new UsageError('the secret must be a well-formed string');
  return utf8(secret);
}

export function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

export function makeSalt(saltLength: number, salt: unknown): Uint8Array {
  if (salt === undefined) return randomBytes(saltLength);
  if (!(salt instanceof Uint8Array) || salt.length > MAX_SALT_BYTES)
    throw new UsageError(`the salt must be a Uint8Array of at most ${MAX_SALT_BYTES} bytes`);
  return salt;
}

// Decimal without sign, leading zeros or more digits than any cap allows; passlib rejects
// zero-padded numbers too.
export function parseCount(text: string): number | undefined {
  return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined;
}

export function tryBase64(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/** Unpadded base64, standard alphabet (`+`) or passlib's adapted one (`.` instead of `+`). */
export function decodeUnpadded(text: string, adapted: boolean): Uint8Array | undefined {
  // The strict decoder below rejects `.` and bad lengths; padding and `+` must be refused here.
  if (text.includes('=') || (adapted && text.includes('+'))) return undefined;
  const standard = adapted ? text.replace(/\./g, '+') : text;
  // Padding it back and decoding strictly rejects stray characters and non-zero trailing bits.
  return tryBase64(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}

export function encodeUnpadded(bytes: Uint8Array, adapted: boolean): string {
  const text = toBase64(bytes).replace(/=+$/, '');
  return adapted ? text.replace(/\+/g, '.') : text;
}
