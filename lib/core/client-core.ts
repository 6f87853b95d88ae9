/**
 * The client side of the stepping core (core.ts), with RFC 4422's rules that belong to no one
 * mechanism. Split from core.ts (issue 12).
 * @module
 */
import { EMPTY } from './bytes.js';
import { type ExchangeAbortedError, type SaslError, UnexpectedMessageError, UsageError } from './errors.js';
import {
  type ClientExchange,
  type ClientOutcome,
  type ClientYield,
  NO_INITIAL_RESPONSE,
  ServerSuccess,
} from './exchange.js';
import { NO_OPTIONS, type SessionOptions } from './session.js';
import { Core, type Result } from './core.js';

/**
 * Client-side session state. Besides stepping the generator it keeps RFC 4422's rules that
 * belong to no one mechanism: an initial response the protocol could not carry answers the
 * server's first, empty challenge, and server-final data that arrives as a challenge (SMTP,
 * POP3) is answered with an empty response.
 */
export class ClientCore {
  /** The shared stepping state (held, not extended: see `Core`). @internal */
  readonly base: Core<ClientYield, ClientOutcome>;
  #canSendInitial = true;
  #heldBack: Uint8Array | undefined;
  #outcome: ClientOutcome | undefined;

  constructor(exchange: ClientExchange, options: SessionOptions = NO_OPTIONS) {
    this.base = new Core(exchange, options, 'server');
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

  /** The initial response, or `undefined` for none (or when `canSendInitial` is false: it waits for the empty challenge). */
  start(canSendInitial: boolean, sync: boolean): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const { base } = this;
    base.expect('new', 'start');
    base.state = 'running';
    this.#canSendInitial = canSendInitial;
    return base.run(undefined, false, sync, ClientCore.#first, this);
  }

  /** The response to a server challenge. */
  challenge(data: Uint8Array, sync: boolean): Uint8Array | Promise<Uint8Array> {
    const { base } = this;
    if (base.state === 'done') throw this.#unexpected('the server sent a challenge after the exchange completed');
    base.expect('running', 'answer a challenge');
    base.checkIncoming(data);
    const held = this.#heldBack;
    if (held === undefined) return base.run(data, false, sync, ClientCore.#response, this);
    this.#heldBack = undefined;
    if (data.length !== 0) throw this.#unexpected('expected an empty challenge before the initial response');
    return held;
  }

  /** The outcome, once the server reported success (with its additional data, if any) and proved itself when the mechanism can tell. */
  success(data: Uint8Array | undefined, sync: boolean): ClientOutcome | Promise<ClientOutcome> {
    const { base } = this;
    if (base.state === 'done') {
      if (data !== undefined && data.length > 0)
        throw this.#unexpected('the server sent additional data after the exchange completed');
      return this.#outcome as ClientOutcome;
    }
    base.expect('running', 'accept success');
    if (data !== undefined) base.checkIncoming(data);
    if (this.#heldBack !== undefined)
      throw this.#unexpected('the server reported success before the client authenticated');
    return base.run(new ServerSuccess(data), false, sync, ClientCore.#succeeded, this);
  }

  /** Throws `error` into the mechanism at its current step (it may refine it); always fails. */
  failure(error: SaslError, sync: boolean): Promise<never> {
    const { base } = this;
    if (base.finished) throw base.fail(error);
    base.expect('running', 'accept failure');
    return base.run(error, true, sync, ClientCore.#ignoredFailure, this);
  }

  /** Fails the session for a message the server should not have sent; returns the error to throw. */
  #unexpected(message: string): unknown {
    return this.base.fail(new UnexpectedMessageError(message, { mechanism: this.mechanism, party: 'server' }));
  }

  static #first(core: ClientCore, result: Result<ClientYield, ClientOutcome>): Uint8Array | undefined {
    if (result.done)
      throw core.base.fail(
        new UsageError('a client exchange must yield its initial response first', { mechanism: core.mechanism }),
      );
    const first = result.value;
    if (first === NO_INITIAL_RESPONSE) return undefined;
    if (core.#canSendInitial) return first;
    core.#heldBack = first;
    return undefined;
  }

  static #response(core: ClientCore, result: Result<ClientYield, ClientOutcome>): Uint8Array {
    if (result.done) {
      // The mechanism took server-final data sent as a challenge: answer it empty.
      core.base.complete();
      core.#outcome = result.value;
      return EMPTY;
    }
    if (result.value === NO_INITIAL_RESPONSE)
      throw core.base.fail(
        new UsageError('NO_INITIAL_RESPONSE is only valid as the first yield', { mechanism: core.mechanism }),
      );
    return result.value;
  }

  static #succeeded(core: ClientCore, result: Result<ClientYield, ClientOutcome>): ClientOutcome {
    if (!result.done) throw core.#unexpected('the server reported success before the exchange completed');
    core.base.complete();
    core.#outcome = result.value;
    return result.value;
  }

  static #ignoredFailure(core: ClientCore): never {
    throw core.base.fail(
      new UnexpectedMessageError('the client mechanism ignored the server failure', {
        mechanism: core.mechanism,
        party: 'local',
      }),
    );
  }
}
