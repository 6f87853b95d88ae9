/**
 * The client side of XMPP SASL (RFC 6120 section 6): {@link xmppClientAuth} chooses a
 * mechanism among those the server offered and runs the exchange over the host's elements.
 * @module
 */
import type { ClientCredentials } from '../passwords/credentials.js';
import { ExchangeAbortedError, UnexpectedMessageError } from '../core/errors.js';
import type { SessionOptions } from '../core/core.js';
import type { ClientOptions } from '../core/mechanism.js';
import type { ChooseOptions, SASLAuth } from '../core/registry.js';
import { raceSignal } from '../transport/signal.js';
import { type MessageSource, messageIterator } from '../transport/source.js';
import type { XmppParseOptions } from '../transport/xml.js';
import {
  type ElementWriter,
  type XmppSaslElement,
  buildXmppAbort,
  buildXmppAuth,
  buildXmppResponse,
  parseXmppMechanisms,
  parseXmppSaslElement,
  xmppFailureError,
} from './xmpp-messages.js';
import { type ClientFraming, runClientLoop } from './client-loop.js';

/** Arguments of {@link xmppClientAuth}. */
export interface XmppClientAuthOptions {
  /** The mechanisms the client may use. */
  readonly auth: SASLAuth;
  /** Who to authenticate as. */
  readonly credentials: ClientCredentials;
  /** What the server offered: its `<mechanisms>` element, or the names parsed from it. */
  readonly mechanisms: string | readonly string[];
  /** The server's elements, one string each, after its `<mechanisms>` feature. */
  readonly elements: MessageSource<string>;
  /** Sends an element to the server. */
  readonly write: ElementWriter;
  /** Options for the client mechanism (host name, channel binding, ...). */
  readonly client?: ClientOptions;
  /**
   * How to choose among the offered mechanisms: preference, and `encrypted: false` on a stream
   * without TLS (then PLAIN, OAUTHBEARER and XOAUTH2 are not chosen unless `allowPlaintext`).
   * The credentials' kind (password or token) is considered, and -PLUS is chosen when `client`
   * carries channel-binding data, unless this says otherwise.
   */
  readonly choose?: ChooseOptions;
  /**
   * Limits on messages and rounds, and the exchange's time limit (`signal`): when it fires, a wait
   * for the server's next element ends too, with TIMEOUT (ABORTED for another abort
   * reason) blamed on the server; the stream is then out of step, so close it.
   */
  readonly session?: SessionOptions;
  /** Element parser limits. */
  readonly parse?: XmppParseOptions;
}

/** The result of a successful client negotiation. */
export interface XmppClientResult {
  /** The mechanism used. */
  readonly mechanism: string;
  /** True when the server proved it knows the credentials (SCRAM's server signature in `<success>`). */
  readonly serverVerified: boolean;
}

/**
 * Runs the client side of one XMPP SASL negotiation: chooses the strongest offered mechanism,
 * sends `<auth>` (with the initial response when the mechanism has one), answers challenges,
 * and resolves once `<success>` arrived and its additional data (SCRAM's server-final) was
 * verified. A `<failure>` rejects with the error {@link xmppFailureError} maps it to. When the
 * client mechanism itself fails (a server that did not prove itself mid-exchange), the client
 * sends `<abort/>`, consumes the server's `<failure>`, and rejects with the local error.
 */
export async function xmppClientAuth(args: XmppClientAuthOptions): Promise<XmppClientResult> {
  const offered =
    typeof args.mechanisms === 'string' ? parseXmppMechanisms(args.mechanisms, args.parse) : args.mechanisms;
  // The registry decides the mechanism and the GS2 flag (RFC 5802 section 6), as for every client profile.
  const { mechanism, client } = args.auth.negotiateClient(offered, {
    credentials: args.credentials,
    choose: args.choose,
    client: args.client,
    peer: 'the XMPP server',
  });
  const iterator = messageIterator(args.elements);
  const context = { mechanism: mechanism.name, party: 'server' as const };
  const read = async (): Promise<XmppSaslElement> => {
    const next = await raceSignal(iterator.next(), args.session?.signal, context);
    if (next.done === true)
      throw new ExchangeAbortedError('the server closed the stream during authentication', context);
    return parseXmppSaslElement(next.value, 'server', args.parse);
  };
  const framing: ClientFraming<Uint8Array> = {
    initialResponseAllowed: true,
    async open(name, initial) {
      await args.write(buildXmppAuth(name, initial));
      return true;
    },
    respond: (data) => args.write(buildXmppResponse(data)),
    async next() {
      const element = await read();
      switch (element.kind) {
        case 'challenge':
        case 'success':
          return element;
        case 'failure':
          return { kind: 'failure', error: xmppFailureError(element.condition, mechanism.name) };
        default:
          throw new UnexpectedMessageError('expected <challenge>, <success> or <failure>', context);
      }
    },
    decode: (data) => data,
    async cancel() {
      // Sends <abort/> and consumes the server's answer, so the stream is in step for a retry.
      try {
        await args.write(buildXmppAbort());
        await read();
      } catch {
        // Whatever the server answers (or if it hangs up), the local error is what matters.
      }
    },
  };
  const { outcome } = await runClientLoop(
    framing,
    mechanism.name,
    mechanism.client(args.credentials, client),
    args.session,
  );
  return { mechanism: mechanism.name, serverVerified: outcome.serverVerified };
}
