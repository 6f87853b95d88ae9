/**
 * The socket plumbing of the clients that are not line-based (PostgreSQL, XMPP): connecting
 * with or without TLS, upgrading in place, and reading chunks with a push-back and a timeout
 * that becomes a typed error.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { TimeoutError, UnexpectedMessageError } from '../index.js';
import { type ConnectOptions, clientTlsOptions } from './client.js';

/** Waits for a socket to connect (`secureConnect` for TLS); rejects on an error or a close first. */
export function whenConnected(socket: Socket, secure: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const closed = (): void => {
      reject(new Error('the connection closed'));
    };
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      socket.off('close', closed);
      resolve();
    });
    socket.once('error', reject);
    socket.once('close', closed);
  });
}

/** Reads a socket's chunks one `next()` at a time, with bytes pushed back in front. */
export class ChunkSource implements AsyncIterator<Uint8Array> {
  readonly #socket: Socket;
  readonly #queue: Uint8Array[] = [];
  #ended = false;
  #waiting: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#wake();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  /** The next chunk; done once the socket ended. */
  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) return { done: false, value: chunk };
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
  }

  /** Puts bytes back in front, to be read again. */
  unshift(bytes: Uint8Array): void {
    this.#queue.unshift(bytes);
  }

  /** True when bytes were received and not read yet. */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /** Stops reading, so that a TLS socket can take the socket over. */
  detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
  }
}

/** A socket with a silence timeout whose firing turns the next error into {@link TimeoutError}. */
export class ClientSocket {
  socket: Socket;
  source: ChunkSource;
  readonly #timeoutMs: number;
  #timedOut = false;

  private constructor(socket: Socket, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.socket = socket;
    this.source = new ChunkSource(socket);
    this.#arm(socket);
  }

  /** Connects (with TLS at once when the target says so). */
  static async open(options: ConnectOptions): Promise<ClientSocket> {
    const { target } = options;
    const secure = target.implicitTls ? tlsConnect({ host: target.host, port: target.port, ...clientTlsOptions(options) }) : undefined;
    const socket: Socket = secure ?? netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const client = new ClientSocket(socket, options.timeoutMs ?? 30000);
    try {
      await client.guard(() => whenConnected(socket, secure !== undefined));
    } catch (error) {
      socket.destroy();
      throw error;
    }
    socket.on('error', () => undefined);
    return client;
  }

  #arm(socket: Socket): void {
    socket.setTimeout(this.#timeoutMs, () => {
      this.#timedOut = true;
      socket.destroy();
    });
  }

  /** Runs `work`; a timeout becomes a typed error that says so. */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.#timedOut) throw new TimeoutError(`the server did not answer within ${Math.round(this.#timeoutMs / 1000)} s`, { party: 'server', cause: error });
      throw error;
    }
  }

  /** Writes bytes or text. */
  write(data: Uint8Array | string): void {
    this.socket.write(data);
  }

  /** Starts TLS on this connection; refuses bytes the server sent in clear after its go-ahead. */
  async upgrade(options: ConnectOptions): Promise<TLSSocket> {
    this.source.detach();
    if (this.source.pending) throw new UnexpectedMessageError('the server sent data after accepting STARTTLS', { party: 'server' });
    const plain = this.socket;
    plain.setTimeout(0);
    const secure = tlsConnect({ socket: plain, ...clientTlsOptions(options) });
    await this.guard(
      () =>
        new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', resolve);
          secure.once('error', reject);
        }),
    );
    secure.on('error', () => undefined);
    this.socket = secure;
    this.source = new ChunkSource(secure);
    this.#arm(secure);
    return secure;
  }

  /** Closes at once. */
  close(): void {
    this.source.detach();
    this.socket.destroy();
  }
}
