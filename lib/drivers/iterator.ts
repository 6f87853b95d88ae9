/**
 * The async-iterator driver: an exchange as a `for await` loop over a connection. The caller
 * turns its transport into an async iterable of peer messages (decoded lines, frames) and
 * gets back the steps to act on: challenges or responses to send, then the outcome.
 *
 * ```ts
 * for await (const step of iterateServer(PLAIN.server(options, initial), responses)) {
 *   if (step.done) reply(`OK ${step.outcome.authcid}`);
 *   else reply(`+ ${toBase64(step.challenge)}`);
 * }
 * ```
 *
 * Each next message is pulled only when the loop asks for the next step, so the loop body can
 * send first. The driver never closes the iterable it reads from (a readline interface keeps
 * serving the protocol after AUTH). Leaving the loop early (`break`, `throw`) cancels the
 * exchange, so the mechanism's `finally` blocks run. Steps are planned and run by the same core
 * as every other driver.
 * @module
 */
import { ClientCore } from '../core/client-core.js';
import { NO_OPTIONS, type ServerStep, type SessionOptions, rejection, waitWithin } from '../core/core.js';
import { ServerCore } from '../core/server-core.js';
import { AuthenticationFailedError, type SaslError, UsageError } from '../core/errors.js';
import type { ClientExchange, ClientOutcome, ServerExchange } from '../core/exchange.js';

/** Options for {@link iterateServer} and {@link iterateClient}. */
export interface IteratorOptions extends SessionOptions {
  /**
   * How long to wait for each message from the peer, in milliseconds; no limit by default.
   * When it passes, the exchange is cancelled and the loop throws a {@link TimeoutError}. The
   * read that timed out stays pending on the source, so close the connection afterwards.
   */
  readonly timeoutMs?: number;
}

/** Options for {@link iterateClient}. */
export interface ClientIteratorOptions extends IteratorOptions {
  /**
   * Whether the protocol can carry an initial response with the command (SMTP, IMAP with
   * SASL-IR). When false the first step has no response and the initial response answers the
   * server's first, empty challenge. Default true.
   */
  readonly canSendInitial?: boolean;
}

/** What a client hears from the server, decoded from the protocol by the caller. */
export type ServerEvent =
  | { readonly type: 'challenge'; readonly data: Uint8Array }
  /** Success, with the additional data the protocol carried with it (XMPP `<success>`), if any. */
  | { readonly type: 'success'; readonly data?: Uint8Array | undefined }
  /** Failure; `error` defaults to an {@link AuthenticationFailedError} attributed to the server. */
  | { readonly type: 'failure'; readonly error?: SaslError | undefined };

/**
 * One step of a client exchange. The first step (`initial: true`) carries the initial response
 * to send with the command, or `undefined` when there is none; later steps answer challenges;
 * the last one carries the outcome.
 */
export type ClientStep =
  | { readonly done: false; readonly initial: true; readonly response: Uint8Array | undefined }
  | { readonly done: false; readonly initial: false; readonly response: Uint8Array }
  | { readonly done: true; readonly outcome: ClientOutcome };

type Step<T> = IteratorResult<T, undefined>;

// The end of the steps, one settled promise shared by every exchange (made at first use, so that
// a bundle without this driver does not make it): a finished iterator answers each call with it.
let finishedSteps: Promise<IteratorReturnResult<undefined>> | undefined;

function finished(): Promise<IteratorReturnResult<undefined>> {
  return (finishedSteps ??= Promise.resolve(Object.freeze({ done: true as const, value: undefined })));
}

function checkTimeout(options: IteratorOptions): void {
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new UsageError('timeoutMs must be a positive number of milliseconds', { mechanism: options.mechanism });
  }
}

/**
 * What the steps of one side are made of: the core's first step, and the step a message from
 * the peer leads to. One object per side, shared by every exchange.
 */
interface Side<T extends { readonly done: boolean }, M, C extends ServerCore | ClientCore> {
  start(core: C, options: ClientIteratorOptions): T | Promise<T>;
  heard(core: C, message: M): T | Promise<T>;
}

