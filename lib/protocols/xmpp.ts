/**
 * The XMPP SASL profile (RFC 6120 section 6): the `<mechanisms>`, `<auth>`, `<challenge>`,
 * `<response>`, `<success>`, `<failure>` and `<abort>` elements, and a server and a client that
 * run an exchange over them. Not an XMPP stack: the host keeps its stream, splits it into
 * top-level elements (an XMPP-over-WebSocket message, RFC 7395, is already one element) and
 * hands saslkit those elements and a `write` function.
 *
 * The XML itself is read by lib/transport/xml.ts (deliberately small and strict: no comments,
 * processing instructions, CDATA or DTDs, which RFC 6120 section 11.1 forbids anyway) and a
 * stream is split into elements by lib/transport/elements.ts; this module gives the elements
 * their SASL grammar and runs the exchanges.
 * @module
 */
import { EMPTY, fromBase64, toBase64 } from '../core/bytes.js';
import type { ClientCredentials } from '../passwords/credentials.js';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ExchangeAbortedError,
  MalformedMessageError,
  MechanismUnavailableError,
  type Party,
  type SaslError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { SessionOptions } from '../core/core.js';
import { PromiseClientSession, PromiseServerSession } from '../drivers/promise.js';
import { type ClientOptions, isUpperCaseMechanismName } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import type { ChooseOptions, SASLAuth } from '../core/registry.js';
import { serverOptionsFor } from './profile.js';
import { raceSignal } from '../transport/signal.js';
import { type MessageSource, messageIterator } from '../transport/source.js';
import { type XmlElement, type XmppParseOptions, attribute, parseXml } from '../transport/xml.js';

// The XML reader, its limits and the element splitter moved to lib/transport/; re-exported here
// so the package index and hosts that imported them from this module keep working.
export {
  DEFAULT_XMPP_MAX_ELEMENT_BYTES,
  DEFAULT_XMPP_MAX_ATTRIBUTES,
  DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS,
  DEFAULT_XMPP_MAX_ELEMENTS,
  DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES,
  DEFAULT_XMPP_MAX_REFERENCES,
  type XmppParseOptions,
  xmlWork,
} from '../transport/xml.js';
export { type XmppElementsOptions, xmppElements } from '../transport/elements.js';
export { type MessageSource, messageIterator } from '../transport/source.js';

/** The XML namespace of the SASL elements. */
export const XMPP_SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** The defined conditions of a `<failure>` element (RFC 6120 section 6.5). */
export const XMPP_FAILURE_CONDITIONS = [
  'aborted',
  'account-disabled',
  'credentials-expired',
  'encryption-required',
  'incorrect-encoding',
  'invalid-authzid',
  'invalid-mechanism',
  'malformed-request',
  'mechanism-too-weak',
  'not-authorized',
  'temporary-auth-failure',
] as const;

/** One defined `<failure>` condition. */
export type XmppFailureCondition = (typeof XMPP_FAILURE_CONDITIONS)[number];

/** A parsed SASL element. `data` is decoded; `undefined` means the element carried no data at all. */
export type XmppSaslElement =
  | { readonly kind: 'mechanisms'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'auth'; readonly mechanism: string; readonly data: Uint8Array | undefined }
  | { readonly kind: 'challenge'; readonly data: Uint8Array }
  | { readonly kind: 'response'; readonly data: Uint8Array }
  | { readonly kind: 'success'; readonly data: Uint8Array | undefined }
  | {
      readonly kind: 'failure';
      readonly condition: XmppFailureCondition;
      readonly text?: string | undefined;
      readonly lang?: string | undefined;
    }
  | { readonly kind: 'abort' };

/** The kinds of SASL element. */
export type XmppSaslElementKind = XmppSaslElement['kind'];

// ---------------------------------------------------------------------------------------------
// SASL elements

type RawElement =
  | { readonly kind: 'mechanisms'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'auth'; readonly mechanism: string; readonly text: string }
  | { readonly kind: 'challenge' | 'response' | 'success'; readonly text: string }
  | {
      readonly kind: 'failure';
      readonly condition: XmppFailureCondition;
      readonly text?: string | undefined;
      readonly lang?: string | undefined;
    }
  | { readonly kind: 'abort' };

