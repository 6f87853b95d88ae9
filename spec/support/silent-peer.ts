/**
 * A peer that stops answering, a writer that says when the side under test wrote, and probes that
 * say a mechanism was cancelled: for time-limit and give-up specs without timing assertions.
 */
import type { Mechanism, SaslError } from '../../lib/index.js';
import { rejectedSaslError } from './pair.js';

/** A source that yields `items` and then never yields again (nor ends): a stalled peer. */
export async function* silentAfter<T>(...items: T[]): AsyncGenerator<T, void, undefined> {
  for (const item of items) yield await Promise.resolve(item);
  await new Promise<never>(() => undefined);
}

/** A `write` that records what it is given; `wrote(n)` resolves once `n` writes happened. */
export function recorder<T>(copy: (item: T) => T = (item) => item): {
  written: T[];
  write: (item: T) => void;
  wrote: (count: number) => Promise<void>;
} {
  const written: T[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  return {
    written,
    write: (item) => {
      written.push(copy(item));
      for (const entry of waiting) if (written.length >= entry.count) entry.resolve();
    },
    wrote: (count) =>
      written.length >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve })),
  };
}

/** The reason `AbortSignal.timeout` gives, for a manual controller that stands for a timer. */
export const timeoutReason = (): DOMException => new DOMException('too slow', 'TimeoutError');

/**
 * Starts `run` under an abort signal and, once `out` recorded `writes` writes (the side under test
 * now waits for its silent peer), aborts with `reason` (`timeoutReason()` for a timer that ran
 * out); returns the typed error with `code` that `run` rejects with.
 */
export async function abortWhenWaiting(
  out: { wrote: (count: number) => Promise<void> },
  writes: number,
  run: (signal: AbortSignal) => Promise<unknown>,
  reason: unknown,
  code: SaslError['code'],
): Promise<SaslError> {
  const controller = new AbortController();
  const running = run(controller.signal);
  await out.wrote(writes);
  controller.abort(reason);
  return rejectedSaslError(running, code);
}

/** Wraps exchanges so a test can see that their `finally` blocks ran (cancellation reached them). */
export class FinallyProbe {
  /** True once the wrapped exchange finished, by returning, throwing or being cancelled. */
  ran = false;

  readonly wrap = <Y, R>(exchange: Generator<Y, R, unknown>): Generator<Y, R, unknown> => {
    const mark = (): void => {
      this.ran = true;
    };
    return (function* () {
      try {
        return yield* exchange;
      } finally {
        mark();
      }
    })();
  };
}

/** `mechanism` with its client exchanges wrapped by one probe: `probe.ran` says a client exchange ended. */
export function probedClient(mechanism: Mechanism): { mechanism: Mechanism; probe: FinallyProbe } {
  const probe = new FinallyProbe();
  return {
    mechanism: { ...mechanism, client: (credentials, options) => probe.wrap(mechanism.client(credentials, options)) },
    probe,
  };
}
