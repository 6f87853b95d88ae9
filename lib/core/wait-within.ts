/**
 * A time limit on the wait for the peer's next message, for the iterator driver (the only one
 * that waits for messages). Split from core.ts (issue 12); it imports the core as a type only,
 * so core.ts can re-export it without an import cycle at run time.
 * @module
 */
import { TimeoutError } from './errors.js';
import type { Core } from './core.js';

/**
 * The core's `wait` for the peer's next message, failed with a {@link TimeoutError}
 * blamed on the peer when `timeoutMs` passes first. Only the iterator driver waits for messages;
 * a function rather than a method so that a bundle without that driver leaves it out. @internal
 */
export function waitWithin<T>(
  core: Pick<Core<unknown, unknown>, 'wait' | 'stop' | 'peer' | 'mechanism'>,
  pending: PromiseLike<T>,
  timeoutMs: number | undefined,
): Promise<T> {
  if (timeoutMs === undefined) return core.wait(pending);
  const timer = setTimeout(() => {
    core.stop(
      new TimeoutError(`no message from the ${core.peer} within ${timeoutMs} ms`, {
        mechanism: core.mechanism,
        party: core.peer,
      }),
    );
  }, timeoutMs);
  const waiting = core.wait(pending, true);
  const clear = (): void => {
    clearTimeout(timer);
  };
  waiting.then(clear, clear);
  return waiting;
}