const FROM_CLIENT: ReadonlySet<string> = new Set(['auth', 'response', 'abort']);
const FROM_SERVER: ReadonlySet<string> = new Set(['mechanisms', 'challenge', 'success', 'failure']);

const RESPONSE_ATTRIBUTES: readonly string[] = ['mechanism'];

function isNamespaceDeclaration(name: string): boolean {
  return name === 'xmlns' || name.startsWith('xmlns:');
}

function onlyAttributes(element: XmlElement, allowed: readonly string[], party: Party): void {
  const attributes = element.attributes;
  let seen = 0;
  for (let i = 0; i < attributes.length; i += 2) {
    const name = attributes[i] as string;
    if (isNamespaceDeclaration(name)) continue;
    const index = allowed.indexOf(name);
    if (index === -1) throw new MalformedMessageError(`unexpected attribute on <${element.local}>`, { party });
    // The parser leaves duplicates of other attributes to this check (declarations it refuses itself).
    if ((seen & (1 << index)) !== 0)
      throw new MalformedMessageError(`duplicate attribute on <${element.local}>`, { party });
    seen |= 1 << index;
  }
}

function elementChildren(element: XmlElement, party: Party): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) {
    if (typeof child !== 'string') out.push(child);
    else if (!/^[ \t\r\n]*$/.test(child))
      throw new MalformedMessageError(`unexpected text in <${element.local}>`, { party });
  }
  return out;
}

function textContent(element: XmlElement, party: Party): string {
  let text = '';
  for (const child of element.children) {
    if (typeof child !== 'string')
      throw new MalformedMessageError(`unexpected child element in <${element.local}>`, { party });
    text += child;
  }
  return text;
}

function parseRaw(xml: string, from: 'client' | 'server', options: XmppParseOptions): RawElement {
  const party = from;
  const root = parseXml(xml, party, options);
  if (root.namespace !== XMPP_SASL_NS)
    throw new UnexpectedMessageError('XMPP element is not in the SASL namespace', { party });
  if (!(from === 'client' ? FROM_CLIENT : FROM_SERVER).has(root.local)) {
    throw new UnexpectedMessageError(`XMPP SASL element is not one a ${from} sends`, { party });
  }
  switch (root.local) {
    case 'mechanisms': {
      onlyAttributes(root, [], party);
      const mechanisms = elementChildren(root, party).map((child) => {
        if (child.local !== 'mechanism' || child.namespace !== XMPP_SASL_NS)
          throw new MalformedMessageError('unexpected child element in <mechanisms>', { party });
        onlyAttributes(child, [], party);
        const name = textContent(child, party);
        if (!isUpperCaseMechanismName(name))
          throw new MalformedMessageError('<mechanism> is not a SASL mechanism name', { party });
        return name;
      });
      if (mechanisms.length === 0) throw new MalformedMessageError('<mechanisms> offers no mechanism', { party });
      return { kind: 'mechanisms', mechanisms };
    }
    case 'auth': {
      onlyAttributes(root, ['mechanism'], party);
      const mechanism = attribute(root, 'mechanism');
      if (mechanism === undefined || !isUpperCaseMechanismName(mechanism))
        throw new MalformedMessageError('<auth> lacks a valid mechanism attribute', { party });
      return { kind: 'auth', mechanism, text: textContent(root, party) };
    }
    case 'response':
      // xmpp.js 0.14 repeats the mechanism on <response>: meaningless there, so accepted and ignored.
      onlyAttributes(root, RESPONSE_ATTRIBUTES, party);
      return { kind: 'response', text: textContent(root, party) };
    case 'challenge':
    case 'success':
      onlyAttributes(root, [], party);
      return { kind: root.local, text: textContent(root, party) };
    case 'abort':
      onlyAttributes(root, [], party);
      if (root.children.length > 0) throw new MalformedMessageError('<abort> must be empty', { party });
      return { kind: 'abort' };
    default:
      return parseFailure(root, party);
  }
}

