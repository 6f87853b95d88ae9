/**
 * Loopback sockets for protocol specs that talk over 127.0.0.1: listeners, connections and
 * connected pairs opened through `useSockets()` are all closed after each test, so no spec
 * leaves a handle that keeps mocha from exiting.
 */
import { once } from 'node:events';
import { type Server, type Socket, createConnection, createServer } from 'node:net';

/** A listener's port and the runs of `serve`, one per accepted connection, in order. */
export interface Listening {
  readonly port: number;
  readonly served: Promise<unknown>[];
}

/** What `useSockets()` opens; every socket and listener is closed after the test. */
export interface Sockets {
  /** A listener on 127.0.0.1 whose accepted sockets are handed to `serve` (its rejection is kept in `served`). */
  readonly listen: (serve: (socket: Socket) => Promise<unknown>) => Promise<Listening>;
  /** A connection to 127.0.0.1:`port`, once connected. */
  readonly connect: (port: number) => Promise<Socket>;
  /** A connected pair: the client's end and the listener's accepted end. */
  readonly pair: () => Promise<{ client: Socket; server: Socket }>;
  /** Closes `item` after the test as well (a TLS socket started over a tracked one); returns it. */
  readonly track: <T extends Socket | Server>(item: T) => T;
}

/** Destroys the sockets, then closes the listeners: a listener's close waits for its connections. */
async function closeAll(items: (Socket | Server)[]): Promise<void> {
  for (const item of items) if ('destroy' in item) item.destroy();
  for (const item of items)
    if (!('destroy' in item))
      await new Promise<void>((resolve) =>
        item.close(() => {
          resolve();
        }),
      );
}

/** Call inside a `describe`: returns the openers, and closes what they opened after each test. */
export function useSockets(): Sockets {
  const open: (Socket | Server)[] = [];
  afterEach(() => closeAll(open.splice(0)));

  const track = <T extends Socket | Server>(item: T): T => {
    open.push(item);
    return item;
  };

  async function listen(serve: (socket: Socket) => Promise<unknown>): Promise<Listening> {
    const served: Promise<unknown>[] = [];
    const listener = track(
      createServer((socket) => {
        track(socket);
        socket.on('error', () => undefined);
        const run = serve(socket);
        run.catch(() => undefined);
        served.push(run);
      }),
    );
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const address = listener.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return { port: address.port, served };
  }

  async function connect(port: number): Promise<Socket> {
    const socket = track(createConnection({ host: '127.0.0.1', port }));
    await once(socket, 'connect');
    return socket;
  }

  async function pair(): Promise<{ client: Socket; server: Socket }> {
    let accept: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      accept = resolve;
    });
    const { port } = await listen((socket) => {
      accept(socket);
      return Promise.resolve();
    });
    const [client, server] = await Promise.all([connect(port), accepted]);
    return { client, server };
  }

  return { listen, connect, pair, track };
}
