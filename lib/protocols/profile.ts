/**
 * What every protocol profile shares and no wire format knows: which mechanisms a server
 * advertises, the server options a profile hands its mechanisms, the reply kinds a failure
 * calls for, and how a profile reads its peer's next message (pollable, so a message already
 * buffered costs no promise). Each profile imports this module, not another profile.
 * @module
 */
import { ExchangeAbortedError, type SaslError, isSaslError } from '../core/errors.js';
import type { ServerOptions } from '../core/options.js';
import type { SASLAuth } from '../core/registry.js';
import { type WaitContext, signalError } from '../transport/signal.js';

/**
 * The names a server should advertise: its server mechanisms in order, without the `-PLUS`
 * variants unless the connection can do channel binding (TLS with the binding data at hand).
 * With `requireChannelBinding` (as {@link ServerOptions.requireChannelBinding}) and binding
 * possible, the non-PLUS SCRAM variants are left out instead.
 */
export function advertisedMechanisms(
  auth: SASLAuth,
  options: { readonly channelBinding?: boolean; readonly requireChannelBinding?: boolean } = {},
): string[] {
  const bind = options.channelBinding === true;
  // A server that requires binding refuses every non-PLUS SCRAM login where it can bind: do not offer them.
  const plusOnly = bind && options.requireChannelBinding === true;
  return auth.serverMechanisms
    .map((m) => m.name)
    .filter((name) => (name.endsWith('-PLUS') ? bind : !(plusOnly && name.startsWith('SCRAM-'))));
}

// Options with a profile's service filled in, one per options object and service, so a host
// that passes the same options to every exchange does not get a copy per login.
const WITH_SERVICE = new Map<string, WeakMap<ServerOptions, ServerOptions>>();
const NO_SERVER_OPTIONS: ServerOptions = Object.freeze({});

/**
 * `options` with {@link ServerOptions.service} set to the profile's service (`smtp`, `imap`,
 * `pop`, `sieve`, `xmpp`) when the host left it unset, for DIGEST-MD5's digest-uri check. @internal
 */
export function serverOptionsFor(options: ServerOptions | undefined, service: string | undefined): ServerOptions {
  const given = options ?? NO_SERVER_OPTIONS;
  if (service === undefined || given.service !== undefined) return given;
  let cache = WITH_SERVICE.get(service);
  if (cache === undefined) WITH_SERVICE.set(service, (cache = new WeakMap()));
  let filled = cache.get(given);
  if (filled === undefined) cache.set(given, (filled = { ...given, service }));
  return filled;
}

/** What a server reply reports. Each profile maps a kind to its status line (235, NO, -ERR ...). */
export type ReplyKind =
  | 'success'
  | 'failed'
  | 'unauthorized'
  | 'cancelled'
  | 'malformed'
  | 'syntax'
  | 'unknownMechanism'
  | 'initialNotAllowed'
  | 'tooLong'
  | 'temporary';

/** An error together with the reply it calls for; `kind` undefined means no reply (the connection is gone). @internal */
export class ProfileFailure extends Error {
  constructor(
    readonly kind: ReplyKind | undefined,
    readonly error: SaslError,
  ) {
    super(error.message);
  }
}

/** The error a profile reports for what it caught: a {@link ProfileFailure}'s error, anything else as it is. @internal */
export function unwrapFailure(thrown: unknown): unknown {
  return thrown instanceof ProfileFailure ? thrown.error : thrown;
}

/** Error context of a profile: the mechanism once known, and who is blamed. @internal */
export type ProfileContext = WaitContext;

/** Marks a cancelled exchange: what a framing's response parser returns for the peer's cancel. @internal */
export const CANCEL: unique symbol = Symbol('saslkit.cancel');

/** Who gets the message of a {@link MessageInput.poll} that had to wait. @internal */
export interface MessageConsumer<M> {
  /** The message, checked. */
  message(message: M): void;
  /** What ended the wait instead: the connection's end or failure, or the signal's timeout or abort. */
  failed(error: unknown): void;
}

/**
 * The peer's messages as a profile's loop reads them, one exchange at a time. @internal
 */
export interface MessageInput<M> {
  /** True once the peer's stream ended or failed: no reply can reach the peer. */
  readonly closed: boolean;
  /**
   * The next message when it is already at hand; otherwise `undefined`, and the message (or
   * what ended the wait) goes to `consumer` when it comes. Throws when the stream is closed or
   * the signal has fired.
   */
  poll(consumer: MessageConsumer<M>, context: ProfileContext): M | undefined;
}

/**
 * A {@link MessageInput} over a source that hands out messages by promise (an async iterator,
 * a PostgreSQL or LDAP reader): every poll waits, and the exchange's signal ends the wait with
 * the same errors as a line input's. A read that rejects with ABORTED is the stream's end: the
 * input is closed from then on, so no reply is written to a peer that is gone. @internal
 */
export class PromisedInput<M> implements MessageInput<M> {
  readonly #read: (context: ProfileContext) => Promise<M>;
  readonly #signal: AbortSignal | undefined;
  #closed = false;

  constructor(read: (context: ProfileContext) => Promise<M>, signal: AbortSignal | undefined) {
    this.#read = read;
    this.#signal = signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  poll(consumer: MessageConsumer<M>, context: ProfileContext): undefined {
    if (this.#closed) throw new ExchangeAbortedError('the connection closed during authentication', context);
    const signal = this.#signal;
    if (signal?.aborted === true) throw signalError(signal, context);
    let waiting = true;
    const onAbort = (): void => {
      if (!waiting || signal === undefined) return;
      waiting = false;
      // The message, when it comes, is dropped: the stream is out of step and the host closes it.
      consumer.failed(signalError(signal, context));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#read(context).then(
      (message) => {
        if (!waiting) return;
        waiting = false;
        signal?.removeEventListener('abort', onAbort);
        consumer.message(message);
      },
      (error: unknown) => {
        if (isSaslError(error) && error.code === 'ABORTED') this.#closed = true;
        if (!waiting) return;
        waiting = false;
        signal?.removeEventListener('abort', onAbort);
        consumer.failed(error);
      },
    );
    return undefined;
  }
}
