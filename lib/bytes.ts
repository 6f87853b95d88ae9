/**
 * Byte helpers shared by every mechanism and protocol: strict UTF-8, strict base64, hex, and
 * the one constant-time comparison that all secret checks go through.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { MalformedMessageError, type SaslErrorOptions } from './errors.js';

/** An empty message. Frozen views cannot be frozen, so callers must not write into it. */
export const EMPTY: Uint8Array = new Uint8Array(0);

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Encodes a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8 strictly: invalid sequences are a {@link MalformedMessageError}, never U+FFFD.
 * `what` names the field in the error message.
 */
export function decodeUtf8(bytes: Uint8Array, what: string, options?: SaslErrorOptions): string {
  // ASCII is by far the common case and needs no validation beyond the high bit.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new MalformedMessageError(`${what} is not valid UTF-8`, { party: 'client', ...options });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `text` has no lone surrogate. UTF-8 encoding turns a lone surrogate into U+FFFD, so
 * two different strings would hash and compare as equal; secret checks refuse such strings.
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** Splits `bytes` at every occurrence of `separator` (a single byte value). */
export function splitBytes(bytes: Uint8Array, separator: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === separator) {
      parts.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  parts.push(bytes.subarray(start));
  return parts;
}

/**
 * Compares two secrets in time that depends only on their lengths. Every comparison of a
 * password, digest, proof or signature in saslkit goes through this function.
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = typeof a === 'string' ? utf8(a) : a;
  const y = typeof b === 'string' ? utf8(b) : b;
  if (x.length !== y.length) {
    // Still spend a comparison so that a length mismatch is not measurably faster.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes standard, padded base64 strictly (RFC 4648 section 4): no white space, no missing or
 * misplaced padding, no characters outside the alphabet. Node's own decoder skips all of
 * those silently, which would let two different strings carry the same bytes.
 */
export function fromBase64(text: string, what = 'base64 data', options?: SaslErrorOptions): Uint8Array {
  if (!BASE64.test(text)) throw new MalformedMessageError(`${what} is not valid base64`, options);
  const bytes = Buffer.from(text, 'base64');
  // Non-zero bits in the padding position would decode, but do not round-trip.
  if (bytes.toString('base64') !== text) throw new MalformedMessageError(`${what} is not canonical base64`, options);
  return bytes;
}
