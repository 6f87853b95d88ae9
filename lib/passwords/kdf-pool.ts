/**
 * The KDF pool: admits key-derivation jobs (PBKDF2, scrypt) to libuv's thread pool a few at a
 * time, in arrival order, instead of all at once.
 *
 * Under the async drivers every PBKDF2 and scrypt of saslkit (SCRAM's salted password, the
 * async password hashers) runs on libuv's pool, so the event loop never runs one itself. But
 * libuv starts as many as it has threads (4 by default), and on a machine with few cores those
 * threads take every core from the event loop: a burst of logins then stalls the loop for
 * several PBKDF2s even though none runs on it. The pool keeps at most `concurrency` jobs on
 * libuv's threads (default: one fewer than the cores, and one fewer than libuv's threads) and
 * queues the rest, first in, first out. The trade-off: fewer derivations run at the same time,
 * so a burst of logins takes longer to finish on a machine with few cores.
 *
 * The pool is one per process (libuv's pool is), shared by the ESM and CommonJS copies of
 * saslkit. Synchronous derivations (the sync driver, `hash`/`verify`) never go through it.
 * @module
 */
import { type BinaryLike, pbkdf2, scrypt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { KdfTicket } from '../crypto/ticket.js';
import {
  ExchangeAbortedError,
  LimitExceededError,
  type SaslErrorOptions,
  TimeoutError,
  UsageError,
} from '../core/errors.js';

/** Settings of the KDF pool; see {@link configureKdfPool}. */
export interface KdfPoolOptions {
  /**
   * Most jobs on libuv's threads at once: an integer of at least 1, `Infinity` for no limit
   * (every job goes to libuv at once, as with bare `crypto.pbkdf2`), or `'auto'` for
   * {@link defaultKdfConcurrency}.
   */
  readonly concurrency?: number | 'auto';
  /**
   * Most jobs waiting for a slot: an integer of at least 0, or `Infinity`. Default
   * {@link DEFAULT_KDF_MAX_QUEUED}. A job beyond it is refused at once with a
   * {@link LimitExceededError} whose `limit` is `kdfMaxQueued`: under a flood of logins a server
   * fails the surplus fast instead of making every login wait.
   */
  readonly maxQueued?: number;
}

/** The pool's settings and load at one moment. */
export interface KdfPoolStatus {
  /** Most jobs on libuv's threads at once. */
  readonly concurrency: number;
  /** Most jobs waiting for a slot. */
  readonly maxQueued: number;
  /** Jobs on libuv's threads now. */
  readonly running: number;
  /** Jobs waiting for a slot now. */
  readonly queued: number;
}

/** Options of one job given to {@link runKdf}. */
export interface KdfJobOptions {
  /**
   * Drops the job if it fires while the job still waits for a slot: the promise then rejects
   * with a {@link TimeoutError} (for a timeout reason) or an {@link ExchangeAbortedError}. A job
   * already on a libuv thread cannot be stopped; it finishes and settles as usual.
   */
  readonly signal?: AbortSignal | undefined;
  /** The mechanism the job works for, named in the pool's own errors. */
  readonly mechanism?: string | undefined;
}

/** Node's callback shape for `crypto.pbkdf2` and `crypto.scrypt`; success is a `null` or `undefined` error. */
type Done<T> = (error: unknown, value: T) => void;

/** One job: how to start it, how to settle its promise, and its links in the queue. */
class Job<T> {
  prev: Job<unknown> | undefined;
  next: Job<unknown> | undefined;
  queued = false;
  settled = false;
  /** Releases what waited with the job (an abort listener, a ticket) once it settles. */
  onSettle: (() => void) | undefined;
  constructor(
    readonly start: (done: Done<T>) => void,
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

const MAX_THREADPOOL = 1024;

/** libuv's thread count as `UV_THREADPOOL_SIZE` sets it: 4 when unset or invalid, 1024 at most. @internal */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  // libuv reads UV_THREADPOOL_SIZE once, at the pool's first use.
  const size = Number(env['UV_THREADPOOL_SIZE']);
  return Number.isSafeInteger(size) && size >= 1 ? Math.min(size, MAX_THREADPOOL) : 4;
}

/**
 * The default concurrency: one fewer than the cores (`os.availableParallelism()`), so that the
 * event loop keeps a core while derivations run, and one fewer than libuv's threads, so that
 * `fs` and `dns.lookup` keep a thread; at least 1. On 2 cores with libuv's 4 threads: 1.
 */
export function defaultKdfConcurrency(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, threadpoolSize() - 1));
}

