/**
 * A small, strict BER codec for LDAP (RFC 4511 section 5.1) and a reader of whole LDAPMessages
 * over byte chunks. Strict means: definite lengths only (no indefinite form), at most four length
 * octets, low tag numbers only (LDAP uses none above 30), minimal INTEGER encodings, BOOLEAN as
 * 0x00 or 0xFF, OCTET STRING primitive only, and every element's contents exactly filled by its
 * children. Lengths are checked against the bytes present before anything is sliced, so a
 * hostile length costs nothing. Only `Uint8Array` is used (no Node built-ins), so the codec can
 * run in a browser. Nothing LDAP- or SASL-specific beyond the framing lives here.
 * @module
 */
import { concat } from '../core/bytes.js';
import { LimitExceededError, MalformedMessageError, type Party, UsageError } from '../core/errors.js';
import { ChunkBuffer } from './chunks.js';
import type { MessageSource } from './source.js';

/** The class bits of a BER identifier octet. */
export const BER_CLASS = { UNIVERSAL: 0x00, APPLICATION: 0x40, CONTEXT: 0x80, PRIVATE: 0xc0 } as const;
/** The constructed bit of a BER identifier octet. */
export const BER_CONSTRUCTED = 0x20;
/** Universal tags LDAP uses, as whole identifier octets. */
export const BER_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Default of {@link BerLimits.maxDepth}: LDAP messages nest about 8 deep; filters a little more. */
export const DEFAULT_BER_MAX_DEPTH = 32;
/** Default of {@link BerLimits.maxChildren}: elements inside one constructed element. */
export const DEFAULT_BER_MAX_CHILDREN = 4096;
/** Default of {@link LdapReaderOptions.maxMessageBytes}: 256 KiB, room for a search result with certificates. */
export const DEFAULT_LDAP_MAX_MESSAGE_BYTES = 262144;

/** One BER element: its identifier octet and its contents (a view into the message, not a copy). */
export interface BerElement {
  /** The identifier octet: class, constructed bit and tag number, e.g. 0x60 for a BindRequest. */
  readonly tag: number;
  /** The contents octets. */
  readonly contents: Uint8Array;
}

/** Limits applied while decoding. */
export interface BerLimits {
  /** Who sent the bytes; errors are attributed to that party. Default `local`. */
  readonly party?: Party;
  /** Deepest nesting a caller may descend to (checked by {@link berChildren}'s depth argument). */
  readonly maxDepth?: number;
  /** Most elements inside one constructed element. */
  readonly maxChildren?: number;
}

function malformed(what: string, party: Party): MalformedMessageError {
  return new MalformedMessageError(`BER ${what}`, { party });
}

/** True when the identifier octet has the constructed bit. */
export function berIsConstructed(element: BerElement): boolean {
  return (element.tag & BER_CONSTRUCTED) !== 0;
}

/**
 * Reads one element's header at `offset`: the identifier and the contents' start and length.
 * Returns undefined when `bytes` ends before the header does. The length is not checked against
 * the bytes present; callers do that.
 */
function header(
  bytes: Uint8Array,
  offset: number,
  party: Party,
): { tag: number; start: number; length: number } | undefined {
  if (offset + 2 > bytes.length) return undefined;
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw malformed('element uses a high tag number, which LDAP never does', party);
  const first = bytes[offset + 1] as number;
  if (first < 0x80) return { tag, start: offset + 2, length: first };
  if (first === 0x80) throw malformed('element has an indefinite length, which LDAP forbids', party);
  const count = first & 0x7f;
  if (count > 4) throw malformed('element length has more than four octets', party);
  if (offset + 2 + count > bytes.length) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] as number);
  return { tag, start: offset + 2 + count, length };
}

/**
 * Decodes exactly one element filling `bytes`. Trailing bytes, a length that runs past the end
 * and the forms strict BER refuses are each a {@link MalformedMessageError}.
 */
export function decodeBer(bytes: Uint8Array, limits: BerLimits = {}): BerElement {
  const party = limits.party ?? 'local';
  const head = header(bytes, 0, party);
  if (head === undefined || head.start + head.length > bytes.length) throw malformed('element is truncated', party);
  if (head.start + head.length !== bytes.length) throw malformed('element has trailing bytes', party);
  return { tag: head.tag, contents: bytes.subarray(head.start, head.start + head.length) };
}

