/**
 * The server side of the stepping core (core.ts): `start` and `respond`, and the held-back
 * initial response counted against the limits. Split from core.ts (issue 12).
 * @module
 */
import { type Authenticated, type ServerExchange, type ServerYield } from './exchange.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions } from './session.js';
import { Core, type Result } from './core.js';

/** Server-side session state; the drivers call `start` and `respond`. */
export class ServerCore extends Core<ServerYield, Authenticated> {
  readonly #initial: Uint8Array | undefined;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    super(exchange, options, 'client');
    this.#initial = options.initialResponse;
  }

  /** The first challenge, or the outcome when the initial response sufficed. */
  start(sync: boolean): ServerStep | Promise<ServerStep> {
    this.expect('new', 'start');
    this.state = 'running';
    if (this.#initial !== undefined) this.checkIncoming(this.#initial);
    return this.run(undefined, false, sync, ServerCore.#step);
  }

  /** The next challenge after the client's response, or the outcome. */
  respond(data: Uint8Array, sync: boolean): ServerStep | Promise<ServerStep> {
    this.expect('running', 'respond');
    this.checkIncoming(data);
    return this.run(data, false, sync, ServerCore.#step);
  }

  static #step(core: ServerCore, result: Result<ServerYield, Authenticated>): ServerStep {
    if (!result.done) return { done: false, challenge: result.value };
    core.complete();
    return { done: true, outcome: result.value };
  }
}
