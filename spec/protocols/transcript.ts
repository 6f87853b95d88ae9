/**
 * Spec helpers for the line profiles: transcripts from the framing vectors, recording line
 * sources and writers, and a scripted mechanism that replays a transcript's messages exactly,
 * so that the framing can be checked byte for byte even where a real mechanism cannot
 * reproduce the RFC's example (unpublished secrets, deviating examples).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { type Socket, connect, createServer } from 'node:net';
import {
  type Authenticated,
  AuthenticationFailedError,
  ExchangeAbortedError,
  LineReader,
  type LineWriter,
  type Mechanism,
  NO_INITIAL_RESPONSE,
  ServerSuccess,
  UnexpectedMessageError,
  challenge,
  lineWriter,
  respond,
} from '../../lib/index.js';
import { vector } from '../support/vectors.js';

/** The transcript lines of a framing vector, without `# ` notes. */
export function transcriptOf(id: string): string[] {
  const lines = vector(id).expected['lines'] as string[];
  return lines.filter((line) => !line.startsWith('# '));
}

/** The lines from the first one that satisfies `predicate` (to skip greetings and capabilities). */
export function fromLine(lines: readonly string[], predicate: (line: string) => boolean): string[] {
  const start = lines.findIndex(predicate);
  expect(start, 'transcript line not found').to.be.greaterThanOrEqual(0);
  return lines.slice(start);
}

/** The text after `C: ` or `S: `. */
export const body = (line: string): string => line.slice(3);

/** A line source over `lines` that records each line read as `${tag}: line`. */
export function recordingSource(lines: readonly string[], log: string[], tag: 'C' | 'S'): AsyncIterator<string> {
  let i = 0;
  return {
    next(): Promise<IteratorResult<string>> {
      const line = lines[i++];
      if (line === undefined) return Promise.resolve({ done: true, value: undefined });
      log.push(`${tag}: ${line}`);
      return Promise.resolve({ done: false, value: line });
    },
  };
}

/** A writer that records each line as `${tag}: line`. */
export function recordingWriter(log: string[], tag: 'C' | 'S'): LineWriter {
  return (line: string) => {
    log.push(`${tag}: ${line}`);
  };
}

/** Settles a promise into a value or an error, so a test can inspect both. */
export async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/**
 * Replays a server side: the first line is the client's command, the other `C:` lines are fed
 * to the server as it reads them. Returns the recorded transcript, to compare with the vector.
 */
export async function replayServer<T>(
  exchange: readonly string[],
  run: (command: string, lines: AsyncIterator<string>, write: LineWriter) => Promise<T>,
): Promise<{ log: string[]; value?: T; error?: unknown }> {
  const [first, ...rest] = exchange;
  if (first?.startsWith('C: ') !== true) throw new Error('a server replay starts with the client command');
  const log = [first];
  const clientLines = rest.filter((line) => line.startsWith('C: ')).map(body);
  const outcome = await settle(run(body(first), recordingSource(clientLines, log, 'C'), recordingWriter(log, 'S')));
  return { log, ...outcome };
}

/** Replays a client side: the `S:` lines are fed to the client as it reads them. */
export async function replayClient<T>(
  exchange: readonly string[],
  run: (lines: AsyncIterator<string>, write: LineWriter) => Promise<T>,
): Promise<{ log: string[]; value?: T; error?: unknown }> {
  const log: string[] = [];
  const serverLines = exchange.filter((line) => line.startsWith('S: ')).map(body);
  const outcome = await settle(run(recordingSource(serverLines, log, 'S'), recordingWriter(log, 'C')));
  return { log, ...outcome };
}

/** One challenge and the client's answer; no answer means the client cancels there. */
export interface Round {
  readonly challenge: Uint8Array;
  readonly response?: Uint8Array;
}

/** The messages of one exchange, as a transcript shows them. */
export interface Script {
  readonly name: string;
  readonly initial?: Uint8Array;
  readonly rounds: readonly Round[];
  /** Data the server sends with success (ManageSieve's `OK (SASL ...)`). */
  readonly final?: Uint8Array;
  readonly outcome: 'success' | 'failure';
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Buffer.from(a).equals(Buffer.from(b));

/**
 * A mechanism whose both sides replay `script` and fail on any other message. It checks the
 * profile's framing only; the real mechanisms are replayed where the vectors allow.
 */
export function scriptedMechanism(script: Script): Mechanism {
  return {
    name: script.name,
    clientFirst: !['CRAM-MD5', 'DIGEST-MD5'].includes(script.name),
    priority: 100,
    *server(_options, initial) {
      if (!same(initial, script.initial))
        throw new AuthenticationFailedError('scripted: unexpected initial response', {
          mechanism: script.name,
          party: 'client',
        });
      for (const round of script.rounds) {
        const response = yield* challenge(round.challenge);
        if (round.response === undefined || !same(response, round.response))
          throw new AuthenticationFailedError('scripted: unexpected response', {
            mechanism: script.name,
            party: 'client',
          });
      }
      if (script.outcome === 'failure')
        throw new AuthenticationFailedError(undefined, { mechanism: script.name, party: 'client' });
      const outcome: Authenticated = {
        mechanism: script.name,
        authcid: 'scripted',
        authzid: 'scripted',
        additionalData: script.final,
      };
      return outcome;
    },
    *client() {
      let reply = yield* respond(script.initial ?? NO_INITIAL_RESPONSE);
      for (const round of script.rounds) {
        if (!(reply instanceof Uint8Array) || !same(reply, round.challenge))
          throw new UnexpectedMessageError('scripted: unexpected challenge', {
            mechanism: script.name,
            party: 'server',
          });
        if (round.response === undefined)
          throw new ExchangeAbortedError('scripted: the client cancels here', { mechanism: script.name });
        reply = yield* respond(round.response);
      }
      if (!(reply instanceof ServerSuccess) || !same(reply.data ?? undefined, script.final))
        throw new UnexpectedMessageError('scripted: unexpected outcome', { mechanism: script.name, party: 'server' });
      return { serverVerified: false };
    },
  };
}

/** Base64 text to bytes (test data is trusted). */
export const unb64 = (text: string): Uint8Array => Buffer.from(text, 'base64');

/** A server on 127.0.0.1 that runs `session` for each connection. */
export interface LineServer {
  readonly port: number;
  /** Destroys the connections and closes the listener. */
  close(): Promise<void>;
}

/** Starts a line server on a free 127.0.0.1 port. */
export async function startLineServer(
  session: (lines: LineReader, write: (line: string) => Promise<void>, socket: Socket) => Promise<void>,
): Promise<LineServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = new LineReader(socket);
    session(lines, lineWriter(socket), socket)
      .catch(() => socket.destroy())
      .finally(() => {
        lines.close();
        socket.end();
      });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Connects to 127.0.0.1:`port`, runs `run` with the connection's lines, then closes it. */
export async function withLineClient<T>(
  port: number,
  run: (lines: LineReader, write: (line: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  socket.setTimeout(5000, () => socket.destroy(new Error('test client timed out')));
  const lines = new LineReader(socket);
  try {
    await once(socket, 'connect');
    return await run(lines, lineWriter(socket));
  } finally {
    lines.close();
    socket.destroy();
  }
}
