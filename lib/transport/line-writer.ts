/**
 * {@link lineWriter}: lines with CRLF to a stream, waiting only under backpressure.
 * @module
 */
import type { Writable } from 'node:stream';

/**
 * What {@link lineWriter} returns for a line the stream took at once: one settled promise for
 * all of them, so a caller that knows it (writeLines) can go on without waiting a turn. @internal
 */
export const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Writes lines with CRLF to a stream. The returned promise is settled when the stream took the
 * line without asking to wait (`write()` returned true); otherwise it settles once the stream
 * drained (and so handed the line to the OS), and rejects if the stream fails or closes first.
 * On a stream already destroyed or ended it rejects with the stream's own error. A write that
 * fails later (a reset connection) is reported as a stream `error` event, as it always is: the
 * next read or write sees it.
 *
 * Not waiting for each write's callback saves a promise, two closures and a tick per line on
 * the path every reply takes (`npm run bench -- smtp`).
 */
export function lineWriter(stream: Writable): (line: string) => Promise<void> {
  // One wait for 'drain' serves every line written before it comes (drained means all of them
  // went out), so a host that writes without awaiting adds no listener per line.
  let waiting: Promise<void> | undefined;
  return (line) => {
    const data = `${line}\r\n`;
    if (stream.destroyed || stream.writableEnded) return writeReporting(stream, data);
    if (stream.write(data)) return waiting ?? WRITTEN;
    if (waiting === undefined) {
      // Made here, not once per writer: a connection that never meets backpressure holds no
      // closure for it (`npm run bench -- memory`).
      const done = (): void => {
        waiting = undefined;
      };
      waiting = drained(stream);
      waiting.then(done, done);
    }
    return waiting;
  };
}

// A write whose callback settles the promise: the stream's own error for a stream that is gone.
function writeReporting(stream: Writable, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

// Waits for the stream to drain; its failure or close comes first when the connection goes.
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error: unknown): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error === undefined) resolve();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the stream's own error, as it is
      else reject(error);
    };
    const onDrain = (): void => {
      settle(undefined);
    };
    const onError = (error: unknown): void => {
      settle(error);
    };
    const onClose = (): void => {
      settle(new Error('the stream closed before the line was written'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