/**
 * Default of {@link KdfPoolOptions.maxQueued}. Each waiting job belongs to one connection in the
 * middle of a login, so the queue never outgrows the connections a process holds; the bound is
 * there so that a flood cannot build a backlog without end. 4096 jobs at SCRAM-SHA-256's 4096
 * iterations (about 5 ms each on one core) are about 20 s of work, about as long as clients
 * wait for a reply; far more than a soak of 1000 simultaneous logins queues.
 */
export const DEFAULT_KDF_MAX_QUEUED = 4096;

function checkCount(name: string, value: unknown, min: number): number {
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= min)) return value;
  throw new UsageError(`${name} must be an integer of at least ${min}, or Infinity`);
}

class KdfPool {
  concurrency = defaultKdfConcurrency();
  maxQueued = DEFAULT_KDF_MAX_QUEUED;
  running = 0;
  queued = 0;
  #head: Job<unknown> | undefined;
  #tail: Job<unknown> | undefined;

  configure(options: KdfPoolOptions): void {
    const concurrency =
      options.concurrency === 'auto'
        ? defaultKdfConcurrency()
        : options.concurrency === undefined
          ? this.concurrency
          : checkCount('concurrency', options.concurrency, 1);
    const maxQueued = options.maxQueued === undefined ? this.maxQueued : checkCount('maxQueued', options.maxQueued, 0);
    this.concurrency = concurrency;
    this.maxQueued = maxQueued;
    // A raised limit applies at once; a lowered one as running jobs finish.
    this.#pump();
  }

  status(): KdfPoolStatus {
    return { concurrency: this.concurrency, maxQueued: this.maxQueued, running: this.running, queued: this.queued };
  }

  /**
   * Starts `start` now if a slot is free, else queues it. A dropped job (ticket) resolves with
   * `dropped`: only a closed exchange drops its job, and a closed generator never reads the answer.
   */
  submit<T>(start: (done: Done<T>) => void, context: KdfJobOptions, ticket?: KdfTicket, dropped?: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal } = context;
      const errorContext: SaslErrorOptions = { mechanism: context.mechanism, party: 'local' };
      if (signal?.aborted === true) {
        reject(abortError(signal, errorContext));
        return;
      }
      const job = new Job<T>(start, resolve, reject);
      if (this.running < this.concurrency) {
        this.#run(job);
        return;
      }
      if (this.queued >= this.maxQueued) {
        reject(
          new LimitExceededError(
            'kdfMaxQueued',
            `more than ${this.maxQueued} key derivations are waiting for the KDF pool`,
            errorContext,
          ),
        );
        return;
      }
      this.#enqueue(job as Job<unknown>);
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        onAbort = () => {
          this.#drop(job, () => {
            reject(abortError(signal, errorContext));
          });
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (ticket !== undefined) {
        ticket.canceller = () => {
          this.#drop(job, () => {
            resolve(dropped as T);
          });
        };
      }
      if (onAbort !== undefined || ticket !== undefined) {
        job.onSettle = () => {
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
          if (ticket !== undefined) ticket.canceller = undefined;
        };
      }
    });
  }

  #run<T>(job: Job<T>): void {
    this.running++;
    // One settlement and one freed slot per job, whatever the job does.
    const done: Done<T> = (error, value) => {
      if (job.settled) return;
      job.settled = true;
      job.onSettle?.();
      this.running--;
      // The next job goes to libuv before this one's continuation runs, so no thread idles.
      this.#pump();
      if (error === null || error === undefined) job.resolve(value);
      else job.reject(error);
    };
    try {
      job.start(done);
    } catch (error) {
      // Node validates arguments synchronously; the slot must not leak.
      done(error ?? new Error('the KDF job threw without a reason'), undefined as T);
    }
  }

  #pump(): void {
    while (this.running < this.concurrency && this.#head !== undefined) {
      const job = this.#head;
      this.#unlink(job);
      this.#run(job);
    }
  }

  #drop<T>(job: Job<T>, settle: () => void): void {
    if (!job.queued) return;
    this.#unlink(job as Job<unknown>);
    job.settled = true;
    job.onSettle?.();
    settle();
  }

  #enqueue(job: Job<unknown>): void {
    job.queued = true;
    job.prev = this.#tail;
    if (this.#tail === undefined) this.#head = job;
    else this.#tail.next = job;
    this.#tail = job;
    this.queued++;
  }

  #unlink(job: Job<unknown>): void {
    if (job.prev === undefined) this.#head = job.next;
    else job.prev.next = job.next;
    if (job.next === undefined) this.#tail = job.prev;
    else job.next.prev = job.prev;
    job.prev = job.next = undefined;
    job.queued = false;
    this.queued--;
  }
}

