/**
 * Line transport: where the line-based profiles (SMTP, IMAP, POP3, ManageSieve) read lines from
 * and how they write them. Nothing here knows SASL: a {@link LineQueue} fed by a callback
 * transport, a {@link LineReader} over a byte stream with a bounded line length, and a writer
 * that adds CRLF. Both sources can hand a line to a waiting {@link LineSink} without a promise
 * ({@link pollLines}), so a connection parked mid-exchange holds no suspended async frame.
 * Each is linear in the bytes received however they are chunked ({@link readerWork} counts).
 * @module
 */
import { LineQueue, type LineSink, type Polled, cancelQueue, pollQueue } from './line-queue.js';
import { LineReader, cancelReader, pollReader } from './line-reader.js';

// The transport's parts, one job a file; this module is where the rest of saslkit imports them from.
export { LineQueue, type LineSink, type Polled, readerWork } from './line-queue.js';
export { DEFAULT_READER_MAX_LINE, LineReader, type LineReaderOptions } from './line-reader.js';
export { WRITTEN, lineWriter } from './line-writer.js';

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
