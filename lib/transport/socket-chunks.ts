/**
 * A Node socket read as a chunk source, one `next()` at a time, for the readers that take a
 * {@link MessageSource} of bytes (PostgreSQL, LDAP, XMPP). Nothing SASL and nothing
 * protocol-specific here.
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
 * Reads a socket's chunks one `next()` at a time, with bytes pushed back in front; lets go of
 * the socket for TLS ({@link SocketChunks.detach}). @internal
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