function abortError(signal: AbortSignal, context: SaslErrorOptions): TimeoutError | ExchangeAbortedError {
  const reason: unknown = signal.reason;
  return (reason as { name?: unknown } | undefined)?.name === 'TimeoutError'
    ? new TimeoutError('the key derivation waited for the KDF pool longer than allowed', context)
    : new ExchangeAbortedError('the key derivation was cancelled before it started', context);
}

// One pool per process, as libuv's is: the ESM and CommonJS builds must not each admit their own
// `concurrency`. The key carries a version in case the pool's shape ever changes.
const POOL_KEY = Symbol.for('saslkit.kdfPool.v1');
const shared = globalThis as unknown as Record<symbol, KdfPool | undefined>;
const pool: KdfPool = (shared[POOL_KEY] ??= new KdfPool());

/**
 * Changes the KDF pool's settings for the whole process; settings not given stay as they are.
 * Throws a {@link UsageError} for an invalid value (and changes nothing then). Returns the
 * resulting status.
 *
 * ```ts
 * configureKdfPool({ concurrency: 4 });                  // e.g. 8 cores with UV_THREADPOOL_SIZE=8
 * configureKdfPool({ concurrency: Infinity });           // no limit: throughput over latency
 * configureKdfPool({ concurrency: 'auto', maxQueued: 500 });
 * ```
 */
export function configureKdfPool(options: KdfPoolOptions): KdfPoolStatus {
  // JavaScript callers can pass anything.
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null)
    throw new UsageError('configureKdfPool expects an options object');
  pool.configure(options);
  return pool.status();
}

/** The KDF pool's settings and how many jobs run and wait now (for metrics and health checks). */
export function kdfPoolStatus(): KdfPoolStatus {
  return pool.status();
}

/**
 * Runs `job` when the KDF pool has a free slot, and settles as it does. For an application's
 * own async hashers (argon2, bcrypt bindings) that should share the bound with saslkit's. The
 * slot is held until `job`'s promise settles, so `job` must settle.
 */
export function runKdf<T>(job: () => PromiseLike<T>, options: KdfJobOptions = {}): Promise<T> {
  if (typeof job !== 'function')
    return Promise.reject(
      new UsageError('runKdf expects a function that returns a promise', { mechanism: options.mechanism }),
    );
  return pool.submit<T>((done) => {
    // A synchronous throw is caught by the pool and rejects like a rejection.
    Promise.resolve(job()).then(
      (value) => {
        done(null, value);
      },
      (error: unknown) => {
        // Passed on as it is: the job's own error is the caller's to interpret.
        done(error ?? new Error('the KDF job rejected without a reason'), undefined as T);
      },
    );
  }, options);
}

/**
 * `crypto.pbkdf2` through the pool. Node's errors become a {@link UsageError} (its text is not
 * repeated; it is the `cause`). `ticket` lets the caller drop the job while it waits; a dropped
 * job resolves with an empty key. @internal
 */
export function pooledPbkdf2(
  password: BinaryLike,
  salt: BinaryLike,
  iterations: number,
  keylen: number,
  digest: string,
  ticket?: KdfTicket,
  mechanism?: string,
): Promise<Buffer> {
  return pool.submit<Buffer>(
    (done) => {
      try {
        pbkdf2(password, salt, iterations, keylen, digest, (error, key) => {
          done(error === null ? null : kdfError('PBKDF2', error, mechanism), key);
        });
      } catch (error) {
        done(kdfError('PBKDF2', error, mechanism), DROPPED);
      }
    },
    { mechanism },
    ticket,
    DROPPED,
  );
}

/** `crypto.scrypt` through the pool; Node's errors become a {@link UsageError}. @internal */
export function pooledScrypt(
  password: BinaryLike,
  salt: BinaryLike,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
): Promise<Buffer> {
  return pool.submit<Buffer>((done) => {
    try {
      scrypt(password, salt, keylen, options, (error, key) => {
        done(error === null ? null : kdfError('scrypt', error, undefined), key);
      });
    } catch (error) {
      done(kdfError('scrypt', error, undefined), DROPPED);
    }
  }, {});
}

function kdfError(kdf: string, cause: unknown, mechanism: string | undefined): UsageError {
  return new UsageError(`${kdf} failed`, { mechanism, cause });
}

const DROPPED = Buffer.alloc(0);