/**
 * The elements inside a constructed element, in order. `depth` is the caller's nesting level
 * of `element` (0 for the message itself); past {@link BerLimits.maxDepth} it is a
 * {@link LimitExceededError}, as are more than {@link BerLimits.maxChildren} elements.
 */
export function berChildren(element: BerElement, depth: number, limits: BerLimits = {}): BerElement[] {
  const party = limits.party ?? 'local';
  if (!berIsConstructed(element)) throw malformed('expected a constructed element', party);
  const maxDepth = limits.maxDepth ?? DEFAULT_BER_MAX_DEPTH;
  if (depth >= maxDepth)
    throw new LimitExceededError('maxDepth', `BER elements nest deeper than ${maxDepth}`, { party });
  const maxChildren = limits.maxChildren ?? DEFAULT_BER_MAX_CHILDREN;
  const bytes = element.contents;
  const out: BerElement[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const head = header(bytes, offset, party);
    if (head === undefined || head.start + head.length > bytes.length) throw malformed('element is truncated', party);
    if (out.length >= maxChildren)
      throw new LimitExceededError('maxChildren', `a BER element holds more than ${maxChildren} elements`, { party });
    out.push({ tag: head.tag, contents: bytes.subarray(head.start, head.start + head.length) });
    offset = head.start + head.length;
  }
  return out;
}

/**
 * An INTEGER or ENUMERATED value that fits in 32 signed bits, minimally encoded (X.690
 * 8.3.2). LDAP's integers are all in 0..2^31-1 (RFC 4511 maxInt); callers check the range.
 */
export function berInteger(element: BerElement, party: Party = 'local'): number {
  const bytes = element.contents;
  if (bytes.length === 0) throw malformed('integer has no contents', party);
  if (bytes.length > 4) throw malformed('integer does not fit in 32 bits', party);
  if (bytes.length > 1) {
    const first = bytes[0] as number;
    const second = bytes[1] as number;
    if ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80))
      throw malformed('integer is not minimally encoded', party);
  }
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  // Two's complement: a set top bit makes the value negative.
  if ((bytes[0] as number) >= 0x80) value -= 256 ** bytes.length;
  return value;
}

/** A BOOLEAN: one octet, 0x00 or 0xFF as RFC 4511 section 5.1 requires of senders. */
export function berBoolean(element: BerElement, party: Party = 'local'): boolean {
  const bytes = element.contents;
  if (bytes.length !== 1 || (bytes[0] !== 0x00 && bytes[0] !== 0xff))
    throw malformed('boolean is not 0x00 or 0xFF', party);
  return bytes[0] === 0xff;
}

/** A NULL: no contents. */
export function berNull(element: BerElement, party: Party = 'local'): null {
  if (element.contents.length !== 0) throw malformed('null has contents', party);
  return null;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) out.unshift(rest % 256);
  return [0x80 | out.length, ...out];
}

/** Encodes one element: identifier octet, minimal definite length, contents. */
export function encodeBer(tag: number, contents: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f)
    throw new UsageError('a BER tag is one identifier octet with a low tag number');
  if (contents.length > 0xffffffff) throw new UsageError('BER contents over 4 GiB');
  const length = lengthOctets(contents.length);
  const out = new Uint8Array(1 + length.length + contents.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(contents, 1 + length.length);
  return out;
}

/** Encodes a constructed element (SEQUENCE, SET, or a tagged one) from its encoded children. */
export function encodeBerConstructed(tag: number, children: readonly Uint8Array[]): Uint8Array {
  return encodeBer(tag | BER_CONSTRUCTED, concat(...children));
}

/** Encodes an INTEGER (or, with `tag`, an ENUMERATED or implicitly tagged integer), minimally. */
export function encodeBerInteger(value: number, tag: number = BER_TAG.INTEGER): Uint8Array {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff)
    throw new UsageError('a BER integer here fits in 32 signed bits');
  const bytes: number[] = [];
  let rest = value;
  // Shortest two's complement: stop once the rest is only the sign of the top byte written.
  do {
    bytes.unshift(rest & 0xff);
    rest >>= 8;
  } while (!(
    (rest === 0 && ((bytes[0] as number) & 0x80) === 0) ||
    (rest === -1 && ((bytes[0] as number) & 0x80) !== 0)
  ));
  return encodeBer(tag, Uint8Array.from(bytes));
}

