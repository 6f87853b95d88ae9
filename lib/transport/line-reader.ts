/**
 * {@link LineReader}: a byte stream (a socket) split into lines with a bounded line length,
 * read through a {@link LineQueue}. Linear in the bytes received however they are chunked.
 * @module
 */
import type { Readable } from 'node:stream';
import { LineQueue, type LineSink, type Polled, cancelQueue, pollQueue, readerWork } from './line-queue.js';

// Doors into a reader's queue (given their bodies in the class's static block), for pollLines.
let pollDoor: (reader: LineReader, sink: LineSink) => Polled;
let cancelDoor: (reader: LineReader, sink: LineSink) => void;

// The reader a stream feeds, kept on the stream: then one pair of listener functions serves every
// reader (an emitter calls its listeners with itself as `this`) instead of two closures and their
// context per connection (`npm run bench -- memory`: about 150 bytes of a parked connection).
const READER = Symbol('saslkit.lineReader');
type Feeding = Readable & { [READER]?: LineReader | undefined };
type Listeners = { readonly data: (chunk: Buffer | string) => void; readonly end: (error?: unknown) => void };
// Given their bodies in the class's static block (they reach its private methods).
let shared: Listeners;

/** The next line of `reader`, or `sink` is kept and this returns `undefined` (see `pollLines`). @internal */
export function pollReader(reader: LineReader, sink: LineSink): Polled {
  return pollDoor(reader, sink);
}

/** Withdraws a sink {@link pollReader} left waiting. @internal */
export function cancelReader(reader: LineReader, sink: LineSink): void {
  cancelDoor(reader, sink);
}

/** Options of {@link LineReader}. */
export interface LineReaderOptions {
  /**
   * Longest line kept, in octets without the line ending. A longer line is cut to this many
   * octets plus one and the rest of it, up to the next LF, is discarded as it arrives, so a
   * peer that never sends a line ending cannot fill memory; the profiles see the cut line as
   * over their limit. Default 65536.
   */
  readonly maxLineLength?: number;
  /** How line octets become strings. Default `utf8`; `latin1` keeps every octet as one character. */
  readonly encoding?: 'utf8' | 'latin1';
  /** Lines buffered before the stream is paused until they are read. Default 256. */
  readonly highWaterMark?: number;
}

/** Default of {@link LineReaderOptions.maxLineLength}. */
export const DEFAULT_READER_MAX_LINE = 65536;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream (a socket) into lines ending in LF or CRLF, with a bounded line length.
 * Unlike a `for await` loop over `readline`, breaking out of a loop over a LineReader does not
 * close it (it has no `return()`), so the host can hand the same reader to a profile and keep
 * reading after it. Call {@link LineReader.close} to detach it from the stream.
 */
export class LineReader implements AsyncIterableIterator<string> {
  readonly #queue = new LineQueue();
  readonly #stream: Readable;
  readonly #max: number;
  readonly #encoding: 'utf8' | 'latin1';
  readonly #highWaterMark: number;
  // The start of a line that has not ended yet, copied into a buffer of its own (so a small rest
  // does not pin a big chunk) that doubles as it fills: a Buffer per chunk would cost a peer that
  // sends a byte at a time about 100 bytes of heap per byte.
  #pending: Buffer | undefined;
  #length = 0;
  #discarding = false;
  #paused = false;
  // The listeners this reader added: the shared pair, or closures of its own when the stream
  // already feeds another reader (or takes no new property).
  readonly #listeners: Listeners;

