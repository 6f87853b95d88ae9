/**
 * The one stepping core. It is the only code that calls `next`, `throw` and `return` on an
 * exchange; every driver is a small loop around it. Each session method is planned once
 * ("what goes into the generator, and what the result means") and then executed either
 * synchronously or asynchronously, which is the only difference between the drivers.
 * @module
 */
import { EMPTY } from './bytes.js';
import { ExchangeAbortedError, LimitExceededError, SaslError, TimeoutError, UnexpectedMessageError, UsageError } from './errors.js';
import {
  type Authenticated,
  type ClientExchange,
  type ClientOutcome,
  type ClientYield,
  type ServerExchange,
  type ServerYield,
  NO_INITIAL_RESPONSE,
  ServerSuccess,
  answerEffect,
  isEffect,
  isPromiseLike,
} from './exchange.js';

/** Limits a session enforces on the peer. */
export interface SessionLimits {
  /**
   * Largest message accepted from the peer, in bytes (after base64 decoding), the initial
   * response included when it is given as {@link SessionOptions.initialResponse}. Default 16384.
   */
  readonly maxMessageBytes?: number;
  /** Most messages accepted from the peer in one exchange, the initial response included. Default 16. */
  readonly maxRounds?: number;
  /**
   * Ends the exchange when it aborts; no limit by default (the core keeps no clock). This is the
   * time limit of an exchange: abort it from a timer with a `TimeoutError` reason and destroy the
   * connection in the same callback, so that a stalled peer leaves no half-open socket; clear the
   * timer when the exchange ends. (`AbortSignal.timeout(ms)` with
   * `stream.addAbortSignal(signal, socket)` does both, for a connection that must log in within
   * `ms` or go.) When it fires, the session fails with a
   * {@link TimeoutError} (for a timeout reason; an {@link ExchangeAbortedError} for any other),
   * blamed on the peer, or on `local` when a host effect (a store, a hasher) was still pending; a
   * pending step rejects with it at once and every later call throws it.
   */
  readonly signal?: AbortSignal;
}

/** Options for a session. */
export interface SessionOptions extends SessionLimits {
  /** The mechanism's name, for error messages and traces. */
  readonly mechanism?: string;
  /**
   * Server side: the initial response the exchange was started with (the `initial` given to
   * `mechanism.server()`). The session then checks it against {@link SessionLimits} at the
   * start, like every later message: it counts as a round and may not exceed `maxMessageBytes`.
   */
  readonly initialResponse?: Uint8Array | undefined;
}

/** No options: every default. Shared, so that a session made without options allocates none. @internal */
export const NO_OPTIONS: SessionOptions = Object.freeze({});

/** Default of {@link SessionLimits.maxMessageBytes}: RFC 4954's suggested 12288-octet buffer, rounded up. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16384;
/** Default of {@link SessionLimits.maxRounds}. No built-in mechanism needs more than 4. */
export const DEFAULT_MAX_ROUNDS = 16;

/** One step of a server exchange: a challenge to send, or the verified result. */
export type ServerStep =
  | { readonly done: false; readonly challenge: Uint8Array }
  | { readonly done: true; readonly outcome: Authenticated };

/** How a planned step resumes the generator: `next(value)` or `throw(error)` (exported as `PlanResume`). */
export type Resume = { readonly mode: 'next'; readonly value: unknown } | { readonly mode: 'throw'; readonly error: unknown };
/** What the generator produced for a step, effects excluded (they never reach a reader; exported as `GeneratedStep`). */
export type Generated<Y, R> = IteratorResult<Exclude<Y, { kind: unknown }>, R>;

/** Reads the result of a planned step for the session that planned it (exported as `PlanReader`). */
export interface Reader<Y, R, T> {
  // A method signature, so that each side's readers may take their own kind of session.
  read(core: ServerCore | ClientCore, result: Generated<Y, R>): T;
}

/**
 * A planned step: either an answer known without running the mechanism, or what to resume the
 * generator with and how to read its result. One object per step: the readers are functions
 * shared by every session, so a step allocates no closure.
 */
export type Plan<Y, R, T> = { readonly immediate: T } | (Resume & Reader<Y, R, T>);

function resume<Y, R>(gen: Generator<Y, R, unknown>, step: Resume): IteratorResult<Y, R> {
  return step.mode === 'next' ? gen.next(step.value) : gen.throw(step.error);
}

