import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import {
  ClientCredentials,
  DEFAULT_KDF_MAX_QUEUED,
  type KdfPoolStatus,
  LimitExceededError,
  Pbkdf2Hasher,
  PromiseClientSession,
  PromiseServerSession,
  SCRAM_SHA_256,
  ScramIdentity,
  ScramSecret,
  ScryptHasher,
  SyncClientSession,
  SyncServerSession,
  UsageError,
  configureKdfPool,
  defaultKdfConcurrency,
  kdfPoolStatus,
  runKdf,
} from '../../lib/index.js';
import { pooledPbkdf2, pooledScrypt, threadpoolSize } from '../../lib/passwords/kdf-pool.js';
import { expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback and continuation that is ready run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Jobs whose completion the test controls. Each records, when the pool starts it, how many jobs
 * the pool reports running; `started` lists them in start order.
 */
function controlledJobs(count: number): {
  started: number[];
  seen: number[];
  gates: Deferred<number>[];
  results: Promise<number>[];
} {
  const started: number[] = [];
  const seen: number[] = [];
  const gates = Array.from({ length: count }, () => deferred<number>());
  const results = gates.map((gate, i) =>
    runKdf(() => {
      started.push(i);
      seen.push(kdfPoolStatus().running);
      return gate.promise;
    }),
  );
  return { started, seen, gates, results };
}

const USER = 'user';
const PASSWORD = 'pencil-and-paper';

function status(): KdfPoolStatus {
  return kdfPoolStatus();
}

describe('KDF pool', () => {
  afterEach(async () => {
    configureKdfPool({ concurrency: 'auto', maxQueued: DEFAULT_KDF_MAX_QUEUED });
    await settle();
    expect(status()).to.include({ running: 0, queued: 0 });
  });

  describe('settings', () => {
    it('defaults to one fewer than the cores and libuv threads, at least 1', () => {
      const auto = defaultKdfConcurrency();
      expect(auto).to.be.at.least(1);
      expect(auto).to.be.at.most(Math.max(1, availableParallelism() - 1));
      expect(auto).to.be.at.most(3); // libuv's default 4 threads, less one for fs and dns
      expect(status()).to.deep.equal({ concurrency: auto, maxQueued: DEFAULT_KDF_MAX_QUEUED, running: 0, queued: 0 });
    });

    it("reads libuv's thread count as libuv does: UV_THREADPOOL_SIZE from 1 to 1024, else 4", () => {
      const cases: [string | undefined, number][] = [
        [undefined, 4],
        ['', 4],
        ['1', 1],
        ['2', 2],
        ['8', 8],
        ['1024', 1024],
        ['1025', 1024],
        ['0', 4],
        ['-3', 4],
        ['1.5', 4],
        ['many', 4],
      ];
      for (const [value, size] of cases) {
        const env = value === undefined ? {} : { UV_THREADPOOL_SIZE: value };
        expect(threadpoolSize(env), `UV_THREADPOOL_SIZE=${String(value)}`).to.equal(size);
      }
      expect(threadpoolSize()).to.equal(threadpoolSize(process.env));
    });

    it('names the setting it refuses', () => {
      expect(expectSaslError(() => configureKdfPool({ concurrency: 0 }), 'USAGE').message).to.match(/^concurrency /);
      expect(expectSaslError(() => configureKdfPool({ maxQueued: -1 }), 'USAGE').message).to.match(/^maxQueued /);
    });

    it('bounds the waiting jobs by default (a flood of logins fails fast instead of queueing forever)', () => {
      expect(DEFAULT_KDF_MAX_QUEUED).to.equal(4096);
      expect(status().maxQueued).to.equal(DEFAULT_KDF_MAX_QUEUED);
      // Infinity stays available, as an explicit choice.
      expect(configureKdfPool({ maxQueued: Infinity })).to.include({ maxQueued: Infinity });
    });

    it('changes only what is given and returns the new status', () => {
      expect(configureKdfPool({ concurrency: 3 })).to.include({ concurrency: 3, maxQueued: DEFAULT_KDF_MAX_QUEUED });
      expect(configureKdfPool({ maxQueued: 10 })).to.include({ concurrency: 3, maxQueued: 10 });
      expect(configureKdfPool({ concurrency: Infinity, maxQueued: 0 })).to.include({
        concurrency: Infinity,
        maxQueued: 0,
      });
      expect(configureKdfPool({ concurrency: 'auto' })).to.include({
        concurrency: defaultKdfConcurrency(),
        maxQueued: 0,
      });
    });

    it('refuses invalid settings with a UsageError and keeps the old ones', () => {
      configureKdfPool({ concurrency: 2, maxQueued: 5 });
      const bad: unknown[] = [0, -1, 1.5, NaN, -Infinity, '2', null, 2 ** 53];
      for (const concurrency of bad) {
        const error = expectSaslError(() => configureKdfPool({ concurrency } as never), 'USAGE');
        expect(error).to.be.instanceOf(UsageError);
        expect(error.party).to.equal('local');
      }
      for (const maxQueued of [-1, 0.5, NaN, 'x'])
        expectSaslError(() => configureKdfPool({ maxQueued } as never), 'USAGE');
      // Nothing changes when one of two settings is wrong.
      expectSaslError(() => configureKdfPool({ concurrency: 4, maxQueued: -1 }), 'USAGE');
      for (const options of [null, undefined, 3, 'auto'])
        expectSaslError(() => configureKdfPool(options as never), 'USAGE');
      expect(status()).to.include({ concurrency: 2, maxQueued: 5 });
    });
  });

  describe('admission', () => {
    it('starts jobs in arrival order', async () => {
      configureKdfPool({ concurrency: 1 });
      const { started, gates, results } = controlledJobs(5);
      expect(started).to.deep.equal([0]);
      expect(status()).to.include({ running: 1, queued: 4 });
      for (let i = 0; i < 5; i++) {
        gates[i]!.resolve(i * 10);
        await settle();
        expect(started).to.deep.equal([0, 1, 2, 3, 4].slice(0, Math.min(i + 2, 5)));
      }
      expect(await Promise.all(results)).to.deep.equal([0, 10, 20, 30, 40]);
    });

    it('never runs more than `concurrency` jobs, whatever order they finish in', async () => {
      configureKdfPool({ concurrency: 3 });
      const { started, seen, gates, results } = controlledJobs(12);
      // Finish them out of order: the last started first, and so on.
      const order = [2, 0, 1, 5, 4, 3, 8, 6, 7, 11, 9, 10];
      for (const i of order) {
        // A gate may open before its job started: the job then finishes as soon as it starts.
        gates[i]!.resolve(i);
        expect(status().running).to.be.at.most(3);
        await settle();
        expect(status().running).to.be.at.most(3);
      }
      expect(await Promise.all(results)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
      expect(started).to.have.length(12);
      expect(Math.max(...seen)).to.equal(3);
      expect(seen.every((n) => n <= 3)).to.equal(true);
    });

    it('starts waiting jobs at once when the concurrency is raised', async () => {
      configureKdfPool({ concurrency: 1 });
      const { started, gates, results } = controlledJobs(4);
      expect(started).to.deep.equal([0]);
      configureKdfPool({ concurrency: 3 });
      expect(started).to.deep.equal([0, 1, 2]);
      expect(status()).to.include({ running: 3, queued: 1 });
      // Lowering it lets the running jobs finish; the next starts only below the new bound.
      configureKdfPool({ concurrency: 1 });
      gates[0]!.resolve(0);
      gates[1]!.resolve(1);
      await settle();
      expect(started).to.deep.equal([0, 1, 2]);
      gates[2]!.resolve(2);
      await settle();
      expect(started).to.deep.equal([0, 1, 2, 3]);
      gates[3]!.resolve(3);
      expect(await Promise.all(results)).to.deep.equal([0, 1, 2, 3]);
    });

    it('refuses jobs beyond maxQueued with a LimitExceededError', async () => {
      configureKdfPool({ concurrency: 1, maxQueued: 1 });
      const { started, gates, results } = controlledJobs(2);
      const refused = await expectSaslRejection(
        runKdf(() => Promise.resolve(0), { mechanism: 'SCRAM-SHA-256' }),
        'LIMIT_EXCEEDED',
      );
      expect(refused).to.be.instanceOf(LimitExceededError);
      expect(refused).to.include({ limit: 'kdfMaxQueued', party: 'local', mechanism: 'SCRAM-SHA-256' });
      expect(status()).to.include({ running: 1, queued: 1 });
      gates[0]!.resolve(0);
      gates[1]!.resolve(1);
      expect(await Promise.all(results)).to.deep.equal([0, 1]);
      expect(started).to.deep.equal([0, 1]);
    });
  });

  describe('errors and slots', () => {
    it('passes a job error on as it is and frees the slot', async () => {
      configureKdfPool({ concurrency: 1 });
      const { started, gates, results } = controlledJobs(2);
      const failure = new LimitExceededError('custom', 'job failed');
      gates[0]!.reject(failure);
      let caught: unknown;
      try {
        await results[0];
      } catch (error) {
        caught = error;
      }
      expect(caught).to.equal(failure);
      await settle();
      expect(started).to.deep.equal([0, 1]);
      gates[1]!.resolve(1);
      expect(await results[1]).to.equal(1);
    });

    it('frees the slot when a job throws synchronously or rejects without a reason', async () => {
      configureKdfPool({ concurrency: 1 });
      const thrown = new Error('sync throw');
      let caught: unknown;
      try {
        await runKdf(() => {
          throw thrown;
        });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.equal(thrown);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      const noReason = runKdf(() => Promise.reject(undefined));
      let reason: unknown;
      try {
        await noReason;
      } catch (error) {
        reason = error;
      }
      expect(reason).to.be.instanceOf(Error);
      expect(await runKdf(() => Promise.resolve('next'))).to.equal('next');
    });

    it('turns Node crypto errors into a UsageError and frees the slot', async () => {
      configureKdfPool({ concurrency: 1 });
      const error = await expectSaslRejection(
        pooledPbkdf2('pw', 'salt', 1, 32, 'no-such-digest', undefined, 'SCRAM-SHA-256'),
        'USAGE',
      );
      expect(error).to.include({ message: 'PBKDF2 failed', mechanism: 'SCRAM-SHA-256', party: 'local' });
      expect(error.cause).to.be.instanceOf(Error);
      const scryptError = await expectSaslRejection(
        pooledScrypt('pw', 'salt', 32, { N: 3, r: 1, p: 1, maxmem: 1e6 }),
        'USAGE',
      );
      expect(scryptError.message).to.equal('scrypt failed');
      expect(status()).to.include({ running: 0, queued: 0 });
      expect((await pooledPbkdf2('pw', 'salt', 1, 32, 'sha256')).length).to.equal(32);
    });

    it("blames a refused PBKDF2 on the caller's mechanism", async () => {
      configureKdfPool({ concurrency: 1, maxQueued: 0 });
      const gate = deferred<number>();
      const holder = runKdf(() => gate.promise);
      const error = await expectSaslRejection(
        pooledPbkdf2('pw', 'salt', 1, 32, 'sha256', undefined, 'SCRAM-SHA-256'),
        'LIMIT_EXCEEDED',
      );
      expect(error).to.include({ mechanism: 'SCRAM-SHA-256', party: 'local' });
      gate.resolve(1);
      expect(await holder).to.equal(1);
    });

    it('refuses a job that is not a function with a UsageError', async () => {
      await expectSaslRejection(runKdf(42 as never), 'USAGE');
      const blamed = await expectSaslRejection(runKdf(42 as never, { mechanism: 'SCRAM-SHA-256' }), 'USAGE');
      expect(blamed.mechanism).to.equal('SCRAM-SHA-256');
    });

    it('drops a waiting job whose signal fires, typed by the reason, and never runs it', async () => {
      configureKdfPool({ concurrency: 1 });
      const { gates, results } = controlledJobs(1);
      let ran = 0;
      const abort = new AbortController();
      const timeout = new AbortController();
      const aborted = runKdf(() => Promise.resolve(++ran), { signal: abort.signal, mechanism: 'SCRAM-SHA-1' });
      const timedOut = runKdf(() => Promise.resolve(++ran), { signal: timeout.signal });
      const after = runKdf(() => Promise.resolve(++ran));
      expect(status()).to.include({ running: 1, queued: 3 });
      abort.abort();
      timeout.abort(new DOMException('late', 'TimeoutError'));
      expect(status()).to.include({ running: 1, queued: 1 });
      expect(await expectSaslRejection(aborted, 'ABORTED')).to.include({ party: 'local', mechanism: 'SCRAM-SHA-1' });
      await expectSaslRejection(timedOut, 'TIMEOUT');
      // An already-aborted signal never queues.
      await expectSaslRejection(
        runKdf(() => Promise.resolve(++ran), { signal: AbortSignal.abort() }),
        'ABORTED',
      );
      gates[0]!.resolve(0);
      expect(await results[0]).to.equal(0);
      expect(await after).to.equal(1);
      expect(ran).to.equal(1);
    });

    it('lets a running job finish when its signal fires', async () => {
      configureKdfPool({ concurrency: 1 });
      const gate = deferred<string>();
      const abort = new AbortController();
      const running = runKdf(() => gate.promise, { signal: abort.signal });
      abort.abort();
      gate.resolve('done');
      expect(await running).to.equal('done');
    });
  });

  describe('saslkit derivations go through it', () => {
    const credentials = new ClientCredentials(USER, PASSWORD);
    const identity = ScramIdentity.create(USER, PASSWORD, { hashes: ['SHA-256'] });
    const options = { lookup: storeOf(identity) };

    async function login(onStep: () => void): Promise<boolean> {
      const client = new PromiseClientSession(SCRAM_SHA_256.client(credentials, { scramCache: false }));
      const server = new PromiseServerSession(SCRAM_SHA_256.server(options, await client.start()));
      onStep();
      const first = await server.start();
      onStep();
      if (first.done) return false;
      const derived = client.challenge(first.challenge);
      onStep();
      const final = await derived;
      onStep();
      const last = await server.respond(final);
      onStep();
      if (!last.done) return false;
      return (await client.success(last.outcome.additionalData)).serverVerified;
    }

    it('completes 20 parallel SCRAM logins under concurrency 1, one PBKDF2 at a time', async () => {
      configureKdfPool({ concurrency: 1 });
      let most = 0;
      let waited = 0;
      const watch = (): void => {
        most = Math.max(most, status().running);
        waited = Math.max(waited, status().queued);
      };
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => login(watch)));
      expect(outcomes).to.deep.equal(Array.from({ length: 20 }, () => true));
      expect(most).to.equal(1);
      // All 20 reach their PBKDF2 in microtasks, before the first can finish: 19 wait in the queue.
      expect(waited).to.equal(19);
    });

    it('drops the PBKDF2 of an exchange aborted while it waits', async () => {
      configureKdfPool({ concurrency: 1 });
      const blocker = deferred<undefined>();
      const blocking = runKdf(() => blocker.promise);
      const client = new PromiseClientSession(SCRAM_SHA_256.client(credentials, { scramCache: false }));
      const server = new PromiseServerSession(SCRAM_SHA_256.server(options, await client.start()));
      const first = await server.start();
      if (first.done) throw new Error('expected server-first');
      const final = client.challenge(first.challenge);
      expect(status()).to.include({ running: 1, queued: 1 });
      client.abort();
      expect(status()).to.include({ running: 1, queued: 0 });
      expect(await expectSaslRejection(final, 'ABORTED')).to.include({ party: 'local', mechanism: undefined });
      blocker.resolve(undefined);
      await blocking;
    });

    it('drops the PBKDF2 of an exchange whose time limit fires while it waits (TIMEOUT, blamed on local)', async () => {
      configureKdfPool({ concurrency: 1 });
      const blocker = deferred<undefined>();
      const blocking = runKdf(() => blocker.promise);
      const limit = new AbortController();
      const client = new PromiseClientSession(SCRAM_SHA_256.client(credentials, { scramCache: false }), {
        signal: limit.signal,
        mechanism: 'SCRAM-SHA-256',
      });
      const server = new PromiseServerSession(SCRAM_SHA_256.server(options, await client.start()));
      const first = await server.start();
      if (first.done) throw new Error('expected server-first');
      const final = client.challenge(first.challenge);
      expect(status().queued).to.equal(1);
      limit.abort(new DOMException('too slow', 'TimeoutError'));
      expect(status().queued).to.equal(0);
      expect(await expectSaslRejection(final, 'TIMEOUT')).to.include({ party: 'local' });
      blocker.resolve(undefined);
      await blocking;
    });

    it('queues the async hashers and ScramSecret derivations, and leaves sync ones alone', async () => {
      configureKdfPool({ concurrency: 1 });
      const blocker = deferred<undefined>();
      const blocking = runKdf(() => blocker.promise);
      const pbkdf2 = new Pbkdf2Hasher({ rounds: 1000 });
      const scrypt = new ScryptHasher({ ln: 4 });
      const secret = ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4096 });
      const pending = Promise.all([
        pbkdf2.hashAsync('pw'),
        scrypt.hashAsync('pw'),
        secret.verifyNormalizedAsync(PASSWORD),
        ScramSecret.fromPasswordAsync('SHA-1', PASSWORD),
      ] as const);
      expect(status()).to.include({ running: 1, queued: 4 });
      // The sync driver derives on the calling thread, past the queue.
      const client = new SyncClientSession(SCRAM_SHA_256.client(credentials, { scramCache: false }));
      const server = new SyncServerSession(SCRAM_SHA_256.server(options, client.start()));
      const first = server.start();
      if (first.done) throw new Error('expected server-first');
      const last = server.respond(client.challenge(first.challenge));
      expect(last.done && client.success(last.outcome.additionalData).serverVerified).to.equal(true);
      expect(pbkdf2.verify('pw', pbkdf2.hash('pw'))).to.equal(true);
      expect(status()).to.include({ running: 1, queued: 4 });
      blocker.resolve(undefined);
      await blocking;
      const [pbkdf2Hash, scryptHash, verified, derived] = await pending;
      expect(await pbkdf2.verifyAsync('pw', pbkdf2Hash)).to.equal(true);
      expect(await scrypt.verifyAsync('pw', scryptHash)).to.equal(true);
      expect(verified).to.equal(true);
      expect(derived.verifyNormalized(PASSWORD)).to.equal(true);
    });
  });
});
