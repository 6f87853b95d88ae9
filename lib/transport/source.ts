/**
 * Message sources: anything a profile reads whole messages from (XMPP elements, PostgreSQL
 * messages, byte chunks), read with `next()` only so the host's stream stays open.
 * @module
 */

/** Anything elements can be read from: an async iterable, or an iterator already in use. */
export type MessageSource<T> = AsyncIterable<T> | AsyncIterator<T>;

/** The iterator of a source. Callers read with `next()` only and never call `return()`, so the host's stream stays open. */
export function messageIterator<T>(source: MessageSource<T>): AsyncIterator<T> {
  return typeof (source as AsyncIterator<T>).next === 'function'
    ? (source as AsyncIterator<T>)
    : (source as AsyncIterable<T>)[Symbol.asyncIterator]();
}
