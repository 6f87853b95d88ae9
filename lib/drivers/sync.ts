/**
 * The synchronous driver: steps an exchange on the calling thread, answering effects with
 * their sync form. For tests, custom loops and stores that answer immediately.
 * @module
 */
import { ClientCore } from '../core/client-core.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions } from '../core/core.js';
import { ServerCore } from '../core/server-core.js';
import { AuthenticationFailedError, type SaslError } from '../core/errors.js';
import type { Authenticated, ClientExchange, ClientOutcome, ServerExchange } from '../core/exchange.js';

// A sync step answers every effect on the calling thread, so it never returns a promise.
function now<T>(step: T | Promise<T>): T {
  return step as T;
}

/** Drives a server exchange synchronously. */
export class SyncServerSession {
  readonly #core: ServerCore;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ServerCore(exchange, options);
  }

  /** Starts the exchange: the first challenge, or the outcome when the initial response sufficed. */
  start(): ServerStep {
    return now(this.#core.start(true));
  }

  /** Feeds the client's response: the next challenge, or the outcome. */
  respond(response: Uint8Array): ServerStep {
    return now(this.#core.respond(response, true));
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

/** Runs a whole server exchange synchronously with `respond` supplying each response. */
export function authenticateSync(
  exchange: ServerExchange,
  respond: (challenge: Uint8Array) => Uint8Array,
  options?: SessionOptions,
): Authenticated {
  const session = new SyncServerSession(exchange, options);
  let step = session.start();
  while (!step.done) step = session.respond(respond(step.challenge));
  return step.outcome;
}

/** Drives a client exchange synchronously. */
export class SyncClientSession {
  readonly #core: ClientCore;

  constructor(exchange: ClientExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ClientCore(exchange, options);
  }

  /**
   * Starts the exchange and returns the initial response, or `undefined` when there is none.
   * Pass `canSendInitial: false` when the protocol cannot carry one (IMAP without SASL-IR): the
   * session then answers the server's first, empty challenge with it.
   */
  start(canSendInitial = true): Uint8Array | undefined {
    return now(this.#core.start(canSendInitial, true));
  }

  /** Answers a server challenge. */
  challenge(data: Uint8Array): Uint8Array {
    return now(this.#core.challenge(data, true));
  }

  /** Reports the server's success, with additional data if it sent any. Throws if the server did not prove itself. */
  success(data?: Uint8Array): ClientOutcome {
    return now(this.#core.success(data, true));
  }

  /** Reports the server's failure; always throws (the mechanism may refine the error). */
  failure(error: SaslError = new AuthenticationFailedError(undefined, { party: 'server' })): never {
    return now(this.#core.failure(error, true));
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
