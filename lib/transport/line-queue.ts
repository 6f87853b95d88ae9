/**
 * The in-memory line queue: where a callback transport's lines wait for a profile, and what
 * {@link LineReader} (line-reader.ts) splits a stream into. A waiting reader is a
 * {@link LineSink}, so a profile can wait without a promise (see `pollLines` in lines.ts).
 * @module
 */

/**
 * Work done by saslkit's readers (LineReader, LineQueue, xmppElements and the XMPP element
 * parser, PgMessageReader), in units of one character or byte scanned or copied, one queued line
 * moved, or one namespace scope visited. Specs and fuzzers read it around deliveries of the same
 * input in one chunk and byte by byte: a reader is linear in what it receives when the two stay
 * within a small constant of each other. Not exported from the package. @internal
 */
export const readerWork = { units: 0 };

/**
 * Something waiting for one line: the promise of a `next()` call, or a profile's exchange,
 * which waits without a promise so that a connection parked mid-exchange holds no suspended
 * async frames. @internal
 */
export interface LineSink {
  /** The line waited for. */
  line(value: string): void;
  /** The source ended (`error` undefined) or failed. */
  end(error: Error | undefined): void;
}

// The resolving functions of the promise newPromise made last, until taken.
const NOBODY = (): void => undefined;
let lastResolve: (value: unknown) => void = NOBODY;
let lastReject: (error: unknown) => void = NOBODY;

function keep(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  lastResolve = resolve as (value: unknown) => void;
  lastReject = reject;
}

/**
 * A new pending promise; {@link takeResolve} and {@link takeReject} hand out its resolving
 * functions right after (the executor runs inside this call). One executor serves every call:
 * `new Promise((resolve, reject) => ...)` allocates a closure and its context per promise, on the
 * path of every line a `for await` loop waits for and every exchange a profile runs
 * (`npm run bench -- smtp`). @internal
 */
export function newPromise<T>(): Promise<T> {
  return new Promise<T>(keep);
}

/** The resolve function of the promise {@link newPromise} made last; forgotten here, so it keeps nothing alive. @internal */
export function takeResolve(): (value: unknown) => void {
  const resolve = lastResolve;
  lastResolve = NOBODY;
  return resolve;
}

/** The reject function of the promise {@link newPromise} made last; forgotten here likewise. @internal */
export function takeReject(): (error: unknown) => void {
  const reject = lastReject;
  lastReject = NOBODY;
  return reject;
}

// The waiter of a `next()` call: settles its promise (it holds the two functions itself, no
// wrapper object: one is made per `next()` a `for await` loop waits in).
class PromiseSink implements LineSink {
  constructor(
    private readonly resolve: (result: IteratorResult<string>) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  line(value: string): void {
    this.resolve({ done: false, value });
  }

  end(error: Error | undefined): void {
    if (error === undefined) this.resolve({ done: true, value: undefined });
    else this.reject(error);
  }
}

/** What a poll finds: a line; `null` when the source ended; an `Error` when it failed; `undefined` when the sink now waits. @internal */
export type Polled = string | null | Error | undefined;

// Doors into the queue's private poll and cancel (given their bodies in the class's static
// block), so that pollLines and LineReader reach them without a public method.
let pollDoor: (queue: LineQueue, sink: LineSink) => Polled;
let cancelDoor: (queue: LineQueue, sink: LineSink) => void;

/** The next line of `queue`, or `sink` is kept and this returns `undefined` (see `pollLines`). @internal */
export function pollQueue(queue: LineQueue, sink: LineSink): Polled {
  return pollDoor(queue, sink);
}

/** Withdraws a sink {@link pollQueue} left waiting. @internal */
export function cancelQueue(queue: LineQueue, sink: LineSink): void {
  cancelDoor(queue, sink);
}

/**
 * A line source for callback transports: the host calls {@link LineQueue.push} for every line
 * it receives and {@link LineQueue.end} when the connection closes; a profile reads the lines
 * in order. Reading after `end` reports the end, so a waiting profile never hangs.
 */
export class LineQueue implements AsyncIterableIterator<string> {
  // An idle connection's queue is empty, holds a line, or has one reader waiting: single slots,
  // with arrays only for the rare overflow, keep it small (an emptied array keeps its storage).
  #head: string | undefined;
  // Lines after the head, read from #first on: shifting an array moves every line behind the
  // first, so a chunk of 64K empty lines would cost 64K moves per read.
  #lines: (string | undefined)[] | undefined;
  #first = 0;
  #sink: LineSink | undefined;
  #sinks: LineSink[] | undefined;
  #ended = false;
  #error: Error | undefined;

