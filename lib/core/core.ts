/**
 * The one stepping core: the only code that calls `next`, `throw` and `return` on an exchange,
 * and the one place for the rules every exchange shares: the limits on peer messages, the
 * held-back initial response, the signal, and a failed session staying failed. A step runs
 * synchronously (sync driver) or asynchronously (the others); a driver only hands the result on
 * in its own style (a value, a promise, a callback, an async iterator).
 *
 * Two things are there for speed, each measured (`npm run bench -- drivers plain`): an async
 * step runs on the calling tick and leaves it only for an answer that is a promise (PBKDF2 on the
 * pool, an async store), so a store in memory costs no microtask turn per effect; and an adopted
 * exchange is marked with a symbol-keyed property (`adopt`), because a WeakSet entry per session
 * cost 17 % of a whole PLAIN exchange in an A/B run of the two.
 *
 * The two sides are in server-core.ts and client-core.ts, and the iterator driver's time limit in
 * wait-within.ts (issue 12), so that this file is the shared rules and the one resume loop.
 * @module
 */
import { ExchangeAbortedError, LimitExceededError, TimeoutError, UsageError } from './errors.js';
import { answerEffect, isEffect, isPromiseLike } from './exchange.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_ROUNDS, type SessionOptions } from './session.js';

export {
  type SessionLimits,
  type SessionOptions,
  NO_OPTIONS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_ROUNDS,
  type ServerStep,
} from './session.js';
// Only the iterator driver's: in its own file so that the core reads on one screen (issue 12).
export { waitWithin } from './wait-within.js';

/** A rejected promise, whatever `reason` is (a store may throw anything; it is passed on as it is). @internal */
export function rejection(reason: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
  return Promise.reject(reason);
}

/** What the generator gave for a step; effects never get this far. @internal */
export type Result<Y, R> = IteratorResult<Exclude<Y, { kind: unknown }>, R>;

// Marks an exchange driven by a session: a second session would read a finished one's state as
// an outcome of `undefined`. A symbol-keyed property, not a WeakSet (an entry per session cost
// 17 % of a whole PLAIN exchange in an A/B run) nor a private field stamped through a returning
// base constructor (rollup's tree-shaking dropped that stamp as free of side effects, so the
// bundle refused no second session; and it cost a generic construct per session).
const ADOPTED = Symbol('saslkit.adopted');

// Exchanges their author froze (or a proxy that refuses the mark) are remembered here instead.
let frozenAdopted: WeakSet<object> | undefined;

function adopt(exchange: object): boolean {
  const marked = exchange as { [ADOPTED]?: true };
  if (marked[ADOPTED] === true) return false;
  try {
    marked[ADOPTED] = true;
    return true;
  } catch {
    // Not extensible: the assignment throws (modules are strict code).
  }
  frozenAdopted ??= new WeakSet();
  if (frozenAdopted.has(exchange)) return false;
  frozenAdopted.add(exchange);
  return true;
}

// What `advance` returns when the generator waits for an answer that is a promise (kept in `#awaiting`).
const WAIT = Symbol('wait');

/**
 * What both sides share: the generator, the limits, the signal, and failing for good. Each side
 * (server-core.ts, client-core.ts) holds one rather than extending it: on Node 20 a `super()`
 * call constructs the base through V8's generic construct stub, which cost about 20 ns per
 * session more than two plain objects (a third of the sync driver's whole overhead). @internal
 */
