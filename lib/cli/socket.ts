/**
 * The socket plumbing of every client of `login` and `mechs`: connecting with or without TLS,
 * upgrading in place, a silence timeout that becomes a typed error, the goodbye, and (for the
 * clients that are not line-based) the library's {@link SocketChunks} to read with.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SocketChunks, TimeoutError, UnexpectedMessageError } from '../index.js';
import { type ConnectOptions, type TlsState, clientTlsOptions, describeClientTls } from './tls-client.js';

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

/**
 * A client connection with a silence timeout whose firing turns the next error into
 * {@link TimeoutError}. Its chunk source is made on first use, so that a line-based client can
 * read the socket with a line reader instead.
 */
export class ClientSocket {
  socket: Socket;
  /** The TLS state, or undefined on a plain connection. */
  tls: TlsState | undefined;
  readonly #options: ConnectOptions;
  #source: SocketChunks | undefined;
  #timedOut = false;

  private constructor(socket: Socket, options: ConnectOptions) {
    this.#options = options;
    this.socket = socket;
    this.#arm(socket);
  }

  /** Connects (with TLS at once when the target says so). */
  static async open(options: ConnectOptions): Promise<ClientSocket> {
    const { target } = options;
    const secure = target.implicitTls
      ? tlsConnect({ host: target.host, port: target.port, ...clientTlsOptions(options) })
      : undefined;
    const socket: Socket = secure ?? netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const client = new ClientSocket(socket, options);
    try {
      await client.guard(() => whenConnected(socket, secure !== undefined));
    } catch (error) {
      socket.destroy();
      throw error;
    }
    // Later socket errors surface as the end of what is read.
    socket.on('error', () => undefined);
    if (secure !== undefined) client.tls = describeClientTls(secure, options.tracer);
    return client;
  }

  /** The socket's chunks (made on first use; a new one after {@link ClientSocket.upgrade}). */
  get source(): SocketChunks {
    this.#source ??= new SocketChunks(this.socket);
    return this.#source;
  }

  #arm(socket: Socket): void {
    socket.setTimeout(this.#options.timeoutMs ?? 30000, () => {
      this.#timedOut = true;
      socket.destroy();
    });
  }

  /** Runs `work`; a timeout becomes a typed error that says so. */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.#timedOut)
        throw new TimeoutError(
          `the server did not answer within ${Math.round((this.#options.timeoutMs ?? 30000) / 1000)} s`,
          { party: 'server', cause: error },
        );
      throw error;
    }
  }

  /** Writes bytes or text. */
  write(data: Uint8Array | string): void {
    this.socket.write(data);
  }

  /**
   * Starts TLS on this connection once the server said go ahead; refuses bytes it sent in clear
   * after that (an injection attempt). A line-based client checks its own reader first.
   */
  async upgrade(): Promise<TlsState> {
    this.#source?.detach();
    if (this.#source?.pending === true)
      throw new UnexpectedMessageError('the server sent data after accepting STARTTLS', { party: 'server' });
    this.#source = undefined;
    const plain = this.socket;
    plain.setTimeout(0);
    const secure = tlsConnect({ socket: plain, ...clientTlsOptions(this.#options) });
    await this.guard(
      () =>
        new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', resolve);
          secure.once('error', reject);
        }),
    );
    secure.on('error', () => undefined);
    this.socket = secure;
    this.#arm(secure);
    this.tls = describeClientTls(secure, this.#options.tracer);
    return this.tls;
  }

  /** Sends a goodbye and waits for the server to hang up; a server that does not is cut off after 2 s. */
  async end(goodbye: Uint8Array | string): Promise<void> {
    const socket = this.socket;
    this.#source?.detach();
    if (socket.destroyed) return;
    // What the server sends after the goodbye is not read: let it flow away so that its end (and the close) comes.
    socket.resume();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end(goodbye);
    });
  }

  /** Closes at once. */
  close(): void {
    this.#source?.detach();
    this.socket.destroy();
  }
}
