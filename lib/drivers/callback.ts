/**
 * The callback driver: the promise driver's interface in Node's error-first style, for hosts
 * built on callbacks (`net` servers, older frameworks). It runs the same async steps through the
 * same core as the promise driver; only the way a result is delivered differs.
 * @module
 */
import { ClientCore } from '../core/client-core.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions } from '../core/core.js';
import { ServerCore } from '../core/server-core.js';
import { AuthenticationFailedError, type SaslError, UsageError } from '../core/errors.js';
import type { ClientOutcome, ClientExchange, ServerExchange } from '../core/exchange.js';

/**
 * An error-first callback, typed as Node's own callback APIs are: `result` is `undefined`
 * whenever `error` is set. It is called exactly once, never before the method that took it has
 * returned: with an error when the step failed (a typed saslkit error, or whatever error an
 * effect such as the credential store threw), or with `null` and the result.
 */
export type Callback<T> = (error: Error | null, result: T) => void;

function asError(error: unknown): Error {
  return error instanceof Error
    ? error
    : new UsageError('a host callback threw a value that is not an Error', { cause: error });
}

// Delivering outside the promise chain keeps an exception thrown by `callback` from turning
// into a second call or an unhandled rejection: it surfaces as an ordinary uncaught exception.
// The step starts inside the call, so a second call made before the first one settled is
// refused like under the promise driver. A step that needs no awaited answer is delivered in a
// microtask (queueMicrotask: portable, where process.nextTick is Node's), never synchronously.
function deliver<T>(core: ServerCore | ClientCore, step: () => T | Promise<T>, callback: Callback<T>): void {
  if (typeof (callback as unknown) !== 'function')
    throw new UsageError('the last argument must be a callback', { mechanism: core.mechanism });
  let result: T | Promise<T>;
  try {
    result = step();
  } catch (error) {
    queueMicrotask(() => {
      (callback as (error: Error) => void)(asError(error));
    });
    return;
  }
  if (!(result instanceof Promise)) {
    queueMicrotask(() => {
      callback(null, result);
    });
    return;
  }
  result.then(
    (value) => {
      queueMicrotask(() => {
        callback(null, value);
      });
    },
    (error: unknown) => {
      queueMicrotask(() => {
        (callback as (error: Error) => void)(asError(error));
      });
    },
  );
}

/** Drives a server exchange with error-first callbacks, awaiting effects. One step at a time. */
export class CallbackServerSession {
  readonly #core: ServerCore;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ServerCore(exchange, options);
  }

  /** Starts the exchange: the first challenge, or the outcome when the initial response sufficed. */
  start(callback: Callback<ServerStep>): void {
    deliver(this.#core, () => this.#core.start(false), callback);
  }

  /** Feeds the client's response: the next challenge, or the outcome. */
  respond(response: Uint8Array, callback: Callback<ServerStep>): void {
    deliver(this.#core, () => this.#core.respond(response, false), callback);
  }

  /** Cancels the exchange (e.g. the client sent `*`); returns the error to report. */
  abort(party: 'client' | 'local' = 'client'): SaslError {
    return this.#core.abort(party);
  }

  /** True once the exchange has finished. */
  get finished(): boolean {
    return this.#core.finished;
  }
}

/** Drives a client exchange with error-first callbacks, awaiting effects. One step at a time. */
export class CallbackClientSession {
  readonly #core: ClientCore;

  constructor(exchange: ClientExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ClientCore(exchange, options);
  }

  /**
   * Starts the exchange; the result is the initial response, or `undefined` when there is none.
   * With `canSendInitial: false` the initial response waits for the server's empty challenge.
   */
  start(callback: Callback<Uint8Array | undefined>): void;
  start(canSendInitial: boolean, callback: Callback<Uint8Array | undefined>): void;
  start(...args: [Callback<Uint8Array | undefined>] | [boolean, Callback<Uint8Array | undefined>]): void {
    const [canSendInitial, callback] = args.length === 1 ? [true, args[0]] : args;
    deliver(this.#core, () => this.#core.start(canSendInitial, false), callback);
  }

  /** Answers a server challenge. */
  challenge(data: Uint8Array, callback: Callback<Uint8Array>): void {
    deliver(this.#core, () => this.#core.challenge(data, false), callback);
  }

  /**
   * Reports the server's success, with its additional data (`undefined` for none). Fails if
   * the server did not prove itself.
   */
  success(callback: Callback<ClientOutcome>): void;
  success(data: Uint8Array | undefined, callback: Callback<ClientOutcome>): void;
  success(...args: [Callback<ClientOutcome>] | [Uint8Array | undefined, Callback<ClientOutcome>]): void {
    const [data, callback] = args.length === 1 ? [undefined, args[0]] : args;
    deliver(this.#core, () => this.#core.success(data, false), callback);
  }

  /** Reports the server's failure; the callback always gets an error (the mechanism may refine it). */
  failure(callback: Callback<never>): void;
  failure(error: SaslError | undefined, callback: Callback<never>): void;
  failure(...args: [Callback<never>] | [SaslError | undefined, Callback<never>]): void {
    const [error, callback] = args.length === 1 ? [undefined, args[0]] : args;
    deliver(
      this.#core,
      () => this.#core.failure(error ?? new AuthenticationFailedError(undefined, { party: 'server' }), false),
      callback,
    );
  }

  /** Cancels the exchange; returns the error to report. */
  abort(): SaslError {
    return this.#core.abort('local');
  }

  /** True once the exchange has finished. */
  get finished(): boolean {
    return this.#core.finished;
  }
}