function parseFailure(root: XmlElement, party: Party): RawElement {
  onlyAttributes(root, [], party);
  let condition: XmppFailureCondition | undefined;
  let text: string | undefined;
  let lang: string | undefined;
  for (const child of elementChildren(root, party)) {
    if (child.namespace !== XMPP_SASL_NS)
      throw new MalformedMessageError('unexpected child element in <failure>', { party });
    if (child.local === 'text') {
      if (text !== undefined) throw new MalformedMessageError('<failure> has more than one <text>', { party });
      onlyAttributes(child, ['xml:lang'], party);
      text = textContent(child, party);
      lang = attribute(child, 'xml:lang');
      continue;
    }
    if (!(XMPP_FAILURE_CONDITIONS as readonly string[]).includes(child.local))
      throw new MalformedMessageError('<failure> has an unknown condition', { party });
    if (condition !== undefined) throw new MalformedMessageError('<failure> has more than one condition', { party });
    onlyAttributes(child, [], party);
    if (child.children.length > 0) throw new MalformedMessageError('a <failure> condition must be empty', { party });
    condition = child.local as XmppFailureCondition;
  }
  if (condition === undefined) throw new MalformedMessageError('<failure> has no condition', { party });
  return { kind: 'failure', condition, text, lang };
}

/**
 * Decodes an element's base64 character data. `=` is a zero-length payload (RFC 6120 section
 * 6.4.2); white space is not allowed. Bad base64 is a {@link MalformedMessageError}.
 */
function decodePayload(text: string, party: Party): Uint8Array {
  if (text === '=' || text === '') return EMPTY;
  return fromBase64(text, 'XMPP SASL data', { party });
}

function decodeRaw(raw: RawElement, party: Party): XmppSaslElement {
  switch (raw.kind) {
    case 'auth':
      // No character data: no initial response. `=`: an empty one.
      return {
        kind: 'auth',
        mechanism: raw.mechanism,
        data: raw.text === '' ? undefined : decodePayload(raw.text, party),
      };
    case 'success':
      return { kind: 'success', data: raw.text === '' ? undefined : decodePayload(raw.text, party) };
    case 'challenge':
    case 'response':
      // An empty element is an empty message; `=` is accepted too, as some peers send it.
      return { kind: raw.kind, data: decodePayload(raw.text, party) };
    default:
      return raw;
  }
}

/**
 * Parses one SASL element sent by `from`. Throws {@link MalformedMessageError} for anything
 * that is not well-formed or breaks the element's grammar (including bad base64),
 * {@link UnexpectedMessageError} for a well-formed element outside the SASL namespace or one
 * that `from` does not send, and {@link LimitExceededError} for an oversized element.
 */
export function parseXmppSaslElement(
  xml: string,
  from: 'client' | 'server',
  options: XmppParseOptions = {},
): XmppSaslElement {
  return decodeRaw(parseRaw(xml, from, options), from);
}

/** Parses a `<mechanisms>` stream feature into its mechanism names, in the server's order. */
export function parseXmppMechanisms(xml: string, options: XmppParseOptions = {}): string[] {
  const element = parseXmppSaslElement(xml, 'server', options);
  if (element.kind !== 'mechanisms')
    throw new UnexpectedMessageError('expected a <mechanisms> element', { party: 'server' });
  return [...element.mechanisms];
}

// ---------------------------------------------------------------------------------------------
// Builders

