/**
 * The XMPP SASL profile (RFC 6120 section 6): the `<mechanisms>`, `<auth>`, `<challenge>`,
 * `<response>`, `<success>`, `<failure>` and `<abort>` elements, and a server and a client that
 * run an exchange over them. Not an XMPP stack: the host keeps its stream, splits it into
 * top-level elements (an XMPP-over-WebSocket message, RFC 7395, is already one element) and
 * hands saslkit those elements and a `write` function.
 *
 * The element parser is deliberately small and strict. It accepts exactly one element with
 * attributes in `'` or `"`, the five predefined entities and character references, namespace
 * declarations (default or prefixed) and nothing else: no comments, processing instructions,
 * CDATA or DTDs (RFC 6120 section 11.1 forbids most of them in XMPP anyway).
 * @module
 */
import { EMPTY, fromBase64, toBase64 } from '../bytes.js';
import type { ClientCredentials } from '../credentials.js';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
  type Party,
  type SaslError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../errors.js';
import type { Authenticated } from '../exchange.js';
import type { SessionOptions } from '../core.js';
import { PromiseClientSession, PromiseServerSession } from '../drivers/promise.js';
import { type ClientOptions, isUpperCaseMechanismName } from '../mechanism.js';
import type { ServerOptions } from '../options.js';
import type { ChooseOptions, SASLAuth } from '../registry.js';
import { raceSignal, readerWork, serverOptionsFor } from './lines.js';

/** The XML namespace of the SASL elements. */
export const XMPP_SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** Default of {@link XmppParseOptions.maxElementBytes}: room for a 16 KiB message in base64, plus markup. */
export const DEFAULT_XMPP_MAX_ELEMENT_BYTES = 32768;

// Deep enough for <failure><condition/></failure>; anything deeper is not a SASL element.
const MAX_DEPTH = 8;

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
  | { readonly kind: 'failure'; readonly condition: XmppFailureCondition; readonly text?: string | undefined; readonly lang?: string | undefined }
  | { readonly kind: 'abort' };

/** The kinds of SASL element. */
export type XmppSaslElementKind = XmppSaslElement['kind'];

/** Default of {@link XmppParseOptions.maxAttributes}: SASL elements carry two or three, stanzas rarely ten. */
export const DEFAULT_XMPP_MAX_ATTRIBUTES = 32;

/** Default of {@link XmppParseOptions.maxNamespaceDeclarations}: a stream header declares two or three. */
export const DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS = 16;

/** Default of {@link XmppParseOptions.maxElements}: a `<mechanisms>` feature offering 63 mechanisms (servers offer a dozen or two). */
export const DEFAULT_XMPP_MAX_ELEMENTS = 64;

/** Default of {@link XmppParseOptions.maxTotalAttributes}: SASL elements carry two or three in all. */
export const DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES = 64;

/** Default of {@link XmppParseOptions.maxReferences}: base64 has none; a `<failure>` text a few. */
export const DEFAULT_XMPP_MAX_REFERENCES = 256;

/**
 * Options of the element parser. Every limit is checked while the element is read, before its
 * grammar, and breaking one is a {@link LimitExceededError} naming the option. The totals
 * (`maxElements`, `maxTotalAttributes`, `maxReferences`) bound what markup can cost beyond its
 * characters: at the defaults, an element of 10 KB or more costs the parser at most three times
 * what a plain `<auth>` of the same size costs, and a smaller one at most three times what a
 * plain one of 10 KB costs.
 */
export interface XmppParseOptions {
  /** Largest element accepted, in UTF-8 bytes. Default {@link DEFAULT_XMPP_MAX_ELEMENT_BYTES}. */
  readonly maxElementBytes?: number;
  /** Most attributes on one element, namespace declarations included. Default {@link DEFAULT_XMPP_MAX_ATTRIBUTES}. */
  readonly maxAttributes?: number;
  /** Most namespace declarations (`xmlns`, `xmlns:prefix`) on one element. Default {@link DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS}. */
  readonly maxNamespaceDeclarations?: number;
  /** Most elements in one top-level element, itself included. Default {@link DEFAULT_XMPP_MAX_ELEMENTS}. */
  readonly maxElements?: number;
  /** Most attributes in one top-level element, on all its elements together, namespace declarations included. Default {@link DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES}. */
  readonly maxTotalAttributes?: number;
  /** Most entity and character references in one top-level element, in text and attribute values. Default {@link DEFAULT_XMPP_MAX_REFERENCES}. */
  readonly maxReferences?: number;
}

// ---------------------------------------------------------------------------------------------
// A minimal XML element parser

