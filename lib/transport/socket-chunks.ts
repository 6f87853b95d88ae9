/**
 * A Node socket as the byte source and sink of the message readers that take a
 * {@link MessageSource} of bytes (PostgreSQL, LDAP, XMPP): {@link SocketChunks} reads it one
 * chunk per `next()`, with push-back and a hand-over to TLS, and {@link socketWriter} writes to
 * it with a promise and a typed error. Nothing SASL and nothing protocol-specific here.
 * @module
 */
import type { Socket } from 'node:net';
import { ExchangeAbortedError } from '../core/errors.js';

/** Options of {@link SocketChunks}. */
export interface SocketChunksOptions {
  /**
   * Names the connection in the {@link ExchangeAbortedError} a socket error becomes ("the LDAP
   * connection failed"). Without it the chunk source does not listen for errors: the close that
   * follows one ends it, and the owner of the socket handles the error.
   */
  readonly failure?: string;
  /**
   * Pause the socket while chunks wait unread, so that a peer cannot fill memory faster than the
   * reader reads. Default true.
   */
  readonly backpressure?: boolean;
}

/**
 * Reads a socket's chunks one `next()` at a time, for a reader that takes a
 * {@link MessageSource} of bytes ({@link PgMessageReader}, {@link LdapMessageReader},
 * {@link xmppElements}) in a loop of your own. Unlike the socket's own async iterator, it takes
 * bytes pushed back in front ({@link SocketChunks.unshift}: a byte answer such as PostgreSQL's
 * `S` to SSLRequest, read ahead of the messages), tells whether received bytes wait unread
 * ({@link SocketChunks.pending}: bytes sent in clear after a STARTTLS go-ahead are an injection
 * attempt), and lets go of the socket so that TLS can take it over ({@link SocketChunks.detach};
 * read the TLS socket with a new one). It pauses the socket while a chunk waits unread, so a
 * peer cannot fill memory faster than the reader reads.
 *
 * ```ts fragment: needs a socket and a server
 * const chunks = new SocketChunks(socket);
 * const reader = new PgMessageReader(chunks, { peer: 'client' });
 * const startup = await reader.readStartup();
 * ```
 */
export class SocketChunks implements AsyncIterator<Uint8Array> {
  readonly #socket: Socket;
  readonly #queue: Uint8Array[] = [];
  readonly #failure: string | undefined;
  readonly #backpressure: boolean;
  #ended: boolean;
  #error: Error | undefined;
  #waiting: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    if (this.#backpressure) this.#socket.pause();
    this.#wake();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };
  readonly #onError = (error: Error): void => {
    this.#error = error;
    this.#onEnd();
  };

  constructor(socket: Socket, options: SocketChunksOptions = {}) {
    this.#socket = socket;
    this.#failure = options.failure;
    this.#backpressure = options.backpressure ?? true;
    // A socket that closed before anyone read from it has nothing more to say.
    this.#ended = socket.destroyed || socket.readableEnded;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    if (this.#failure !== undefined) socket.on('error', this.#onError);
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  /** True when chunks were received and not read yet. */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /** The next chunk; done once the socket ended (an {@link ExchangeAbortedError} if it failed and `failure` was given). */
  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) return { done: false, value: chunk };
      if (this.#ended) {
        if (this.#error !== undefined)
          throw new ExchangeAbortedError(`the ${this.#failure ?? 'socket'} connection failed`, {
            party: 'server',
            cause: this.#error,
          });
        return { done: true, value: undefined };
      }
      if (this.#backpressure) this.#socket.resume();
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
  }

  /** Puts bytes back in front, to be read again. */
  unshift(bytes: Uint8Array): void {
    this.#queue.unshift(bytes);
  }

  /** Stops reading, so that a TLS socket can take the socket over. */
  detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
  }
}

/** Options of {@link socketWriter}. */
export interface SocketWriterOptions {
  /** Names the connection in the {@link ExchangeAbortedError} a failed write becomes ("the LDAP connection failed"). */
  readonly failure?: string;
  /** Who that error blames: the peer at the other end. Default `'server'`. */
  readonly peer?: 'client' | 'server';
}

/**
 * A writer for the message-based profiles (LDAP, PostgreSQL): resolves once the socket took
 * `data`, rejects with an {@link ExchangeAbortedError} naming the connection when it failed, so
 * that a StartTLS or SSLRequest answer is out before TLS takes the socket over.
 */
export function socketWriter(socket: Socket, options: SocketWriterOptions = {}): (data: Uint8Array) => Promise<void> {
  const failure = `the ${options.failure ?? 'socket'} connection failed`;
  const party = options.peer ?? 'server';
  return (data) =>
    new Promise((resolve, reject) => {
      socket.write(data, (error) => {
        if (error) reject(new ExchangeAbortedError(failure, { party, cause: error }));
        else resolve();
      });
    });
}