function escapeXml(text: string): string {
  return text.replace(
    /[&<>'"]/g,
    (c) => `&${c === '&' ? 'amp' : c === '<' ? 'lt' : c === '>' ? 'gt' : c === "'" ? 'apos' : 'quot'};`,
  );
}

function checkName(name: string): string {
  if (!isUpperCaseMechanismName(name)) throw new UsageError('not a SASL mechanism name');
  return name;
}

function element(name: string, body: string | undefined, attributes = ''): string {
  const open = `<${name} xmlns='${XMPP_SASL_NS}'${attributes}`;
  return body === undefined || body === '' ? `${open}/>` : `${open}>${body}</${name}>`;
}

/** `undefined` -> no character data; empty -> `=`; else base64. */
function payload(data: Uint8Array | undefined): string | undefined {
  if (data === undefined) return undefined;
  return data.length === 0 ? '=' : toBase64(data);
}

/** Builds the `<mechanisms>` stream feature. */
export function buildXmppMechanisms(names: readonly string[]): string {
  if (names.length === 0) throw new UsageError('<mechanisms> must offer at least one mechanism');
  return element('mechanisms', names.map((name) => `<mechanism>${checkName(name)}</mechanism>`).join(''));
}

/** Builds `<auth>`: no initial response when `initial` is undefined, `=` when it is empty. */
export function buildXmppAuth(mechanism: string, initial?: Uint8Array): string {
  return element('auth', payload(initial), ` mechanism='${checkName(mechanism)}'`);
}

/** Builds `<challenge>`; an empty challenge is an empty element. */
export function buildXmppChallenge(data: Uint8Array): string {
  return element('challenge', data.length === 0 ? undefined : toBase64(data));
}

/** Builds `<response>`; an empty response is an empty element. */
export function buildXmppResponse(data: Uint8Array): string {
  return element('response', data.length === 0 ? undefined : toBase64(data));
}

/** Builds `<success>`, with additional data when given (`=` for empty additional data). */
export function buildXmppSuccess(additionalData?: Uint8Array): string {
  return element('success', payload(additionalData));
}

/** Builds `<failure>` with a defined condition and an optional human-readable text. */
export function buildXmppFailure(condition: XmppFailureCondition, text?: string, lang = 'en'): string {
  if (!(XMPP_FAILURE_CONDITIONS as readonly string[]).includes(condition))
    throw new UsageError('not an XMPP SASL failure condition');
  const textElement = text === undefined ? '' : `<text xml:lang='${escapeXml(lang)}'>${escapeXml(text)}</text>`;
  return element('failure', `<${condition}/>${textElement}`);
}

/** Builds `<abort/>`. */
export function buildXmppAbort(): string {
  return element('abort', undefined);
}

// ---------------------------------------------------------------------------------------------
// Mapping errors to conditions and back

/**
 * The `<failure>` condition a server reports for an error. Errors that are not saslkit's (a
 * credential store that threw) and saslkit errors that blame the server itself become
 * `temporary-auth-failure`, which tells the client to try again later.
 */
export function xmppFailureCondition(error: unknown): XmppFailureCondition {
  if (!isSaslError(error)) return 'temporary-auth-failure';
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
      return 'not-authorized';
    case 'AUTHORIZATION_FAILED':
      return 'invalid-authzid';
    case 'MECHANISM_UNAVAILABLE':
      return 'invalid-mechanism';
    case 'ABORTED':
      return 'aborted';
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
    case 'LIMIT_EXCEEDED':
      return 'malformed-request';
    default:
      return 'temporary-auth-failure';
  }
}

/**
 * The saslkit error a client raises for a server's `<failure>`. The condition is kept in
 * `serverError` where the error class has one; the server's `<text>` is not copied into the
 * message, because it is peer data.
 */
export function xmppFailureError(condition: XmppFailureCondition, mechanism?: string): SaslError {
  const context = { mechanism, party: 'server' as const };
  switch (condition) {
    case 'aborted':
      return new ExchangeAbortedError('the XMPP server aborted the exchange', context);
    case 'invalid-authzid':
      return new AuthorizationFailedError(undefined, context);
    case 'invalid-mechanism':
    case 'mechanism-too-weak':
      return new MechanismUnavailableError(`the XMPP server refused the mechanism (${condition})`, context);
    case 'incorrect-encoding':
    case 'malformed-request':
      // The server blames our message; our side produced it.
      return new MalformedMessageError(`the XMPP server could not parse the client's message (${condition})`, {
        mechanism,
        party: 'local',
      });
    default:
      return new AuthenticationFailedError(`authentication failed (${condition})`, {
        ...context,
        serverError: condition,
      });
  }
}

// ---------------------------------------------------------------------------------------------
// The server and the client

