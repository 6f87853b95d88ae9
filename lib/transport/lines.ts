/**
 * Line transport: where the line-based profiles (SMTP, IMAP, POP3, ManageSieve) read lines from
 * and how they write them. Nothing here knows SASL: a {@link LineQueue} fed by a callback
 * transport, a {@link LineReader} over a byte stream with a bounded line length, and a writer
 * that adds CRLF. Both sources can hand a line to a waiting {@link LineSink} without a promise
 * ({@link pollLines}), so a connection parked mid-exchange holds no suspended async frame.
 * Each is linear in the bytes received however they are chunked ({@link readerWork} counts).
 * @module
 */
import type { Readable, Writable } from 'node:stream';

/**
 * Work done by saslkit's readers (LineReader, LineQueue, xmppElements and the XMPP element
 * parser, PgMessageReader), in units of one character or byte scanned or copied, one queued line
 * moved, or one namespace scope visited. Specs and fuzzers read it around deliveries of the same
 * input in one chunk and byte by byte: a reader is linear in what it receives when the two stay
 * within a small constant of each other. Not exported from the package. @internal
 */
export const readerWork = { units: 0 };

/** Where a profile reads lines from: an async iterable, or an iterator already in use. */
export type LineSource = AsyncIterable<string> | AsyncIterator<string>;

/** Writes one line; the line has no CRLF, the writer adds the line ending. May return a promise (backpressure), which is awaited. */
export type LineWriter = (line: string) => unknown;

/** The iterator of a source. Profiles read with `next()` only, so the host's stream stays open. */
export function lineIterator(source: LineSource): AsyncIterator<string> {
  return 'next' in source && typeof source.next === 'function'
    ? source
    : (source as AsyncIterable<string>)[Symbol.asyncIterator]();
}

/**
 * Something waiting for one line: the promise of a `next()` call, or a profile's exchange,
 * which waits without a promise so that a connection parked mid-exchange holds no suspended
 * async frames. @internal
 */
export interface LineSink {
  /** The line waited for. */
  line(value: string): void;
  /** The source ended (`error` undefined) or failed. */
  end(error: Error | undefined): void;
}

// The waiter of a `next()` call: settles its promise (it holds the two functions itself, no
// wrapper object: one is made per `next()` a `for await` loop waits in).
class PromiseSink implements LineSink {
  constructor(
    private readonly resolve: (result: IteratorResult<string>) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  line(value: string): void {
    this.resolve({ done: false, value });
  }

  end(error: Error | undefined): void {
    if (error === undefined) this.resolve({ done: true, value: undefined });
    else this.reject(error);
  }
}

/** What a poll finds: a line; `null` when the source ended; an `Error` when it failed; `undefined` when the sink now waits. @internal */
export type Polled = string | null | Error | undefined;

// Doors into the queues (given their bodies in the classes' static blocks), used by pollLines.
let pollQueue: (queue: LineQueue, sink: LineSink) => Polled;
let cancelQueue: (queue: LineQueue, sink: LineSink) => void;
let pollReader: (reader: LineReader, sink: LineSink) => Polled;
let cancelReader: (reader: LineReader, sink: LineSink) => void;

/**
 * A line source for callback transports: the host calls {@link LineQueue.push} for every line
 * it receives and {@link LineQueue.end} when the connection closes; a profile reads the lines
 * in order. Reading after `end` reports the end, so a waiting profile never hangs.
 */
export class LineQueue implements AsyncIterableIterator<string> {
  // An idle connection's queue is empty, holds a line, or has one reader waiting: single slots,
  // with arrays only for the rare overflow, keep it small (an emptied array keeps its storage).
  #head: string | undefined;
  // Lines after the head, read from #first on: shifting an array moves every line behind the
  // first, so a chunk of 64K empty lines would cost 64K moves per read.
  #lines: (string | undefined)[] | undefined;
  #first = 0;
  #sink: LineSink | undefined;
  #sinks: LineSink[] | undefined;
  #ended = false;
  #error: Error | undefined;

  static {
    pollQueue = (queue, sink) => queue.#poll(sink);
    cancelQueue = (queue, sink) => {
      queue.#cancel(sink);
    };
  }

