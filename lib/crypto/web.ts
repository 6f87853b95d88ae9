/**
 * The WebCrypto provider (`crypto.subtle`, `crypto.getRandomValues`), for browsers, workers,
 * Deno and Bun. Its digests are asynchronous, so it has no `sync` forms: the mechanisms ask for
 * them as effects, which the async drivers await and the sync driver refuses with a UsageError.
 * No scrypt (WebCrypto has none); MD5 comes from saslkit's own implementation.
 * @module
 */
import { UsageError } from '../core/errors.js';
import type { CryptoProvider, DigestName } from './provider.js';

/** A WebCrypto key, as far as saslkit handles one (typed here so that no DOM library is needed). */
export interface WebCryptoKey {
  /** `secret` for the keys saslkit imports. */
  readonly type: string;
}
/** The part of `crypto.subtle` saslkit uses. */
export interface WebSubtle {
  /** Hashes `data`. */
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
  /** Imports raw key bytes for HMAC or PBKDF2. */
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: string | { name: string; hash?: string },
    extractable: boolean,
    usages: string[],
  ): Promise<WebCryptoKey>;
  /** Computes an HMAC. */
  sign(algorithm: string, key: WebCryptoKey, data: Uint8Array): Promise<ArrayBuffer>;
  /** Runs PBKDF2. */
  deriveBits(
    algorithm: { name: string; hash: string; salt: Uint8Array; iterations: number },
    key: WebCryptoKey,
    length: number,
  ): Promise<ArrayBuffer>;
}
/** WebCrypto's entry points, as found on `globalThis.crypto`. */
export interface WebCrypto {
  /** The asynchronous digests and key derivation. */
  readonly subtle: WebSubtle;
  /** Fills `array` from the platform's CSPRNG (at most 65536 bytes a call). */
  getRandomValues<T extends Uint8Array>(array: T): T;
}

// HMAC pads its key with zeros to the block size, so an empty key and a block of zeros give the
// same MAC; WebCrypto refuses empty HMAC and PBKDF2 keys, so they are passed as the zeros.
const BLOCK: Readonly<Record<DigestName, number>> = { 'SHA-1': 64, 'SHA-256': 64, 'SHA-512': 128 };
const keyOf = (digest: DigestName, key: Uint8Array): Uint8Array =>
  key.length === 0 ? new Uint8Array(BLOCK[digest]) : key;
// getRandomValues fills at most this many bytes a call.
const RANDOM_CHUNK = 65536;

/**
 * A provider over `crypto` (default: `globalThis.crypto`). Throws a {@link UsageError} on first
 * use when the runtime has no WebCrypto.
 */
export function webCryptoProvider(crypto?: WebCrypto): CryptoProvider {
  const web = (): WebCrypto => {
    const found = crypto ?? (globalThis as { crypto?: WebCrypto }).crypto;
    if (found?.subtle === undefined)
      throw new UsageError(
        'this runtime has no WebCrypto (globalThis.crypto.subtle); pass a provider to setCryptoProvider',
      );
    return found;
  };
  return {
    name: 'WebCrypto',
    sync: undefined,
    randomBytes(length) {
      const out = new Uint8Array(length);
      for (let at = 0; at < length; at += RANDOM_CHUNK)
        web().getRandomValues(out.subarray(at, Math.min(length, at + RANDOM_CHUNK)));
      return out;
    },
    async hash(digest, data) {
      return new Uint8Array(await web().subtle.digest(digest, data));
    },
    async hmac(digest, key, data) {
      const { subtle } = web();
      const imported = await subtle.importKey('raw', keyOf(digest, key), { name: 'HMAC', hash: digest }, false, [
        'sign',
      ]);
      return new Uint8Array(await subtle.sign('HMAC', imported, data));
    },
    async pbkdf2(digest, password, salt, iterations, length) {
      const { subtle } = web();
      const imported = await subtle.importKey('raw', keyOf(digest, password), 'PBKDF2', false, ['deriveBits']);
      return new Uint8Array(
        await subtle.deriveBits({ name: 'PBKDF2', hash: digest, salt, iterations }, imported, length * 8),
      );
    },
  };
}
