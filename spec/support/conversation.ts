/**
 * One harness for protocol conversations in specs, instead of a copy per profile: a client and
 * a server profile joined by two line queues with every line recorded (`converse`), a server
 * alone fed the client's lines up front (`serve`), and a client alone fed the server's (`against`).
 */
import { type LineSource, type LineWriter, LineQueue } from '../../lib/index.js';

/** A settled promise: its value or its error. */
export interface Settled<T> {
  value?: T;
  error?: unknown;
}

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/** What the harness fills in on a client profile's arguments. */
interface ClientIo {
  lines: LineSource;
  write: LineWriter;
}

/** What the harness fills in on a server profile's arguments. */
interface ServerIo extends ClientIo {
  command: string;
}

/** The two runs of a conversation, and its lines as `C: ...` and `S: ...` in the order written. */
export interface Conversation<R> {
  client: Settled<R>;
  server: Settled<unknown>;
  log: string[];
}

/** A line profile's client and server functions, and the server arguments `serve` starts from. */
export interface LineProfile<CA extends ClientIo, R, SA extends ServerIo> {
  readonly client: (args: CA) => Promise<R>;
  readonly server: (args: SA) => Promise<unknown>;
  readonly serveDefaults: Omit<SA, keyof ServerIo>;
}

/** Runs one side alone on the peer's `lines` (then the end of input), recording what it writes. */
async function alone<T>(
  lines: readonly string[],
  run: (io: ClientIo) => Promise<T>,
): Promise<{ written: string[]; left: number; outcome: Settled<T> }> {
  const queue = new LineQueue();
  for (const line of lines) queue.push(line);
  queue.end();
  const written: string[] = [];
  const outcome = await settle(
    run({
      lines: queue,
      write: (line: string) => {
        written.push(line);
      },
    }),
  );
  return { written, left: queue.pending, outcome };
}

/** The `converse`, `serve` and `against` of one line profile. */
export function lineConversations<CA extends ClientIo, R, SA extends ServerIo>(profile: LineProfile<CA, R, SA>) {
  /** A client and a server joined by two queues, with the conversation recorded; the client's first line is the server's command. */
  async function converse(
    client: Omit<CA, keyof ClientIo>,
    server: Omit<SA, keyof ServerIo>,
  ): Promise<Conversation<R>> {
    const toServer = new LineQueue();
    const toClient = new LineQueue();
    const log: string[] = [];
    const clientRun = profile.client({
      ...client,
      lines: toClient,
      write: (line: string) => {
        log.push(`C: ${line}`);
        toServer.push(line);
      },
    } as unknown as CA);
    const first = await Promise.race([
      toServer.next(),
      clientRun.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    if (first === undefined || first.done === true) return { client: await settle(clientRun), server: {}, log };
    const serverRun = profile.server({
      ...server,
      command: first.value,
      lines: toServer,
      write: (line: string) => {
        log.push(`S: ${line}`);
        toClient.push(line);
      },
    } as unknown as SA);
    const [c, s] = await Promise.all([settle(clientRun), settle(serverRun)]);
    return { client: c, server: s, log };
  }

  /** Runs only the server on `command`, with the client's lines given up front and then the end of input. */
  async function serve(
    command: string,
    clientLines: string[],
    args: Partial<Omit<SA, keyof ServerIo>> = {},
  ): Promise<{ written: string[] } & Settled<unknown>> {
    const { written, outcome } = await alone(clientLines, (io) =>
      profile.server({ ...profile.serveDefaults, ...args, command, ...io } as unknown as SA),
    );
    return { written, ...outcome };
  }

  /** Runs only the client, with the server's lines given up front and then the end of input; `left` counts lines it did not read. */
  async function against(
    serverLines: string[],
    client: Omit<CA, keyof ClientIo>,
  ): Promise<{ written: string[]; left: number } & Settled<R>> {
    const { written, left, outcome } = await alone(serverLines, (io) =>
      profile.client({ ...client, ...io } as unknown as CA),
    );
    return { written, left, ...outcome };
  }

  return { converse, serve, against };
}