/**
 * The namespace bindings in force at an element: those it declares (prefix and namespace,
 * alternating), over its parent's scope. A lookup walks the chain (one link per declaring
 * ancestor, so at most MAX_DEPTH + 1), which keeps an element that declares one prefix from
 * copying every binding above it.
 */
interface Scope {
  /** At most {@link LINEAR_BINDINGS} prefixes and namespaces, alternating; more go in `map`. */
  readonly bindings: readonly string[];
  readonly map: ReadonlyMap<string, string> | undefined;
  readonly parent: Scope | undefined;
  /** The default namespace here, resolved once when the link is made: most elements have no prefix. */
  readonly defaultNamespace: string | undefined;
}

interface XmlElement {
  readonly qname: string;
  readonly local: string;
  readonly namespace: string | undefined;
  /** Names and values, alternating, in document order. */
  readonly attributes: readonly string[];
  readonly children: readonly (XmlElement | string)[];
  readonly scope: Scope | undefined;
}

/**
 * The element parser's work, in units of what one character of a plain element costs it (the
 * character checks, the scans for `<` and `&`, base64): each character counts one, and each
 * element, attribute, reference and namespace binding compared counts what it costs over its
 * characters, as measured (CPU time, Node 20). Specs compare hostile shapes with plain
 * elements through it rather than a clock. Not part of the package's API.
 */
export const xmlWork = { units: 0 };

// The weights of xmlWork: what each costs over its own characters, in characters of a plain
// <auth>, measured (CPU time, in one process, medians) on 30 KB elements of one kind with the caps raised, and rounded up so that
// mixed shapes are not undercounted either (a start tag 13, an end tag 17, a prefix resolved 6
// more, a text node among elements about 20, an attribute 15 to 17, a namespace declaration 50
// in all, a reference 6 to 15, a namespace binding compared under 1, a map lookup 5).
const START_TAG_WORK = 16;
const END_TAG_WORK = 20;
const PREFIX_WORK = 8;
const TEXT_WORK = 24;
const ATTRIBUTE_WORK = 20;
const DECLARATION_WORK = 38;
const REFERENCE_WORK = 20;
const MAP_WORK = 6;

// An element's declarations are compared one by one up to this many, and put in a map past it:
// with the caps raised, a root declaring a thousand prefixes would otherwise cost a thousand
// compares for every declaration after them and every lookup through them.
const LINEAR_BINDINGS = 8;

// Shared by every element without attributes, and by every self-closing element (never appended to).
const NO_ATTRIBUTES: readonly string[] = [];
const NO_CHILDREN: readonly (XmlElement | string)[] = [];

/** The value of an attribute, or undefined. */
function attribute(element: XmlElement, name: string): string | undefined {
  const attributes = element.attributes;
  for (let i = 0; i < attributes.length; i += 2) if (attributes[i] === name) return attributes[i + 1];
  return undefined;
}

interface XmlLimits {
  readonly maxAttributes: number;
  readonly maxNamespaceDeclarations: number;
  readonly maxElements: number;
  readonly maxTotalAttributes: number;
  readonly maxReferences: number;
}

// Names, white space and references are scanned by character code: a sticky regex allocates a
// match per call, which made attribute-dense elements cost ten times a plain one of the same size.
function isNameStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function isNameChar(code: number): boolean {
  return isNameStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2d;
}

/** The end of `[A-Za-z_][A-Za-z0-9._-]*` at `from`; `from` itself when no name starts there. */
function nameEnd(text: string, from: number): number {
  if (!isNameStart(text.charCodeAt(from))) return from;
  let i = from + 1;
  while (isNameChar(text.charCodeAt(i))) i += 1;
  return i;
}

// XML 1.0 Char production, plus a check for unpaired surrogates (not characters at all).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** The value of a hexadecimal digit, or -1. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

// A reference is at most `&#x10FFFF;`, `&#1114111;` or `&quot;`: ten characters from `&` to `;`.
const MAX_REFERENCE = 10;

class XmlReader {
  pos = 0;
  elements = 0;
  attributes = 0;
  declarations = 0;
  endTags = 0;
  texts = 0;
  references = 0;
  work = 0;
  /** Whether the start tag {@link startTag} last read was self-closing. */
  empty = false;
  /** Where the colon of the name {@link nameEnd} last read is, or -1. */
  colon = -1;
  // The next `&` and `<` at or after a position already passed to ampAt/ltAt: each is found by
  // one scan that is kept until the parser moves past it, so finding them costs one pass in all
  // (a fresh indexOf per attribute value would rescan the rest of the element each time).
  #amp = -1;
  #lt = -1;
  constructor(
    readonly text: string,
    readonly party: Party,
    readonly limits: XmlLimits,
  ) {}

