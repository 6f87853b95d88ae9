/**
 * The server side of XMPP SASL (RFC 6120 section 6): the framing of the one server loop
 * (server-loop.ts) over the host's elements: `<auth>` opens, `<challenge>` and `<response>`
 * carry the exchange, `<abort/>` cancels, `<success>` carries additional data, and a failure is
 * a `<failure>` with its condition.
 * @module
 */
import { ExchangeAbortedError, UnexpectedMessageError, isSaslError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import { NO_OPTIONS, type SessionOptions } from '../core/core.js';
import type { ServerMechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import type { SASLAuth } from '../core/registry.js';
import { type MessageSource, messageIterator } from '../transport/source.js';
import type { XmppParseOptions } from '../transport/xml.js';
import { CANCEL, PromisedInput, type ProfileContext, serverOptionsFor, unwrapFailure } from './profile.js';
import { ServerLoop, type ServerOpening, type Written } from './server-loop.js';
import {
  type ElementWriter,
  type XmppFailureCondition,
  type XmppSaslElement,
  buildXmppChallenge,
  buildXmppFailure,
  buildXmppSuccess,
  decodeXmppRaw,
  parseXmppRaw,
  xmppFailureCondition,
} from './xmpp-messages.js';

/** Arguments of {@link xmppServerAuth}. */
export interface XmppServerAuthOptions {
  /** The mechanisms the server offers (and advertised in `<mechanisms>`). */
  readonly auth: SASLAuth;
  /** Store, policy and validators for the server mechanisms. */
  readonly options?: ServerOptions;
  /** The client's elements, one string each, starting with its `<auth>`. */
  readonly elements: MessageSource<string>;
  /** Sends an element to the client. */
  readonly write: ElementWriter;
  /**
   * Limits on messages and rounds, and the exchange's time limit (`signal`): when it fires, a wait
   * for the client's next element ends too, with TIMEOUT (ABORTED for another abort
   * reason) blamed on the client; the stream is then out of step, so close it.
   */
  readonly session?: SessionOptions;
  /** Element parser limits. */
  readonly parse?: XmppParseOptions;
  /** Adds a `<text>` with the error message to each `<failure>`. Off by default: the condition says enough. */
  readonly failureText?: boolean;
}

/**
 * Runs the server side of one XMPP SASL negotiation: reads `<auth>`, exchanges challenges and
 * responses, and writes `<success>` (carrying the mechanism's additional data, such as SCRAM's
 * server-final message) before resolving with the verified result. On any failure it writes a
 * `<failure>` with the matching condition and rejects with a typed error (or with the error a
 * credential store threw). RFC 6120 allows the client to retry: call again with the same
 * `elements` iterator to accept another `<auth>`.
 */
export function xmppServerAuth(args: XmppServerAuthOptions): Promise<Authenticated> {
  return new XmppServerRun(args).start();
}

interface XmppOpening extends ServerOpening {
  readonly initial: Uint8Array | undefined;
}

/** One XMPP server negotiation: the {@link ServerLoop} over SASL elements. */
class XmppServerRun extends ServerLoop<string, XmppOpening> {
  protected readonly input: PromisedInput<string>;
  protected get successCarriesData(): boolean {
    return true;
  }
  readonly #args: XmppServerAuthOptions;
  // The condition of an element that parsed but whose base64 did not: `incorrect-encoding`.
  #condition: XmppFailureCondition | undefined;

  constructor(args: XmppServerAuthOptions) {
    super();
    this.#args = args;
    const iterator = messageIterator(args.elements);
    this.input = new PromisedInput(
      (context) => iterator.next().then((next) => (next.done === true ? closed(context) : next.value)),
      args.session?.signal,
    );
  }

  start(): Promise<Authenticated> {
    return this.run(undefined);
  }

  #parse(xml: string): XmppSaslElement {
    const raw = parseXmppRaw(xml, 'client', this.#args.parse ?? {});
    try {
      return decodeXmppRaw(raw, 'client');
    } catch (error) {
      this.#condition = 'incorrect-encoding';
      throw error;
    }
  }

  protected open(xml: string): XmppOpening {
    const first = this.#parse(xml);
    if (first.kind === 'abort') throw new ExchangeAbortedError(undefined, { party: 'client' });
    if (first.kind !== 'auth') throw new UnexpectedMessageError('expected <auth>', { party: 'client' });
    return { mechanism: first.mechanism, initial: first.data };
  }

  protected select(opening: XmppOpening): ServerMechanism | undefined {
    return this.#args.auth.getServer(opening.mechanism);
  }

  protected initial(opening: XmppOpening): Uint8Array | undefined {
    return opening.initial;
  }

  protected serverOptions(): ServerOptions {
    return serverOptionsFor(this.#args.options, 'xmpp');
  }

  protected limits(): SessionOptions {
    return this.#args.session ?? NO_OPTIONS;
  }

  protected challenge(data: Uint8Array): Written {
    return this.#args.write(buildXmppChallenge(data)) ?? undefined;
  }

  protected response(xml: string): Uint8Array | typeof CANCEL {
    const reply = this.#parse(xml);
    if (reply.kind === 'abort') return CANCEL;
    if (reply.kind !== 'response') throw new UnexpectedMessageError('expected <response> or <abort>', this.context);
    return reply.data;
  }

  protected success(outcome: Authenticated): Authenticated | Promise<Authenticated> {
    const written = this.#args.write(buildXmppSuccess(outcome.additionalData));
    return written === undefined ? outcome : written.then(() => outcome);
  }

  protected failure(thrown: unknown): Written {
    // A client that closed its stream gets no <failure>.
    if (this.input.closed) return undefined;
    const error = unwrapFailure(thrown);
    const condition = this.#condition ?? xmppFailureCondition(error);
    // Only saslkit's own fixed texts: a store's error message may say anything.
    const text = this.#args.failureText === true && isSaslError(error) ? error.message : undefined;
    return this.#args.write(buildXmppFailure(condition, text)) ?? undefined;
  }
}

function closed(context: ProfileContext): never {
  throw new ExchangeAbortedError('the client closed the stream during authentication', context);
}
