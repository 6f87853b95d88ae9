/** A peer that stops answering, and a writer that says when the side under test wrote: for time-limit specs without timing assertions. */

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
