/**
 * Counts the promises created while an async step runs (async_hooks' PROMISE inits): specs pin
 * how many promise jobs a path costs by counting them, never by timing it.
 */
import { createHook } from 'node:async_hooks';

/** Runs `run` and returns how many promises were created until it settled, and its value. */
export async function countPromises<T>(run: () => Promise<T>): Promise<{ promises: number; value: T }> {
  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') promises += 1;
    },
  }).enable();
  try {
    const value = await run();
    return { promises, value };
  } finally {
    hook.disable();
  }
}
