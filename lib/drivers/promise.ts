/**
 * The promise driver: the sync driver's interface with every step awaited, so credential
 * stores, hashers and token validators may be asynchronous and PBKDF2 runs off the event loop.
 * @module
 */
import { ClientCore, type ServerStep, ServerCore, type SessionOptions, runAsync } from '../core.js';
import { AuthenticationFailedError, type SaslError } from '../errors.js';
import type { Authenticated, ClientExchange, ClientOutcome, ServerExchange } from '../exchange.js';

/**
 * Drives a server exchange, awaiting effects. Every method reports problems by rejecting, never
 * by throwing synchronously, and one step must settle before the next is asked for.
 */
export class PromiseServerSession {
  readonly #core: ServerCore;

  constructor(exchange: ServerExchange, options: SessionOptions = {}) {
    this.#core = new ServerCore(exchange, options);
  }

  /** Starts the exchange: the first challenge, or the outcome when the initial response sufficed. */
  async start(): Promise<ServerStep> {
    return runAsync(this.#core, this.#core.planStart());
  }

  /** Feeds the client's response: the next challenge, or the outcome. */
  async respond(response: Uint8Array): Promise<ServerStep> {
    return runAsync(this.#core, this.#core.planRespond(response));
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
export async function authenticate(exchange: ServerExchange, send: (challenge: Uint8Array) => Promise<Uint8Array>, options?: SessionOptions): Promise<Authenticated> {
  const session = new PromiseServerSession(exchange, options);
  let step = await session.start();
  while (!step.done) step = await session.respond(await send(step.challenge));
  return step.outcome;
}

/** Drives a client exchange, awaiting effects. */
export class PromiseClientSession {
  readonly #core: ClientCore;

  constructor(exchange: ClientExchange, options: SessionOptions = {}) {
    this.#core = new ClientCore(exchange, options);
  }

  /**
   * Starts the exchange and resolves with the initial response, or `undefined` when there is
   * none. With `canSendInitial: false` the initial response waits for the server's empty challenge.
   */
  async start(canSendInitial = true): Promise<Uint8Array | undefined> {
    return runAsync(this.#core, this.#core.planStart(canSendInitial));
  }

  /** Answers a server challenge. */
  async challenge(data: Uint8Array): Promise<Uint8Array> {
    return runAsync(this.#core, this.#core.planChallenge(data));
  }

  /** Reports the server's success, with additional data if any. Rejects if the server did not prove itself. */
  async success(data?: Uint8Array): Promise<ClientOutcome> {
    return runAsync(this.#core, this.#core.planSuccess(data));
  }

  /** Reports the server's failure; always rejects (the mechanism may refine the error). */
  async failure(error: SaslError = new AuthenticationFailedError(undefined, { party: 'server' })): Promise<never> {
    return runAsync(this.#core, this.#core.planFailure(error));
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