/** Runs the generator until it yields a message or returns, answering effects synchronously. */
export function advanceSync<Y, R>(gen: Generator<Y, R, unknown>, first: Resume): Generated<Y, R> {
  let result = resume(gen, first);
  while (!result.done && isEffect(result.value)) {
    let value: unknown;
    try {
      value = result.value.runSync();
    } catch (error) {
      result = gen.throw(error);
      continue;
    }
    result = gen.next(value);
  }
  return result as Generated<Y, R>;
}

/** Runs the generator until it yields a message or returns, awaiting effects. */
export async function advanceAsync<Y, R>(gen: Generator<Y, R, unknown>, first: Resume): Promise<Generated<Y, R>> {
  let result = resume(gen, first);
  while (!result.done && isEffect(result.value)) {
    let answer: Resume;
    try {
      answer = { mode: 'next', value: await result.value.runAsync() };
    } catch (error) {
      answer = { mode: 'throw', error };
    }
    result = resume(gen, answer);
  }
  return result as Generated<Y, R>;
}

/** An answer that must be awaited, as {@link advanceEager} reports it. */
class Awaiting {
  constructor(readonly answer: PromiseLike<unknown>) {}
}

/**
 * Runs the generator as far as it goes without waiting: effects whose answer is at hand are
 * answered on the spot. Returns the result, or the first answer that must be awaited.
 */
function advanceEager<Y, R>(gen: Generator<Y, R, unknown>, first: Resume): IteratorResult<Y, R> | Awaiting {
  let result = resume(gen, first);
  while (!result.done && isEffect(result.value)) {
    let value: unknown;
    try {
      value = answerEffect(result.value);
    } catch (error) {
      result = gen.throw(error);
      continue;
    }
    if (isPromiseLike(value)) return new Awaiting(value);
    result = gen.next(value);
  }
  return result;
}

/** Where a session is in its life: a session that is done or failed takes no more steps (exported as `CoreState`). */
export type State = 'new' | 'running' | 'done' | 'failed';

// Passes its argument through as `this`, so that a subclass can stamp a private field on it.
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- the constructor is the point
class Stamp {
  constructor(target: object) {
    return target;
  }
}

// Exchanges already driven by a session: a second session over the same generator would read
// its finished state as a successful outcome of `undefined`. A private field on the generator
// marks it: invisible to inspection, allowed on frozen objects, and an order of magnitude
// cheaper per session than a WeakSet entry.
class Adopted extends Stamp {
  #adopted = true;

  /** Marks `exchange`; false when it was marked already. */
  static adopt(exchange: object): boolean {
    if (#adopted in exchange) return false;
    new Adopted(exchange);
    return true;
  }
}

// Sessions with a step in progress: a second call would feed its message to a pending effect.
// Set through this function, which only the core class can give a body to.
let setBusy: (core: Core<unknown, unknown>, busy: boolean) => void;

/** State shared by both sides: the generator, the limits, and poisoning after an error. */
abstract class Core<Y, R> {
  protected state: State = 'new';
  protected rounds = 0;
  protected readonly maxMessageBytes: number;
  protected readonly maxRounds: number;
  readonly mechanism: string | undefined;
  #error: unknown;
  #busy = false;
  readonly #signal: AbortSignal | undefined;
  // Set once the signal ended the session: later calls throw that error, not a usage error.
  #interrupted = false;
  readonly #onAbort: (() => void) | undefined;

  static {
    setBusy = (core, busy) => {
      core.#busy = busy;
    };
  }

  constructor(
    readonly exchange: Generator<Y, R, unknown>,
    options: SessionOptions,
  ) {
    if (!Adopted.adopt(exchange)) throw new UsageError('this exchange is already driven by another session', { mechanism: options.mechanism });
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    this.mechanism = options.mechanism;
    const { signal } = options;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.interrupt();
      };
      if (signal.aborted) this.interrupt();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** The peer of this side: who is blamed when the exchange runs out of time. A getter: the constructor may need it. */
  protected abstract get peer(): 'client' | 'server';

