/**
 * The exchange contract: what a mechanism is, what it yields and what it receives.
 *
 * A server exchange is a generator that yields challenges (`Uint8Array`) and receives the
 * client's responses; it returns an {@link Authenticated} result only after the credentials
 * were verified, and throws a typed {@link SaslError} otherwise. A client exchange yields
 * responses and receives challenges, or a {@link ServerSuccess} when the server reports the
 * outcome. Either side may also yield an {@link Effect}: a request the host answers,
 * synchronously under the sync driver or by awaiting under the async drivers. That is how a
 * mechanism asks a credential store, a password hasher or a token validator without doing I/O.
 * @module
 */
import { UnexpectedMessageError, UsageError } from './errors.js';
import type { Identity } from '../passwords/identity.js';

/**
 * The kinds of effect a mechanism can ask for. The set is deliberately tiny:
 * - `lookup`: find the stored identity of an authcid (a database query);
 * - `verify`: check a presented secret against an identity (may run a slow hash);
 * - `derive`: run a key-derivation function such as PBKDF2;
 * - `hook`: call an application callback (token validation, authorization policy);
 * - `crypto`: a hash or HMAC the crypto provider computes only asynchronously (WebCrypto). On
 *   node:crypto these run on the spot and are never yielded.
 */
export type EffectKind = 'lookup' | 'verify' | 'derive' | 'hook' | 'crypto';

const EFFECT = Symbol('saslkit.effect');

/** A request from a mechanism to its host. Drivers answer it; mechanisms never run it themselves. */
export interface Effect<T> {
  /** Marks the object as an effect. */
  readonly [EFFECT]: true;
  /** What is being asked for (shown in traces). */
  readonly kind: EffectKind;
  /** Answers the request on the calling thread. A promise from the host is a {@link UsageError}. */
  runSync(): T;
  /** Answers the request; may leave the event loop (libuv pool, network). */
  runAsync(): Promise<T>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Builds an effect. `sync` may return a promise only when the effect is run by an async driver;
 * `async`, when given, is preferred by async drivers (e.g. `crypto.pbkdf2` instead of
 * `pbkdf2Sync`, so that the event loop keeps running).
 */
export function effect<T>(kind: EffectKind, sync: () => T | PromiseLike<T>, asyncRun?: () => Promise<T>): Effect<T> {
  return new EffectRequest(kind, sync, asyncRun, NO_RECEIVER, undefined, undefined);
}

/**
 * Builds an effect that calls `sync` (or `asyncRun`) as a method of `receiver` with `first` and
 * `second`: what {@link effect} does with closures, without making two closures and their
 * context per request (the store and verify effects of every PLAIN and LOGIN login). @internal
 */
export function callEffect<T, R, A, B>(
  kind: EffectKind,
  receiver: R,
  sync: (this: R, first: A, second: B) => T | PromiseLike<T>,
  asyncRun: ((this: R, first: A, second: B) => Promise<T>) | undefined,
  first: A,
  second: B,
): Effect<T> {
  return new EffectRequest(
    kind,
    sync as (this: unknown, first: unknown, second: unknown) => T | PromiseLike<T>,
    asyncRun as ((this: unknown, first: unknown, second: unknown) => Promise<T>) | undefined,
    receiver,
    first,
    second,
  );
}

// Marks an effect built by `effect`: its functions are called with no receiver and no arguments.
const NO_RECEIVER = Symbol('saslkit.noReceiver');

// A class rather than an object literal: one shared pair of methods instead of two new
// closures per effect, which counts in exchanges as cheap as PLAIN.
class EffectRequest<T> implements Effect<T> {
  readonly [EFFECT] = true as const;
  readonly kind: EffectKind;
  readonly #sync: (this: unknown, first: unknown, second: unknown) => T | PromiseLike<T>;
  readonly #async: ((this: unknown, first: unknown, second: unknown) => Promise<T>) | undefined;
  readonly #receiver: unknown;
  readonly #first: unknown;
  readonly #second: unknown;

  constructor(
    kind: EffectKind,
    sync: (this: unknown, first: unknown, second: unknown) => T | PromiseLike<T>,
    asyncRun: ((this: unknown, first: unknown, second: unknown) => Promise<T>) | undefined,
    receiver: unknown,
    first: unknown,
    second: unknown,
  ) {
    this.kind = kind;
    this.#sync = sync;
    this.#async = asyncRun;
    this.#receiver = receiver;
    this.#first = first;
    this.#second = second;
  }

  runSync(): T {
    const value = this.#call(this.#sync);
    if (isThenable(value)) {
      // Keep an unhandled rejection from surfacing later as a crash.
      Promise.resolve(value).catch(() => undefined);
      throw new UsageError(
        `the ${this.kind} callback returned a promise; use an async driver (promise, callback or iterator)`,
      );
    }
    return value;
  }

  runAsync(): Promise<T> {
    const run = this.#async;
    return run ? this.#call(run) : Promise.resolve().then(() => this.#call(this.#sync));
  }

  /** The async form when there is one, else the sync form's answer as it is (a value or a promise). */
  answer(): T | PromiseLike<T> {
    const run = this.#async;
    return run ? this.#call(run) : this.#call(this.#sync);
  }

