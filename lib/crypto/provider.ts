/**
 * The crypto provider: the one interface through which saslkit hashes, MACs, derives keys and
 * draws random bytes. On Node it is `node:crypto` ({@link nodeCryptoProvider}, sync and async,
 * PBKDF2 on the KDF pool); elsewhere WebCrypto ({@link webCryptoProvider}), whose digests are
 * asynchronous, so there the work is an effect that the async drivers await (see ./ops.ts).
 * Mechanisms never ask which one runs: they call the helpers in ./ops.ts, one code path.
 * @module
 */
import { UsageError } from '../core/errors.js';
import { defaultCryptoProvider } from './default.js';
import type { KdfTicket } from './ticket.js';

/** The hash functions saslkit asks a provider for (MD5 has its own, synchronous, entry). */
export type DigestName = 'SHA-1' | 'SHA-256' | 'SHA-512';

/** scrypt's cost parameters (RFC 7914) and the memory they may use, in bytes. */
export interface ScryptParams {
  /** CPU/memory cost: a power of 2. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
  /** The most memory the derivation may use, in bytes. */
  readonly maxmem: number;
}

/** What the drivers pass with a key derivation: who asks, and how to drop it while it waits. */
export interface KdfJob {
  /** Lets the exchange drop a derivation that still waits for a slot (Node's KDF pool). */
  readonly ticket?: KdfTicket | undefined;
  /** The mechanism the derivation works for, named in errors. */
  readonly mechanism?: string | undefined;
}

/** The synchronous forms, for a provider whose platform has them (node:crypto). */
export interface SyncCrypto {
  /** H(data). */
  hash(digest: DigestName, data: Uint8Array): Uint8Array;
  /** HMAC(key, data). */
  hmac(digest: DigestName, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** PBKDF2-HMAC with `length` bytes of output. */
  pbkdf2(digest: DigestName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  /** scrypt, when the platform has it. */
  scrypt?(password: Uint8Array, salt: Uint8Array, length: number, params: ScryptParams): Uint8Array;
}

/**
 * A source of cryptography. `randomBytes` and MD5 are synchronous everywhere (WebCrypto's
 * `getRandomValues` is); the SHA family is asynchronous, with synchronous forms in `sync` where
 * the platform has them.
 */
export interface CryptoProvider {
  /** Shown in errors: `node:crypto`, `WebCrypto`. */
  readonly name: string;
  /** `length` bytes from a CSPRNG. */
  randomBytes(length: number): Uint8Array;
  /** Synchronous SHA-family forms, or undefined where the platform has none (WebCrypto). */
  readonly sync: SyncCrypto | undefined;
  /** MD5(data), when the platform has it; saslkit's own MD5 (lib/crypto/md5.ts) otherwise. */
  readonly md5?: ((data: Uint8Array) => Uint8Array) | undefined;
  /** HMAC-MD5(key, data), when the platform has it; built on {@link CryptoProvider.md5} otherwise. */
  readonly hmacMd5?: ((key: Uint8Array, data: Uint8Array) => Uint8Array) | undefined;
  /** H(data). */
  hash(digest: DigestName, data: Uint8Array): Promise<Uint8Array>;
  /** HMAC(key, data). */
  hmac(digest: DigestName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** PBKDF2-HMAC with `length` bytes of output; may leave the event loop (libuv's pool). */
  pbkdf2(
    digest: DigestName,
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
    job?: KdfJob,
  ): Promise<Uint8Array>;
  /** scrypt, when the platform has it (WebCrypto has not). */
  readonly scrypt?:
    ((password: Uint8Array, salt: Uint8Array, length: number, params: ScryptParams) => Promise<Uint8Array>) | undefined;
}

let current: CryptoProvider | undefined;

/**
 * The provider in use: the one given to {@link setCryptoProvider}, else the build's default
 * (node:crypto in the Node build, WebCrypto in the browser, worker and Deno build). Chosen on
 * first use, not at module load.
 */
export function cryptoProvider(): CryptoProvider {
  return (current ??= defaultCryptoProvider());
}

/**
 * Replaces the crypto provider for every later exchange (a test double, a platform's own
 * crypto); `undefined` restores the build's default. Exchanges already running keep nothing of
 * the old one but the values it produced.
 */
export function setCryptoProvider(provider: CryptoProvider | undefined): void {
  current = provider;
}

/**
 * The synchronous forms of the provider, or a {@link UsageError} naming `what` when it has none:
 * the public synchronous helpers (`scramHmac`, `ScramSecret.create` ...) use this.
 */
export function syncCrypto(what: string): SyncCrypto {
  const provider = cryptoProvider();
  if (provider.sync === undefined) throw asyncOnlyError(provider, what);
  return provider.sync;
}

/** The error for a step the provider cannot take synchronously. @internal */
export function asyncOnlyError(provider: CryptoProvider, what: string, mechanism?: string): UsageError {
  return new UsageError(
    `${what} needs ${provider.name}, which is asynchronous: use an async driver (promise, callback or iterator) or the async form`,
    { mechanism },
  );
}
