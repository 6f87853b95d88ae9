/**
 * Splits an XMPP byte or text stream into top-level element strings with a size cap, looking
 * at each character once however the stream is chunked ({@link readerWork} counts). It only
 * finds boundaries; lib/transport/xml.ts reads each element.
 * @module
 */
import { ExchangeAbortedError, LimitExceededError, MalformedMessageError } from '../core/errors.js';
import { readerWork } from './lines.js';
import { type MessageSource, messageIterator } from './source.js';
import { DEFAULT_XMPP_MAX_ELEMENT_BYTES, MAX_DEPTH } from './xml.js';

/** Options of {@link xmppElements}. */
export interface XmppElementsOptions {
  /** Largest element accepted, in UTF-8 bytes. Default {@link DEFAULT_XMPP_MAX_ELEMENT_BYTES}. */
  readonly maxElementBytes?: number;
}

/**
 * Splits a byte or text stream that carries a sequence of complete top-level elements (as in
 * tests and examples, or after the host has consumed its `<stream:stream>` header) into
 * element strings. White space between elements is skipped. It only finds boundaries; each
 * element is still checked by {@link parseXmppSaslElement}. An element over `maxElementBytes`
 * is a {@link LimitExceededError} as soon as it grows past the limit, complete or not. The
 * source is read with `next()` and never closed, so the host can keep using it. The work is
 * linear in the bytes received, however they are chunked.
 */
export async function* xmppElements(
  chunks: MessageSource<Uint8Array | string>,
  options: XmppElementsOptions = {},
): AsyncGenerator<string, void, undefined> {
  const splitter = new ElementSplitter(options.maxElementBytes ?? DEFAULT_XMPP_MAX_ELEMENT_BYTES);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const iterator = messageIterator(chunks);
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) {
      if (splitter.inElement)
        throw new ExchangeAbortedError('the XMPP stream ended inside an element', { party: 'local' });
      return;
    }
    let text: string;
    try {
      text = typeof next.value === 'string' ? next.value : decoder.decode(next.value, { stream: true });
    } catch {
      throw new MalformedMessageError('XMPP stream is not valid UTF-8', { party: 'local' });
    }
    yield* splitter.push(text);
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

/** UTF-8 size of one UTF-16 unit: a surrogate is half of a 4-byte character. */
function utf8Size(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3;
}

/**
 * Finds element boundaries in text that arrives in pieces, looking at each character once
 * whatever the chunking: the state of an unfinished tag (its kind, an open quote, its previous
 * character) is kept between pieces rather than re-scanning the tag from its `<`, the element's
 * size is counted as it grows rather than re-measured, and its pieces are joined once, when it
 * ends (a growing string would be flattened again by every scan).
 */
class ElementSplitter {
  inElement = false;
  #parts: string[] = [];
  #bytes = 0;
  #depth = 0;
  #inTag = false;
  // Of the tag being read: 0 until the character after `<` is seen, then whether it is an end tag.
  #kind: 0 | 'start' | 'end' = 0;
  #quote = 0;
  #previous = 0;

  constructor(readonly max: number) {}

  /** Scans one piece of text, yielding each element it completes, in order. */
  *push(text: string): Generator<string, void, undefined> {
    const length = text.length;
    // Where the unfinished element's text begins in this piece.
    let from = 0;
    let i = 0;
    while (i < length) {
      if (!this.inElement) {
        const code = text.charCodeAt(i);
        readerWork.units += 1;
        if (code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a) {
          i += 1;
          continue;
        }
        if (code !== LT) throw new MalformedMessageError('text between XMPP elements', { party: 'local' });
        this.inElement = true;
        from = i;
        this.#openTag();
        i += 1;
        continue;
      }
      if (!this.#inTag) {
        // Character data: everything up to the next `<` (none between tags, which is common enough to skip the search).
        const lt = text.charCodeAt(i) === LT ? i : text.indexOf('<', i);
        const end = lt === -1 ? length : lt;
        if (end > i) {
          let bytes = 0;
          for (let j = i; j < end; j++) bytes += utf8Size(text.charCodeAt(j));
          this.#grow(bytes, end - i);
        }
        if (lt === -1) break;
        this.#openTag();
        i = lt + 1;
        continue;
      }
      const next = this.#scanTag(text, i);
      // The piece ended inside the tag.
      if (next === -1) break;
      i = next;
      if (this.#kind === 'end') this.#depth -= 1;
      else if (this.#previous !== SLASH) this.#depth += 1;
      if (this.#depth < 0)
        throw new MalformedMessageError('end tag without a start tag between XMPP elements', { party: 'local' });
      if (this.#depth === 0) {
        yield this.#finish(text.slice(from, i));
        continue;
      }
      if (this.#depth > MAX_DEPTH)
        throw new MalformedMessageError('XMPP elements nested too deeply', { party: 'local' });
    }
    if (this.inElement && from < length) this.#parts.push(text.slice(from));
  }

  /**
   * Reads the tag being read from `i` to its `>` (returning the index after it, the tag done) or
   * to the end of the piece (returning -1), keeping its state (kind, open quote, previous character) in locals and the
   * size in one count per run: a step per character through the generator's fields made a tag
   * cost four times as much to split as character data. The size is counted before anything
   * that could fail, so the outcome is the one a character at a time gives.
   */
  #scanTag(text: string, from: number): number {
    const length = text.length;
    let kind = this.#kind;
    let quote = this.#quote;
    let previous = this.#previous;
    let i = from;
    const start = from;
    let bytes = 0;
    while (i < length) {
      const code = text.charCodeAt(i);
      bytes += utf8Size(code);
      i += 1;
      if (kind === 0) {
        if (code === 0x21 || code === 0x3f) {
          this.#grow(bytes, i - start);
          throw new MalformedMessageError('comments and processing instructions are not allowed', { party: 'local' });
        }
        kind = code === SLASH ? 'end' : 'start';
      }
      if (quote !== 0) {
        if (code === quote) quote = 0;
      } else if (code === 0x27 || code === 0x22) {
        quote = code;
      } else if (code === GT) {
        this.#inTag = false;
        break;
      }
      previous = code;
    }
    this.#grow(bytes, i - start);
    this.#kind = kind;
    this.#quote = quote;
    this.#previous = previous;
    return this.#inTag ? -1 : i;
  }

  // Counts `bytes` more of the element (`units` characters scanned); over the limit is an error at once.
  #grow(bytes: number, units: number): void {
    readerWork.units += units;
    this.#bytes += bytes;
    if (this.#bytes > this.max)
      throw new LimitExceededError('maxElementBytes', `XMPP element is longer than ${this.max} bytes`, {
        party: 'local',
      });
  }

  // After a `<`, which counts towards the element.
  #openTag(): void {
    this.#grow(1, 1);
    this.#inTag = true;
    this.#kind = 0;
    this.#quote = 0;
    this.#previous = LT;
  }

  #finish(last: string): string {
    const parts = this.#parts;
    const element = parts.length === 0 ? last : parts.join('') + last;
    readerWork.units += element.length;
    this.#parts = [];
    this.#bytes = 0;
    this.inElement = false;
    return element;
  }
}
