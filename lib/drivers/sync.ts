/**
 * The synchronous driver: steps an exchange on the calling thread, answering effects with
 * their sync form. For tests, custom loops and stores that answer immediately.
 * @module
 */
import { ClientCore, NO_OPTIONS, type ServerStep, ServerCore, type SessionOptions, runSync } from '../core.js';
import { AuthenticationFailedError, type SaslError } from '../errors.js';
import type { Authenticated, ClientExchange, ClientOutcome, ServerExchange } from '../exchange.js';

/** Drives a server exchange synchronously. */
export class SyncServerSession {
  readonly #core: ServerCore;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    this.#core = new ServerCore(exchange, options);
  }

  /** Starts the exchange: the first challenge, or the outcome when the initial response sufficed. */
  start(): ServerStep {
    return runSync(this.#core, this.#core.planStart());
  }

  /** Feeds the client's response: the next challenge, or the outcome. */
  respond(response: Uint8Array): ServerStep {
    return runSync(this.#core, this.#core.planRespond(response));
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
export function authenticateSync(exchange: ServerExchange, respond: (challenge: Uint8Array) => Uint8Array, options?: SessionOptions): Authenticated {
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
    return runSync(this.#core, this.#core.planStart(canSendInitial));
  }

  /** Answers a server challenge. */
  challenge(data: Uint8Array): Uint8Array {
    return runSync(this.#core, this.#core.planChallenge(data));
  }

  /** Reports the server's success, with additional data if it sent any. Throws if the server did not prove itself. */
  success(data?: Uint8Array): ClientOutcome {
    return runSync(this.#core, this.#core.planSuccess(data));
  }

  /** Reports the server's failure; always throws (the mechanism may refine the error). */
  failure(error: SaslError = new AuthenticationFailedError(undefined, { party: 'server' })): never {
    return runSync(this.#core, this.#core.planFailure(error));
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
