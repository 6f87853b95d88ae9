/**
 * The line profiles' framing and input: base64 SASL messages on lines, the reply kinds each
 * profile maps to its status lines, and {@link LineInput}, which reads one exchange's lines
 * with the line limit and the exchange's signal, by promise or by a promise-free poll.
 * @module
 */
import { EMPTY, fromBase64, toBase64, utf8Length } from '../core/bytes.js';
import type { SessionLimits } from '../core/core.js';
import {
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  type Party,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import { isPromiseLike } from '../core/exchange.js';
import { MECHANISM_NAME } from '../core/mechanism.js';
import {
  type LineSink,
  type LineSource,
  type LineWriter,
  WRITTEN,
  cancelLines,
  lineIterator,
  pollLines,
} from '../transport/lines.js';
import { raceSignal, signalError } from '../transport/signal.js';
import {
  CANCEL,
  type MessageConsumer,
  type MessageInput,
  type ProfileContext,
  ProfileFailure,
  type ReplyKind,
} from './profile.js';

// The vocabulary every profile shares lives in profile.ts; re-exported for the line profiles and the package index.
export { CANCEL, type ProfileContext, ProfileFailure, type ReplyKind };

// ---------------------------------------------------------------------------------------------
// Base64 framing

/** The line a client sends to cancel an exchange (SMTP, IMAP, POP3). */
export const CANCEL_LINE = '*';

/** A mechanism name as RFC 4422 section 3.1 defines it: 1 to 20 of `A-Z 0-9 - _` (any case on the wire). */
export { MECHANISM_NAME };

/** Encodes an initial response for a command line: base64, or `=` for an empty one (RFC 4954, 4959, 5034). */
export function encodeInitialResponse(data: Uint8Array): string {
  return data.length === 0 ? '=' : toBase64(data);
}

/** Decodes an initial-response argument: `=` is an empty response; anything else must be strict base64. */
export function decodeInitialResponse(
  token: string,
  options?: { mechanism?: string | undefined; party?: Party },
): Uint8Array {
  if (token === '=') return EMPTY;
  // A context that names its party (the profiles' own) is used as it is: no copy per command.
  return fromBase64(
    token,
    'initial response',
    options?.party !== undefined ? options : { party: 'client', ...options },
  );
}

/** Decodes the base64 text of a challenge or response line; an empty line is an empty message. */
export function decodeLineData(
  text: string,
  what: string,
  options?: { mechanism?: string | undefined; party?: Party },
): Uint8Array {
  if (text === '') return EMPTY;
  return fromBase64(text, what, options);
}

/** Mechanism names from a space-separated list, upper-cased, de-duplicated, invalid names dropped. */
export function mechanismList(words: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const word of words) if (MECHANISM_NAME.test(word)) seen.add(word.toUpperCase());
  return [...seen];
}

// A regular expression: on a command line, irregexp's compiled scan took half the time of a
// charCodeAt loop (node 20, a 52-character AUTH PLAIN line). One object, not a new one per call.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** True when every character is printable ASCII or space. */
export function isPrintableAscii(text: string): boolean {
  return PRINTABLE_ASCII.test(text);
}

/**
 * A server's reply text made safe for an error message: printable ASCII only, at most 200
 * characters. Server texts are free-form; this keeps control characters and floods out of logs.
 */
export function describePeerText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

// ---------------------------------------------------------------------------------------------
// The exchange loops (used by the profile modules; not part of the public API)

/** Limits of a line profile: the session's limits plus the longest line accepted. */
export interface LineLimits extends SessionLimits {
  /** Longest line accepted from the peer, in octets without CRLF. Each profile has its own default. */
  readonly maxLineLength?: number;
}

/** Human-readable texts of a server profile's replies, by kind; the profile adds the status code. */
export type ReplyTexts = Partial<Readonly<Record<ReplyKind, string>>>;

/** Reads lines from a source for one exchange, enforcing the line limit. @internal */
export class LineInput implements LineSink, MessageInput<string> {
  readonly #iterator: AsyncIterator<string>;
  readonly maxLineLength: number;
  #closed = false;

  readonly #signal: AbortSignal | undefined;
  // While a poll waits: who gets the line, and the context of its errors.
  #consumer: LineConsumer | undefined;
  #context: ProfileContext | undefined;
  #onAbort: (() => void) | undefined;