/**
 * The steps of one exchange as a hand-written async iterator, with the behaviour of the
 * `async function*` it replaces at a fraction of the promise turns: a step the core finishes on
 * the calling tick comes back as an already-settled promise, and a step that waits for the peer
 * costs one reaction to its message. Requests made while one is still pending wait their turn;
 * an error or `return()` (leaving a `for await`) ends the iteration and cancels the exchange,
 * so the mechanism's `finally` blocks run.
 */
class Steps<T extends { readonly done: boolean }, M, C extends ServerCore | ClientCore> implements AsyncIterator<
  T,
  undefined
> {
  /** `new` until the first step, `last` once the outcome was handed out, `closed` at the end. */
  #state: 'new' | 'open' | 'last' | 'closed' | 'busy' = 'new';
  // Requests made while one was pending (`busy`).
  #waiting: (() => void)[] | undefined;
  // Taken at the first step, as the generator this replaces did: some sources start reading then.
  #source!: AsyncIterator<M>;

  // Private, unlike parameter properties: the iterator is handed to the host.
  readonly #core: C;
  readonly #options: ClientIteratorOptions;
  readonly #messages: AsyncIterable<M>;
  readonly #side: Side<T, M, C>;

  constructor(core: C, options: ClientIteratorOptions, messages: AsyncIterable<M>, side: Side<T, M, C>) {
    this.#core = core;
    this.#options = options;
    this.#messages = messages;
    this.#side = side;
  }

  // The steps are their own iterable, so a loop can take over after the first step; a loop over
  // steps that have ended would see no outcome, so it is refused.
  [Symbol.asyncIterator](): this {
    if (this.#state === 'closed')
      throw new UsageError('an exchange can be iterated only once', { mechanism: this.#core.mechanism });
    return this;
  }

  next(): Promise<Step<T>> {
    switch (this.#state) {
      case 'busy':
        return this.#later(() => this.next());
      case 'closed':
        return finished();
      case 'last':
        this.#close();
        return finished();
      case 'open':
        return this.#listen();
      case 'new':
    }
    let step: T | Promise<T>;
    try {
      this.#source = this.#messages[Symbol.asyncIterator]();
      step = this.#side.start(this.#core, this.#options);
    } catch (error) {
      return rejection(this.#fail(error));
    }
    return step instanceof Promise ? this.#wait(step) : Promise.resolve(this.#hand(step));
  }

  return(): Promise<Step<T>> {
    if (this.#state === 'busy') return this.#later(() => this.return());
    this.#close();
    return finished();
  }

  throw(error: unknown): Promise<Step<T>> {
    if (this.#state === 'busy') return this.#later(() => this.throw(error));
    return rejection(this.#state === 'closed' ? error : this.#fail(error));
  }

  // Written with `then` rather than as an async function: the message costs one reaction,
  // not an async frame and its resumption.
  #listen(): Promise<Step<T>> {
    this.#state = 'busy';
    let message: Promise<IteratorResult<M>>;
    try {
      // The core ends the wait when the signal fires or timeoutMs passes, as it does for effects.
      message = waitWithin(this.#core.base, this.#source.next(), this.#options.timeoutMs);
    } catch (error) {
      return rejection(this.#end(error));
    }
    return message.then(
      (next) => this.#heard(next),
      (error: unknown) => {
        throw this.#end(error);
      },
    );
  }

  #heard(next: IteratorResult<M>): Step<T> | Promise<Step<T>> {
    let step: T | Promise<T>;
    try {
      if (next.done === true) throw this.#core.abort(this.#core.base.peer);
      step = this.#side.heard(this.#core, next.value);
    } catch (error) {
      throw this.#end(error);
    }
    if (step instanceof Promise) {
      this.#state = 'open';
      return this.#wait(step);
    }
    const result = this.#hand(step);
    this.#drain();
    return result;
  }

  /** Fails the iteration from a pending request and lets the requests made meanwhile run. */
  #end(error: unknown): unknown {
    const failed = this.#fail(error);
    this.#drain();
    return failed;
  }

  #wait(pending: Promise<T>): Promise<Step<T>> {
    this.#state = 'busy';
    return pending.then(
      (step) => {
        const result = this.#hand(step);
        this.#drain();
        return result;
      },
      (error: unknown) => {
        throw this.#end(error);
      },
    );
  }

  #hand(step: T): Step<T> {
    this.#state = step.done ? 'last' : 'open';
    return { done: false, value: step };
  }

  #fail(error: unknown): unknown {
    this.#state = 'closed';
    return this.#core.base.fail(error);
  }

  #close(): void {
    this.#state = 'closed';
    if (!this.#core.finished) this.#core.abort('local');
  }

  #later(request: () => Promise<Step<T>>): Promise<Step<T>> {
    return new Promise((resolve) => {
      (this.#waiting ??= []).push(() => {
        resolve(request());
      });
    });
  }

  // The pending request ended (its step handed out, or the iteration closed): run the requests
  // made meanwhile, in order, until one of them has to wait in turn.
  #drain(): void {
    while (this.#state !== 'busy') {
      const request = this.#waiting?.shift();
      if (request === undefined) return;
      request();
    }
  }
}

