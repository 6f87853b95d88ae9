/**
 * The XML reader of the XMPP profile: one complete top-level element in, a small tree out. It
 * reads the restricted XML that XMPP streams carry (RFC 6120 section 11): attributes in `'` or
 * `"`, the five predefined entities and character references, namespace declarations (default
 * or prefixed) and nothing else: no comments, processing instructions, CDATA or DTDs. It knows
 * no SASL element; lib/protocols/xmpp.ts gives the tree its grammar.
 *
 * Longer than most modules (about 560 lines) because the reader is one class whose hot loops
 * keep their state in locals: splitting it would put a call between the character scans and
 * the caps and work counts ({@link xmlWork}) that make its cost linear in the element's size.
 * @module
 */
import { utf8Length } from '../core/bytes.js';
import { LimitExceededError, MalformedMessageError, type Party, UsageError } from '../core/errors.js';

/** Default of {@link XmppParseOptions.maxElementBytes}: room for a 16 KiB message in base64, plus markup. */
export const DEFAULT_XMPP_MAX_ELEMENT_BYTES = 32768;

/** Deepest nesting read (and the splitter tracks): enough for <failure><condition/></failure>, deeper is no SASL element. @internal */
export const MAX_DEPTH = 8;

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
// The reader

/**
 * The namespace bindings in force at an element: those it declares (prefix and namespace,
 * alternating), over its parent's scope. A lookup walks the chain (one link per declaring
 * ancestor, so at most MAX_DEPTH + 1), which keeps an element that declares one prefix from
 * copying every binding above it.
 */
export interface Scope {
  /** At most {@link LINEAR_BINDINGS} prefixes and namespaces, alternating; more go in `map`. */
  readonly bindings: readonly string[];
  readonly map: ReadonlyMap<string, string> | undefined;
  readonly parent: Scope | undefined;
  /** The default namespace here, resolved once when the link is made: most elements have no prefix. */
  readonly defaultNamespace: string | undefined;
}

export interface XmlElement {
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
export function attribute(element: XmlElement, name: string): string | undefined {
  const attributes = element.attributes;
  for (let i = 0; i < attributes.length; i += 2) if (attributes[i] === name) return attributes[i + 1];
  return undefined;
}

export interface XmlLimits {
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
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
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
    return new LimitExceededError(
      limit,
      `XMPP element from the ${this.party} has more than ${this.limits[limit]} ${what}`,
      { party: this.party },
    );
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
    for (
      let code = text.charCodeAt(i);
      code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
      code = text.charCodeAt(i)
    )
      i += 1;
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
      if (this.references > this.limits.maxReferences)
        throw this.tooMany('maxReferences', 'entity and character references');
      let i = amp + 1;
      let value: string;
      if (text.charCodeAt(i) === 0x23) {
        i += 1;
        let code = 0;
        let digits = 0;
        if (text.charCodeAt(i) === 0x78) {
          i += 1;
          for (
            let digit = hexDigit(text.charCodeAt(i));
            digit !== -1 && digits < 6;
            digit = hexDigit(text.charCodeAt(i))
          ) {
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
    return this.fail(
      semi === -1 || semi - amp > MAX_REFERENCE ? 'unterminated entity reference' : 'unknown entity reference',
    );
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
      if (attributes.length >= 2 * this.limits.maxAttributes)
        throw this.tooMany('maxAttributes', 'attributes on one element');
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
        if (declared >= this.limits.maxNamespaceDeclarations)
          throw this.tooMany('maxNamespaceDeclarations', 'namespace declarations on one element');
        this.declarations += 1;
        const prefix = name === 'xmlns' ? '' : name.slice(6);
        if (map !== undefined) {
          this.work += MAP_WORK;
          if (map.has(prefix)) throw this.fail('duplicate attribute');
          map.set(prefix, value);
        } else {
          this.work += bindings.length / 2;
          for (let i = 0; i < bindings.length; i += 2)
            if (bindings[i] === prefix) throw this.fail('duplicate attribute');
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
    const scope =
      bindings === undefined ? parentScope : newScope(map === undefined ? bindings : NO_ATTRIBUTES, map, parentScope);
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
    return {
      qname,
      local,
      namespace,
      attributes: attributes ?? NO_ATTRIBUTES,
      children: empty ? NO_CHILDREN : [],
      scope,
    };
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
      if (marker === 0x21 || marker === 0x3f)
        throw this.fail('comments, CDATA, DTDs and processing instructions are not allowed');
      if (marker === 0x2f) {
        this.endTags += 1;
        const open = stack.pop();
        const start = this.pos + 2;
        const end = this.nameEnd(start);
        if (open === undefined || end - start !== open.qname.length || !text.startsWith(open.qname, start))
          throw this.fail('mismatched end tag');
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

function newScope(
  bindings: readonly string[],
  map: ReadonlyMap<string, string> | undefined,
  parent: Scope | undefined,
): Scope {
  let defaultNamespace = map === undefined ? parent?.defaultNamespace : (map.get('') ?? parent?.defaultNamespace);
  for (let i = 0; i < bindings.length; i += 2) if (bindings[i] === '') defaultNamespace = bindings[i + 1];
  return { bindings, map, parent, defaultNamespace };
}

/** Parses one XML element (a whole document) under the XMPP element limits. */
export function parseXml(text: string, party: Party, options: XmppParseOptions): XmlElement {
  if (typeof text !== 'string') throw new UsageError('an XMPP element must be a string');
  const max = options.maxElementBytes ?? DEFAULT_XMPP_MAX_ELEMENT_BYTES;
  // A string of n UTF-16 units has at most 3n UTF-8 bytes, so short ones skip the count.
  if (text.length * 3 > max && utf8Length(text) > max) {
    throw new LimitExceededError('maxElementBytes', `XMPP element from the ${party} is longer than ${max} bytes`, {
      party,
    });
  }
  if (FORBIDDEN.test(text))
    throw new MalformedMessageError('XMPP SASL element contains a character XML does not allow', { party });
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
