/** What the soak test's parent and its server process share: accounts, settings and messages. */

/** Accounts on the soak server: user0 ... user49. */
export const USERS = 50;

/** The name of account `i`. */
export function userName(i: number): string {
  return `user${i % USERS}`;
}

/** The password of account `i` (a test fixture, not a secret). */
export function passwordOf(i: number): string {
  return `soak-password-${i % USERS}`;
}

/** Settings handed to the server process. */
export interface ServerSettings {
  /** The time limit of one SASL exchange, in ms. */
  readonly exchangeTimeoutMs: number;
  /** How long a connection may stay silent outside an exchange, in ms. */
  readonly idleTimeoutMs: number;
}

/** Messages to the server process. */
export type ToServer = { readonly type: 'stats' } | { readonly type: 'stop' };

/** The server's figures, taken after a forced GC. */
export interface ServerStats {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Worst event-loop delay since the last stats, ms. */
  readonly loopMaxMs: number;
  /** 99th percentile of the event-loop delay since the last stats, ms. */
  readonly loopP99Ms: number;
  /** Event-loop utilization since the last stats, 0 to 1. */
  readonly loopUtilization: number;
  /** CPU time (user + system) since the last stats, seconds. */
  readonly cpuSeconds: number;
  readonly counters: {
    readonly connections: number;
    readonly active: number;
    readonly logins: number;
    readonly timeouts: number;
    readonly failures: Readonly<Record<string, number>>;
  };
}

/** Messages from the server process. */
export type FromServer = { readonly type: 'ready'; readonly smtpPort: number; readonly imapPort: number } | { readonly type: 'stats'; readonly stats: ServerStats };
