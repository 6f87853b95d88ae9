/**
 * A small bounded cache with a time limit for credential stores: at most `maxEntries` names,
 * each kept for `ttlMs` after it was loaded, least recently used out first, and one load at a
 * time per name (concurrent logins of one user share one query).
 *
 * Negative results (no such user) are cached exactly like positive ones: the same map, the same
 * time limit, the same eviction order. A prober therefore cannot tell an unknown name from a
 * known one by how often the store is asked: a name costs one load per `ttlMs` (or per eviction)
 * whether or not it exists. Keeping unknown names in a separate, smaller map would let anyone who
 * floods it with random names see which of their earlier names were still cached, and so which
 * exist.
 *
 * No Node built-in is used: the clock is `performance.now()` (or one you inject).
 * @module
 */
import { UsageError } from '../core/errors.js';

/** Default of {@link StoreCacheOptions.maxEntries}. */
export const DEFAULT_STORE_CACHE_ENTRIES = 1000;
/** Default of {@link StoreCacheOptions.ttlMs}: one minute. */
export const DEFAULT_STORE_CACHE_TTL_MS = 60_000;
/** Default of {@link StoreCacheOptions.maxKeyLength}. */
export const DEFAULT_STORE_CACHE_MAX_KEY_LENGTH = 1024;

/** Bounds and clock of a {@link StoreCache}. */
export interface StoreCacheOptions {
  /** The most names kept (found or not). 0 caches nothing (every lookup loads; concurrent ones still share a load). Default {@link DEFAULT_STORE_CACHE_ENTRIES}. */
  readonly maxEntries?: number;
  /** How long a loaded result is used, in ms from the load. A changed password is seen after at most this long. Default {@link DEFAULT_STORE_CACHE_TTL_MS}. */
  readonly ttlMs?: number;
  /** Names longer than this (UTF-16 code units) are loaded every time, never kept, so entries stay small. Default {@link DEFAULT_STORE_CACHE_MAX_KEY_LENGTH}. */
  readonly maxKeyLength?: number;
  /** The clock, in ms (tests inject one). Default `performance.now()`. */
  readonly now?: () => number;
}

/** What a {@link StoreCache} has done since it was made (or since {@link StoreCache.resetStats}). */
export interface StoreCacheStats {
  /** Lookups answered from the cache, found or not. */
  readonly hits: number;
  /** Lookups that started a load. */
  readonly misses: number;
  /** Lookups that waited for a load another lookup of the same name had started. */
  readonly joined: number;
  /** Entries dropped to stay within `maxEntries`. */
  readonly evictions: number;
  /** Entries dropped because their time was up. */
  readonly expired: number;
  /** Entries held now. */
  readonly size: number;
}

interface Entry<V> {
  readonly value: V | undefined;
  readonly expires: number;
}

function defaultClock(): () => number {
  const performance = (globalThis as { performance?: { now(): number } }).performance;
  return performance === undefined ? () => Date.now() : () => performance.now();
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`${name} must be a non-negative integer`);
  return value;
}

function isThenable<V>(value: unknown): value is PromiseLike<V> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * A least-recently-used map with a time limit per entry, whose values may be `undefined` (a
 * cached "not found"). {@link StoreCache.load} answers from the cache, or runs the loader once
 * for all concurrent callers of a name and keeps its result. A loader that throws is not cached.
 */
export class StoreCache<V> {
  /** The bound on entries. */
  readonly maxEntries: number;
  /** The time limit of an entry, in ms. */
  readonly ttlMs: number;
  /** The longest name that is kept. */
  readonly maxKeyLength: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #loading = new Map<string, Promise<V | undefined>>();
  // Bumped by clear() and delete(): a load that started before does not put its stale result back.
  #generation = 0;
  #hits = 0;
  #misses = 0;
  #joined = 0;
  #evictions = 0;
  #expired = 0;

  constructor(options: StoreCacheOptions = {}) {
    this.maxEntries = checkCount('maxEntries', options.maxEntries ?? DEFAULT_STORE_CACHE_ENTRIES);
    const ttl = options.ttlMs ?? DEFAULT_STORE_CACHE_TTL_MS;
    if (!Number.isFinite(ttl) || ttl < 0) throw new UsageError('ttlMs must be a non-negative number');
    this.ttlMs = ttl;
    this.maxKeyLength = checkCount('maxKeyLength', options.maxKeyLength ?? DEFAULT_STORE_CACHE_MAX_KEY_LENGTH);
    if (options.now !== undefined && typeof options.now !== 'function') throw new UsageError('now must be a function');
    this.#now = options.now ?? defaultClock();
  }

  /**
   * The cached result for `key`: `{ value }` (value undefined: cached as not found), or
   * undefined when nothing valid is cached. Counts a hit when found; refreshes its LRU place.
   */
  peek(key: string): { readonly value: V | undefined } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() >= entry.expires) {
      this.#entries.delete(key);
      this.#expired += 1;
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#hits += 1;
    return { value: entry.value };
  }

  /** Keeps `value` (undefined: not found) for `key`, evicting the least recently used entry when full. */
  set(key: string, value: V | undefined): void {
    if (this.maxEntries === 0 || key.length > this.maxKeyLength) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + this.ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#evictions += 1;
    }
  }

  /**
   * The value for `key`: from the cache (synchronously), else from `loader`, run once however
   * many callers ask for the name while it runs. The result is cached, found or not; a thrown
   * error or a rejection is passed to every waiting caller and not cached.
   */
  load(
    key: string,
    loader: (key: string) => V | undefined | PromiseLike<V | undefined>,
  ): V | undefined | Promise<V | undefined> {
    const cached = this.peek(key);
    if (cached !== undefined) return cached.value;
    const pending = this.#loading.get(key);
    if (pending !== undefined) {
      this.#joined += 1;
      return pending;
    }
    this.#misses += 1;
    const generation = this.#generation;
    const result = loader(key);
    if (!isThenable<V | undefined>(result)) {
      this.set(key, result);
      return result;
    }
    const promise = Promise.resolve(result).then(
      (value) => {
        this.#loading.delete(key);
        if (generation === this.#generation) this.set(key, value);
        return value;
      },
      (error: unknown) => {
        this.#loading.delete(key);
        throw error;
      },
    );
    this.#loading.set(key, promise);
    return promise;
  }

  /** Forgets `key` (after a password change, say); a load of it now running is not kept. */
  delete(key: string): void {
    this.#entries.delete(key);
    if (this.#loading.has(key)) this.#generation += 1;
  }

  /** Forgets everything; loads now running are not kept. */
  clear(): void {
    this.#entries.clear();
    this.#generation += 1;
  }

  /** Entries held now (some may have expired and not been dropped yet). */
  get size(): number {
    return this.#entries.size;
  }

  /** The counters since construction or the last {@link StoreCache.resetStats}. */
  stats(): StoreCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      joined: this.#joined,
      evictions: this.#evictions,
      expired: this.#expired,
      size: this.#entries.size,
    };
  }

  /** Sets the counters back to zero (the entries stay). */
  resetStats(): void {
    this.#hits = 0;
    this.#misses = 0;
    this.#joined = 0;
    this.#evictions = 0;
    this.#expired = 0;
  }
}
