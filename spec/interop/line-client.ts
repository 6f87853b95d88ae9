/**
 * A CRLF line client over TCP for interop specs: enough to greet a peer, send commands and
 * read replies. Every read has a deadline, so a silent peer fails a spec instead of hanging it.
 */
import { type Socket, createConnection } from 'node:net';
import { HOST } from './peers.js';

/** Reads wait at most this long; above Dovecot's longest failure penalty (15 s). */
export const READ_TIMEOUT_MS = 20_000;

interface Waiter {
  resolve: (line: string) => void;
  reject: (error: Error) => void;
}

/** One connection, read line by line. */
export class LineClient {
  readonly #socket: Socket;
  readonly #lines: string[] = [];
  readonly #waiters: Waiter[] = [];
  #buffer = '';
  #closed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#receive(chunk);
    });
    socket.on('error', (error) => {
      this.#end(error);
    });
    socket.on('close', () => {
      this.#end(new Error('connection closed by peer'));
    });
  }

  /** Connects to 127.0.0.1:`port`. */
  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: HOST, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** Sends one line; the CRLF is added. */
  send(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  /** The next line, without its CRLF. */
  readLine(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no line from 127.0.0.1:${this.#socket.remotePort ?? '?'} within ${READ_TIMEOUT_MS} ms`));
      }, READ_TIMEOUT_MS);
      const waiter: Waiter = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Lines up to and including the first one that `last` accepts. */
  async readUntil(last: (line: string) => boolean): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      lines.push(line);
      if (last(line)) return lines;
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\r\n')) >= 0) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(line);
      else this.#lines.push(line);
    }
  }

  #end(error: Error): void {
    this.#closed ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closed);
  }
}
