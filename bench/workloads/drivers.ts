/**
 * What each driver adds to one PLAIN exchange (client and server, a store in memory), against
 * stepping the two generators by hand and answering their effects synchronously.
 */
import { PASSWORD, USER } from '../baselines.js';
import { type OpsWorkload, batched, batchedAsync, check, times, timesAsync } from '../harness.js';
import { sk } from '../saslkit.js';

type ServerStep = ReturnType<InstanceType<typeof sk.SyncServerSession>['start']>;

const identity = new sk.ClearIdentity(USER, PASSWORD);
const options = { lookup: (name: string) => (name === USER ? identity : undefined) };
const credentials = new sk.ClientCredentials(USER, PASSWORD);

/** Both generators stepped by hand: the least any driver can do. */
function byHand(): void {
  const client = sk.PLAIN.client(credentials);
  const initial = client.next().value as Uint8Array;
  const server = sk.PLAIN.server(options, initial);
  let step = server.next();
  while (!step.done) {
    const value = step.value;
    check(sk.isEffect(value), 'PLAIN server yields only effects here');
    step = server.next(value.runSync());
  }
  check(step.value.authcid === USER, 'PLAIN login');
  check(client.next(new sk.ServerSuccess()).done === true, 'PLAIN client done');
}

/** By hand, awaiting each effect as an async host must: the least an async driver can do. */
async function byHandAwaiting(): Promise<void> {
  const client = sk.PLAIN.client(credentials);
  const initial = client.next().value as Uint8Array;
  const server = sk.PLAIN.server(options, initial);
  let step = server.next();
  while (!step.done) {
    const value = step.value;
    check(sk.isEffect(value), 'PLAIN server yields only effects here');
    step = server.next(await value.runAsync());
  }
  check(step.value.authcid === USER, 'PLAIN login');
  check(client.next(new sk.ServerSuccess()).done === true, 'PLAIN client done');
}

function syncDriver(): void {
  const client = new sk.SyncClientSession(sk.PLAIN.client(credentials));
  const step = new sk.SyncServerSession(sk.PLAIN.server(options, client.start())).start();
  check(step.done && step.outcome.authcid === USER, 'PLAIN login');
  client.success();
}

async function promiseDriver(): Promise<void> {
  const client = new sk.PromiseClientSession(sk.PLAIN.client(credentials));
  const step = await new sk.PromiseServerSession(sk.PLAIN.server(options, await client.start())).start();
  check(step.done && step.outcome.authcid === USER, 'PLAIN login');
  await client.success();
}

/** `n` exchanges chained through callbacks, with one promise for the whole batch. */
function callbackDriver(n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = n;
    const one = (): void => {
      if (left-- === 0) {
        resolve();
        return;
      }
      const client = new sk.CallbackClientSession(sk.PLAIN.client(credentials));
      client.start((error, initial) => {
        if (error) {
          reject(error);
          return;
        }
        new sk.CallbackServerSession(sk.PLAIN.server(options, initial)).start((error2, step: ServerStep) => {
          if (error2) {
            reject(error2);
            return;
          }
          check(step.done && step.outcome.authcid === USER, 'PLAIN login');
          client.success((error3) => {
            if (error3) reject(error3);
            else one();
          });
        });
      });
    };
    one();
  });
}

// Sources for the iterator driver: PLAIN needs no client response after the initial one, and
// the client hears one success.
const NO_RESPONSES: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true as const, value: undefined }) }),
};
const SUCCESS = { type: 'success' as const };
const SUCCESS_EVENTS: AsyncIterable<typeof SUCCESS> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: false as const, value: SUCCESS }) }),
};

async function iteratorDriver(): Promise<void> {
  const clientSteps = sk.iterateClient(sk.PLAIN.client(credentials), SUCCESS_EVENTS)[Symbol.asyncIterator]();
  const first = await clientSteps.next();
  check(first.done !== true && !first.value.done && first.value.initial, 'PLAIN initial step');
  let authcid = '';
  for await (const step of sk.iterateServer(sk.PLAIN.server(options, first.value.response), NO_RESPONSES)) {
    if (step.done) authcid = step.outcome.authcid;
  }
  check(authcid === USER, 'PLAIN login');
  const last = await clientSteps.next();
  check(last.done !== true && last.value.done, 'PLAIN client outcome');
  await clientSteps.return?.();
}

// Info only (no target): the least an async-iterator driver can cost in the loop above. The same
// generators stepped by hand through a bare async iterator (no core, no checks, no limits), awaited
// as iteratorDriver awaits them, so its distance to "by hand" is the loop's own promise jobs.
const END: Promise<IteratorReturnResult<undefined>> = Promise.resolve({ done: true, value: undefined });

