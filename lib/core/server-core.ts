/**
 * The server side of the stepping core (core.ts): `start` and `respond`, and the held-back
 * initial response counted against the limits. Split from core.ts (issue 12).
 * @module
 */
import { type Authenticated, type ServerExchange, type ServerYield } from './exchange.js';
import { type ExchangeAbortedError } from './errors.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions } from './session.js';
import { Core, type Result } from './core.js';

/** Server-side session state; the drivers call `start` and `respond`. */
export class ServerCore {
  /** The shared stepping state (held, not extended: see `Core`). @internal */
  readonly base: Core<ServerYield, Authenticated>;
  readonly #initial: Uint8Array | undefined;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    this.base = new Core(exchange, options, 'client');
    this.#initial = options.initialResponse;
  }

  /** The mechanism's name given in the options, for errors. */
  get mechanism(): string | undefined {
    return this.base.mechanism;
  }

  /** True once the exchange has finished, successfully or not. */
  get finished(): boolean {
    return this.base.finished;
  }

  /** Cancels the exchange and returns the error to report. */
  abort(party: 'client' | 'server' | 'local' = 'local'): ExchangeAbortedError {
    return this.base.abort(party);
  }

  /** The first challenge, or the outcome when the initial response sufficed. */
  start(sync: boolean): ServerStep | Promise<ServerStep> {
    const { base } = this;
    base.expect('new', 'start');
    base.state = 'running';
    if (this.#initial !== undefined) base.checkIncoming(this.#initial);
    return base.run(undefined, false, sync, ServerCore.#step, base);
  }

  /** The next challenge after the client's response, or the outcome. */
  respond(data: Uint8Array, sync: boolean): ServerStep | Promise<ServerStep> {
    const { base } = this;
    base.expect('running', 'respond');
    base.checkIncoming(data);
    return base.run(data, false, sync, ServerCore.#step, base);
  }

  static #step(base: Core<ServerYield, Authenticated>, result: Result<ServerYield, Authenticated>): ServerStep {
    if (!result.done) return { done: false, challenge: result.value };
    base.complete();
    return { done: true, outcome: result.value };
  }
}
