/**
 * Byte helpers shared by every mechanism and protocol: strict UTF-8, strict base64, hex, and
 * the one constant-time comparison that all secret checks go through.
 * @module
 */
import { MalformedMessageError, type SaslErrorOptions } from './errors.js';

/** An empty message. Frozen views cannot be frozen, so callers must not write into it. */
export const EMPTY: Uint8Array = new Uint8Array(0);

// Created on first use, not at module load (nothing runs when a bundle merely imports saslkit).
let strictDecoder: InstanceType<typeof TextDecoder> | undefined;
let encoder: InstanceType<typeof TextEncoder> | undefined;

// Up to this length a string is encoded by a loop while it stays ASCII: TextEncoder's fixed cost
// is several times the loop's for the short strings SASL handles.
const SHORT_TEXT = 64;

/** Encodes a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n <= SHORT_TEXT) {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i < n; i++) {
      const unit = text.charCodeAt(i);
      if (unit > 0x7f) break;
      out[i] = unit;
    }
    if (i === n) return out;
  }
  return (encoder ??= new TextEncoder()).encode(text);
}

/** The number of bytes of `text` in UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

// Up to this length, ASCII is decoded with String.fromCharCode; beyond it the native decoder is
// faster, and `apply` no longer copies the bytes into an argument list (8 bytes of garbage each).
// Measured on fresh arrays (session 5, bench/README.md): Node 20 crosses over at 12-16 bytes (24
// bytes: 139 ns against 184), Bun's decoder is faster at every length, Deno's slower by about 200
// ns; a PLAIN message (about 25 bytes) now takes the decoder.
const SHORT_ASCII = 12;

// Bytes per String.fromCharCode call, well within engines' argument limits.
const LATIN1_CHUNK = 8192;

/** Each byte as the character of the same code (ISO-8859-1), in chunks to stay within argument limits. */
export function latin1(bytes: Uint8Array): string {
  // One call for the short fields SASL handles: no subarray view to allocate.
  if (bytes.length <= LATIN1_CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let text = '';
  for (let at = 0; at < bytes.length; at += LATIN1_CHUNK)
    text += String.fromCharCode.apply(null, bytes.subarray(at, at + LATIN1_CHUNK) as unknown as number[]);
  return text;
}

/** ISO-8859-1 bytes of `text`; each code unit's low byte (callers check the text is Latin-1). */
export function fromLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
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
  const decoder = (strictDecoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }));
  if (ascii) {
    // ASCII is the same in every ASCII-compatible encoding: short fields are built in JavaScript,
    // longer ones by the native decoder (see SHORT_ASCII).
    return bytes.length <= SHORT_ASCII
      ? String.fromCharCode.apply(null, bytes as unknown as number[])
      : decoder.decode(bytes);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new MalformedMessageError(`${what} is not valid UTF-8`, { party: 'client', ...options });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// ES2024's String.prototype.isWellFormed (Node 20+); the regular expression elsewhere.

/**
 * True when `text` has no lone surrogate. UTF-8 encoding turns a lone surrogate into U+FFFD, so
 * two different strings would hash and compare as equal; secret checks refuse such strings.
 */
export function isWellFormed(text: string): boolean {
  // Looked up per call: a property read at load would keep this module in every bundle.
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
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
  if (typeof a === 'string' && typeof b === 'string') return stringsEqual(a, b);
  const x = typeof a === 'string' ? utf8(a) : a;
  const y = typeof b === 'string' ? utf8(b) : b;
  // A branch-free loop, the same in every runtime. (node:crypto's timingSafeEqual was measured
  // 20 to 100 times slower on the short, freshly built arrays SASL compares: V8 must move each one
  // off its heap before C++ can read it.) On a length mismatch, still spend a comparison (of x
  // with itself) so that it is not measurably faster.
  if (x.length !== y.length) {
    bytesEqual(x, x);
    return false;
  }
  return bytesEqual(x, y);
}

/** Accumulates the differences of two equally long arrays without a branch on their contents. */
function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  return diff === 0;
}

/**
 * Two strings compared code unit by code unit, accumulating differences without a branch on
 * the data: the loop runs over the first string's length whatever either string holds. No
 * encoding (which cost more than the comparison), and two different lone surrogates, which
 * UTF-8 would both turn into U+FFFD, stay different.
 */
function stringsEqual(a: string, b: string): boolean {
  const n = a.length;
  const m = b.length;
  let diff = n ^ m;
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i < m ? i : 0);
  return diff === 0;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  const hex = (hexTable ??= Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0')));
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += hex[bytes[i] as number] as string;
  return text;
}

