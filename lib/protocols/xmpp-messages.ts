/**
 * The XMPP SASL elements (RFC 6120 section 6): the grammar of `<mechanisms>`, `<auth>`,
 * `<challenge>`, `<response>`, `<success>`, `<failure>` and `<abort>`, their builders, and the
 * mapping between saslkit errors and `<failure>` conditions. The XML itself is read by
 * lib/transport/xml.ts; the server and the client that run an exchange over these elements are
 * xmpp-server.ts and xmpp-client.ts.
 * @module
 */
import { EMPTY, fromBase64, toBase64 } from '../core/bytes.js';
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
import { isUpperCaseMechanismName } from '../core/mechanism.js';
import { type XmlElement, type XmppParseOptions, attribute, parseXml } from '../transport/xml.js';

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

/** A SASL element before its base64 is decoded. @internal */
export type XmppRawElement =
  | Extract<XmppSaslElement, { readonly kind: 'mechanisms' | 'failure' | 'abort' }>
  | { readonly kind: 'auth'; readonly mechanism: string; readonly text: string }
  | { readonly kind: 'challenge' | 'response' | 'success'; readonly text: string };

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

/** Parses an element's XML and grammar, leaving its base64 undecoded. @internal */
export function parseXmppRaw(xml: string, from: 'client' | 'server', options: XmppParseOptions): XmppRawElement {
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

function parseFailure(root: XmlElement, party: Party): XmppRawElement {
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

/** Decodes the base64 of an element {@link parseXmppRaw} parsed. @internal */
export function decodeXmppRaw(raw: XmppRawElement, party: Party): XmppSaslElement {
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
  return decodeXmppRaw(parseXmppRaw(xml, from, options), from);
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

/** Writes one element; may return a promise (backpressure). */
export type ElementWriter = (element: string) => void | Promise<void>;