  // An `effect` callback is called as it was given: no receiver, no arguments.
  #call<V>(run: (this: unknown, first: unknown, second: unknown) => V): V {
    return this.#receiver === NO_RECEIVER ? (run as () => V)() : run.call(this.#receiver, this.#first, this.#second);
  }
}

/**
 * Answers an effect as async drivers do, but without a detour through the microtask queue when
 * the answer is at hand: the effect's async form when it has one (PBKDF2 on libuv's pool, an
 * async hasher), else its sync form, whose answer may be a value or a promise (an async store).
 * Throws what the sync form throws. {@link Effect.runAsync} is the same answer, always as a promise.
 */
export function answerEffect<T>(request: Effect<T>): T | PromiseLike<T> {
  return request instanceof EffectRequest ? (request as EffectRequest<T>).answer() : request.runAsync();
}

/** True when `value` is a promise or any other thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return isThenable(value);
}

/** True when `value` is an {@link Effect}. */
export function isEffect(value: unknown): value is Effect<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EFFECT] === true;
}

/**
 * The client's first yield when it has no initial response (server-first mechanisms such as
 * CRAM-MD5). Distinct from an empty `Uint8Array`, which is an empty initial response.
 */
export const NO_INITIAL_RESPONSE: unique symbol = Symbol('saslkit.noInitialResponse');

/** The server reported success; `data` is the additional data sent with it, if any. */
export class ServerSuccess {
  /** The additional data that came with success (SCRAM's server-final in XMPP), or undefined. */
  readonly data: Uint8Array | undefined;
  constructor(data?: Uint8Array) {
    this.data = data;
  }
}

/** The result of a verified server exchange: who the client is. */
export interface Authenticated {
  /** The mechanism that authenticated the client. */
  readonly mechanism: string;
  /** The authentication identity whose credentials were verified. */
  readonly authcid: string;
  /** The authorization identity the client acts as: the authcid when the client asked for none. */
  readonly authzid: string;
  /** The stored identity that verified the credentials, when a store was used. */
  readonly identity?: Identity | undefined;
  /** Data to send with success (SCRAM's server-final); protocols without room send it as a challenge. */
  readonly additionalData?: Uint8Array | undefined;
  /** ANONYMOUS trace information, as sent by the client. */
  readonly trace?: string | undefined;
}

/** The result of a client exchange that the server accepted. */
export interface ClientOutcome {
  /** True when the server proved that it knows the credentials too (SCRAM, DIGEST-MD5 rspauth). */
  readonly serverVerified: boolean;
}

/** What a server exchange yields: a challenge for the client, or an effect for the host. */
export type ServerYield = Uint8Array | Effect<unknown>;
/** What a client exchange yields: a response, the no-initial-response marker, or an effect. */
export type ClientYield = Uint8Array | typeof NO_INITIAL_RESPONSE | Effect<unknown>;

/**
 * A running server exchange. Values sent in are the client's responses (and answers to effects,
 * hence `unknown`; the helpers {@link challenge} and {@link perform} type them).
 */
export type ServerExchange = Generator<ServerYield, Authenticated, unknown>;
/** A running client exchange. Values sent in are challenges, {@link ServerSuccess}, or effect answers. */
export type ClientExchange = Generator<ClientYield, ClientOutcome, unknown>;

/** Yields an effect and returns the host's answer: `const id = yield* perform(lookup)`. */
export function* perform<T>(request: Effect<T>): Generator<Effect<T>, T, unknown> {
  // The driver answers an effect with exactly the value its run method produced.
  return (yield request) as T;
}

function checkBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new UsageError('a driver resumed the exchange with a value that is not a Uint8Array');
  return value;
}

/** Server side: sends a challenge and returns the client's response. */
export function* challenge(data: Uint8Array): Generator<Uint8Array, Uint8Array, unknown> {
  return checkBytes(yield data);
}

/** What a client receives after a response: a challenge, or the server's success report. */
export type ServerReply = Uint8Array | ServerSuccess;

/** Client side: sends a response (or declares there is no initial response) and returns the server's reply. */
export function* respond(
  message: Uint8Array | typeof NO_INITIAL_RESPONSE,
): Generator<ClientYield, ServerReply, unknown> {
  const reply = yield message;
  if (reply instanceof ServerSuccess) return reply;
  return checkBytes(reply);
}

/** Client side: sends a response the server must answer with a challenge; success here is an {@link UnexpectedMessageError}. */
export function* respondForChallenge(
  message: Uint8Array | typeof NO_INITIAL_RESPONSE,
  mechanism: string,
): Generator<ClientYield, Uint8Array, unknown> {
  const reply = yield* respond(message);
  if (reply instanceof ServerSuccess)
    throw new UnexpectedMessageError(`${mechanism}: the server reported success before the exchange completed`, {
      mechanism,
      party: 'server',
    });
  return reply;
}

/** Client side: sends the last response; the server must answer with success and no additional data. */
export function* respondFinal(message: Uint8Array, mechanism: string): Generator<ClientYield, void, unknown> {
  const reply = yield* respond(message);
  if (!(reply instanceof ServerSuccess) || (reply.data !== undefined && reply.data.length > 0)) {
    throw new UnexpectedMessageError(`${mechanism} expects no challenge after its last response`, {
      mechanism,
      party: 'server',
    });
  }
}
