/**
 * A second copy of a module, as another copy of saslkit in the process (CommonJS beside ESM) or
 * a module that has learned nothing yet: `specifier` evaluated again, resolved from `from` (the
 * calling spec's `__filename`). Its dependencies come from the cache; the cached copy stays the
 * one every other import sees.
 */
import { createRequire } from 'node:module';

/** The module's exports, typed by the caller. */
export function freshModule(from: string, specifier: string): unknown {
  const load = createRequire(from);
  const path = load.resolve(specifier);
  const cached = load.cache[path];
  Reflect.deleteProperty(load.cache, path);
  try {
    return load(specifier) as unknown;
  } finally {
    if (cached) load.cache[path] = cached;
  }
}