  static {
    pollDoor = (queue, sink) => queue.#poll(sink);
    cancelDoor = (queue, sink) => {
      queue.#cancel(sink);
    };
  }

  /** Adds a received line (without its CRLF). Ignored after {@link LineQueue.end}. */
  push(line: string): void {
    if (this.#ended) return;
    const sink = this.#nextSink();
    if (sink !== undefined) sink.line(line);
    else if (this.#head === undefined) this.#head = line;
    else (this.#lines ??= []).push(line);
  }

  /** Marks the end of input: readers get the lines still queued, then the end. */
  end(): void {
    this.#ended = true;
    for (let sink = this.#nextSink(); sink !== undefined; sink = this.#nextSink()) sink.end(undefined);
  }

  /** Ends input with an error (a socket error); readers get the queued lines, then the error. */
  fail(error: Error): void {
    if (this.#ended) return;
    this.#error = error;
    this.#ended = true;
    for (let sink = this.#nextSink(); sink !== undefined; sink = this.#nextSink()) sink.end(error);
  }

  /** Lines received but not read yet. */
  get pending(): number {
    return (this.#head === undefined ? 0 : 1) + (this.#lines === undefined ? 0 : this.#lines.length - this.#first);
  }

  next(): Promise<IteratorResult<string>> {
    const line = this.#shift();
    if (line !== undefined) return Promise.resolve({ done: false, value: line });
    if (this.#ended)
      return this.#error === undefined
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(this.#error);
    const promise = newPromise<IteratorResult<string>>();
    this.#wait(new PromiseSink(takeResolve(), takeReject()));
    return promise;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #shift(): string | undefined {
    const line = this.#head;
    if (line === undefined) return undefined;
    const lines = this.#lines;
    if (lines === undefined) {
      this.#head = undefined;
      return line;
    }
    const first = this.#first;
    this.#head = lines[first];
    lines[first] = undefined;
    this.#first = first + 1;
    if (this.#first === lines.length) {
      this.#lines = undefined;
      this.#first = 0;
    } else if (this.#first >= 1024 && this.#first * 2 >= lines.length) {
      // Drop the read half: each line is moved at most once per halving, linear in all.
      readerWork.units += lines.length - this.#first;
      this.#lines = lines.slice(this.#first);
      this.#first = 0;
    }
    return line;
  }

  #wait(sink: LineSink): void {
    if (this.#sink === undefined) this.#sink = sink;
    else (this.#sinks ??= []).push(sink);
  }

  #nextSink(): LineSink | undefined {
    const sink = this.#sink;
    if (sink === undefined) return undefined;
    const sinks = this.#sinks;
    if (sinks === undefined) {
      this.#sink = undefined;
    } else {
      this.#sink = sinks.shift();
      if (sinks.length === 0) this.#sinks = undefined;
    }
    return sink;
  }

  #poll(sink: LineSink): Polled {
    const line = this.#shift();
    if (line !== undefined) return line;
    if (this.#ended) return this.#error ?? null;
    this.#wait(sink);
    return undefined;
  }

  #cancel(sink: LineSink): void {
    if (this.#sink === sink) {
      this.#nextSink();
      return;
    }
    const sinks = this.#sinks;
    const index = sinks === undefined ? -1 : sinks.indexOf(sink);
    if (sinks === undefined || index === -1) return;
    sinks.splice(index, 1);
    if (sinks.length === 0) this.#sinks = undefined;
  }
}