/** Encodes an OCTET STRING (or, with `tag`, an implicitly tagged one) from bytes or UTF-8 text. */
export function encodeBerOctetString(value: Uint8Array | string, tag: number = BER_TAG.OCTET_STRING): Uint8Array {
  return encodeBer(tag, typeof value === 'string' ? new TextEncoder().encode(value) : value);
}

/** Encodes a BOOLEAN as 0x00 or 0xFF. */
export function encodeBerBoolean(value: boolean): Uint8Array {
  return encodeBer(BER_TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

// ---------------------------------------------------------------------------------------------
// The LDAPMessage reader

/** Options of an {@link LdapMessageReader}. */
export interface LdapReaderOptions {
  /** Largest LDAPMessage accepted, in bytes. Default {@link DEFAULT_LDAP_MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** Who sends what this reader reads; errors are attributed to that party. */
  readonly peer: 'client' | 'server';
}

/**
 * Reads whole BER elements (LDAPMessages: a SEQUENCE each) from a byte source. It reads with
 * `next()` only and never closes the source, keeps the bytes that arrived after a message, and
 * joins a message's chunks once, when the message is complete: linear in the bytes received
 * however they are chunked (the readers' work counter, `readerWork`, counts). A message over `maxMessageBytes` is a
 * {@link LimitExceededError} as soon as its header says so, before its contents arrive.
 */
export class LdapMessageReader {
  /** Largest message accepted. */
  readonly maxMessageBytes: number;
  /** Who sends what this reader reads. */
  readonly peer: 'client' | 'server';
  readonly #bytes: ChunkBuffer;

  constructor(source: MessageSource<Uint8Array>, options: LdapReaderOptions) {
    this.#bytes = new ChunkBuffer(source, 'LDAP', options.peer);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_LDAP_MAX_MESSAGE_BYTES;
    this.peer = options.peer;
  }

  /** How many bytes were received and not read yet. */
  get buffered(): number {
    return this.#bytes.length;
  }

  /**
   * Reads from another source from now on: the TLS socket after StartTLS. Bytes that arrived
   * in the clear after the StartTLS exchange would be injected into the protected session, so
   * any such byte is an {@link UnexpectedMessageError}-like refusal (a MalformedMessageError).
   */
  switchSource(source: MessageSource<Uint8Array>): void {
    if (this.#bytes.length !== 0)
      throw new MalformedMessageError(`the ${this.peer} sent data in the clear after StartTLS`, { party: this.peer });
    this.#bytes.switchSource(source);
  }

  /**
   * Reads one whole element (identifier, length, contents) and returns its bytes. The outer
   * element must be a SEQUENCE, as every LDAPMessage is.
   */
  async readBytes(): Promise<Uint8Array> {
    const bytes = this.#bytes;
    await bytes.fill(2);
    const party = this.peer;
    let head = header(bytes.head(2), 0, party);
    if (head === undefined) {
      // The long form's length octets are not all here yet (at most 6 header bytes).
      const second = bytes.head(2)[1] as number;
      await bytes.fill(2 + (second & 0x7f));
      head = header(bytes.head(2 + (second & 0x7f)), 0, party);
      // Unreachable: the header's bytes are all here now.
      if (head === undefined) throw malformed('element is truncated', party);
    }
    if (head.tag !== BER_TAG.SEQUENCE) throw new MalformedMessageError('LDAP message is not a SEQUENCE', { party });
    const total = head.start + head.length;
    if (total > this.maxMessageBytes)
      throw new LimitExceededError(
        'maxMessageBytes',
        `LDAP message from the ${party} is longer than ${this.maxMessageBytes} bytes`,
        { party },
      );
    await bytes.fill(total);
    // A copy, so that a caller keeping the message does not pin the chunks it arrived in.
    return bytes.take(total).slice();
  }
}