type Bare = { readonly done: boolean };

class BareSteps<G, M, T extends Bare> implements AsyncIterator<T, undefined> {
  #state: 'new' | 'open' | 'closed' = 'new';
  #source: AsyncIterator<M> | undefined;

  constructor(
    private readonly generator: G,
    private readonly messages: AsyncIterable<M>,
    private readonly first: (generator: G) => T,
    private readonly heard: (generator: G, message: M) => T,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#state === 'new') {
      this.#source = this.messages[Symbol.asyncIterator]();
      return Promise.resolve(this.#hand(this.first(this.generator)));
    }
    if (this.#state === 'closed' || this.#source === undefined) return END;
    return this.#source.next().then((message) => this.#hand(this.heard(this.generator, message.value as M)));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#state = 'closed';
    return END;
  }

  #hand(step: T): IteratorResult<T, undefined> {
    this.#state = step.done ? 'closed' : 'open';
    return { done: false, value: step };
  }
}

type PlainClient = ReturnType<typeof sk.PLAIN.client>;
type PlainServer = ReturnType<typeof sk.PLAIN.server>;
type BareClientStep = { done: false; response: Uint8Array } | { done: true };
type BareServerStep = { done: false } | { done: true; authcid: string };

const bareClientFirst = (client: PlainClient): BareClientStep => ({
  done: false,
  response: client.next().value as Uint8Array,
});
const bareClientHeard = (client: PlainClient): BareClientStep => {
  check(client.next(new sk.ServerSuccess()).done === true, 'PLAIN client done');
  return { done: true };
};
const bareServerFirst = (server: PlainServer): BareServerStep => {
  let step = server.next();
  while (!step.done) {
    const value = step.value;
    check(sk.isEffect(value), 'PLAIN server yields only effects here');
    step = server.next(value.runSync());
  }
  return { done: true, authcid: step.value.authcid };
};
const bareServerHeard = (): BareServerStep => {
  throw new Error('benchmark sanity check failed: PLAIN server asked for a response');
};

async function byHandIterating(): Promise<void> {
  const clientSteps = new BareSteps(sk.PLAIN.client(credentials), SUCCESS_EVENTS, bareClientFirst, bareClientHeard);
  const first = await clientSteps.next();
  check(first.done !== true && !first.value.done, 'PLAIN initial step');
  let authcid = '';
  const server = new BareSteps(
    sk.PLAIN.server(options, first.value.response),
    NO_RESPONSES,
    bareServerFirst,
    bareServerHeard,
  );
  for await (const step of server) {
    if (step.done) authcid = step.authcid;
  }
  check(authcid === USER, 'PLAIN login');
  const last = await clientSteps.next();
  check(last.done !== true && last.value.done, 'PLAIN client outcome');
  await clientSteps.return();
}

/** The driver-overhead workload. */
export function drivers(rounds: number, minMs: number): OpsWorkload {
  const hand = 'by hand (generators, sync effects)';
  return {
    name: 'drivers',
    title: 'Driver overhead on one PLAIN exchange (client + server generators, store in memory)',
    unit: 'exchanges',
    rounds,
    minMs,
    contestants: [
      batched(hand, 'baseline', (n) => {
        times(n, byHand);
      }),
      batchedAsync('by hand, awaiting effects', 'info', (n) => timesAsync(n, byHandAwaiting)),
      batched('sync driver', 'saslkit', (n) => {
        times(n, syncDriver);
      }),
      batchedAsync('promise driver', 'saslkit', (n) => timesAsync(n, promiseDriver)),
      batchedAsync('callback driver', 'saslkit', callbackDriver),
      batchedAsync('async-iterator driver', 'saslkit', (n) => timesAsync(n, iteratorDriver)),
      batchedAsync('by hand, through a bare async iterator', 'info', (n) => timesAsync(n, byHandIterating)),
    ],
    targets: [
      {
        label: 'promise driver cost <= 1.5x by hand',
        of: 'promise driver',
        versus: hand,
        kind: 'cost',
        op: '<=',
        value: 1.5,
      },
      {
        label: 'async-iterator driver cost <= 1.5x by hand',
        of: 'async-iterator driver',
        versus: hand,
        kind: 'cost',
        op: '<=',
        value: 1.5,
      },
    ],
    notes: [
      '"by hand" answers effects with runSync; the awaiting variant shows what any async host pays for awaiting at all.',
      '"through a bare async iterator": by hand in the async-iterator loop, no saslkit core (the floor of that driver).',
    ],
  };
}
