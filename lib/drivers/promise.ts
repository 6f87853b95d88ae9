/**
 * The promise driver: the sync driver's interface with every step awaited, so credential
 * stores, hashers and token validators may be asynchronous and PBKDF2 runs off the event loop.
 *
 * The methods are not `async`: a step the core finished on the calling tick becomes an
 * already-settled promise, which saves the two microtask turns per step an `async` wrapper costs.
 * @module
 */
import { ClientCore } from '../core/client-core.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions, rejection } from '../core/core.js';
import { ServerCore } from '../core/server-core.js';
import { AuthenticationFailedError, type SaslError } from '../core/errors.js';
import type { Authenticated, ClientExchange, ClientOutcome, ServerExchange } from '../core/exchange.js';

// A step's result as a promise. Each method calls the core in its own try/catch, so that a step
// that fails before it starts (a usage error, a message over the limits) rejects too, without a
// closure per step (`npm run bench -- drivers`).
function promised<T>(result: T | Promise<T>): Promise<T> {
  return result instanceof Promise ? result : Promise.resolve(result);
}

/**
 * Drives a server exchange, awaiting effects. Every method reports problems by rejecting, never
 * by throwing synchronously, and one step must settle before the next is asked for.
 */
export class PromiseServerSession {
  readonly #core: ServerCore;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ServerCore(exchange, options);
  }

  /** Starts the exchange: the first challenge, or the outcome when the initial response sufficed. */
  start(): Promise<ServerStep> {
    try {
      return promised(this.#core.start(false));
    } catch (error) {
      return rejection(error);
    }
  }

  /** Feeds the client's response: the next challenge, or the outcome. */
  respond(response: Uint8Array): Promise<ServerStep> {
    try {
      return promised(this.#core.respond(response, false));
    } catch (error) {
      return rejection(error);
    }
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

/**
 * Runs a whole server exchange: `send` delivers each challenge to the client and resolves with
 * its response. Resolves with the verified result; rejects with a typed error.
 */
export async function authenticate(
  exchange: ServerExchange,
  send: (challenge: Uint8Array) => Promise<Uint8Array>,
  options?: SessionOptions,
): Promise<Authenticated> {
  const session = new PromiseServerSession(exchange, options);
  let step = await session.start();
  while (!step.done) step = await session.respond(await send(step.challenge));
  return step.outcome;
}

/** Drives a client exchange, awaiting effects. */
export class PromiseClientSession {
  readonly #core: ClientCore;

  constructor(exchange: ClientExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ClientCore(exchange, options);
  }

  /**
   * Starts the exchange and resolves with the initial response, or `undefined` when there is
   * none. With `canSendInitial: false` the initial response waits for the server's empty challenge.
   */
  start(canSendInitial = true): Promise<Uint8Array | undefined> {
    try {
      return promised(this.#core.start(canSendInitial, false));
    } catch (error) {
      return rejection(error);
    }
  }

  /** Answers a server challenge. */
  challenge(data: Uint8Array): Promise<Uint8Array> {
    try {
      return promised(this.#core.challenge(data, false));
    } catch (error) {
      return rejection(error);
    }
  }

  /** Reports the server's success, with additional data if any. Rejects if the server did not prove itself. */
  success(data?: Uint8Array): Promise<ClientOutcome> {
    try {
      return promised(this.#core.success(data, false));
    } catch (error) {
      return rejection(error);
    }
  }

  /** Reports the server's failure; always rejects (the mechanism may refine the error). */
  failure(error: SaslError = new AuthenticationFailedError(undefined, { party: 'server' })): Promise<never> {
    try {
      return promised(this.#core.failure(error, false));
    } catch (error) {
      return rejection(error);
    }
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