const SERVER: Side<ServerStep, Uint8Array, ServerCore> = {
  start: (core) => core.start(false),
  heard: (core, response) => core.respond(response, false),
};

/**
 * Runs a server exchange as an async iterable of steps. Each step but the last carries a
 * challenge to send; the last is `{ done: true, outcome }`. `responses` yields the client's
 * responses; ending it early (the client sent `*`, the connection closed) ends the loop with an
 * {@link ExchangeAbortedError} from the client. The steps can be iterated once: a loop over
 * steps that have ended (after a `break`, an error or the outcome) is a {@link UsageError}.
 */
export function iterateServer(
  exchange: ServerExchange,
  responses: AsyncIterable<Uint8Array>,
  options: IteratorOptions = NO_OPTIONS,
): AsyncIterable<ServerStep> {
  checkTimeout(options);
  return new Steps(new ServerCore(exchange, options), options, responses, SERVER);
}

function checkEvent(value: unknown, core: ClientCore): ServerEvent {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type !== 'challenge' && type !== 'success' && type !== 'failure') {
    throw new UsageError('server events must have type challenge, success or failure', { mechanism: core.mechanism });
  }
  return value as ServerEvent;
}

function initialStep(response: Uint8Array | undefined): ClientStep {
  return { done: false, initial: true, response };
}

function answerStep(response: Uint8Array): ClientStep {
  return { done: false, initial: false, response };
}

function outcomeStep(outcome: ClientOutcome): ClientStep {
  return { done: true, outcome };
}

/** `step(result)`, or once the pending result is there. */
function then<T, U>(result: T | Promise<T>, step: (value: T) => U): U | Promise<U> {
  return result instanceof Promise ? result.then(step) : step(result);
}

const CLIENT: Side<ClientStep, ServerEvent, ClientCore> = {
  start: (core, options) => then(core.start(options.canSendInitial ?? true, false), initialStep),
  heard: (core, message) => {
    const event = checkEvent(message, core);
    if (event.type === 'challenge') return then(core.challenge(event.data, false), answerStep);
    if (event.type === 'success') return then(core.success(event.data, false), outcomeStep);
    // Always fails (throws, or a pending step that rejects): the mechanism sees the error and may refine it.
    return core.failure(
      event.error ?? new AuthenticationFailedError(undefined, { mechanism: core.mechanism, party: 'server' }),
      false,
    );
  },
};

/**
 * Runs a client exchange as an async iterable of steps: the initial step, one step per
 * challenge, and `{ done: true, outcome }` after the server's success. `events` yields what the
 * server sent; ending it before success or failure ends the loop with an
 * {@link ExchangeAbortedError} from the server. The steps can be iterated once: a loop over
 * steps that have ended (after a `break`, an error or the outcome) is a {@link UsageError}.
 */
export function iterateClient(
  exchange: ClientExchange,
  events: AsyncIterable<ServerEvent>,
  options: ClientIteratorOptions = NO_OPTIONS,
): AsyncIterable<ClientStep> {
  checkTimeout(options);
  return new Steps(new ClientCore(exchange, options), options, events, CLIENT);
}
