/**
 * MD5 (RFC 1321) that can resume from a saved state. node:crypto's MD5 cannot start from an
 * intermediate state, which Dovecot's `{CRAM-MD5}` scheme stores: the HMAC-MD5 inner and outer
 * states after absorbing key XOR ipad and key XOR opad (one 64-byte block each). Not for new
 * designs; it is here to check CRAM-MD5 against such stored states.
 * @module
 */

/** MD5's initial state (A, B, C, D). */
export const MD5_INITIAL_STATE: readonly number[] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4,
  11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
// The sine table, computed on first use rather than at module load.
let sines: Uint32Array | undefined;
const sineTable = (): Uint32Array =>
  (sines ??= Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0));

/** Absorbs one 64-byte block at `offset` into `state` (four 32-bit words, changed in place). */
export function md5Block(state: Uint32Array, block: Uint8Array, offset = 0): void {
  const K = sineTable();
  const m = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    const o = offset + i * 4;
    m[i] =
      ((block[o] ?? 0) | ((block[o + 1] ?? 0) << 8) | ((block[o + 2] ?? 0) << 16) | ((block[o + 3] ?? 0) << 24)) >>> 0;
  }
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const sum = (a + f + (K[i] ?? 0) + (m[g] ?? 0)) >>> 0;
    const s = S[i] ?? 0;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
  }
  state[0] = ((state[0] ?? 0) + a) >>> 0;
  state[1] = ((state[1] ?? 0) + b) >>> 0;
  state[2] = ((state[2] ?? 0) + c) >>> 0;
  state[3] = ((state[3] ?? 0) + d) >>> 0;
}

/**
 * The MD5 digest of `data`, continuing from `state` after `absorbed` bytes (a multiple of 64)
 * were already hashed; from the start by default.
 */
export function md5(data: Uint8Array, state: readonly number[] = MD5_INITIAL_STATE, absorbed = 0): Uint8Array {
  if (absorbed % 64 !== 0 || absorbed < 0) throw new RangeError('md5: a saved state covers whole 64-byte blocks');
  const words = Uint32Array.from(state);
  const full = data.length - (data.length % 64);
  for (let offset = 0; offset < full; offset += 64) md5Block(words, data, offset);
  // Padding: 0x80, zeros, then the total length in bits as a 64-bit little-endian number.
  const rest = data.length - full;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(full));
  tail[rest] = 0x80;
  const bits = (absorbed + data.length) * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, bits >>> 0, true);
  view.setUint32(tail.length - 4, Math.floor(bits / 2 ** 32) >>> 0, true);
  for (let offset = 0; offset < tail.length; offset += 64) md5Block(words, tail, offset);
  const out = new Uint8Array(16);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) outView.setUint32(i * 4, words[i] ?? 0, true);
  return out;
}

/** HMAC-MD5 state pair: MD5 state after absorbing key XOR ipad, and after key XOR opad. */
export interface HmacMd5States {
  readonly inner: readonly number[];
  readonly outer: readonly number[];
}

/** The HMAC-MD5 states of `key` (as Dovecot's `{CRAM-MD5}` stores them). */
export function hmacMd5States(key: Uint8Array): HmacMd5States {
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? md5(key) : key);
  const pad = (byte: number): number[] => {
    const state = Uint32Array.from(MD5_INITIAL_STATE);
    md5Block(
      state,
      block.map((b) => b ^ byte),
    );
    return [...state];
  };
  return { inner: pad(0x36), outer: pad(0x5c) };
}

/** HMAC-MD5 of `message` from saved states. */
export function hmacMd5FromStates(states: HmacMd5States, message: Uint8Array): Uint8Array {
  return md5(md5(message, states.inner, 64), states.outer, 64);
}
