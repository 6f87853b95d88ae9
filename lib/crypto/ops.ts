/**
 * Crypto steps as mechanisms take them: `const mac = yield* hmac('SHA-256', key, data)`. With a
 * provider that has synchronous forms (node:crypto) the step runs on the spot and yields nothing,
 * so Node keeps its synchronous fast path and its effect counts; with one that has not
 * (WebCrypto) the step is a `crypto` effect: the async drivers await it, the sync driver refuses
 * it with a UsageError naming the step. Either way the mechanism's code is the same.
 * @module
 */
import { type Effect, effect, perform } from '../core/exchange.js';
import { md5 as portableMd5 } from './md5.js';
import { type CryptoProvider, type DigestName, type KdfJob, asyncOnlyError, cryptoProvider } from './provider.js';

/** A crypto step: returns its value, after yielding at most one `crypto` effect. */
export type CryptoStep<T> = Generator<Effect<T>, T, unknown>;

function* step<T>(provider: CryptoProvider, what: string, run: () => Promise<T>, mechanism?: string): CryptoStep<T> {
  return yield* perform(
    effect<T>(
      'crypto',
      () => {
        throw asyncOnlyError(provider, what, mechanism);
      },
      run,
    ),
  );
}

/** H(data) with a SHA-family hash. */
export function* hash(digest: DigestName, data: Uint8Array, mechanism?: string): CryptoStep<Uint8Array> {
  const provider = cryptoProvider();
  if (provider.sync !== undefined) return provider.sync.hash(digest, data);
  return yield* step(provider, digest, () => provider.hash(digest, data), mechanism);
}

/** HMAC(key, data) with a SHA-family hash. */
export function* hmac(
  digest: DigestName,
  key: Uint8Array,
  data: Uint8Array,
  mechanism?: string,
): CryptoStep<Uint8Array> {
  const provider = cryptoProvider();
  if (provider.sync !== undefined) return provider.sync.hmac(digest, key, data);
  return yield* step(provider, `HMAC-${digest}`, () => provider.hmac(digest, key, data), mechanism);
}

/**
 * PBKDF2 as the `derive` effect: the provider's synchronous form under the sync driver (a
 * UsageError where it has none), its asynchronous form (Node: libuv's pool through the KDF pool)
 * under the async drivers. Always an effect, also on Node, as it has always been: the drivers
 * must be able to move a derivation off the event loop.
 */
export function pbkdf2Effect(
  digest: DigestName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
  job: KdfJob = {},
): Effect<Uint8Array> {
  const provider = cryptoProvider();
  const { sync } = provider;
  return effect(
    'derive',
    () => {
      if (sync === undefined) throw asyncOnlyError(provider, `PBKDF2-HMAC-${digest}`, job.mechanism);
      return sync.pbkdf2(digest, password, salt, iterations, length);
    },
    () => provider.pbkdf2(digest, password, salt, iterations, length, job),
  );
}

/** `length` random bytes from the provider (synchronous everywhere). */
export function randomBytes(length: number): Uint8Array {
  return cryptoProvider().randomBytes(length);
}

/** MD5(data): the platform's when it has one, else saslkit's own (lib/crypto/md5.ts). Synchronous everywhere. */
export function md5(data: Uint8Array): Uint8Array {
  const native = cryptoProvider().md5;
  return native === undefined ? portableMd5(data) : native(data);
}

/** HMAC-MD5(key, data) (RFC 2104): the platform's, else over {@link md5} (WebCrypto has no MD5, so no HMAC-MD5 either). */
export function hmacMd5(key: Uint8Array, data: Uint8Array): Uint8Array {
  const native = cryptoProvider().hmacMd5;
  if (native !== undefined) return native(key, data);
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? md5(key) : key);
  const inner = new Uint8Array(64 + data.length);
  const outer = new Uint8Array(64 + 16);
  for (let i = 0; i < 64; i++) {
    inner[i] = (block[i] as number) ^ 0x36;
    outer[i] = (block[i] as number) ^ 0x5c;
  }
  inner.set(data, 64);
  outer.set(md5(inner), 64);
  return md5(outer);
}

/** Several crypto steps in a row: each yields at most one `crypto` effect. */
export type CryptoSteps<T> = Generator<Effect<unknown>, T, unknown>;

/**
 * Runs crypto steps to the end outside an exchange, awaiting each effect's async form: how the
 * `...Async` methods (`ScramSecret.fromPasswordAsync` ...) share the mechanisms' one code path.
 */
export async function settle<T>(steps: CryptoSteps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await next.value.runAsync());
  return next.value;
}