  fail(what: string): MalformedMessageError {
    return new MalformedMessageError(`XMPP SASL element is not well-formed: ${what}`, { party: this.party });
  }

  tooMany(limit: keyof XmlLimits, what: string): LimitExceededError {
    return new LimitExceededError(limit, `XMPP element from the ${this.party} has more than ${this.limits[limit]} ${what}`, { party: this.party });
  }

  /** The first `&` at or after `from`, or the text's length. */
  ampAt(from: number): number {
    if (this.#amp < from) {
      const at = this.text.indexOf('&', from);
      this.#amp = at === -1 ? this.text.length : at;
    }
    return this.#amp;
  }

  /** The first `<` at or after `from`, or the text's length. */
  ltAt(from: number): number {
    if (this.#lt < from) {
      const at = this.text.indexOf('<', from);
      this.#lt = at === -1 ? this.text.length : at;
    }
    return this.#lt;
  }

  skipSpace(): boolean {
    const text = this.text;
    const start = this.pos;
    let i = start;
    for (let code = text.charCodeAt(i); code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a; code = text.charCodeAt(i)) i += 1;
    this.pos = i;
    return i > start;
  }

  /** The end of a name at `from`, with at most one `prefix:` (a colon not followed by a name is left for the caller). */
  nameEnd(from: number): number {
    const text = this.text;
    let end = nameEnd(text, from);
    if (end === from) throw this.fail('expected a name');
    this.colon = -1;
    if (text.charCodeAt(end) === 0x3a) {
      const local = nameEnd(text, end + 1);
      if (local > end + 1) {
        this.colon = end - from;
        end = local;
      }
    }
    return end;
  }