  constructor(source: LineSource, maxLineLength: number, signal?: AbortSignal) {
    this.#iterator = lineIterator(source);
    this.maxLineLength = maxLineLength;
    this.#signal = signal;
  }

  /** True once the source ended or failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The next line, without a trailing CR. The end of the source is an {@link ExchangeAbortedError}. */
  async read(context: ProfileContext): Promise<string> {
    if (this.#closed) throw closedFailure(context);
    let result: IteratorResult<string>;
    try {
      result = await raceSignal(this.#iterator.next(), this.#signal, context);
    } catch (cause) {
      if (isSaslError(cause) && (cause.code === 'TIMEOUT' || cause.code === 'ABORTED')) throw cause;
      throw this.#failed(cause, context);
    }
    if (result.done === true) throw this.#ended(context);
    return this.#accept(result.value, context);
  }

  /**
   * The next line if one is at hand (checked like {@link LineInput.read}); otherwise `undefined`,
   * and the line (or the failure that replaces it) goes to `consumer` when it comes. A
   * {@link LineReader} or {@link LineQueue} holds the consumer itself, so the wait costs no
   * promise, and the `signal` ends it with the same errors as `read`.
   */
  poll(consumer: LineConsumer, context: ProfileContext): string | undefined {
    if (this.#closed) throw closedFailure(context);
    const signal = this.#signal;
    if (signal?.aborted === true) throw signalError(signal, context);
    const source = this.#iterator;
    let polled = pollLines(source, this);
    if (polled === false) {
      source.next().then(
        (result) => {
          if (result.done === true) this.#settle('end', undefined);
          else this.#settle('line', result.value);
        },
        (error: unknown) => {
          this.#settle('failed', error);
        },
      );
      polled = undefined;
    }
    if (polled === undefined) {
      this.#consumer = consumer;
      this.#context = context;
      if (signal !== undefined) {
        this.#onAbort ??= () => {
          this.#aborted();
        };
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
      return undefined;
    }
    if (polled === null) throw this.#ended(context);
    if (polled instanceof Error) throw this.#failed(polled, context);
    return this.#accept(polled, context);
  }

  /** {@link LineSink}: the line a poll waited for. */
  line(value: string): void {
    this.#settle('line', value);
  }

  /** {@link LineSink}: the source ended or failed while a poll waited. */
  end(error: Error | undefined): void {
    if (error === undefined) this.#settle('end', undefined);
    else this.#settle('failed', error);
  }

  /** Rejects a line over the limit. */
  check(line: string, context: ProfileContext): void {
    if (
      line.length > this.maxLineLength ||
      (line.length * 3 > this.maxLineLength && utf8Length(line) > this.maxLineLength)
    ) {
      throw new ProfileFailure(
        'tooLong',
        new LimitExceededError('maxLineLength', `a line is longer than ${this.maxLineLength} octets`, context),
      );
    }
  }

  // Ends a poll's wait with a line, the end of the source, or its failure (`value` is then the cause).
  #settle(how: 'line' | 'end' | 'failed', value: unknown): void {
    const consumer = this.#consumer;
    const context = this.#context;
    // No consumer: the signal ended the wait first, and a line from a plain iterator comes late.
    if (consumer === undefined || context === undefined) return;
    this.#release();
    let line: string;
    try {
      if (how === 'failed') throw this.#failed(value, context);
      if (how === 'end') throw this.#ended(context);
      line = this.#accept(value, context);
    } catch (failure) {
      consumer.failed(failure);
      return;
    }
    consumer.message(line);
  }

  #aborted(): void {
    const consumer = this.#consumer;
    const context = this.#context;
    const signal = this.#signal;
    if (consumer === undefined || context === undefined || signal === undefined) return;
    this.#release();
    // The line, when it comes, stays in the source for the host.
    const source = this.#iterator;
    cancelLines(source, this);
    consumer.failed(signalError(signal, context));
  }

  #release(): void {
    this.#consumer = undefined;
    this.#context = undefined;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #ended(context: ProfileContext): ProfileFailure {
    this.#closed = true;
    return closedFailure(context);
  }

  #failed(cause: unknown, context: ProfileContext): ProfileFailure {
    this.#closed = true;
    return new ProfileFailure(
      undefined,
      new ExchangeAbortedError('the connection failed during authentication', { ...context, cause }),
    );
  }

  #accept(value: unknown, context: ProfileContext): string {
    if (typeof value !== 'string')
      throw new ProfileFailure(
        undefined,
        new UsageError('a line source produced something that is not a string', { mechanism: context.mechanism }),
      );
    const line = value.endsWith('\r') ? value.slice(0, -1) : value;
    this.check(line, context);
    return line;
  }
}

