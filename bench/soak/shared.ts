/** What the soak test's parent and its server process share: accounts, settings and messages. */

/** Default number of accounts on the soak server: user0 ... user49. */
export const USERS = 50;

let users = USERS;

/** Sets the number of accounts (`--users`), in the parent and in each server process alike. */
export function setUsers(count: number): void {
  users = count;
}

/** The number of accounts. */
export function userCount(): number {
  return users;
}

/** The name of account `i`. */
export function userName(i: number): string {
  return `user${i % users}`;
}

/** The password of account `i` (a test fixture, not a secret). */
export function passwordOf(i: number): string {
  return `soak-password-${i % users}`;
}

/** The shared store the servers read (`--store postgres`); without it each keeps its accounts in memory. */
export interface StoreSettings {
  readonly kind: 'postgres';
  /** The CI PostgreSQL, as its superuser, on 127.0.0.1. */
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly database: string;
  };
  /** The table the parent created for this run. */
  readonly table: string;
  /** Accounts in it. */
  readonly users: number;
  /** The store cache's time limit in each server. */
  readonly cacheTtlMs: number;
  /** Connections in each server's pool. */
  readonly poolSize: number;
}

/** A server's store counters, cumulative. */
export interface StoreFigures {
  readonly queries: number;
  readonly lookups: number;
  readonly hits: number;
  readonly misses: number;
  readonly joined: number;
}

/** Settings handed to the server process. */
export interface ServerSettings {
  /** The time limit of one SASL exchange, in ms. */
  readonly exchangeTimeoutMs: number;
  /** How long a connection may stay silent outside an exchange, in ms. */
  readonly idleTimeoutMs: number;
  /** The number of accounts. */
  readonly users: number;
  /** The shared store, when there is one. */
  readonly store?: StoreSettings | undefined;
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
  /** The shared store's counters (cumulative), with `--store`. */
  readonly store?: StoreFigures | undefined;
  readonly counters: {
    readonly connections: number;
    readonly active: number;
    readonly logins: number;
    readonly timeouts: number;
    readonly failures: Readonly<Record<string, number>>;
  };
}

/** Messages from the server process. */
export type FromServer =
  | { readonly type: 'ready'; readonly smtpPort: number; readonly imapPort: number }
  | { readonly type: 'stats'; readonly stats: ServerStats };
