/**
 * What every protocol profile shares and no wire format knows: which mechanisms a server
 * advertises, the server options a profile hands its mechanisms, the reply kinds a failure
 * calls for, and how a profile reads its peer's next message (pollable, so a message already
 * buffered costs no promise). Each profile imports this module, not another profile.
 * @module
 */
import type { SaslError } from '../core/errors.js';
import type { ServerOptions } from '../core/options.js';
import type { SASLAuth } from '../core/registry.js';
import type { WaitContext } from '../transport/signal.js';

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
