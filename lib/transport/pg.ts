/**
 * PostgreSQL message framing over a byte stream: typed messages (type byte, Int32 length, body),
 * startup packets (Int32 length, body) and single bytes, with a size cap, linear in the bytes
 * received however they are chunked ({@link readerWork} counts). Nothing SASL here.
 * @module
 */
import { LimitExceededError, MalformedMessageError, type Party } from '../core/errors.js';
import { ChunkBuffer } from './chunks.js';
import type { MessageSource } from './source.js';

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

// Bodies stay Buffers, as they were before the shared chunk buffer: hosts call Buffer methods on them.
function view(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A big-endian signed Int32 at `at` (the caller has made sure the 4 bytes are there). */
function int32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getInt32(0);
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
  readonly #bytes: ChunkBuffer;

  constructor(source: MessageSource<Uint8Array>, options: PgReaderOptions) {
    this.#bytes = new ChunkBuffer(source, 'PostgreSQL', options.peer);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_PG_MAX_MESSAGE_BYTES;
    this.peer = options.peer;
  }

  /** Bytes received but not yet read as a message. */
  get buffered(): Uint8Array {
    return this.#bytes.head(this.#bytes.length);
  }

  #checkLength(length: number, max: number): void {
    if (length < 4) throw malformed('message has an invalid length', this.peer);
    if (length > max)
      throw new LimitExceededError(
        'maxMessageBytes',
        `PostgreSQL message from the ${this.peer} is longer than ${max} bytes`,
        { party: this.peer },
      );
  }

  /** Reads one typed message (type byte, Int32 length, body). */
  async read(): Promise<PgMessage> {
    const bytes = this.#bytes;
    await bytes.fill(5);
    const head = bytes.head(5);
    const type = String.fromCharCode(head[0] as number);
    const length = int32(head, 1);
    this.#checkLength(length, this.maxMessageBytes);
    await bytes.fill(length + 1);
    return { type, body: view(bytes.take(length + 1).subarray(5)) };
  }

  /** Reads one startup packet's body (after its Int32 length), as a server does before the first typed message. */
  async readStartupBody(): Promise<Uint8Array> {
    const bytes = this.#bytes;
    await bytes.fill(4);
    const length = int32(bytes.head(4), 0);
    this.#checkLength(length, Math.min(this.maxMessageBytes, PG_MAX_STARTUP_BYTES));
    if (length < 8) throw malformed('startup packet is too short', this.peer);
    await bytes.fill(length);
    return view(bytes.take(length).subarray(4));
  }

  /** Reads a single byte: the server's answer to SSLRequest or GSSENCRequest. */
  async readByte(): Promise<number> {
    await this.#bytes.fill(1);
    return this.#bytes.take(1)[0] as number;
  }
}
