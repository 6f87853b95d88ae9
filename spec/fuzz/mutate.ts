/**
 * Input generators for the fuzzers: random bytes and text, seed messages mutated the way
 * byte-level fuzzers do (bit flips, interesting bytes, insertions, deletions, duplication,
 * splicing, truncation), and grammar-ish messages assembled from a dictionary of tokens cut out
 * of the seeds. Everything is a fast-check arbitrary, so failures shrink and replay from a seed.
 */
import fc from 'fast-check';

/**
 * A marker spliced into peer input. An error message that contains it echoed the peer's bytes,
 * which saslkit's errors promise never to do.
 */
export const CANARY = 'zQ9canary';

const CANARY_BYTES = Buffer.from(CANARY, 'latin1');

// Bytes that sit on grammar boundaries in SASL messages: NUL (PLAIN), 0x01 (OAuth kvsep), ',',
// '=', '"', '\\', ' ', CR, LF, '<', '>', '&', '*', '+', '/', high and overlong UTF-8 lead bytes.
const INTERESTING = [
  0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x26, 0x2a, 0x2b, 0x2c, 0x2f, 0x3a, 0x3c, 0x3d, 0x3e, 0x5c, 0x7f, 0x80,
  0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf8, 0xff,
];

/** One mutation step; positions are taken modulo the current length. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'insert'; readonly at: number; readonly data: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly count: number }
  | { readonly kind: 'splice'; readonly at: number; readonly other: number };

const position = fc.nat({ max: 4096 });

/** One mutation step; `tokens` are inserted as whole grammar pieces. */
export function mutationArb(tokens: readonly Uint8Array[]): fc.Arbitrary<Mutation> {
  const insertData =
    tokens.length > 0
      ? fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...tokens))
      : fc.uint8Array({ maxLength: 8 });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
    fc.record({
      kind: fc.constant('set' as const),
      at: position,
      byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })),
    }),
    fc.record({ kind: fc.constant('insert' as const), at: position, data: insertData }),
    fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 32 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: position }),
    // Long runs of one byte reach field-length and message-size limits.
    fc.record({
      kind: fc.constant('repeat' as const),
      at: position,
      count: fc.oneof(fc.integer({ min: 2, max: 64 }), fc.constantFrom(1025, 4097, 17000)),
    }),
    fc.record({ kind: fc.constant('splice' as const), at: position, other: fc.nat({ max: 1 << 16 }) }),
  );
}

/** Applies mutations to a copy of `seed`; `pool` supplies the other message for splices. */
export function applyMutations(
  seed: Uint8Array,
  mutations: readonly Mutation[],
  pool: readonly Uint8Array[],
): Uint8Array {
  let data = Buffer.from(seed);
  for (const m of mutations) {
    const at = data.length === 0 ? 0 : m.at % (data.length + 1);
    switch (m.kind) {
      case 'flip':
        if (data.length > 0) data[at % data.length] = (data[at % data.length] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (data.length > 0) data[at % data.length] = m.byte;
        break;
      case 'insert':
        data = Buffer.concat([data.subarray(0, at), m.data, data.subarray(at)]);
        break;
      case 'delete':
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + m.length)]);
        break;
      case 'duplicate':
        data = Buffer.concat([data.subarray(0, at + m.length), data.subarray(at)]);
        break;
      case 'truncate':
        data = data.subarray(0, at);
        break;
      case 'repeat': {
        const byte = data.length === 0 ? 0x61 : (data[at % data.length] as number);
        data = Buffer.concat([data.subarray(0, at), Buffer.alloc(m.count, byte), data.subarray(at)]);
        break;
      }
      case 'splice': {
        const other = pool.length === 0 ? undefined : pool[m.other % pool.length];
        if (other !== undefined)
          data = Buffer.concat([data.subarray(0, at), other.subarray(m.other % (other.length + 1))]);
        break;
      }
    }
  }
  return new Uint8Array(data);
}

const DELIMITERS = new Set([0x00, 0x01, 0x20, 0x22, 0x2c, 0x3b, 0x3c, 0x3d, 0x3e]);