  /** The text from `start` to `end` with its entity and character references replaced. */
  decode(start: number, end: number): string {
    const text = this.text;
    let amp = this.ampAt(start);
    if (amp >= end) return text.slice(start, end);
    let out = '';
    let from = start;
    while (amp < end) {
      this.references += 1;
      if (this.references > this.limits.maxReferences) throw this.tooMany('maxReferences', 'entity and character references');
      let i = amp + 1;
      let value: string;
      if (text.charCodeAt(i) === 0x23) {
        i += 1;
        let code = 0;
        let digits = 0;
        if (text.charCodeAt(i) === 0x78) {
          i += 1;
          for (let digit = hexDigit(text.charCodeAt(i)); digit !== -1 && digits < 6; digit = hexDigit(text.charCodeAt(i))) {
            code = code * 16 + digit;
            digits += 1;
            i += 1;
          }
        } else {
          for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39 && digits < 7; c = text.charCodeAt(i)) {
            code = code * 10 + c - 0x30;
            digits += 1;
            i += 1;
          }
        }
        if (digits === 0 || text.charCodeAt(i) !== 0x3b) throw this.badReference(amp);
        if (!isXmlChar(code)) throw this.fail('character reference to a non-character');
        value = String.fromCodePoint(code);
      } else {
        value = this.entity(i);
        i += value === '<' || value === '>' ? 2 : value === '&' ? 3 : 4;
      }
      out += from === amp ? value : text.slice(from, amp) + value;
      from = i + 1;
      amp = this.ampAt(from);
    }
    return from === end ? out : out + text.slice(from, end);
  }

  /** The predefined entity whose name (followed by `;`) starts at `i`. */
  entity(i: number): string {
    // By character code: a startsWith per entity cost four times the rest of a reference.
    const text = this.text;
    const at = (offset: number, code: number): boolean => text.charCodeAt(i + offset) === code;
    switch (text.charCodeAt(i)) {
      case 0x6c: // lt;
        if (at(1, 0x74) && at(2, 0x3b)) return '<';
        break;
      case 0x67: // gt;
        if (at(1, 0x74) && at(2, 0x3b)) return '>';
        break;
      case 0x61: // amp; apos;
        if (at(1, 0x6d) && at(2, 0x70) && at(3, 0x3b)) return '&';
        if (at(1, 0x70) && at(2, 0x6f) && at(3, 0x73) && at(4, 0x3b)) return "'";
        break;
      case 0x71: // quot;
        if (at(1, 0x75) && at(2, 0x6f) && at(3, 0x74) && at(4, 0x3b)) return '"';
        break;
      default:
        break;
    }
    throw this.badReference(i - 1);
  }

  badReference(amp: number): MalformedMessageError {
    const semi = this.text.indexOf(';', amp);
    return this.fail(semi === -1 || semi - amp > MAX_REFERENCE ? 'unterminated entity reference' : 'unknown entity reference');
  }

  /** The namespace of a (non-empty) prefix. */
  resolve(scope: Scope | undefined, prefix: string): string | undefined {
    for (let link = scope; link !== undefined; link = link.parent) {
      if (link.map !== undefined) {
        this.work += MAP_WORK;
        const namespace = link.map.get(prefix);
        if (namespace !== undefined) return namespace;
        continue;
      }
      const bindings = link.bindings;
      this.work += 1 + bindings.length / 2;
      for (let i = 0; i < bindings.length; i += 2) if (bindings[i] === prefix) return bindings[i + 1];
    }
    return undefined;
  }

  /** Adds this parse's work to {@link xmlWork}. */
  count(): void {
    xmlWork.units +=
      this.text.length +
      this.work +
      START_TAG_WORK * this.elements +
      END_TAG_WORK * this.endTags +
      TEXT_WORK * this.texts +
      ATTRIBUTE_WORK * this.attributes +
      DECLARATION_WORK * this.declarations +
      REFERENCE_WORK * this.references;
  }

  /** Parses one start tag after its `<`; returns the element, and sets {@link empty}. */
  startTag(parentScope: Scope | undefined): XmlElement {
    this.elements += 1;
    if (this.elements > this.limits.maxElements) throw this.tooMany('maxElements', 'elements');
    const text = this.text;
    const nameStart = this.pos;
    this.pos = this.nameEnd(nameStart);
    const qname = text.slice(nameStart, this.pos);
    const colon = this.colon;
    let attributes: string[] | undefined;
    let bindings: string[] | undefined;
    let map: Map<string, string> | undefined;
    for (;;) {
      const spaced = this.skipSpace();
      const code = text.charCodeAt(this.pos);
      if (code === 0x3e || (code === 0x2f && text.charCodeAt(this.pos + 1) === 0x3e)) break;
      if (!spaced) throw this.fail('expected white space before an attribute');
      const start = this.pos;
      const end = this.nameEnd(start);
      const name = text.slice(start, end);
      this.pos = end;
      this.skipSpace();
      if (text.charCodeAt(this.pos) !== 0x3d) throw this.fail('expected "="');
      this.pos += 1;
      this.skipSpace();
      const quote = text.charCodeAt(this.pos);
      if (quote !== 0x27 && quote !== 0x22) throw this.fail('attribute value must be quoted');
      // One pass to the closing quote, noting `&` and refusing `<` (a call to indexOf costs more than a short value).
      const valueStart = this.pos + 1;
      let valueEnd = valueStart;
      let amp = false;
      for (let c = text.charCodeAt(valueEnd); c !== quote; c = text.charCodeAt(++valueEnd)) {
        if (c === 0x26) amp = true;
        else if (c === 0x3c) throw this.fail('"<" in an attribute value');
        else if (Number.isNaN(c)) throw this.fail('unterminated attribute value');
      }
      attributes ??= [];
      if (attributes.length >= 2 * this.limits.maxAttributes) throw this.tooMany('maxAttributes', 'attributes on one element');
      this.attributes += 1;
      if (this.attributes > this.limits.maxTotalAttributes) throw this.tooMany('maxTotalAttributes', 'attributes');
      const value = amp ? this.decode(valueStart, valueEnd) : text.slice(valueStart, valueEnd);
      // Duplicates are refused where they matter, and without comparing every name with every
      // earlier one (which cost more than the rest of the tag): a namespace declaration here,
      // any other attribute by the element's grammar, which allows a handful of names once each.
      attributes.push(name, value);
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        bindings ??= [];
        const declared = map !== undefined ? map.size : bindings.length / 2;
        if (declared >= this.limits.maxNamespaceDeclarations) throw this.tooMany('maxNamespaceDeclarations', 'namespace declarations on one element');
        this.declarations += 1;
        const prefix = name === 'xmlns' ? '' : name.slice(6);
        if (map !== undefined) {
          this.work += MAP_WORK;
          if (map.has(prefix)) throw this.fail('duplicate attribute');
          map.set(prefix, value);
        } else {
          this.work += bindings.length / 2;
          for (let i = 0; i < bindings.length; i += 2) if (bindings[i] === prefix) throw this.fail('duplicate attribute');
          bindings.push(prefix, value);
          if (bindings.length > 2 * LINEAR_BINDINGS) {
            map = new Map();
            for (let i = 0; i < bindings.length; i += 2) map.set(bindings[i] as string, bindings[i + 1] as string);
          }
        }
      }
      this.pos = valueEnd + 1;
    }
    const empty = text.charCodeAt(this.pos) === 0x2f;
    this.empty = empty;
    this.pos += empty ? 2 : 1;
    const scope = bindings === undefined ? parentScope : newScope(map === undefined ? bindings : NO_ATTRIBUTES, map, parentScope);
    let namespace: string | undefined;
    let local = qname;
    if (colon === -1) {
      namespace = scope?.defaultNamespace;
    } else {
      this.work += PREFIX_WORK;
      namespace = this.resolve(scope, qname.slice(0, colon));
      if (namespace === undefined) throw this.fail('undeclared namespace prefix');
      local = qname.slice(colon + 1);
    }
    return { qname, local, namespace, attributes: attributes ?? NO_ATTRIBUTES, children: empty ? NO_CHILDREN : [], scope };
  }

  /** Parses the whole text as exactly one element, optionally surrounded by white space. */
  document(): XmlElement {
    const text = this.text;
    this.skipSpace();
    if (text.charCodeAt(this.pos) !== 0x3c) throw this.fail('expected an element');
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    while (root === undefined) {
      const parent = stack[stack.length - 1];
      if (this.pos >= text.length) throw this.fail('unterminated element');
      if (text.charCodeAt(this.pos) !== 0x3c) {
        const end = this.ltAt(this.pos);
        this.texts += 1;
        // Only reachable inside an element: the root is entered before any text.
        children(parent as XmlElement).push(this.decode(this.pos, end));
        this.pos = end;
        continue;
      }
      const marker = text.charCodeAt(this.pos + 1);
      if (marker === 0x21 || marker === 0x3f) throw this.fail('comments, CDATA, DTDs and processing instructions are not allowed');
      if (marker === 0x2f) {
        this.endTags += 1;
        const open = stack.pop();
        const start = this.pos + 2;
        const end = this.nameEnd(start);
        if (open === undefined || end - start !== open.qname.length || !text.startsWith(open.qname, start)) throw this.fail('mismatched end tag');
        this.pos = end;
        this.skipSpace();
        if (text.charCodeAt(this.pos) !== 0x3e) throw this.fail('expected ">"');
        this.pos += 1;
        if (stack.length === 0) root = open;
        continue;
      }
      this.pos += 1;
      const element = this.startTag(parent?.scope);
      if (parent) children(parent).push(element);
      if (this.empty) {
        if (stack.length === 0) root = element;
      } else {
        if (stack.length >= MAX_DEPTH) throw this.fail('elements nested too deeply');
        stack.push(element);
      }
    }
    this.skipSpace();
    if (this.pos !== text.length) throw this.fail('content after the element');
    return root;
  }
}