/** Writes one element; may return a promise (backpressure). */
export type ElementWriter = (element: string) => void | Promise<void>;

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
export async function xmppServerAuth(args: XmppServerAuthOptions): Promise<Authenticated> {
  const iterator = messageIterator(args.elements);
  let session: PromiseServerSession | undefined;
  let mechanismName: string | undefined;
  // Set inside closures, so kept in an object that flow analysis does not narrow.
  const state = { reported: false, closed: false };
  const fail = async (
    error: unknown,
    condition: XmppFailureCondition = xmppFailureCondition(error),
  ): Promise<never> => {
    state.reported = true;
    // Only saslkit's own fixed texts: a store's error message may say anything.
    const text = args.failureText === true && isSaslError(error) ? error.message : undefined;
    try {
      await args.write(buildXmppFailure(condition, text));
    } catch {
      // The stream is gone; the host sees that on its own. The SASL outcome is what we report.
    }
    throw error;
  };
  const read = async (): Promise<XmppSaslElement> => {
    // The session's time limit also covers waiting for the client's next element.
    const next = await raceSignal(iterator.next(), args.session?.signal, { mechanism: mechanismName, party: 'client' });
    if (next.done === true) {
      state.closed = true;
      throw new ExchangeAbortedError('the client closed the stream during authentication', {
        mechanism: mechanismName,
        party: 'client',
      });
    }
    let raw: RawElement;
    try {
      raw = parseRaw(next.value, 'client', args.parse ?? {});
    } catch (error) {
      return fail(error);
    }
    try {
      return decodeRaw(raw, 'client');
    } catch (error) {
      return fail(error, 'incorrect-encoding');
    }
  };
  try {
    const first = await read();
    if (first.kind === 'abort') return await fail(new ExchangeAbortedError(undefined, { party: 'client' }));
    if (first.kind !== 'auth') return await fail(new UnexpectedMessageError('expected <auth>', { party: 'client' }));
    const mechanism = args.auth.getServer(first.mechanism);
    if (!mechanism)
      return await fail(
        new MechanismUnavailableError('the client asked for a mechanism the server does not offer', {
          party: 'client',
        }),
      );
    mechanismName = mechanism.name;
    session = new PromiseServerSession(mechanism.server(serverOptionsFor(args.options, 'xmpp'), first.data), {
      ...args.session,
      mechanism: mechanism.name,
      initialResponse: first.data,
    });
    let step = await session.start();
    while (!step.done) {
      await args.write(buildXmppChallenge(step.challenge));
      const reply = await read();
      if (reply.kind === 'abort') return await fail(session.abort('client'));
      if (reply.kind !== 'response')
        return await fail(
          new UnexpectedMessageError('expected <response> or <abort>', { mechanism: mechanism.name, party: 'client' }),
        );
      step = await session.respond(reply.data);
    }
    await args.write(buildXmppSuccess(step.outcome.additionalData));
    return step.outcome;
  } catch (error) {
    if (session && !session.finished) session.abort('local');
    if (state.reported || state.closed) throw error;
    return fail(error);
  }
}

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
  const read = async (): Promise<XmppSaslElement> => {
    const next = await raceSignal(iterator.next(), args.session?.signal, {
      mechanism: mechanism.name,
      party: 'server',
    });
    if (next.done === true)
      throw new ExchangeAbortedError('the server closed the stream during authentication', {
        mechanism: mechanism.name,
        party: 'server',
      });
    return parseXmppSaslElement(next.value, 'server', args.parse);
  };
  const session = new PromiseClientSession(mechanism.client(args.credentials, client), {
    ...args.session,
    mechanism: mechanism.name,
  });
  const initial = await session.start(true);
  await args.write(buildXmppAuth(mechanism.name, initial));
  try {
    for (;;) {
      const element = await read();
      switch (element.kind) {
        case 'challenge': {
          let response: Uint8Array;
          try {
            response = await session.challenge(element.data);
          } catch (error) {
            await abortExchange(args.write, read);
            throw error;
          }
          await args.write(buildXmppResponse(response));
          break;
        }
        case 'success': {
          const outcome = await session.success(element.data);
          return { mechanism: mechanism.name, serverVerified: outcome.serverVerified };
        }
        case 'failure':
          return await session.failure(xmppFailureError(element.condition, mechanism.name));
        default:
          throw new UnexpectedMessageError('expected <challenge>, <success> or <failure>', {
            mechanism: mechanism.name,
            party: 'server',
          });
      }
    }
  } finally {
    // A closed stream or a bad element leaves the mechanism mid-exchange: cancel it so its `finally` blocks run.
    if (!session.finished) session.abort();
  }
}

/** Sends `<abort/>` and consumes the server's answer, so the stream is in step for a retry. */
async function abortExchange(write: ElementWriter, read: () => Promise<XmppSaslElement>): Promise<void> {
  try {
    await write(buildXmppAbort());
    await read();
  } catch {
    // Whatever the server answers (or if it hangs up), the local error is what matters.
  }
}
