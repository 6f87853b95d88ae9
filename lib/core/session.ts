/**
 * What a host gives a session (limits, a signal, the initial response) and what a server
 * session gives back (a step). The stepping core (core.ts) enforces them; every driver takes them.
 * @module
 */
import type { Authenticated } from './exchange.js';

/** Limits a session enforces on the peer. */
export interface SessionLimits {
  /**
   * Largest message accepted from the peer, in bytes (after base64 decoding), the initial
   * response included when it is given as {@link SessionOptions.initialResponse}. Default 16384.
   */
  readonly maxMessageBytes?: number;
  /** Most messages accepted from the peer in one exchange, the initial response included. Default 16. */
  readonly maxRounds?: number;
  /**
   * Ends the exchange when it aborts; no limit by default (the core keeps no clock). This is the
   * time limit of an exchange: abort it from a timer with a `TimeoutError` reason and destroy the
   * connection in the same callback, so that a stalled peer leaves no half-open socket; clear the
   * timer when the exchange ends. (`AbortSignal.timeout(ms)` with
   * `stream.addAbortSignal(signal, socket)` does both, for a connection that must log in within
   * `ms` or go.) When it fires, the session fails with a
   * {@link TimeoutError} (for a timeout reason; an {@link ExchangeAbortedError} for any other),
   * blamed on the peer, or on `local` when a host effect (a store, a hasher) was still pending; a
   * pending step rejects with it at once and every later call throws it.
   */
  readonly signal?: AbortSignal;
}

/** Options for a session. */
export interface SessionOptions extends SessionLimits {
  /** The mechanism's name, for error messages and traces. */
  readonly mechanism?: string;
  /**
   * Server side: the initial response the exchange was started with (the `initial` given to
   * `mechanism.server()`). The session then checks it against {@link SessionLimits} at the
   * start, like every later message: it counts as a round and may not exceed `maxMessageBytes`.
   */
  readonly initialResponse?: Uint8Array | undefined;
}

/** No options: every default. @internal */
export const NO_OPTIONS: SessionOptions = Object.freeze({});

/** Default of {@link SessionLimits.maxMessageBytes}: RFC 4954's suggested 12288-octet buffer, rounded up. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16384;
/** Default of {@link SessionLimits.maxRounds}. No built-in mechanism needs more than 4. */
export const DEFAULT_MAX_ROUNDS = 16;

/** One step of a server exchange: a challenge to send, or the verified result. */
export type ServerStep =
  { readonly done: false; readonly challenge: Uint8Array } | { readonly done: true; readonly outcome: Authenticated };
