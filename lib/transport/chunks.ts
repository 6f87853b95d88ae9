/**
 * A byte buffer over a chunk source, for the length-prefixed readers (PostgreSQL frames, BER
 * elements): it waits for a number of bytes and hands out a prefix, joining chunks only when a
 * read spans them, so the work is linear in the bytes received however they are chunked
 * ({@link readerWork} counts the bytes joined). Nothing SASL and nothing protocol-specific here.
 * @module
 */
import { concat } from '../core/bytes.js';
import { ExchangeAbortedError, UsageError } from '../core/errors.js';
import { readerWork } from './lines.js';
import { type MessageSource, messageIterator } from './source.js';

// Arguments spread into one call are bounded (V8 throws a RangeError near 10^5), and a slow
// sender's message can arrive in more chunks than that: join in batches, still linear.
const SPREAD_BATCH = 4096;

function joinMany(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length <= SPREAD_BATCH) return concat(...parts);
  const batches: Uint8Array[] = [];
  for (let at = 0; at < parts.length; at += SPREAD_BATCH) batches.push(concat(...parts.slice(at, at + SPREAD_BATCH)));
  return joinMany(batches);
}

/**
 * Bytes read from a chunk source and not yet taken. It reads with `next()` only and never closes
 * the source, so the host can go on reading from it afterwards. @internal
 */
export class ChunkBuffer {
  readonly #peer: 'client' | 'server';
  readonly #protocol: string;
  #source: AsyncIterator<Uint8Array>;
  // Chunks received and not yet taken, oldest first, joined only once a read needs them whole:
  // joining at every chunk would copy the whole buffer again for each byte of a slow sender.
  #chunks: Uint8Array[] = [];
  #length = 0;

  /** `protocol` names the wire in error messages; `peer` is who sends the bytes (errors are attributed to it). */
  constructor(source: MessageSource<Uint8Array>, protocol: string, peer: 'client' | 'server') {
    this.#source = messageIterator(source);
    this.#protocol = protocol;
    this.#peer = peer;
  }

  /** How many bytes were received and not taken yet. */
  get length(): number {
    return this.#length;
  }

  /** Reads from another source from now on (the TLS socket after StartTLS); buffered bytes stay. */
  switchSource(source: MessageSource<Uint8Array>): void {
    this.#source = messageIterator(source);
  }

  /** Waits until at least `count` bytes are buffered; the source ending first is an {@link ExchangeAbortedError}. */
  async fill(count: number): Promise<void> {
    while (this.#length < count) {
      const next = await this.#source.next();
      if (next.done === true)
        throw new ExchangeAbortedError(`the ${this.#peer} closed the connection`, { party: this.#peer });
      if (!(next.value instanceof Uint8Array))
        throw new UsageError(`a ${this.#protocol} byte source must yield Uint8Array chunks`);
      if (next.value.length === 0) continue;
      this.#chunks.push(next.value);
      this.#length += next.value.length;
    }
  }

  /**
   * The buffered bytes from the start, at least `count` of them when that many are buffered
   * (call {@link fill} first): the first chunk, joined with the chunks that hold the rest (each
   * byte is joined at most twice). It may hold more than `count` bytes; do not keep it.
   */
  head(count: number): Uint8Array {
    const chunks = this.#chunks;
    const first = chunks[0];
    if (first === undefined) return new Uint8Array(0);
    if (first.length >= count) return first;
    let take = 0;
    let size = 0;
    while (size < count && take < chunks.length) size += (chunks[take++] as Uint8Array).length;
    readerWork.units += size;
    const joined = joinMany(chunks.slice(0, take));
    chunks.splice(0, take, joined);
    return joined;
  }

  /** Removes and returns the first `count` bytes (call {@link fill} first); a view, not a copy. */
  take(count: number): Uint8Array {
    const head = this.head(count);
    const out = head.subarray(0, count);
    if (head.length === count) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(count);
    this.#length -= count;
    return out;
  }
}