  /** Adds a received line (without its CRLF). Ignored after {@link LineQueue.end}. */
  push(line: string): void {
    if (this.#ended) return;
    const sink = this.#nextSink();
    if (sink !== undefined) sink.line(line);
    else if (this.#head === undefined) this.#head = line;
    else (this.#lines ??= []).push(line);
  }

  /** Marks the end of input: readers get the lines still queued, then the end. */
  end(): void {
    this.#ended = true;
    for (let sink = this.#nextSink(); sink !== undefined; sink = this.#nextSink()) sink.end(undefined);
  }

  /** Ends input with an error (a socket error); readers get the queued lines, then the error. */
  fail(error: Error): void {
    if (this.#ended) return;
    this.#error = error;
    this.#ended = true;
    for (let sink = this.#nextSink(); sink !== undefined; sink = this.#nextSink()) sink.end(error);
  }

  /** Lines received but not read yet. */
  get pending(): number {
    return (this.#head === undefined ? 0 : 1) + (this.#lines === undefined ? 0 : this.#lines.length - this.#first);
  }

  next(): Promise<IteratorResult<string>> {
    const line = this.#shift();
    if (line !== undefined) return Promise.resolve({ done: false, value: line });
    if (this.#ended)
      return this.#error === undefined
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#wait(new PromiseSink(resolve, reject));
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #shift(): string | undefined {
    const line = this.#head;
    if (line === undefined) return undefined;
    const lines = this.#lines;
    if (lines === undefined) {
      this.#head = undefined;
      return line;
    }
    const first = this.#first;
    this.#head = lines[first];
    lines[first] = undefined;
    this.#first = first + 1;
    if (this.#first === lines.length) {
      this.#lines = undefined;
      this.#first = 0;
    } else if (this.#first >= 1024 && this.#first * 2 >= lines.length) {
      // Drop the read half: each line is moved at most once per halving, linear in all.
      readerWork.units += lines.length - this.#first;
      this.#lines = lines.slice(this.#first);
      this.#first = 0;
    }
    return line;
  }

  #wait(sink: LineSink): void {
    if (this.#sink === undefined) this.#sink = sink;
    else (this.#sinks ??= []).push(sink);
  }

  #nextSink(): LineSink | undefined {
    const sink = this.#sink;
    if (sink === undefined) return undefined;
    const sinks = this.#sinks;
    if (sinks === undefined) {
      this.#sink = undefined;
    } else {
      this.#sink = sinks.shift();
      if (sinks.length === 0) this.#sinks = undefined;
    }
    return sink;
  }

  #poll(sink: LineSink): Polled {
    const line = this.#shift();
    if (line !== undefined) return line;
    if (this.#ended) return this.#error ?? null;
    this.#wait(sink);
    return undefined;
  }

  #cancel(sink: LineSink): void {
    if (this.#sink === sink) {
      this.#nextSink();
      return;
    }
    const sinks = this.#sinks;
    const index = sinks === undefined ? -1 : sinks.indexOf(sink);
    if (sinks === undefined || index === -1) return;
    sinks.splice(index, 1);
    if (sinks.length === 0) this.#sinks = undefined;
  }
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
  readonly #onData = (chunk: Buffer | string): void => {
    this.#take(typeof chunk === 'string' ? Buffer.from(chunk, this.#encoding) : chunk);
  };
  // One listener for 'end', 'close' (which may pass a hadError flag) and 'error' (which passes the error).
  readonly #onEnd = (error?: unknown): void => {
    if (error !== undefined && typeof error !== 'boolean') {
      this.#queue.fail(error as Error);
      return;
    }
    this.#flushPartial();
    this.#queue.end();
  };

  static {
    pollReader = (reader, sink) => {
      const polled = pollQueue(reader.#queue, sink);
      reader.#resumeIfDrained();
      return polled;
    };
    cancelReader = (reader, sink) => {
      cancelQueue(reader.#queue, sink);
    };
  }

  constructor(stream: Readable, options: LineReaderOptions = {}) {
    this.#stream = stream;
    this.#max = options.maxLineLength ?? DEFAULT_READER_MAX_LINE;
    this.#encoding = options.encoding ?? 'utf8';
    this.#highWaterMark = options.highWaterMark ?? 256;
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onEnd);
    stream.on('error', this.#onEnd);
  }

  /** Detaches from the stream; readers get what is buffered, then the end. */
  close(): void {
    this.#stream.off('data', this.#onData);
    this.#stream.off('end', this.#onEnd);
    this.#stream.off('close', this.#onEnd);
    this.#stream.off('error', this.#onEnd);
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

// What a write the stream took at once returns: one settled promise for all of them.
const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Writes lines with CRLF to a stream. The returned promise is settled when the stream took the
 * line without asking to wait (`write()` returned true); otherwise it settles once the stream
 * drained (and so handed the line to the OS), and rejects if the stream fails or closes first.
 * On a stream already destroyed or ended it rejects with the stream's own error. A write that
 * fails later (a reset connection) is reported as a stream `error` event, as it always is: the
 * next read or write sees it.
 *
 * Not waiting for each write's callback saves a promise, two closures and a tick per line on
 * the path every reply takes (`npm run bench -- smtp`).
 */
export function lineWriter(stream: Writable): (line: string) => Promise<void> {
  // One wait for 'drain' serves every line written before it comes (drained means all of them
  // went out), so a host that writes without awaiting adds no listener per line.
  let waiting: Promise<void> | undefined;
  const done = (): void => {
    waiting = undefined;
  };
  return (line) => {
    const data = `${line}\r\n`;
    if (stream.destroyed || stream.writableEnded) return writeReporting(stream, data);
    if (stream.write(data)) return waiting ?? WRITTEN;
    if (waiting === undefined) {
      waiting = drained(stream);
      waiting.then(done, done);
    }
    return waiting;
  };
}

// A write whose callback settles the promise: the stream's own error for a stream that is gone.
function writeReporting(stream: Writable, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

// Waits for the stream to drain; its failure or close comes first when the connection goes.
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error: unknown): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error === undefined) resolve();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the stream's own error, as it is
      else reject(error);
    };
    const onDrain = (): void => {
      settle(undefined);
    };
    const onError = (error: unknown): void => {
      settle(error);
    };
    const onClose = (): void => {
      settle(new Error('the stream closed before the line was written'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * The next line of a {@link LineQueue} or {@link LineReader} if one is at hand; otherwise the
 * source keeps `sink` and hands it the line (or the end) when it comes, and this returns
 * `undefined`. `false` for any other source (it has only `next()`). @internal
 */
export function pollLines(source: AsyncIterator<string>, sink: LineSink): Polled | false {
  if (source instanceof LineReader) return pollReader(source, sink);
  if (source instanceof LineQueue) return pollQueue(source, sink);
  return false;
}

/** Withdraws a sink that {@link pollLines} left waiting; a line that comes later stays in the source. @internal */
export function cancelLines(source: AsyncIterator<string>, sink: LineSink): void {
  if (source instanceof LineReader) cancelReader(source, sink);
  else if (source instanceof LineQueue) cancelQueue(source, sink);
}