export class Core<Y, R> {
  /** Where the session is; the sides move it from `new` to `running`. */
  state: 'new' | 'running' | 'done' | 'failed' = 'new';
  readonly mechanism: string | undefined;
  #rounds = 0;
  #busy = false;
  #error: unknown;
  #interrupted = false; // the signal ended the session: later calls throw its error
  #awaiting: PromiseLike<unknown> | undefined; // the answer `#advance` stopped for
  #endWait: ((error: unknown) => void) | undefined; // rejects the wait in progress
  readonly #maxMessageBytes: number;
  readonly #maxRounds: number;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    readonly exchange: Generator<Y, R, unknown>,
    options: SessionOptions,
    /** Who sends this side its messages: blamed when they break a limit or run out of time. */
    readonly peer: 'client' | 'server',
  ) {
    if (!adopt(exchange))
      throw new UsageError('this exchange is already driven by another session', { mechanism: options.mechanism });
    this.mechanism = options.mechanism;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    // Apart, so that the constructor stays small enough for V8 to inline into each driver's.
    if (options.signal !== undefined) this.#watch(options.signal);
  }

  #watch(signal: AbortSignal): void {
    this.#signal = signal;
    this.#onAbort = () => {
      this.#interrupt();
    };
    if (signal.aborted) this.#interrupt();
    else signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once the exchange has finished, successfully or not. */
  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  /** Marks the session failed (the first error stays) and cancels the generator so its `finally` blocks run. */
  fail(error: unknown): unknown {
    if (this.state === 'failed') return error;
    this.#end('failed');
    this.#error = error;
    try {
      this.exchange.return(undefined as R);
    } catch {
      // Already finished or rethrowing: the first error is what matters.
    }
    return error;
  }

  /** Cancels the exchange (the peer sent `*`, or the caller gave up) and returns the error to report. */
  abort(party: 'client' | 'server' | 'local' = 'local'): ExchangeAbortedError {
    const error = new ExchangeAbortedError(undefined, { mechanism: this.mechanism, party });
    if (!this.finished) this.fail(error);
    return error;
  }

  #interrupt(): void {
    if (this.finished) return;
    const context = { mechanism: this.mechanism, party: this.#busy ? ('local' as const) : this.peer };
    const timedOut = (this.#signal?.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
    this.#interrupted = true;
    this.stop(
      timedOut
        ? new TimeoutError('the authentication exchange took longer than allowed', context)
        : new ExchangeAbortedError(undefined, context),
    );
  }

  /** Fails the session and rejects the wait in progress with `error`: the signal fired or the time ran out. @internal */
  stop(error: unknown): void {
    this.fail(error);
    this.#endWait?.(error);
  }

  /** Ends the session in `state` and lets go of the signal. */
  #end(state: 'done' | 'failed'): void {
    this.state = state;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  /** Marks the exchange completed. */
  complete(): void {
    this.#end('done');
  }

  /**
   * `pending` (an effect's answer, or the peer's next message), or the session's error as soon
   * as the signal fires or {@link stop} is called (by {@link waitWithin}'s timer: `interruptible`).
   * @internal
   */
  wait<T>(pending: PromiseLike<T>, interruptible = false): Promise<T> {
    if (this.state === 'failed') {
      pending.then(undefined, () => undefined); // its rejection would be unhandled
      return rejection(this.#error);
    }
    if (this.#signal === undefined && !interruptible) return Promise.resolve(pending);
    return new Promise<T>((resolve, reject) => {
      const settle =
        <V>(then: (value: V) => void) =>
        (value: V): void => {
          this.#endWait = undefined;
          then(value);
        };
      this.#endWait = settle(reject);
      pending.then(settle(resolve), settle(reject));
    });
  }

  /** Refuses a step while another is pending, after the signal fired, or in the wrong state. */
  expect(state: 'new' | 'running', action: string): void {
    if (this.#busy)
      throw new UsageError(`cannot ${action}: the previous step has not finished`, { mechanism: this.mechanism });
    if (this.#interrupted) throw this.#error;
    if (this.state !== state)
      throw new UsageError(`cannot ${action}: the session is ${this.state}`, { mechanism: this.mechanism });
  }

  /** Counts a message from the peer against the limits. */
  checkIncoming(data: Uint8Array): void {
    if (!(data instanceof Uint8Array))
      throw this.fail(new UsageError('messages must be Uint8Array', { mechanism: this.mechanism }));
    const { peer } = this;
    if (data.length > this.#maxMessageBytes) {
      throw this.fail(
        new LimitExceededError(
          'maxMessageBytes',
          `message from the ${peer} is longer than ${this.#maxMessageBytes} bytes`,
          { mechanism: this.mechanism, party: peer },
        ),
      );
    }
    if (++this.#rounds > this.#maxRounds)
      throw this.fail(
        new LimitExceededError('maxRounds', `more than ${this.#maxRounds} messages from the ${peer}`, {
          mechanism: this.mechanism,
          party: peer,
        }),
      );
  }

  /**
   * One step: resumes the generator with `input` (thrown into it when `thrown`) and gives what
   * `read` makes of the result for `side`, or a promise of it once an effect had to be awaited.
   * Sync steps answer effects with their sync form and never return a promise. Any error fails
   * the session.
   */
  run<S, T>(
    input: unknown,
    thrown: boolean,
    sync: boolean,
    read: (side: S, result: Result<Y, R>) => T,
    side: S,
  ): T | Promise<T> {
    this.#busy = true;
    let result: Result<Y, R> | typeof WAIT;
    try {
      result = this.#advance(input, thrown, sync);
    } catch (error) {
      this.#busy = false;
      throw this.fail(error);
    }
    if (result === WAIT) return this.#continue(read, side);
    this.#busy = false;
    return this.#read(read, side, result);
  }

  // The one resume loop: runs the generator until it yields a message or returns, answering
  // effects on the spot; returns WAIT when an async step's answer is a promise.
  #advance(input: unknown, thrown: boolean, sync: boolean): Result<Y, R> | typeof WAIT {
    let result = thrown ? this.exchange.throw(input) : this.exchange.next(input);
    while (!result.done && isEffect(result.value)) {
      let answer: unknown;
      try {
        answer = sync ? result.value.runSync() : answerEffect(result.value);
      } catch (error) {
        result = this.exchange.throw(error);
        continue;
      }
      if (!sync && isPromiseLike(answer)) {
        this.#awaiting = answer;
        return WAIT;
      }
      result = this.exchange.next(answer);
    }
    return result as Result<Y, R>;
  }

  // The rest of an async step: awaits each answer `#advance` stopped for; busy until it ends.
  async #continue<S, T>(read: (side: S, result: Result<Y, R>) => T, side: S): Promise<T> {
    try {
      for (;;) {
        let input: unknown;
        let thrown = false;
        try {
          input = await this.wait(this.#awaiting as PromiseLike<unknown>);
        } catch (error) {
          input = error;
          thrown = true;
        }
        this.#awaiting = undefined;
        const result = this.#advance(input, thrown, false);
        if (result !== WAIT) return this.#read(read, side, result);
      }
    } catch (error) {
      throw this.fail(error);
    } finally {
      this.#busy = false;
    }
  }

  #read<S, T>(read: (side: S, result: Result<Y, R>) => T, side: S, result: Result<Y, R>): T {
    // Ended by the signal during the step: the closed generator's `done` is not an outcome.
    if (this.finished) throw this.#error;
    return read(side, result);
  }
}