  static {
    pollDoor = (reader, sink) => {
      const polled = pollQueue(reader.#queue, sink);
      reader.#resumeIfDrained();
      return polled;
    };
    cancelDoor = (reader, sink) => {
      cancelQueue(reader.#queue, sink);
    };
    shared = {
      data(this: Feeding, chunk) {
        const reader = this[READER];
        if (reader !== undefined) reader.#data(chunk);
      },
      end(this: Feeding, error) {
        const reader = this[READER];
        if (reader !== undefined) reader.#end(error);
      },
    };
  }

  constructor(stream: Readable, options: LineReaderOptions = {}) {
    this.#stream = stream;
    this.#max = options.maxLineLength ?? DEFAULT_READER_MAX_LINE;
    this.#encoding = options.encoding ?? 'utf8';
    this.#highWaterMark = options.highWaterMark ?? 256;
    const feeding = stream as Feeding;
    if (feeding[READER] === undefined && Object.isExtensible(stream)) {
      feeding[READER] = this;
      this.#listeners = shared;
    } else {
      this.#listeners = {
        data: (chunk) => {
          this.#data(chunk);
        },
        end: (error) => {
          this.#end(error);
        },
      };
    }
    const { data, end } = this.#listeners;
    stream.on('data', data);
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** Detaches from the stream; readers get what is buffered, then the end. */
  close(): void {
    const stream = this.#stream;
    const { data, end } = this.#listeners;
    stream.off('data', data);
    stream.off('end', end);
    stream.off('close', end);
    stream.off('error', end);
    // Set, not deleted: a delete would turn the stream into a slow dictionary object.
    const feeding = stream as Feeding;
    if (feeding[READER] === this) feeding[READER] = undefined;
    this.#queue.end();
  }

  next(): Promise<IteratorResult<string>> {
    const result = this.#queue.next();
    this.#resumeIfDrained();
    return result;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #data(chunk: Buffer | string): void {
    this.#take(typeof chunk === 'string' ? Buffer.from(chunk, this.#encoding) : chunk);
  }

  // One listener for 'end', 'close' (which may pass a hadError flag) and 'error' (which passes the error).
  #end(error?: unknown): void {
    if (error !== undefined && typeof error !== 'boolean') {
      this.#queue.fail(error as Error);
      return;
    }
    this.#flushPartial();
    this.#queue.end();
  }

  #resumeIfDrained(): void {
    if (this.#paused && this.#queue.pending < this.#highWaterMark) {
      this.#paused = false;
      this.#stream.resume();
    }
  }

  #take(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.#append(chunk, start, chunk.length);
        break;
      }
      if (this.#pending === undefined && !this.#discarding) {
        // The whole line is in this chunk (the usual case): decode it in place, no copies.
        const length = lf - start;
        this.#emit(chunk, start, start + Math.min(length, this.#max + 1), length > this.#max);
      } else {
        this.#append(chunk, start, lf);
        this.#emitParts();
      }
      start = lf + 1;
    }
    if (!this.#paused && this.#queue.pending >= this.#highWaterMark) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  #append(chunk: Buffer, start: number, end: number): void {
    if (this.#discarding || end <= start) return;
    // Keep one octet more than the limit: enough for the reader of the line to see it is too long.
    const room = this.#max + 1 - this.#length;
    const kept = Math.min(end - start, room);
    const length = this.#length + kept;
    let pending = this.#pending;
    if (pending === undefined || length > pending.length) {
      // At most #max + 1 octets are ever kept, so the buffer never grows past that.
      const grown = Buffer.alloc(Math.min(this.#max + 1, Math.max(2 * length, 256)));
      if (pending !== undefined) pending.copy(grown, 0, 0, this.#length);
      readerWork.units += this.#length;
      pending = grown;
      this.#pending = grown;
    }
    chunk.copy(pending, this.#length, start, start + kept);
    readerWork.units += kept;
    this.#length = length;
    if (length > this.#max) this.#discarding = true;
  }

  #emitParts(): void {
    const line = this.#pending ?? Buffer.alloc(0);
    const cut = this.#discarding;
    const length = this.#length;
    this.#pending = undefined;
    this.#length = 0;
    this.#discarding = false;
    this.#emit(line, 0, length, cut);
  }

  // A line that was cut keeps its last octet, CR or not: it is over the limit either way.
  #emit(bytes: Buffer, start: number, end: number, cut: boolean): void {
    const stop = !cut && end > start && bytes[end - 1] === CR ? end - 1 : end;
    this.#queue.push(bytes.toString(this.#encoding, start, stop));
  }

  #flushPartial(): void {
    // A last line without a line ending is still a line (a peer that half-closes after it).
    if (this.#length > 0) this.#emitParts();
  }
}
