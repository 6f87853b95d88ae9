/**
 * The async-iterator driver: an exchange as a `for await` loop over a connection. The caller
 * turns its transport into an async iterable of peer messages (decoded lines, frames) and
 * gets back the steps to act on: challenges or responses to send, then the outcome.
 *
 * ```ts
 * for await (const step of iterateServer(PLAIN.server(options, initial), responses)) {
 *   if (step.done) reply(`OK ${step.outcome.authcid}`);
 *   else reply(`+ ${toBase64(step.challenge)}`);
 * }
 * ```
 *
 * Each next message is pulled only when the loop asks for the next step, so the loop body can
 * send first. The driver never closes the iterable it reads from (a readline interface keeps
 * serving the protocol after AUTH). Leaving the loop early (`break`, `throw`) cancels the
 * exchange, so the mechanism's `finally` blocks run. Steps are planned and run by the same core
 * as every other driver.
 * @module
 */
import { ClientCore, type ServerStep, ServerCore, type SessionOptions, runAsync } from '../core.js';
import { AuthenticationFailedError, type SaslError, TimeoutError, UsageError } from '../errors.js';
import type { ClientExchange, ClientOutcome, ServerExchange } from '../exchange.js';

/** Options for {@link iterateServer} and {@link iterateClient}. */
export interface IteratorOptions extends SessionOptions {
  /**
   * How long to wait for each message from the peer, in milliseconds; no limit by default.
   * When it passes, the exchange is cancelled and the loop throws a {@link TimeoutError}. The
   * read that timed out stays pending on the source, so close the connection afterwards.
   */
  readonly timeoutMs?: number;
}

/** Options for {@link iterateClient}. */
export interface ClientIteratorOptions extends IteratorOptions {
  /**
   * Whether the protocol can carry an initial response with the command (SMTP, IMAP with
   * SASL-IR). When false the first step has no response and the initial response answers the
   * server's first, empty challenge. Default true.
   */
  readonly canSendInitial?: boolean;
}

/** What a client hears from the server, decoded from the protocol by the caller. */
export type ServerEvent =
  | { readonly type: 'challenge'; readonly data: Uint8Array }
  /** Success, with the additional data the protocol carried with it (XMPP `<success>`), if any. */
  | { readonly type: 'success'; readonly data?: Uint8Array | undefined }
  /** Failure; `error` defaults to an {@link AuthenticationFailedError} attributed to the server. */
  | { readonly type: 'failure'; readonly error?: SaslError | undefined };

/**
 * One step of a client exchange. The first step (`initial: true`) carries the initial response
 * to send with the command, or `undefined` when there is none; later steps answer challenges;
 * the last one carries the outcome.
 */
export type ClientStep =
  | { readonly done: false; readonly initial: true; readonly response: Uint8Array | undefined }
  | { readonly done: false; readonly initial: false; readonly response: Uint8Array }
  | { readonly done: true; readonly outcome: ClientOutcome };

// A second `for await` over the same steps would see a finished generator and no outcome.
function once<T>(steps: AsyncGenerator<T, void, undefined>, mechanism: string | undefined): AsyncIterable<T> {
  let taken = false;
  return {
    [Symbol.asyncIterator]() {
      if (taken) throw new UsageError('an exchange can be iterated only once', { mechanism });
      taken = true;
      return steps;
    },
  };
}

function checkTimeout(options: IteratorOptions): void {
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new UsageError('timeoutMs must be a positive number of milliseconds', { mechanism: options.mechanism });
  }
}

/** The next message from the peer, raced against the timeout. */
async function receive<T>(source: AsyncIterator<T>, core: ServerCore | ClientCore, timeoutMs: number | undefined, peer: 'client' | 'server'): Promise<IteratorResult<T>> {
  const pending = source.next();
  if (timeoutMs === undefined) return pending;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`no message from the ${peer} within ${timeoutMs} ms`, { mechanism: core.mechanism, party: peer }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function* serverSteps(core: ServerCore, responses: AsyncIterable<Uint8Array>, options: IteratorOptions): AsyncGenerator<ServerStep, void, undefined> {
  const source = responses[Symbol.asyncIterator]();
  try {
    let step = await runAsync(core, core.planStart());
    while (!step.done) {
      yield step;
      const next = await receive(source, core, options.timeoutMs, 'client');
      if (next.done === true) throw core.abort('client');
      step = await runAsync(core, core.planRespond(next.value));
    }
    yield step;
  } catch (error) {
    throw core.fail(error);
  } finally {
    if (!core.finished) core.abort('local');
  }
}

/**
 * Runs a server exchange as an async iterable of steps. Each step but the last carries a
 * challenge to send; the last is `{ done: true, outcome }`. `responses` yields the client's
 * responses; ending it early (the client sent `*`, the connection closed) ends the loop with an
 * {@link ExchangeAbortedError} from the client. The steps can be iterated once.
 */
export function iterateServer(exchange: ServerExchange, responses: AsyncIterable<Uint8Array>, options: IteratorOptions = {}): AsyncIterable<ServerStep> {
  checkTimeout(options);
  const core = new ServerCore(exchange, options);
  return once(serverSteps(core, responses, options), core.mechanism);
}

function checkEvent(value: unknown, core: ClientCore): ServerEvent {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type !== 'challenge' && type !== 'success' && type !== 'failure') {
    throw new UsageError('server events must have type challenge, success or failure', { mechanism: core.mechanism });
  }
  return value as ServerEvent;
}

async function* clientSteps(core: ClientCore, events: AsyncIterable<ServerEvent>, options: ClientIteratorOptions): AsyncGenerator<ClientStep, void, undefined> {
  const source = events[Symbol.asyncIterator]();
  try {
    yield { done: false, initial: true, response: await runAsync(core, core.planStart(options.canSendInitial ?? true)) };
    for (;;) {
      const next = await receive(source, core, options.timeoutMs, 'server');
      if (next.done === true) throw core.abort('server');
      const event = checkEvent(next.value, core);
      if (event.type === 'challenge') {
        yield { done: false, initial: false, response: await runAsync(core, core.planChallenge(event.data)) };
      } else if (event.type === 'success') {
        yield { done: true, outcome: await runAsync(core, core.planSuccess(event.data)) };
        return;
      } else {
        await runAsync(core, core.planFailure(event.error ?? new AuthenticationFailedError(undefined, { mechanism: core.mechanism, party: 'server' })));
      }
    }
  } catch (error) {
    throw core.fail(error);
  } finally {
    if (!core.finished) core.abort('local');
  }
}

/**
 * Runs a client exchange as an async iterable of steps: the initial step, one step per
 * challenge, and `{ done: true, outcome }` after the server's success. `events` yields what the
 * server sent; ending it before success or failure ends the loop with an
 * {@link ExchangeAbortedError} from the server. The steps can be iterated once.
 */
export function iterateClient(exchange: ClientExchange, events: AsyncIterable<ServerEvent>, options: ClientIteratorOptions = {}): AsyncIterable<ClientStep> {
  checkTimeout(options);
  const core = new ClientCore(exchange, options);
  return once(clientSteps(core, events, options), core.mechanism);
}
