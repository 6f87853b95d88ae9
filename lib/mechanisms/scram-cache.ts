/**
 * SCRAM's state between exchanges, in one object with explicit bounds: the server's keys derived
 * from clear-text accounts, the client's salted passwords, the HMAC key that names their entries
 * (so that no map holds a password), and the salt secret used when the options set none.
 * One shared instance ({@link DEFAULT_SCRAM_CACHE}) serves every exchange that is not given
 * another (`ServerOptions.scram.cache`, `ClientOptions.scram.cache`): give a tenant, or a spec,
 * its own.
 * @module
 */
import { concat, utf8 } from '../core/bytes.js';
import { type CryptoSteps, hmac, randomBytes } from '../crypto/ops.js';
import { syncCrypto } from '../crypto/provider.js';
import { UsageError } from '../core/errors.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import type { ScramSecret } from '../passwords/scram-secret.js';
import type { ScramHash } from '../passwords/scram-keys.js';

/** Default of {@link ScramCacheOptions.serverEntries}. */
export const SCRAM_SERVER_CACHE_SIZE = 1024;
/** Default of {@link ScramCacheOptions.clientEntries}: how many salted passwords a client keeps. */
export const SCRAM_CLIENT_CACHE_SIZE = 32;

/** Bounds of a {@link ScramCache}. */
export interface ScramCacheOptions {
  /** Keys derived from clear-text accounts the server keeps, least recently used out first. 0 keeps none. Default {@link SCRAM_SERVER_CACHE_SIZE}. */
  readonly serverEntries?: number;
  /** Salted passwords the client keeps, least recently used out first. 0 keeps none. Default {@link SCRAM_CLIENT_CACHE_SIZE}. */
  readonly clientEntries?: number;
}

function bound(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 0) throw new UsageError(`${name} must be a non-negative integer`);
  return chosen;
}

/** A least-recently-used map of at most `limit` entries. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  get(key: string): V | undefined {
    const found = this.#map.get(key);
    if (found !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, found);
    }
    return found;
  }
  set(key: string, value: V): void {
    if (this.#limit === 0) return;
    this.#map.set(key, value);
    if (this.#map.size > this.#limit) this.#map.delete(this.#map.keys().next().value as string);
  }
  get size(): number {
    return this.#map.size;
  }
  clear(): void {
    this.#map.clear();
  }
}

/**
 * SCRAM's caches and per-process secrets. Entries are content-keyed: an HMAC, under a random key
 * of this instance, of (hash, iteration count, salt, password), so a changed password or salt
 * misses and the maps hold no password. What the server may take from its cache is the SCRAM
 * mechanism's rule, not this object's: only a successful login profits from a hit, and a failed
 * one always derives, so the cache cannot tell a prober who logged in lately.
 */
export class ScramCache extends Redacting {
  /** The bound on server entries. */
  readonly serverEntries: number;
  /** The bound on client entries. */
  readonly clientEntries: number;
  // Drawn on first use, not at construction: the shared instance is built at module load.
  #saltSecret: Uint8Array | undefined;
  #key: Uint8Array | undefined;
  readonly #server: Lru<ScramSecret>;
  readonly #client: Lru<Uint8Array>;

  constructor(options: ScramCacheOptions = {}) {
    super();
    this.serverEntries = bound('serverEntries', options.serverEntries, SCRAM_SERVER_CACHE_SIZE);
    this.clientEntries = bound('clientEntries', options.clientEntries, SCRAM_CLIENT_CACHE_SIZE);
    this.#server = new Lru(this.serverEntries);
    this.#client = new Lru(this.clientEntries);
  }

  /** The salt secret of servers whose options set none (random, per instance). A secret: kept out of inspect output. */
  get saltSecret(): Uint8Array {
    return (this.#saltSecret ??= randomBytes(32));
  }

  /**
   * The entry name for a password's keys: an HMAC, so that no password is kept. Synchronous: a
   * {@link UsageError} with a provider that has no synchronous HMAC (WebCrypto), where
   * {@link ScramCache.entryKeyStep} is the way.
   */
  entryKey(side: 'server' | 'client', hash: ScramHash, password: string, salt: Uint8Array, iterations: number): string {
    return latin1Key(
      syncCrypto('the SCRAM cache key').hmac(
        'SHA-256',
        this.#hmacKey(),
        this.#entryData(side, hash, password, salt, iterations),
      ),
    );
  }

  /** {@link ScramCache.entryKey} as a crypto step, for generators: a `crypto` effect where the provider is asynchronous. */
  *entryKeyStep(
    side: 'server' | 'client',
    hash: ScramHash,
    password: string,
    salt: Uint8Array,
    iterations: number,
    mechanism?: string,
  ): CryptoSteps<string> {
    return latin1Key(
      yield* hmac('SHA-256', this.#hmacKey(), this.#entryData(side, hash, password, salt, iterations), mechanism),
    );
  }

  #hmacKey(): Uint8Array {
    return (this.#key ??= randomBytes(32));
  }

  #entryData(
    side: 'server' | 'client',
    hash: ScramHash,
    password: string,
    salt: Uint8Array,
    iterations: number,
  ): Uint8Array {
    return concat(utf8(`${side}\0${hash}\0${iterations}\0${salt.length}\0`), salt, utf8(password));
  }

  /** The server's keys under `key` ({@link ScramCache.entryKey}), if kept. */
  serverKeys(key: string): ScramSecret | undefined {
    return this.#server.get(key);
  }

  /** Keeps the server's keys under `key`. */
  keepServerKeys(key: string, secret: ScramSecret): void {
    this.#server.set(key, secret);
  }

  /** The client's salted password under `key`, if kept. */
  saltedPassword(key: string): Uint8Array | undefined {
    return this.#client.get(key);
  }

  /** Keeps the client's salted password under `key`. */
  keepSaltedPassword(key: string, salted: Uint8Array): void {
    this.#client.set(key, salted);
  }

  /** How many entries each side holds. */
  get size(): { readonly server: number; readonly client: number } {
    return { server: this.#server.size, client: this.#client.size };
  }

  /** Empties the server's keys. */
  clearServer(): void {
    this.#server.clear();
  }

  /** Empties the client's salted passwords (e.g. after a password change). */
  clearClient(): void {
    this.#client.clear();
  }

  /** Empties both sides. The keys and the salt secret stay: answers stay the same. */
  clear(): void {
    this.clearServer();
    this.clearClient();
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'ScramCache',
      serverEntries: this.serverEntries,
      clientEntries: this.clientEntries,
      size: this.size,
    };
  }

  protected describeRedacted(): string {
    const { server, client } = this.size;
    return describe('ScramCache', {
      serverEntries: this.serverEntries,
      clientEntries: this.clientEntries,
      server,
      client,
      secrets: REDACTED,
    });
  }
}

/** The instance every SCRAM exchange uses unless its options name another. */
export const DEFAULT_SCRAM_CACHE: ScramCache = /* @__PURE__ */ new ScramCache();

// A map key only: 32 bytes as 32 characters, cheaper than base64 and as unique.
function latin1Key(mac: Uint8Array): string {
  return String.fromCharCode.apply(null, mac as unknown as number[]);
}
