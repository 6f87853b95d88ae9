/**
 * What both ends of an XMPP stream in the CLI read the same way (`login`'s client and `serve
 * --protocol xmpp`): the stream's text decoded from the socket's chunks with push-back, and the
 * `<stream:stream>` header, before {@link xmppElements} takes over the elements.
 * @module
 */
import { MalformedMessageError, type SocketChunks, UnexpectedMessageError } from '../index.js';
import { peerText } from './client.js';

/** The STARTTLS namespace (RFC 6120 section 5.4). */
export const TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls';
// The longest header read before giving up: a declaration and a start tag with its attributes.
const MAX_HEADER = 4096;

/** The text of a stream, decoded, with text pushed back in front. */
export class TextSource implements AsyncIterator<string> {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  readonly #back: string[] = [];

  constructor(readonly chunks: SocketChunks) {}

  async next(): Promise<IteratorResult<string, undefined>> {
    const back = this.#back.shift();
    if (back !== undefined) return { done: false, value: back };
    const chunk = await this.chunks.next();
    if (chunk.done === true) return { done: true, value: undefined };
    try {
      return { done: false, value: this.#decoder.decode(chunk.value, { stream: true }) };
    } catch {
      throw new MalformedMessageError('the XMPP stream is not valid UTF-8', { party: 'local' });
    }
  }

  unshift(text: string): void {
    if (text !== '') this.#back.unshift(text);
  }
}

/**
 * Reads a stream's optional `<?xml?>` declaration and its `<stream:stream ...>` start tag,
 * resolving with the tag; what follows it goes back to `text`.
 */
export async function readStreamHeader(text: TextSource, peer: 'client' | 'server'): Promise<string> {
  let seen = '';
  for (;;) {
    const next = await text.next();
    if (next.done === true)
      throw new UnexpectedMessageError(`the ${peer} closed the stream before its header`, { party: peer });
    seen += next.value;
    const found = /^\s*(?:<\?xml[^>]*\?>\s*)?(<stream:stream\b(?:[^>'"]|'[^']*'|"[^"]*")*>)/.exec(seen);
    if (found) {
      text.unshift(seen.slice(found[0].length));
      return found[1] ?? '';
    }
    if (/<stream:error/.test(seen))
      throw new UnexpectedMessageError(`the XMPP ${peer} sent a stream error: ${peerText(seen)}`, { party: peer });
    if (seen.length > MAX_HEADER)
      throw new MalformedMessageError('the XMPP stream header does not end', { party: peer });
  }
}