// Tables built on first use: nothing runs at module load.
let hexTable: string[] | undefined;
let b64Table: Int8Array | undefined;
const B64_VALUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  const n = bytes.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const v = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text +=
      B64_VALUE.charAt(v >>> 18) +
      B64_VALUE.charAt((v >>> 12) & 63) +
      B64_VALUE.charAt((v >>> 6) & 63) +
      B64_VALUE.charAt(v & 63);
  }
  if (n - whole === 1) {
    const v = (bytes[whole] as number) << 16;
    text += `${B64_VALUE.charAt(v >>> 18)}${B64_VALUE.charAt((v >>> 12) & 63)}==`;
  } else if (n - whole === 2) {
    const v = ((bytes[whole] as number) << 16) | ((bytes[whole + 1] as number) << 8);
    text += `${B64_VALUE.charAt(v >>> 18)}${B64_VALUE.charAt((v >>> 12) & 63)}${B64_VALUE.charAt((v >>> 6) & 63)}=`;
  }
  return text;
}

/**
 * Decodes standard, padded base64 strictly (RFC 4648 section 4): no white space, no missing or
 * misplaced padding, no characters outside the alphabet. Node's own decoder skips all of
 * those silently, which would let two different strings carry the same bytes. One pass: the
 * characters are checked as they are decoded (a regular expression pass before the decoding
 * cost as much again).
 */
export function fromBase64(text: string, what = 'base64 data', options?: SaslErrorOptions): Uint8Array {
  const n = text.length;
  if (n % 4 !== 0) throw new MalformedMessageError(`${what} is not valid base64`, options);
  // Padding: `=` or `==` at the very end, after at least two characters of the last group.
  const pad = n === 0 || text.charCodeAt(n - 1) !== EQUALS ? 0 : text.charCodeAt(n - 2) === EQUALS ? 2 : 1;
  const values = (b64Table ??= base64Values());
  const out = new Uint8Array((n / 4) * 3 - pad);
  const whole = pad === 0 ? n : n - 4;
  let at = 0;
  let bad = 0;
  for (let i = 0; i < whole; i += 4) {
    // A character outside the table's range reads as undefined, and `undefined | 0` is 0: the
    // char code itself is or-ed into `bad` above 127, which the final check catches.
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    const v0 = values[c0 & 127] as number;
    const v1 = values[c1 & 127] as number;
    const v2 = values[c2 & 127] as number;
    const v3 = values[c3 & 127] as number;
    bad |= v0 | v1 | v2 | v3 | ((c0 | c1 | c2 | c3) & ~127);
    const v = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
    out[at++] = v >>> 16;
    out[at++] = (v >>> 8) & 0xff;
    out[at++] = v & 0xff;
  }
  if (pad > 0) {
    const c0 = text.charCodeAt(whole);
    const c1 = text.charCodeAt(whole + 1);
    const c2 = pad === 2 ? ZERO_CHAR : text.charCodeAt(whole + 2);
    const v0 = values[c0 & 127] as number;
    const v1 = values[c1 & 127] as number;
    const v2 = values[c2 & 127] as number;
    bad |= v0 | v1 | v2 | ((c0 | c1 | c2) & ~127);
    if (bad >= 0 && (bad & ~127) === 0) {
      // Non-zero bits in the padding position would decode, but do not round-trip: the last
      // character before `==` must carry no bits below its top two, before `=` none below its top four.
      if (((pad === 2 ? v1 : v2) & (pad === 2 ? 0x0f : 0x03)) !== 0)
        throw new MalformedMessageError(`${what} is not canonical base64`, options);
      const v = (v0 << 18) | (v1 << 12) | (v2 << 6);
      out[at++] = v >>> 16;
      if (pad === 1) out[at] = (v >>> 8) & 0xff;
    }
  }
  // `bad` has the sign bit of any -1 (not in the alphabet) and the high bits of any non-ASCII code.
  if (bad < 0 || (bad & ~127) !== 0) throw new MalformedMessageError(`${what} is not valid base64`, options);
  return out;
}

const EQUALS = 0x3d;
// 'A', whose value is 0: stands for the missing third character of a group ending in `==`.
const ZERO_CHAR = 0x41;

// -1 for every ASCII code outside the alphabet (`=` included: padding is read apart).
function base64Values(): Int8Array {
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < B64_VALUE.length; i++) values[B64_VALUE.charCodeAt(i)] = i;
  return values;
}
