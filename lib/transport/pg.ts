/**
 * PostgreSQL message framing over a byte stream: typed messages (type byte, Int32 length, body),
 * startup packets (Int32 length, body) and single bytes, with a size cap, linear in the bytes
 * received however they are chunked ({@link readerWork} counts). Nothing SASL here.
 * @module
 */
import { ExchangeAbortedError, LimitExceededError, MalformedMessageError, type Party, UsageError } from '../errors.js';
import { readerWork } from './lines.js';
import { type MessageSource, messageIterator } from './source.js';

/** Default of {@link PgReaderOptions.maxMessageBytes}: PostgreSQL's own limit on an auth token is 65535. */
export const DEFAULT_PG_MAX_MESSAGE_BYTES = 65536;
/** Largest startup packet accepted (PostgreSQL's MAX_STARTUP_PACKET_LENGTH). */
export const PG_MAX_STARTUP_BYTES = 10000;

/** One typed message: its type byte as a character, and its body (without type and length). */
export interface PgMessage {
  /** The message type, e.g. `R`, `p`, `E`. */
  readonly type: string;
  /** The body, after the Int32 length. */
  readonly body: Uint8Array;
}

function malformed(what: string, party: Party): MalformedMessageError {
  return new MalformedMessageError(`PostgreSQL ${what}`, { party });
}

function view(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Options of a PostgreSQL message reader. */
export interface PgReaderOptions {
  /** Largest message accepted, in bytes. Default {@link DEFAULT_PG_MAX_MESSAGE_BYTES}; raise it for query results. */
  readonly maxMessageBytes?: number;
  /** Who sends what this reader reads; errors are attributed to that party. */
  readonly peer: 'client' | 'server';
}

/**
 * Reads PostgreSQL frames from a byte source (a socket, or any async iterable of chunks). It
 * reads with `next()` only and never closes the source, and it keeps bytes that arrived after a
 * message, so the host can go on reading from the same reader once authentication is done.
 * The profile's PgMessageReader adds the startup packet's grammar. @internal
 */
export class PgFrameReader {
  /** Largest message accepted; may be raised after authentication. */
  maxMessageBytes: number;
  /** Who sends what this reader reads. */
  readonly peer: 'client' | 'server';
  readonly #source: AsyncIterator<Uint8Array>;
  // Chunks received and not yet read, oldest first, joined only once a message is complete:
  // joining at every chunk would copy the whole buffer again for each byte of a slow sender.
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(source: MessageSource<Uint8Array>, options: PgReaderOptions) {
    this.#source = messageIterator(source);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_PG_MAX_MESSAGE_BYTES;
    this.peer = options.peer;
  }

  /** Bytes received but not yet read as a message. */
  get buffered(): Uint8Array {
    return this.#head(this.#length);
  }

  async #fill(count: number): Promise<void> {
    while (this.#length < count) {
      const next = await this.#source.next();
      if (next.done === true) throw new ExchangeAbortedError(`the ${this.peer} closed the connection`, { party: this.peer });
      if (!(next.value instanceof Uint8Array)) throw new UsageError('a PostgreSQL byte source must yield Uint8Array chunks');
      if (next.value.length === 0) continue;
      this.#chunks.push(view(next.value));
      this.#length += next.value.length;
    }
  }

  /** The first chunk, made at least `count` bytes long by joining the chunks that hold them (each byte is joined at most twice). */
  #head(count: number): Buffer {
    const chunks = this.#chunks;
    const first = chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length >= count) return first;
    let take = 0;
    let size = 0;
    while (size < count) size += (chunks[take++] as Buffer).length;
    readerWork.units += size;
    const joined = Buffer.concat(chunks.slice(0, take), size);
    chunks.splice(0, take, joined);
    return joined;
  }

  #take(count: number): Buffer {
    const head = this.#head(count);
    const out = head.subarray(0, count);
    if (head.length === count) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(count);
    this.#length -= count;
    return out;
  }

  #checkLength(length: number, max: number): void {
    if (length < 4) throw malformed('message has an invalid length', this.peer);
    if (length > max) throw new LimitExceededError('maxMessageBytes', `PostgreSQL message from the ${this.peer} is longer than ${max} bytes`, { party: this.peer });
  }

  /** Reads one typed message (type byte, Int32 length, body). */
  async read(): Promise<PgMessage> {
    await this.#fill(5);
    const head = this.#head(5);
    const type = String.fromCharCode(head[0] as number);
    const length = head.readInt32BE(1);
    this.#checkLength(length, this.maxMessageBytes);
    await this.#fill(length + 1);
    const frame = this.#take(length + 1);
    return { type, body: frame.subarray(5) };
  }

  /** Reads one startup packet's body (after its Int32 length), as a server does before the first typed message. */
  async readStartupBody(): Promise<Uint8Array> {
    await this.#fill(4);
    const length = this.#head(4).readInt32BE(0);
    this.#checkLength(length, Math.min(this.maxMessageBytes, PG_MAX_STARTUP_BYTES));
    if (length < 8) throw malformed('startup packet is too short', this.peer);
    await this.#fill(length);
    return this.#take(length).subarray(4);
  }

  /** Reads a single byte: the server's answer to SSLRequest or GSSENCRequest. */
  async readByte(): Promise<number> {
    await this.#fill(1);
    return this.#take(1)[0] as number;
  }
}
