/**
 * A test-only line framing over loopback `net` sockets: one line per SASL message.
 *
 *   client: `AUTH <MECH> [<b64>|=]`   `C <b64>|=`   `C *` (abort)
 *   server: `S <b64>|=`   `S *` (abort)   `OK [<b64>|=]`   `NO`
 *
 * `=` is an empty message; a missing argument is no message at all.
 */
import { once } from 'node:events';
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { ExchangeAbortedError, type ServerEvent, fromBase64, toBase64 } from '../../lib/index.js';

/** A parsed line. */
export type Frame =
  | { readonly kind: 'AUTH'; readonly mechanism: string; readonly data: Uint8Array | undefined }
  | { readonly kind: 'C' | 'S'; readonly data: Uint8Array | '*' }
  | { readonly kind: 'OK'; readonly data: Uint8Array | undefined }
  | { readonly kind: 'NO' };

const encode = (data: Uint8Array | '*' | undefined): string[] =>
  data === undefined ? [] : [data === '*' ? '*' : data.length === 0 ? '=' : toBase64(data)];
const decode = (arg: string): Uint8Array => (arg === '=' ? new Uint8Array(0) : fromBase64(arg));

/** The line for a frame, without its newline. */
export function formatFrame(frame: Frame): string {
  switch (frame.kind) {
    case 'AUTH':
      return ['AUTH', frame.mechanism, ...encode(frame.data)].join(' ');
    case 'C':
    case 'S':
      return [frame.kind, ...encode(frame.data)].join(' ');
    case 'OK':
      return ['OK', ...encode(frame.data)].join(' ');
    case 'NO':
      return 'NO';
  }
}

/** Parses a line; throws a plain Error for anything else (it is a test transport). */
export function parseFrame(line: string): Frame {
  const [kind, a, b] = line.split(' ');
  if (kind === 'AUTH' && a !== undefined) return { kind, mechanism: a, data: b === undefined ? undefined : decode(b) };
  if ((kind === 'C' || kind === 'S') && a !== undefined) return { kind, data: a === '*' ? '*' : decode(a) };
  if (kind === 'OK') return { kind, data: a === undefined ? undefined : decode(a) };
  if (kind === 'NO' && a === undefined) return { kind };
  throw new Error(`bad line: ${line}`);
}

/** One end of a connection. Reading never closes the socket, so a driver may stop and resume. */
export class LineTransport {
  readonly #lines: AsyncIterator<string>;
  /** Every line sent and received, `> ` out and `< ` in. */
  readonly log: string[] = [];

  constructor(readonly socket: Socket) {
    this.#lines = createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** Sends one frame. */
  send(frame: Frame): void {
    const line = formatFrame(frame);
    this.log.push(`> ${line}`);
    this.socket.write(`${line}\n`);
  }

  /** The next frame, or undefined once the peer closed the connection. */
  async receive(): Promise<Frame | undefined> {
    const next = await this.#lines.next();
    if (next.done === true) return undefined;
    this.log.push(`< ${next.value}`);
    return parseFrame(next.value);
  }

  /** Client responses for `iterateServer`: `C` data until `C *`, another frame or the end. */
  async *responses(): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const frame = await this.receive();
      if (frame?.kind !== 'C' || frame.data === '*') return;
      yield frame.data;
    }
  }

  /** Server events for `iterateClient`; `S *` is a failure with an abort from the server. */
  async *events(): AsyncGenerator<ServerEvent, void, undefined> {
    for (;;) {
      const frame = await this.receive();
      if (frame === undefined) return;
      if (frame.kind === 'S')
        yield frame.data === '*'
          ? { type: 'failure', error: new ExchangeAbortedError(undefined, { party: 'server' }) }
          : { type: 'challenge', data: frame.data };
      else if (frame.kind === 'OK') yield { type: 'success', data: frame.data };
      else if (frame.kind === 'NO') yield { type: 'failure' };
      else throw new Error(`unexpected ${frame.kind} from the server`);
    }
  }
}

/** A connected pair on 127.0.0.1. */
export interface Loopback {
  readonly server: LineTransport;
  readonly client: LineTransport;
  /** Destroys both sockets and closes the listener; resolves within a second. */
  close(): Promise<void>;
}

async function openLoopback(): Promise<Loopback> {
  const listener: Server = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const clientSocket = createConnection({ host: '127.0.0.1', port: address.port });
  const [[serverSocket]] = await Promise.all([accepted, once(clientSocket, 'connect')]);
  return {
    server: new LineTransport(serverSocket),
    client: new LineTransport(clientSocket),
    async close() {
      clientSocket.destroy();
      serverSocket.destroy();
      const closed = new Promise<void>((resolve) =>
        listener.close(() => {
          resolve();
        }),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 1000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

/** Call inside a `describe`: returns an opener whose connections are all closed after each test. */
export function useLoopback(): () => Promise<Loopback> {
  const open: Loopback[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((loopback) => loopback.close()));
  });
  return async () => {
    const loopback = await openLoopback();
    open.push(loopback);
    return loopback;
  };
}

// FinallyProbe lives with the other peer probes (portable, no socket); re-exported for the driver specs.
export { FinallyProbe } from './silent-peer.js';