/** The children of an element on the parser's stack: one with an end tag, so with its own array. */
function children(element: XmlElement): (XmlElement | string)[] {
  return element.children as (XmlElement | string)[];
}

function newScope(bindings: readonly string[], map: ReadonlyMap<string, string> | undefined, parent: Scope | undefined): Scope {
  let defaultNamespace = map === undefined ? parent?.defaultNamespace : (map.get('') ?? parent?.defaultNamespace);
  for (let i = 0; i < bindings.length; i += 2) if (bindings[i] === '') defaultNamespace = bindings[i + 1];
  return { bindings, map, parent, defaultNamespace };
}

function parseXml(text: string, party: Party, options: XmppParseOptions): XmlElement {
  if (typeof text !== 'string') throw new UsageError('an XMPP element must be a string');
  const max = options.maxElementBytes ?? DEFAULT_XMPP_MAX_ELEMENT_BYTES;
  // A string of n UTF-16 units has at most 3n UTF-8 bytes, so short ones skip the count.
  if (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max) {
    throw new LimitExceededError('maxElementBytes', `XMPP element from the ${party} is longer than ${max} bytes`, { party });
  }
  if (FORBIDDEN.test(text)) throw new MalformedMessageError('XMPP SASL element contains a character XML does not allow', { party });
  const limits: XmlLimits = {
    maxAttributes: options.maxAttributes ?? DEFAULT_XMPP_MAX_ATTRIBUTES,
    maxNamespaceDeclarations: options.maxNamespaceDeclarations ?? DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS,
    maxElements: options.maxElements ?? DEFAULT_XMPP_MAX_ELEMENTS,
    maxTotalAttributes: options.maxTotalAttributes ?? DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES,
    maxReferences: options.maxReferences ?? DEFAULT_XMPP_MAX_REFERENCES,
  };
  const reader = new XmlReader(text, party, limits);
  try {
    return reader.document();
  } finally {
    reader.count();
  }
}

// ---------------------------------------------------------------------------------------------
// SASL elements

type RawElement =
  | { readonly kind: 'mechanisms'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'auth'; readonly mechanism: string; readonly text: string }
  | { readonly kind: 'challenge' | 'response' | 'success'; readonly text: string }
  | { readonly kind: 'failure'; readonly condition: XmppFailureCondition; readonly text?: string | undefined; readonly lang?: string | undefined }
  | { readonly kind: 'abort' };