/** Cuts seeds at grammar delimiters into a token dictionary (the delimiters are tokens too). */
export function tokenize(seeds: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const add = (token: Uint8Array): void => {
    if (token.length > 0 && token.length <= 64) seen.set(Buffer.from(token).toString('latin1'), token);
  };
  for (const seed of seeds) {
    let start = 0;
    for (let i = 0; i <= seed.length; i++) {
      const byte = seed[i];
      if (i === seed.length || (byte !== undefined && DELIMITERS.has(byte))) {
        add(seed.subarray(start, i));
        if (byte !== undefined) add(seed.subarray(i, i + 1));
        start = i + 1;
      }
    }
  }
  for (const byte of DELIMITERS) add(Uint8Array.of(byte));
  add(CANARY_BYTES);
  return [...seen.values()];
}

/**
 * Peer messages: random bytes, mutated seeds, and token soups. Biased towards the seeds, since
 * random bytes rarely get past the first check of a grammar. `maxRandom` bounds random lengths.
 */
export function messageArb(seeds: readonly Uint8Array[], maxRandom = 96): fc.Arbitrary<Uint8Array> {
  const tokens = tokenize(seeds);
  // Long inputs repeat a short random pattern: generating every byte of 20 kB would dominate the run time.
  const long = fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: maxRandom, max: 20000 }))
    .map(([pattern, length]) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = pattern[i % pattern.length] as number;
      return out;
    });
  const random = fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
    { weight: 1, arbitrary: long },
  );
  const soup = fc
    .array(fc.oneof(fc.constantFrom(...tokens), fc.uint8Array({ maxLength: 4 })), { maxLength: 24 })
    .map((parts) => new Uint8Array(Buffer.concat(parts)));
  if (seeds.length === 0) return fc.oneof({ weight: 2, arbitrary: random }, { weight: 1, arbitrary: soup });
  const mutated = fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb(tokens), { minLength: 1, maxLength: 4 }))
    .map(([i, ops]) => applyMutations(seeds[i] as Uint8Array, ops, seeds));
  return fc.oneof(
    { weight: 2, arbitrary: random },
    { weight: 5, arbitrary: mutated },
    { weight: 2, arbitrary: soup },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
  );
}

/** Peer text: random strings (ASCII, full Unicode with lone surrogates), mutated seeds and token soups. */
export function textArb(seeds: readonly string[], maxRandom = 96): fc.Arbitrary<string> {
  const asBytes = seeds.map((seed) => new Uint8Array(Buffer.from(seed, 'utf8')));
  const fromBytes = messageArb(asBytes, maxRandom).map((bytes) => Buffer.from(bytes).toString('utf8'));
  // latin1 keeps every mutated byte as one character, so control characters survive.
  const latin1 = messageArb(asBytes, maxRandom).map((bytes) => Buffer.from(bytes).toString('latin1'));
  return fc.oneof(
    { weight: 2, arbitrary: fc.string({ maxLength: maxRandom, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.string({ maxLength: maxRandom, unit: 'grapheme-ascii' }) },
    { weight: 3, arbitrary: fromBytes },
    { weight: 2, arbitrary: latin1 },
  );
}

/** A plain random string for non-peer parameters (never contains {@link CANARY}). */
export const localText: fc.Arbitrary<string> = fc
  .string({ maxLength: 24, unit: 'grapheme-ascii' })
  .filter((text) => !text.includes(CANARY));

/**
 * A vector's messages in order with some of them mutated: keeps an exchange coherent long
 * enough to reach its later steps (SCRAM's proof, OAuth's error round).
 */
export function sequenceArb(
  sequences: readonly (readonly Uint8Array[])[],
  pool: readonly Uint8Array[],
): fc.Arbitrary<Uint8Array[]> {
  if (sequences.length === 0) return fc.constant([]);
  const longest = Math.max(...sequences.map((seq) => seq.length));
  const tokens = tokenize(pool);
  const edit = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.array(mutationArb(tokens), { minLength: 1, maxLength: 3 }) },
  );
  const edits = fc.array(edit, { minLength: longest, maxLength: longest });
  return fc.tuple(fc.nat({ max: sequences.length - 1 }), edits).map(([i, perMessage]) =>
    (sequences[i] as readonly Uint8Array[]).map((message, k) => {
      const ops = perMessage[k];
      return ops === undefined ? message : applyMutations(message, ops, pool);
    }),
  );
}