  // The signal fired: fail with a timeout (or abort) error unless the exchange already ended.
  private interrupt(): void {
    if (this.finished) return;
    const reason: unknown = this.#signal?.reason;
    const context = { mechanism: this.mechanism, party: this.#busy ? ('local' as const) : this.peer };
    const timedOut = (reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
    const error = timedOut ? new TimeoutError('the authentication exchange took longer than allowed', context) : new ExchangeAbortedError(undefined, context);
    this.#interrupted = true;
    this.fail(error);
  }

  /**
   * `pending` (a host effect being awaited), or the session's error as soon as the signal ends
   * the exchange, whichever comes first. Without a signal, `pending` itself. @internal
   */
  race<T>(pending: PromiseLike<T>): PromiseLike<T> {
    const signal = this.#signal;
    if (signal === undefined) return pending;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        // `interrupt` ran first (its listener was added first) and set a SaslError.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
        reject(this.#error);
      };
      if (this.#interrupted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([pending, aborted]).finally(() => {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    });
  }

  /** Marks the exchange completed and lets go of the signal. */
  protected complete(): void {
    this.state = 'done';
    this.#release();
  }

  #release(): void {
    if (this.#signal !== undefined && this.#onAbort !== undefined) this.#signal.removeEventListener('abort', this.#onAbort);
  }

  /** True once the exchange has finished, successfully or not. */
  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  /** The error that ended the session, once it failed; `undefined` otherwise. */
  get error(): unknown {
    return this.#error;
  }

  /** Marks the session failed and cancels the generator so its `finally` blocks run. */
  fail(error: unknown): unknown {
    if (this.state !== 'failed') {
      this.state = 'failed';
      this.#error = error;
      this.#release();
      try {
        this.exchange.return(undefined as R);
      } catch {
        // The exchange was already finished or is rethrowing; the first error is what matters.
      }
    }
    return error;
  }

  /** Cancels the exchange (the peer sent `*`, or the caller gave up) and returns the error to report. */
  abort(party: 'client' | 'server' | 'local' = 'local'): ExchangeAbortedError {
    const error = new ExchangeAbortedError(undefined, { mechanism: this.mechanism, party });
    if (!this.finished) this.fail(error);
    return error;
  }

  protected expect(state: State, action: string): void {
    if (this.#busy) throw new UsageError(`cannot ${action}: the previous step has not finished`, { mechanism: this.mechanism });
    if (this.#interrupted) throw this.#error;
    if (this.state !== state) throw new UsageError(`cannot ${action}: the session is ${this.state}`, { mechanism: this.mechanism });
  }

  protected checkIncoming(data: Uint8Array, from: 'client' | 'server'): void {
    if (!(data instanceof Uint8Array)) throw this.fail(new UsageError('messages must be Uint8Array', { mechanism: this.mechanism }));
    if (data.length > this.maxMessageBytes) {
      throw this.fail(new LimitExceededError('maxMessageBytes', `message from the ${from} is longer than ${this.maxMessageBytes} bytes`, { mechanism: this.mechanism, party: from }));
    }
    if (++this.rounds > this.maxRounds) {
      throw this.fail(new LimitExceededError('maxRounds', `more than ${this.maxRounds} messages from the ${from}`, { mechanism: this.mechanism, party: from }));
    }
  }
}

/** Server-side session state. Drivers call `plan*`, run the plan, and return what `read` gives. */
export class ServerCore extends Core<ServerYield, Authenticated> {
  protected get peer(): 'client' {
    return 'client';
  }

  readonly #initial: Uint8Array | undefined;

  constructor(exchange: ServerExchange, options: SessionOptions = NO_OPTIONS) {
    super(exchange, options);
    this.#initial = options.initialResponse;
  }

  /** Plans the first step: the first challenge, or the outcome when the initial response sufficed. */
  planStart(): Plan<ServerYield, Authenticated, ServerStep> {
    this.expect('new', 'start');
    this.state = 'running';
    if (this.#initial !== undefined) this.checkIncoming(this.#initial, 'client');
    return { mode: 'next', value: undefined, read: ServerCore.#read };
  }

  /** Plans the handling of a client response. */
  planRespond(data: Uint8Array): Plan<ServerYield, Authenticated, ServerStep> {
    this.expect('running', 'respond');
    this.checkIncoming(data, 'client');
    return { mode: 'next', value: data, read: ServerCore.#read };
  }

  static #read(core: ServerCore, result: Generated<ServerYield, Authenticated>): ServerStep {
    if (result.done) {
      core.complete();
      return { done: true, outcome: result.value };
    }
    return { done: false, challenge: result.value };
  }
}

/**
 * Client-side session state. Besides stepping the generator it implements RFC 4422's rules
 * that do not belong to any one mechanism: an initial response the protocol could not carry is
 * sent after the server's empty challenge, and server-final data that arrives as a challenge
 * (SMTP, POP3) is answered with an empty response.
 */
export class ClientCore extends Core<ClientYield, ClientOutcome> {
  protected get peer(): 'server' {
    return 'server';
  }

  #pendingInitial: Uint8Array | undefined;
  #outcome: ClientOutcome | undefined;
  #canSendInitial = true;

  constructor(exchange: ClientExchange, options: SessionOptions = NO_OPTIONS) {
    super(exchange, options);
  }

  /**
   * Plans the start. `canSendInitial` says whether the protocol (and server) accept an initial
   * response with the command; when not, the initial response waits for the empty challenge.
   * The plan's result is the initial response to send, or `undefined` for none.
   */
  planStart(canSendInitial: boolean): Plan<ClientYield, ClientOutcome, Uint8Array | undefined> {
    this.expect('new', 'start');
    this.state = 'running';
    this.#canSendInitial = canSendInitial;
    return { mode: 'next', value: undefined, read: ClientCore.#readStart };
  }

  static #readStart(core: ClientCore, result: Generated<ClientYield, ClientOutcome>): Uint8Array | undefined {
    if (result.done) throw core.fail(new UsageError('a client exchange must yield its initial response first', { mechanism: core.mechanism }));
    const first = result.value;
    if (first === NO_INITIAL_RESPONSE) return undefined;
    if (core.#canSendInitial) return first;
    core.#pendingInitial = first;
    return undefined;
  }

  /** Plans the answer to a server challenge. The plan's result is the response to send. */
  planChallenge(data: Uint8Array): Plan<ClientYield, ClientOutcome, Uint8Array> {
    if (this.state === 'done') {
      throw this.fail(new UnexpectedMessageError('the server sent a challenge after the exchange completed', { mechanism: this.mechanism, party: 'server' }));
    }
    this.expect('running', 'answer a challenge');
    this.checkIncoming(data, 'server');
    const pending = this.#pendingInitial;
    if (pending !== undefined) {
      this.#pendingInitial = undefined;
      if (data.length !== 0) throw this.fail(new UnexpectedMessageError('expected an empty challenge before the initial response', { mechanism: this.mechanism, party: 'server' }));
      return { immediate: pending };
    }
    return { mode: 'next', value: data, read: ClientCore.#readChallenge };
  }

  static #readChallenge(core: ClientCore, result: Generated<ClientYield, ClientOutcome>): Uint8Array {
    if (result.done) {
      // The mechanism consumed server-final data sent as a challenge: answer it empty.
      core.complete();
      core.#outcome = result.value;
      return EMPTY;
    }
    if (result.value === NO_INITIAL_RESPONSE) throw core.fail(new UsageError('NO_INITIAL_RESPONSE is only valid as the first yield', { mechanism: core.mechanism }));
    return result.value;
  }

  /** Plans the handling of the server's success report, with its additional data if any. */
  planSuccess(data?: Uint8Array): Plan<ClientYield, ClientOutcome, ClientOutcome> {
    if (this.state === 'done') {
      const outcome = this.#outcome as ClientOutcome;
      if (data !== undefined && data.length > 0) throw this.fail(new UnexpectedMessageError('the server sent additional data after the exchange completed', { mechanism: this.mechanism, party: 'server' }));
      return { immediate: outcome };
    }
    this.expect('running', 'accept success');
    if (data !== undefined) this.checkIncoming(data, 'server');
    if (this.#pendingInitial !== undefined) throw this.fail(new UnexpectedMessageError('the server reported success before the client authenticated', { mechanism: this.mechanism, party: 'server' }));
    return { mode: 'next', value: new ServerSuccess(data), read: ClientCore.#readSuccess };
  }

  static #readSuccess(core: ClientCore, result: Generated<ClientYield, ClientOutcome>): ClientOutcome {
    if (!result.done) throw core.fail(new UnexpectedMessageError('the server reported success before the exchange completed', { mechanism: core.mechanism, party: 'server' }));
    core.complete();
    core.#outcome = result.value;
    return result.value;
  }

  /**
   * Plans the handling of the server's failure report. The mechanism sees `error` thrown at
   * its current step (it may replace it with a more precise one); the plan always throws.
   */
  planFailure(error: SaslError): Plan<ClientYield, ClientOutcome, never> {
    if (this.finished) throw this.fail(error);
    this.expect('running', 'accept failure');
    return { mode: 'throw', error, read: ClientCore.#readFailure };
  }

  static #readFailure(core: ClientCore): never {
    throw core.fail(new UnexpectedMessageError('the client mechanism ignored the server failure', { mechanism: core.mechanism, party: 'local' }));
  }
}

function readChecked<Y, R, T>(core: ServerCore | ClientCore, plan: Reader<Y, R, T>, result: Generated<Y, R>): T {
  // Aborted while an effect was pending: the closed generator's `done` is not an outcome.
  if (core.finished) throw core.error;
  return plan.read(core, result);
}

/** Executes a plan synchronously. */
export function runSync<Y, R, T>(core: ServerCore | ClientCore, plan: Plan<Y, R, T>): T {
  if ('immediate' in plan) return plan.immediate;
  setBusy(core, true);
  try {
    return readChecked(core, plan, advanceSync(core.exchange as unknown as Generator<Y, R, unknown>, plan));
  } catch (error) {
    throw core.fail(error);
  } finally {
    setBusy(core, false);
  }
}

/**
 * A step that must wait for an answer that is not at hand (PBKDF2 on the pool, an async
 * store): what {@link runEager} returns instead of the result. A class, so that no result of a
 * mechanism can be mistaken for it.
 */
export class Pending<T> {
  constructor(
    /** Settles with the step's result, or rejects with its error (the session failed first). */
    readonly promise: Promise<T>,
  ) {}
}

/**
 * Executes a plan as far as it goes on the calling tick: the generator runs until it needs an
 * answer that is not at hand. Returns the result when it got there, {@link Pending} otherwise;
 * throws (after failing the session) when the step failed on the spot. For drivers that use a
 * result at once, without a trip through the microtask queue.
 */
export function runEager<Y, R, T>(core: ServerCore | ClientCore, plan: Plan<Y, R, T>): T | Pending<T> {
  if ('immediate' in plan) return plan.immediate;
  const gen = core.exchange as unknown as Generator<Y, R, unknown>;
  setBusy(core, true);
  let pending: PromiseLike<unknown> | undefined;
  try {
    const first = advanceEager(gen, plan);
    if (first instanceof Awaiting) {
      pending = first.answer;
      return new Pending(finishAsync(core, plan, gen, pending));
    }
    return readChecked(core, plan, first as Generated<Y, R>);
  } catch (error) {
    throw core.fail(error);
  } finally {
    // `finishAsync` owns the busy mark from the moment it took over.
    if (pending === undefined) setBusy(core, false);
  }
}

/**
 * Executes a plan, awaiting effects. The generator runs on the calling tick until it needs an
 * answer that is not at hand (PBKDF2 on the pool, an async store); a step that needs none, as
 * with a store in memory, settles without a trip through the microtask queue per effect.
 * Problems always arrive as a rejection, never as a throw.
 */
export function runAsync<Y, R, T>(core: ServerCore | ClientCore, plan: Plan<Y, R, T>): Promise<T> {
  try {
    const result = runEager(core, plan);
    return result instanceof Pending ? result.promise : Promise.resolve(result);
  } catch (error) {
    return rejection(error);
  }
}

/**
 * A promise rejected with `reason`, whatever it is: a store may throw anything, and it is
 * passed on as it is. For drivers whose contract is to reject, never to throw. @internal
 */
export function rejection(reason: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
  return Promise.reject(reason);
}

/** The rest of {@link runAsync} once an answer must be awaited; clears the busy mark when done. */
async function finishAsync<Y, R, T>(core: ServerCore | ClientCore, plan: Reader<Y, R, T>, gen: Generator<Y, R, unknown>, pending: PromiseLike<unknown>): Promise<T> {
  try {
    let answer: Resume;
    try {
      answer = { mode: 'next', value: await core.race(pending) };
    } catch (error) {
      answer = { mode: 'throw', error };
    }
    for (;;) {
      const next = advanceEager(gen, answer);
      if (!(next instanceof Awaiting)) return readChecked(core, plan, next as Generated<Y, R>);
      try {
        answer = { mode: 'next', value: await core.race(next.answer) };
      } catch (error) {
        answer = { mode: 'throw', error };
      }
    }
  } catch (error) {
    throw core.fail(error);
  } finally {
    setBusy(core, false);
  }
}