const FROM_CLIENT: ReadonlySet<string> = new Set(['auth', 'response', 'abort']);
const FROM_SERVER: ReadonlySet<string> = new Set(['mechanisms', 'challenge', 'success', 'failure']);

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
    if ((seen & (1 << index)) !== 0) throw new MalformedMessageError(`duplicate attribute on <${element.local}>`, { party });
    seen |= 1 << index;
  }
}

function elementChildren(element: XmlElement, party: Party): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) {
    if (typeof child !== 'string') out.push(child);
    else if (!/^[ \t\r\n]*$/.test(child)) throw new MalformedMessageError(`unexpected text in <${element.local}>`, { party });
  }
  return out;
}

function textContent(element: XmlElement, party: Party): string {
  let text = '';
  for (const child of element.children) {
    if (typeof child !== 'string') throw new MalformedMessageError(`unexpected child element in <${element.local}>`, { party });
    text += child;
  }
  return text;
}

function parseRaw(xml: string, from: 'client' | 'server', options: XmppParseOptions): RawElement {
  const party = from;
  const root = parseXml(xml, party, options);
  if (root.namespace !== XMPP_SASL_NS) throw new UnexpectedMessageError('XMPP element is not in the SASL namespace', { party });
  if (!(from === 'client' ? FROM_CLIENT : FROM_SERVER).has(root.local)) {
    throw new UnexpectedMessageError(`XMPP SASL element is not one a ${from} sends`, { party });
  }
  switch (root.local) {
    case 'mechanisms': {
      onlyAttributes(root, [], party);
      const mechanisms = elementChildren(root, party).map((child) => {
        if (child.local !== 'mechanism' || child.namespace !== XMPP_SASL_NS) throw new MalformedMessageError('unexpected child element in <mechanisms>', { party });
        onlyAttributes(child, [], party);
        const name = textContent(child, party);
        if (!isUpperCaseMechanismName(name)) throw new MalformedMessageError('<mechanism> is not a SASL mechanism name', { party });
        return name;
      });
      if (mechanisms.length === 0) throw new MalformedMessageError('<mechanisms> offers no mechanism', { party });
      return { kind: 'mechanisms', mechanisms };
    }
    case 'auth': {
      onlyAttributes(root, ['mechanism'], party);
      const mechanism = attribute(root, 'mechanism');
      if (mechanism === undefined || !isUpperCaseMechanismName(mechanism)) throw new MalformedMessageError('<auth> lacks a valid mechanism attribute', { party });
      return { kind: 'auth', mechanism, text: textContent(root, party) };
    }
    case 'challenge':
    case 'response':
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
    if (child.namespace !== XMPP_SASL_NS) throw new MalformedMessageError('unexpected child element in <failure>', { party });
    if (child.local === 'text') {
      if (text !== undefined) throw new MalformedMessageError('<failure> has more than one <text>', { party });
      onlyAttributes(child, ['xml:lang'], party);
      text = textContent(child, party);
      lang = attribute(child, 'xml:lang');
      continue;
    }
    if (!(XMPP_FAILURE_CONDITIONS as readonly string[]).includes(child.local)) throw new MalformedMessageError('<failure> has an unknown condition', { party });
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
      return { kind: 'auth', mechanism: raw.mechanism, data: raw.text === '' ? undefined : decodePayload(raw.text, party) };
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
export function parseXmppSaslElement(xml: string, from: 'client' | 'server', options: XmppParseOptions = {}): XmppSaslElement {
  return decodeRaw(parseRaw(xml, from, options), from);
}

/** Parses a `<mechanisms>` stream feature into its mechanism names, in the server's order. */
export function parseXmppMechanisms(xml: string, options: XmppParseOptions = {}): string[] {
  const element = parseXmppSaslElement(xml, 'server', options);
  if (element.kind !== 'mechanisms') throw new UnexpectedMessageError('expected a <mechanisms> element', { party: 'server' });
  return [...element.mechanisms];
}

// ---------------------------------------------------------------------------------------------
// Builders

function escapeXml(text: string): string {
  return text.replace(/[&<>'"]/g, (c) => `&${c === '&' ? 'amp' : c === '<' ? 'lt' : c === '>' ? 'gt' : c === "'" ? 'apos' : 'quot'};`);
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
  if (!(XMPP_FAILURE_CONDITIONS as readonly string[]).includes(condition)) throw new UsageError('not an XMPP SASL failure condition');
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
      return new MalformedMessageError(`the XMPP server could not parse the client's message (${condition})`, { mechanism, party: 'local' });
    default:
      return new AuthenticationFailedError(`authentication failed (${condition})`, { ...context, serverError: condition });
  }
}

// ---------------------------------------------------------------------------------------------
// Element sources

/** Anything elements can be read from: an async iterable, or an iterator already in use. */
export type MessageSource<T> = AsyncIterable<T> | AsyncIterator<T>;

/** The iterator of a source. Callers read with `next()` only and never call `return()`, so the host's stream stays open. */
export function messageIterator<T>(source: MessageSource<T>): AsyncIterator<T> {
  return typeof (source as AsyncIterator<T>).next === 'function' ? (source as AsyncIterator<T>) : (source as AsyncIterable<T>)[Symbol.asyncIterator]();
}

/** Options of {@link xmppElements}. */
export interface XmppElementsOptions {
  /** Largest element accepted, in UTF-8 bytes. Default {@link DEFAULT_XMPP_MAX_ELEMENT_BYTES}. */
  readonly maxElementBytes?: number;
}

/**
 * Splits a byte or text stream that carries a sequence of complete top-level elements (as in
 * tests and examples, or after the host has consumed its `<stream:stream>` header) into
 * element strings. White space between elements is skipped. It only finds boundaries; each
 * element is still checked by {@link parseXmppSaslElement}. An element over `maxElementBytes`
 * is a {@link LimitExceededError} as soon as it grows past the limit, complete or not. The
 * source is read with `next()` and never closed, so the host can keep using it. The work is
 * linear in the bytes received, however they are chunked.
 */
export async function* xmppElements(chunks: MessageSource<Uint8Array | string>, options: XmppElementsOptions = {}): AsyncGenerator<string, void, undefined> {
  const splitter = new ElementSplitter(options.maxElementBytes ?? DEFAULT_XMPP_MAX_ELEMENT_BYTES);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const iterator = messageIterator(chunks);
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) {
      if (splitter.inElement) throw new ExchangeAbortedError('the XMPP stream ended inside an element', { party: 'local' });
      return;
    }
    let text: string;
    try {
      text = typeof next.value === 'string' ? next.value : decoder.decode(next.value, { stream: true });
    } catch {
      throw new MalformedMessageError('XMPP stream is not valid UTF-8', { party: 'local' });
    }
    yield* splitter.push(text);
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

/** UTF-8 size of one UTF-16 unit: a surrogate is half of a 4-byte character. */
function utf8Size(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3;
}

/**
 * Finds element boundaries in text that arrives in pieces, looking at each character once
 * whatever the chunking: the state of an unfinished tag (its kind, an open quote, its previous
 * character) is kept between pieces rather than re-scanning the tag from its `<`, the element's
 * size is counted as it grows rather than re-measured, and its pieces are joined once, when it
 * ends (a growing string would be flattened again by every scan).
 */
class ElementSplitter {
  inElement = false;
  #parts: string[] = [];
  #bytes = 0;
  #depth = 0;
  #inTag = false;
  // Of the tag being read: 0 until the character after `<` is seen, then whether it is an end tag.
  #kind: 0 | 'start' | 'end' = 0;
  #quote = 0;
  #previous = 0;

  constructor(readonly max: number) {}

  /** Scans one piece of text, yielding each element it completes, in order. */
  *push(text: string): Generator<string, void, undefined> {
    const length = text.length;
    // Where the unfinished element's text begins in this piece.
    let from = 0;
    let i = 0;
    while (i < length) {
      if (!this.inElement) {
        const code = text.charCodeAt(i);
        readerWork.units += 1;
        if (code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a) {
          i += 1;
          continue;
        }
        if (code !== LT) throw new MalformedMessageError('text between XMPP elements', { party: 'local' });
        this.inElement = true;
        from = i;
        this.#openTag();
        i += 1;
        continue;
      }
      if (!this.#inTag) {
        // Character data: everything up to the next `<` (none between tags, which is common enough to skip the search).
        const lt = text.charCodeAt(i) === LT ? i : text.indexOf('<', i);
        const end = lt === -1 ? length : lt;
        if (end > i) {
          let bytes = 0;
          for (let j = i; j < end; j++) bytes += utf8Size(text.charCodeAt(j));
          this.#grow(bytes, end - i);
        }
        if (lt === -1) break;
        this.#openTag();
        i = lt + 1;
        continue;
      }
      const next = this.#scanTag(text, i);
      // The piece ended inside the tag.
      if (next === -1) break;
      i = next;
      if (this.#kind === 'end') this.#depth -= 1;
      else if (this.#previous !== SLASH) this.#depth += 1;
      if (this.#depth < 0) throw new MalformedMessageError('end tag without a start tag between XMPP elements', { party: 'local' });
      if (this.#depth === 0) {
        yield this.#finish(text.slice(from, i));
        continue;
      }
      if (this.#depth > MAX_DEPTH) throw new MalformedMessageError('XMPP elements nested too deeply', { party: 'local' });
    }
    if (this.inElement && from < length) this.#parts.push(text.slice(from));
  }

  /**
   * Reads the tag being read from `i` to its `>` (returning the index after it, the tag done) or
   * to the end of the piece (returning -1), keeping its state (kind, open quote, previous character) in locals and the
   * size in one count per run: a step per character through the generator's fields made a tag
   * cost four times as much to split as character data. The size is counted before anything
   * that could fail, so the outcome is the one a character at a time gives.
   */
  #scanTag(text: string, from: number): number {
    const length = text.length;
    let kind = this.#kind;
    let quote = this.#quote;
    let previous = this.#previous;
    let i = from;
    const start = from;
    let bytes = 0;
    while (i < length) {
      const code = text.charCodeAt(i);
      bytes += utf8Size(code);
      i += 1;
      if (kind === 0) {
        if (code === 0x21 || code === 0x3f) {
          this.#grow(bytes, i - start);
          throw new MalformedMessageError('comments and processing instructions are not allowed', { party: 'local' });
        }
        kind = code === SLASH ? 'end' : 'start';
      }
      if (quote !== 0) {
        if (code === quote) quote = 0;
      } else if (code === 0x27 || code === 0x22) {
        quote = code;
      } else if (code === GT) {
        this.#inTag = false;
        break;
      }
      previous = code;
    }
    this.#grow(bytes, i - start);
    this.#kind = kind;
    this.#quote = quote;
    this.#previous = previous;
    return this.#inTag ? -1 : i;
  }

  // Counts `bytes` more of the element (`units` characters scanned); over the limit is an error at once.
  #grow(bytes: number, units: number): void {
    readerWork.units += units;
    this.#bytes += bytes;
    if (this.#bytes > this.max) throw new LimitExceededError('maxElementBytes', `XMPP element is longer than ${this.max} bytes`, { party: 'local' });
  }

  // After a `<`, which counts towards the element.
  #openTag(): void {
    this.#grow(1, 1);
    this.#inTag = true;
    this.#kind = 0;
    this.#quote = 0;
    this.#previous = LT;
  }

  #finish(last: string): string {
    const parts = this.#parts;
    const element = parts.length === 0 ? last : parts.join('') + last;
    readerWork.units += element.length;
    this.#parts = [];
    this.#bytes = 0;
    this.inElement = false;
    return element;
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
  const fail = async (error: unknown, condition: XmppFailureCondition = xmppFailureCondition(error)): Promise<never> => {
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
      throw new ExchangeAbortedError('the client closed the stream during authentication', { mechanism: mechanismName, party: 'client' });
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
    if (!mechanism) return await fail(new MechanismUnavailableError('the client asked for a mechanism the server does not offer', { party: 'client' }));
    mechanismName = mechanism.name;
    session = new PromiseServerSession(mechanism.server(serverOptionsFor(args.options, 'xmpp'), first.data), { ...args.session, mechanism: mechanism.name, initialResponse: first.data });
    let step = await session.start();
    while (!step.done) {
      await args.write(buildXmppChallenge(step.challenge));
      const reply = await read();
      if (reply.kind === 'abort') return await fail(session.abort('client'));
      if (reply.kind !== 'response') return await fail(new UnexpectedMessageError('expected <response> or <abort>', { mechanism: mechanism.name, party: 'client' }));
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
  const offered = typeof args.mechanisms === 'string' ? parseXmppMechanisms(args.mechanisms, args.parse) : args.mechanisms;
  // The registry decides the mechanism and the GS2 flag (RFC 5802 section 6), as for every client profile.
  const { mechanism, client } = args.auth.negotiateClient(offered, { credentials: args.credentials, choose: args.choose, client: args.client, peer: 'the XMPP server' });
  const iterator = messageIterator(args.elements);
  const read = async (): Promise<XmppSaslElement> => {
    const next = await raceSignal(iterator.next(), args.session?.signal, { mechanism: mechanism.name, party: 'server' });
    if (next.done === true) throw new ExchangeAbortedError('the server closed the stream during authentication', { mechanism: mechanism.name, party: 'server' });
    return parseXmppSaslElement(next.value, 'server', args.parse);
  };
  const session = new PromiseClientSession(mechanism.client(args.credentials, client), { ...args.session, mechanism: mechanism.name });
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
          throw new UnexpectedMessageError('expected <challenge>, <success> or <failure>', { mechanism: mechanism.name, party: 'server' });
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