/** Who gets the line of a {@link LineInput.poll} that had to wait. @internal */
export type LineConsumer = MessageConsumer<string>;

function closedFailure(context: ProfileContext): ProfileFailure {
  return new ProfileFailure(
    undefined,
    new ExchangeAbortedError('the connection closed during authentication', context),
  );
}

/**
 * Sends lines in order. Returns a promise only when the writer returned one that may still be
 * pending (then awaited before the next line), so a writer that does not wait costs no extra
 * turn. {@link lineWriter}'s `WRITTEN` (the stream took the line) counts as done: with it a
 * success or a challenge that the socket takes at once costs no promise job. @internal
 */
export function writeLines(write: LineWriter, lines: readonly string[]): Promise<void> | undefined {
  for (let i = 0; i < lines.length; i++) {
    const written = write(lines[i] as string);
    if (written !== WRITTEN && isPromiseLike(written)) return writeRest(written, write, lines, i + 1);
  }
  return undefined;
}

async function writeRest(
  pending: PromiseLike<unknown>,
  write: LineWriter,
  lines: readonly string[],
  from: number,
): Promise<void> {
  await pending;
  for (let i = from; i < lines.length; i++) await write(lines[i] as string);
}

/** A parsed authentication command: the requested mechanism and the raw initial-response token. @internal */
export interface AuthCommand {
  readonly mechanism: string;
  readonly initial: string | undefined;
}

/** Encodes a response or challenge line: base64, empty for an empty message. @internal */
export function encodeLineData(data: Uint8Array): string {
  return toBase64(data);
}

/** Wraps a base64 decoding error as a reply-worthy failure. @internal */
export function decodeOrFail(decode: () => Uint8Array): Uint8Array {
  try {
    return decode();
  } catch (error) {
    throw malformedFailure(error);
  }
}

/** What a decoding error becomes: a saslkit error a `malformed` reply; anything else as it is. (For a caller's own try/catch, where a closure per message would cost.) @internal */
export function malformedFailure(error: unknown): unknown {
  return isSaslError(error) ? new ProfileFailure('malformed', error) : error;
}

/**
 * Parses `VERB SP mechanism [SP initial-response]` (SMTP's AUTH, POP3's AUTH). Trailing spaces
 * are tolerated; anything else off the grammar is a syntax failure. @internal
 */
export function parseAuthCommand(command: string, verb: string): AuthCommand {
  if (!isPrintableAscii(command))
    throw syntaxError(`the ${verb} command has characters outside printable ASCII`, CLIENT_PARTY);
  // The words found by position (no array per command): verb SP mechanism [SP initial-response].
  const text = command.trimEnd();
  const first = text.indexOf(' ');
  const second = first === -1 ? -1 : text.indexOf(' ', first + 1);
  if (first === -1 || (second !== -1 && text.includes(' ', second + 1)) || !isWord(text, first, verb))
    throw syntaxError(`expected ${verb} mechanism [initial-response]`, CLIENT_PARTY);
  const mechanism = second === -1 ? text.slice(first + 1) : text.slice(first + 1, second);
  if (!MECHANISM_NAME.test(mechanism)) throw syntaxError(`the ${verb} command names no valid mechanism`, CLIENT_PARTY);
  const initial = second === -1 ? undefined : text.slice(second + 1);
  if (initial === '') throw syntaxError(`the ${verb} command has an empty initial-response argument`, CLIENT_PARTY);
  return { mechanism, initial };
}

// Whether text's first `length` characters are `verb` (upper case) in any case; the text is
// printable ASCII. (No slice and toUpperCase: two strings per command.)
function isWord(text: string, length: number, verb: string): boolean {
  if (length !== verb.length) return false;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const upper = code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
    if (upper !== verb.charCodeAt(i)) return false;
  }
  return true;
}

// The error context of a command whose mechanism is not known yet (frozen: errors keep it).
const CLIENT_PARTY: ProfileContext = Object.freeze({ party: 'client' });

/** Throws a syntax failure. @internal */
export function syntaxError(message: string, context: ProfileContext): ProfileFailure {
  return new ProfileFailure('syntax', new MalformedMessageError(message, context));
}
