/**
 * The one client loop every protocol profile runs (SMTP, IMAP, POP3, ManageSieve, IRC, XMPP,
 * PostgreSQL, LDAP): a profile gives a {@link ClientFraming} (how the opening, a response and a
 * cancel go out, and how the server's next message reads: a challenge, a success with or
 * without data, or a failure) and {@link runClientLoop} runs the exchange on the promise driver.
 * The mechanism's own rules (limits, the signal, server-final data sent as a challenge, a server
 * that must prove itself) are the core's; the loop only hands it messages.
 * @module
 */
import { UnexpectedMessageError } from '../core/errors.js';
import type { SaslError } from '../core/errors.js';
import type { ClientExchange, ClientOutcome } from '../core/exchange.js';
import type { SessionOptions } from '../core/session.js';
import { PromiseClientSession } from '../drivers/promise.js';
import { type ProfileContext, unwrapFailure } from './profile.js';

/** The server's next message as the client loop sees it; `T` is a challenge's data before decoding. @internal */
export type ClientStep<T> =
  | { readonly kind: 'challenge'; readonly data: T }
  | { readonly kind: 'success'; readonly data: Uint8Array | undefined; readonly text?: string }
  | { readonly kind: 'failure'; readonly error: SaslError };

/** How a profile's client speaks its wire. @internal */
export interface ClientFraming<T> {
  /** Whether the opening may carry an initial response at all (SASL-IR in IMAP). */
  readonly initialResponseAllowed: boolean;
  /**
   * Sends the opening for `mechanism` with `initial` (`undefined`: none). Returns false when the
   * wire could not carry `initial` (a command line too long): the opening went out without it,
   * and it answers the server's empty challenge instead (RFC 4954 section 4).
   */
  open(mechanism: string, initial: Uint8Array | undefined): boolean | Promise<boolean>;
  /** Sends a response. */
  respond(data: Uint8Array): void | Promise<void>;
  /** Reads the server's next message, skipping what the exchange does not care about. */
  next(): Promise<ClientStep<T>>;
  /** Decodes a challenge's data (base64 on line protocols); throws a typed error. */
  decode(data: T): Uint8Array;
  /**
   * Cancels the exchange after the client mechanism gave up, and reads the server's answer to
   * that so the connection is in step. Never rejects. Absent where the protocol has no cancel.
   */
  cancel?(): Promise<void>;
}

/** What {@link runClientLoop} resolves with. @internal */
export interface ClientLoopResult {
  /** The mechanism's outcome (whether the server proved itself). */
  readonly outcome: ClientOutcome;
  /** How many times the client sent and waited for the server: the opening, then each response. */
  readonly roundTrips: number;
  /** The text of the server's success, where the wire has one. */
  readonly text: string;
}

/**
 * Runs the client side of one exchange of `exchange` over `framing`: sends the opening (with
 * the initial response where it fits), answers challenges, and resolves once the server reported
 * success and the mechanism accepted it. A failure rejects with the error the framing built
 * from it (the mechanism may refine it). When the mechanism cannot answer a challenge, the
 * client cancels (where the protocol can) and rejects with its own error. @internal
 */
export async function runClientLoop<T>(
  framing: ClientFraming<T>,
  mechanism: string,
  exchange: ClientExchange,
  options: SessionOptions | undefined,
  initialResponse = true,
): Promise<ClientLoopResult> {
  const context: ProfileContext = { mechanism, party: 'server' };
  const session = new PromiseClientSession(exchange, { ...options, mechanism });
  let roundTrips = 1;
  try {
    const initial = await session.start(framing.initialResponseAllowed && initialResponse);
    let pending = (await framing.open(mechanism, initial)) ? undefined : initial;
    for (;;) {
      const step = await framing.next();
      if (step.kind === 'success') {
        if (pending !== undefined)
          throw new UnexpectedMessageError('the server reported success before the client authenticated', context);
        const outcome = await session.success(step.data);
        return { outcome, roundTrips, text: step.text ?? '' };
      }
      if (step.kind === 'failure') return await session.failure(step.error);
      let response: Uint8Array;
      try {
        const data = framing.decode(step.data);
        if (pending !== undefined) {
          if (data.length > 0)
            throw new UnexpectedMessageError('expected an empty challenge before the initial response', context);
          response = pending;
          pending = undefined;
        } else {
          response = await session.challenge(data);
        }
      } catch (error) {
        if (!session.finished) session.abort();
        if (framing.cancel !== undefined) {
          roundTrips += 1;
          await framing.cancel();
        }
        throw error;
      }
      roundTrips += 1;
      await framing.respond(response);
    }
  } catch (thrown) {
    // A refusal, a hang-up or a bad message leaves the mechanism mid-exchange: cancel it so its `finally` blocks run.
    if (!session.finished) session.abort();
    throw unwrapFailure(thrown);
  }
}
