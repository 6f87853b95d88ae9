/**
 * Counts the key derivations (PBKDF2, scrypt) node:crypto runs, with their cost, by wrapping the
 * module's functions: lib/ calls them through the CommonJS module object, so the wrappers see
 * every call, sync or on the pool. Install in `before`, uninstall in `after`.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto = require('node:crypto') as Record<string, unknown>;

/** Records `pbkdf2:<iterations>:<digest>` and `scrypt:<N>:<r>:<p>` for every run while `active`. */
export class KdfCounter {
  readonly runs: string[] = [];
  /** Counting is on only while true (turn it off while a client in the same process derives). */
  active = false;
  readonly #saved = new Map<string, unknown>();

  install(): void {
    const wrap = (name: string, cost: (args: unknown[]) => string): void => {
      const original = nodeCrypto[name] as (...args: unknown[]) => unknown;
      this.#saved.set(name, original);
      nodeCrypto[name] = (...args: unknown[]): unknown => {
        if (this.active) this.runs.push(cost(args));
        return original(...args);
      };
    };
    const pbkdf2Cost = (args: unknown[]): string => `pbkdf2:${String(args[2])}:${String(args[4])}`;
    const scryptCost = (args: unknown[]): string => {
      const options = (typeof args[3] === 'object' ? args[3] : {}) as { N?: number; r?: number; p?: number };
      return `scrypt:${options.N ?? '?'}:${options.r ?? '?'}:${options.p ?? '?'}`;
    };
    wrap('pbkdf2Sync', pbkdf2Cost);
    wrap('pbkdf2', pbkdf2Cost);
    wrap('scryptSync', scryptCost);
    wrap('scrypt', scryptCost);
  }

  uninstall(): void {
    for (const [name, original] of this.#saved) nodeCrypto[name] = original;
    this.#saved.clear();
  }

  /** Runs `body` with counting on, and returns its value and the runs it made. */
  during<T>(body: () => T): { value: T; runs: string[] } {
    this.runs.length = 0;
    this.active = true;
    try {
      return { value: body(), runs: [...this.runs] };
    } finally {
      this.active = false;
    }
  }
}
