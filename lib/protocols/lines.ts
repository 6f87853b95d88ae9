/**
 * Plumbing shared by the line-based profiles (SMTP, IMAP, POP3, ManageSieve): the base64
 * framing of SASL messages, and the one exchange loop per side that the profiles plug their
 * grammar into. Where lines come from and go lives in transport/lines.ts.
 *
 * A profile never owns the connection. It reads lines from a {@link LineSource} (an async
 * iterator such as `readline`'s, a {@link LineQueue} fed by a callback transport, or a
 * {@link LineReader} over a socket) with `next()` only, never `return()`, so the host's own
 * command loop continues with the same source afterwards. It writes lines, without CRLF,
 * through a {@link LineWriter}.
 * @module
 */
import { EMPTY, fromBase64, toBase64 } from '../bytes.js';
import type { ServerStep, SessionLimits } from '../core.js';
import type { ClientCredentials } from '../credentials.js';
import { PromiseClientSession, PromiseServerSession } from '../drivers/promise.js';
import {
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
  type Party,
  type SaslError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../errors.js';
import { type Authenticated, isPromiseLike } from '../exchange.js';
import { type ClientMechanism, type ClientOptions, MECHANISM_NAME } from '../mechanism.js';
import type { ServerOptions } from '../options.js';
import { type ChooseOptions, type ClientChoice, SASLAuth } from '../registry.js';
import { type LineSink, type LineSource, type LineWriter, cancelLines, lineIterator, pollLines } from '../transport/lines.js';
import { type WaitContext, raceSignal, signalError } from '../transport/signal.js';
import { serverOptionsFor } from './profile.js';

export { advertisedMechanisms, serverOptionsFor } from './profile.js';

// The sources and writers moved to transport/lines.ts and the signal race to transport/signal.ts;
// re-exported here for the package index and for hosts that imported them from this module.
export {
  type LineSink, type LineSource, type LineWriter, type LineReaderOptions, type Polled, DEFAULT_READER_MAX_LINE, LineQueue, LineReader,
  lineIterator, lineWriter, readerWork,
} from '../transport/lines.js';
export { raceSignal } from '../transport/signal.js';

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
export function decodeInitialResponse(token: string, options?: { mechanism?: string | undefined; party?: Party }): Uint8Array {
  if (token === '=') return EMPTY;
  return fromBase64(token, 'initial response', { party: 'client', ...options });
}

/** Decodes the base64 text of a challenge or response line; an empty line is an empty message. */
export function decodeLineData(text: string, what: string, options?: { mechanism?: string | undefined; party?: Party }): Uint8Array {
  if (text === '') return EMPTY;
  return fromBase64(text, what, options);
}

/** Mechanism names from a space-separated list, upper-cased, de-duplicated, invalid names dropped. */
export function mechanismList(words: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const word of words) if (MECHANISM_NAME.test(word)) seen.add(word.toUpperCase());
  return [...seen];
}

/** True when every character is printable ASCII or space. */
export function isPrintableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
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

/** What a server reply reports. Each profile maps a kind to its status line (235, NO, -ERR ...). */
export type ReplyKind =
  | 'success'
  | 'failed'
  | 'unauthorized'
  | 'cancelled'
  | 'malformed'
  | 'syntax'
  | 'unknownMechanism'
  | 'initialNotAllowed'
  | 'tooLong'
  | 'temporary';

/** Human-readable texts of a server profile's replies, by kind; the profile adds the status code. */
export type ReplyTexts = Partial<Readonly<Record<ReplyKind, string>>>;

/** An error together with the reply it calls for; `kind` undefined means no reply (the connection is gone). @internal */
export class ProfileFailure extends Error {
  constructor(
    readonly kind: ReplyKind | undefined,
    readonly error: SaslError,
  ) {
    super(error.message);
  }
}

/** Error context of a profile: the mechanism once known, and who is blamed. @internal */
export type ProfileContext = WaitContext;

/** Reads lines from a source for one exchange, enforcing the line limit. @internal */
export class LineInput implements LineSink {
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
    if (line.length > this.maxLineLength || (line.length * 3 > this.maxLineLength && Buffer.byteLength(line, 'utf8') > this.maxLineLength)) {
      throw new ProfileFailure('tooLong', new LimitExceededError('maxLineLength', `a line is longer than ${this.maxLineLength} octets`, context));
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
    consumer.line(line);
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
    return new ProfileFailure(undefined, new ExchangeAbortedError('the connection failed during authentication', { ...context, cause }));
  }

  #accept(value: unknown, context: ProfileContext): string {
    if (typeof value !== 'string') throw new ProfileFailure(undefined, new UsageError('a line source produced something that is not a string', { mechanism: context.mechanism }));
    const line = value.endsWith('\r') ? value.slice(0, -1) : value;
    this.check(line, context);
    return line;
  }
}

/** Who gets the line of a {@link LineInput.poll} that had to wait. @internal */
export interface LineConsumer {
  /** The line, checked. */
  line(line: string): void;
  /** What ended the wait instead: a {@link ProfileFailure}, or the signal's {@link TimeoutError} or {@link ExchangeAbortedError}. */
  failed(error: unknown): void;
}

function closedFailure(context: ProfileContext): ProfileFailure {
  return new ProfileFailure(undefined, new ExchangeAbortedError('the connection closed during authentication', context));
}

/**
 * Sends lines in order. Returns a promise only when the writer returned one (then awaited
 * before the next line), so a writer that does not wait costs no extra turn. @internal
 */
export function writeLines(write: LineWriter, lines: readonly string[]): Promise<void> | undefined {
  for (let i = 0; i < lines.length; i++) {
    const written = write(lines[i] as string);
    if (isPromiseLike(written)) return writeRest(written, write, lines, i + 1);
  }
  return undefined;
}

async function writeRest(pending: PromiseLike<unknown>, write: LineWriter, lines: readonly string[], from: number): Promise<void> {
  await pending;
  for (let i = from; i < lines.length; i++) await write(lines[i] as string);
}

/** A parsed authentication command: the requested mechanism and the raw initial-response token. @internal */
export interface AuthCommand {
  readonly mechanism: string;
  readonly initial: string | undefined;
}

/** Marks a cancelled exchange in {@link ServerDialect.parseResponse}. @internal */
export const CANCEL: unique symbol = Symbol('saslkit.cancel');

/** What a server profile decides; {@link runServerProfile} does the rest. @internal */
export interface ServerDialect {
  /** Whether success can carry additional data (ManageSieve); otherwise it goes out as a final challenge. */
  readonly successCarriesData: boolean;
  /** Parses the command (reading more lines if its grammar has literals); throws {@link ProfileFailure}. */
  parseCommand(command: string, input: LineInput): AuthCommand | Promise<AuthCommand>;
  /** Decodes the initial-response token. */
  decodeInitial(token: string, context: ProfileContext): Uint8Array;
  /** The lines that carry a challenge. */
  challenge(data: Uint8Array): readonly string[];
  /** Parses one client response from its first line (reading more lines if its grammar has literals): its data, or {@link CANCEL}. */
  parseResponse(line: string, input: LineInput, context: ProfileContext): Uint8Array | typeof CANCEL | Promise<Uint8Array | typeof CANCEL>;
  /** The reply lines for an outcome. */
  reply(kind: ReplyKind, outcome: Authenticated | undefined): readonly string[];
}

/**
 * The server side of the profiles whose challenges are `<prefix> <base64>` lines and whose
 * responses are bare base64 lines, `*` cancelling (SMTP, POP3, IMAP). They differ in their
 * command grammar, the challenge prefix and their replies. @internal
 */
export abstract class Base64LineServerDialect implements ServerDialect {
  readonly successCarriesData = false;

  /** `challengePrefix`: what goes before the base64 challenge, `334` (SMTP) or `+` (POP3, IMAP). */
  constructor(private readonly challengePrefix: string) {}

  abstract parseCommand(command: string, input: LineInput): AuthCommand | Promise<AuthCommand>;

  abstract reply(kind: ReplyKind, outcome: Authenticated | undefined): readonly string[];

  decodeInitial(token: string, context: ProfileContext): Uint8Array {
    return decodeOrFail(() => decodeInitialResponse(token, context));
  }

  challenge(data: Uint8Array): string[] {
    return [`${this.challengePrefix} ${encodeLineData(data)}`];
  }

  parseResponse(line: string, _input: LineInput, context: ProfileContext): Uint8Array | typeof CANCEL {
    if (line === CANCEL_LINE) return CANCEL;
    return decodeOrFail(() => decodeLineData(line, 'client response', context));
  }
}

/** Arguments every server profile takes. */
export interface LineServerAuthOptions {
  /** The authentication command line as received, without CRLF (`AUTH PLAIN dGVzdA...`, `A1 AUTHENTICATE PLAIN`). */
  readonly command: string;
  /** The mechanisms the server offers; the command's mechanism is looked up here by name. */
  readonly auth: SASLAuth;
  /** Store, policy and validators for the server mechanisms. */
  readonly options?: ServerOptions;
  /** The client's next lines: responses to challenges. */
  readonly lines: LineSource;
  /** Sends a line to the client (the writer adds CRLF). */
  readonly write: LineWriter;
  /** Line, message and round limits. */
  readonly limits?: LineLimits;
  /** Replaces the human-readable text of replies, by kind. */
  readonly replies?: ReplyTexts;
}

/** Maps an error from a mechanism or store to the reply kind it calls for. */
function classify(thrown: unknown): { kind: ReplyKind | undefined; error: unknown } {
  if (thrown instanceof ProfileFailure) return { kind: thrown.kind, error: thrown.error };
  // A store or callback that threw is the server's own trouble: the client may try again later.
  if (!isSaslError(thrown)) return { kind: 'temporary', error: thrown };
  // MECHANISM_UNAVAILABLE here is a stored identity the mechanism cannot use (CRAM-MD5 and a
  // hashed password); it must not reveal that the account exists, so it looks like any failure.
  switch (thrown.code) {
    case 'AUTHENTICATION_FAILED':
    case 'SERVER_NOT_VERIFIED':
    case 'MECHANISM_UNAVAILABLE':
      return { kind: 'failed', error: thrown };
    case 'AUTHORIZATION_FAILED':
      return { kind: 'unauthorized', error: thrown };
    case 'ABORTED':
      return { kind: 'cancelled', error: thrown };
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
      return { kind: 'malformed', error: thrown };
    case 'LIMIT_EXCEEDED': {
      const limit = 'limit' in thrown ? thrown.limit : undefined;
      if (limit === 'maxLineLength' || limit === 'maxMessageBytes') return { kind: 'tooLong', error: thrown };
      // An over-long user name or password is not a protocol error; it is wrong credentials.
      if (limit === 'maxFieldBytes') return { kind: 'failed', error: thrown };
      return { kind: 'malformed', error: thrown };
    }
    default:
      // USAGE (a missing store, an async store under a sync path) and TIMEOUT are server trouble.
      return { kind: 'temporary', error: thrown };
  }
}

/**
 * Runs the server side of one exchange: parses the command, looks the mechanism up, relays
 * challenges and responses, sends server-final data as a last challenge where success cannot
 * carry it, and writes the success reply before resolving. On failure it writes the reply that
 * fits (unless the connection is gone) and rejects with the typed error, or with the error a
 * credential store threw. `service` is the protocol's service name for the mechanisms (see
 * {@link serverOptionsFor}). @internal
 */
export function runServerProfile(dialect: ServerDialect, args: LineServerAuthOptions, defaultMaxLineLength: number, service?: string): Promise<Authenticated> {
  return new Promise((resolve, reject) => {
    void new ServerRun(dialect, args, defaultMaxLineLength, resolve, reject, service).drive(undefined);
  });
}

const CLIENT_CONTEXT: ProfileContext = Object.freeze({ party: 'client' });
const NO_LIMITS: LineLimits = Object.freeze({});
// One frozen context per registered mechanism name, shared by every exchange of it.
const MECHANISM_CONTEXTS = new Map<string, ProfileContext>();

function clientContext(mechanism: string): ProfileContext {
  let context = MECHANISM_CONTEXTS.get(mechanism);
  if (context === undefined) {
    context = Object.freeze({ mechanism, party: 'client' as const });
    MECHANISM_CONTEXTS.set(mechanism, context);
  }
  return context;
}

/**
 * One server exchange of {@link runServerProfile}. It runs in stretches, from a client line to
 * the point where it needs the next one: while it waits, it is only this object, registered
 * with the line source (no suspended async function, no promise), which is what a connection
 * parked mid-exchange costs.
 */
class ServerRun implements LineConsumer {
  readonly #dialect: ServerDialect;
  readonly #args: LineServerAuthOptions;
  readonly #input: LineInput;
  readonly #resolve: (outcome: Authenticated) => void;
  readonly #reject: (error: unknown) => void;
  // The protocol's service name (DIGEST-MD5 digest-uri), used when the options name none.
  readonly #service: string | undefined;
  #context: ProfileContext = CLIENT_CONTEXT;
  #session: PromiseServerSession | undefined;
  // Set once server-final data went out as a challenge: the next line acknowledges it.
  #final: Authenticated | undefined;

  constructor(dialect: ServerDialect, args: LineServerAuthOptions, defaultMaxLineLength: number, resolve: (outcome: Authenticated) => void, reject: (error: unknown) => void, service: string | undefined) {
    const limits = args.limits ?? NO_LIMITS;
    this.#dialect = dialect;
    this.#service = service;
    this.#args = args;
    this.#input = new LineInput(args.lines, limits.maxLineLength ?? defaultMaxLineLength, limits.signal);
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** {@link LineConsumer}: the line the exchange waited for. */
  line(line: string): void {
    void this.drive(line);
  }

  /** {@link LineConsumer}: the source ended, failed or timed out instead. */
  failed(error: unknown): void {
    void this.#fail(error);
  }

  /** Runs from the command (`line` undefined) or from the client's next line until the exchange needs another line, or ends. Never rejects. */
  async drive(line: string | undefined): Promise<void> {
    try {
      let step = line === undefined ? await this.#start() : await this.#answer(line);
      for (;;) {
        const dialect = this.#dialect;
        let written: Promise<void> | undefined;
        if (!step.done) {
          written = writeLines(this.#args.write, dialect.challenge(step.challenge));
        } else {
          const outcome = step.outcome;
          const extra = outcome.additionalData;
          if (this.#final === undefined && extra !== undefined && extra.length > 0 && !dialect.successCarriesData) {
            // RFC 4422 section 5 (point 7): without a success-data field the data is a challenge
            // and the client acknowledges it with an empty response.
            this.#final = outcome;
            written = writeLines(this.#args.write, dialect.challenge(extra));
          } else {
            written = writeLines(this.#args.write, dialect.reply('success', outcome));
            if (written !== undefined) await written;
            this.#resolve(outcome);
            return;
          }
        }
        if (written !== undefined) await written;
        const next = this.#input.poll(this, this.#context);
        if (next === undefined) return;
        step = await this.#answer(next);
      }
    } catch (thrown) {
      await this.#fail(thrown);
    }
  }

  async #start(): Promise<ServerStep> {
    const args = this.#args;
    const dialect = this.#dialect;
    this.#input.check(args.command, this.#context);
    const parsed = dialect.parseCommand(args.command, this.#input);
    const command = parsed instanceof Promise ? await parsed : parsed;
    const mechanism = args.auth.getServer(command.mechanism);
    if (!mechanism) throw new ProfileFailure('unknownMechanism', new MechanismUnavailableError('the client asked for a mechanism the server does not offer', this.#context));
    const context = clientContext(mechanism.name);
    this.#context = context;
    let initial: Uint8Array | undefined;
    if (command.initial !== undefined) initial = dialect.decodeInitial(command.initial, context);
    const session = new PromiseServerSession(mechanism.server(serverOptionsFor(args.options, this.#service), initial), { ...(args.limits ?? NO_LIMITS), mechanism: mechanism.name, initialResponse: initial });
    this.#session = session;
    try {
      return await session.start();
    } catch (error) {
      // Whether a server-first mechanism takes an initial response is the mechanism's call
      // (LOGIN takes the user name; CRAM-MD5 refuses); a refusal gets the protocol's own reply.
      if (initial !== undefined && !mechanism.clientFirst && isSaslError(error) && error.code === 'UNEXPECTED_MESSAGE') throw new ProfileFailure('initialNotAllowed', error);
      throw error;
    }
  }

  // A client line: a response for the mechanism, or the acknowledgement of server-final data.
  async #answer(line: string): Promise<ServerStep> {
    const context = this.#context;
    const parsed = this.#dialect.parseResponse(line, this.#input, context);
    const response = parsed instanceof Promise ? await parsed : parsed;
    const final = this.#final;
    if (final !== undefined) {
      if (response === CANCEL) throw new ProfileFailure('cancelled', new ExchangeAbortedError(undefined, context));
      if (response.length > 0) throw new ProfileFailure('malformed', new UnexpectedMessageError('expected an empty response to the server-final data', context));
      return { done: true, outcome: final };
    }
    const session = this.#session as PromiseServerSession;
    if (response === CANCEL) throw new ProfileFailure('cancelled', session.abort('client'));
    return session.respond(response);
  }

  // Writes the reply the failure calls for (unless the connection is gone) and rejects. Never rejects itself.
  async #fail(thrown: unknown): Promise<void> {
    const session = this.#session;
    if (session !== undefined && !session.finished) session.abort('local');
    const { kind, error } = classify(thrown);
    if (kind !== undefined && !this.#input.closed) {
      try {
        const written = writeLines(this.#args.write, this.#dialect.reply(kind, undefined));
        if (written !== undefined) await written;
      } catch {
        // The connection is gone; the exchange's own error is what the host needs.
      }
    }
    this.#reject(error);
  }
}

/** A server reply as the client profile sees it. @internal */
export type ClientReply =
  | { readonly kind: 'challenge'; readonly data: string }
  | { readonly kind: 'success'; readonly data: Uint8Array | undefined; readonly text: string }
  | { readonly kind: 'failure'; readonly error: SaslError };

/** What a client profile decides; {@link runClientProfile} does the rest. @internal */
export interface ClientDialect {
  /** Whether the server accepts an initial response with the command (SASL-IR in IMAP). */
  readonly initialResponseAllowed: boolean;
  /** The command lines; undefined when the initial response would make the command too long. */
  command(mechanism: string, initial: Uint8Array | undefined): readonly string[] | undefined;
  /** The lines that carry a response. */
  response(data: Uint8Array): readonly string[];
  /** The lines that cancel the exchange. */
  cancel(): readonly string[];
  /** Reads the server's next reply. */
  readReply(input: LineInput, context: ProfileContext): Promise<ClientReply>;
}

/**
 * The client side of the profiles that send the initial response as the command's last
 * argument and responses as bare base64 lines, `*` cancelling (SMTP, POP3, IMAP). They differ
 * in the command's words and in how replies read. @internal
 */
export abstract class Base64LineClientDialect implements ClientDialect {
  abstract readonly initialResponseAllowed: boolean;

  /** `maxCommandLength`: the longest command sent with an initial response, CRLF included. */
  constructor(private readonly maxCommandLength: number) {}

  /** The command without an initial response: `AUTH PLAIN`, `A1 AUTHENTICATE PLAIN`. */
  protected abstract commandWords(mechanism: string): string;

  abstract readReply(input: LineInput, context: ProfileContext): Promise<ClientReply>;

  command(mechanism: string, initial: Uint8Array | undefined): string[] | undefined {
    const words = this.commandWords(mechanism);
    if (initial === undefined) return [words];
    const line = `${words} ${encodeInitialResponse(initial)}`;
    return line.length + 2 > this.maxCommandLength ? undefined : [line];
  }

  response(data: Uint8Array): string[] {
    return [encodeLineData(data)];
  }

  cancel(): string[] {
    return [CANCEL_LINE];
  }
}

/** A `+ <base64>` continuation (POP3, IMAP; a bare `+` is an empty one) as a challenge, else undefined. @internal */
export function continuationChallenge(line: string): ClientReply | undefined {
  if (line === '+') return { kind: 'challenge', data: '' };
  if (line.startsWith('+ ')) return { kind: 'challenge', data: line.slice(2) };
  return undefined;
}

/** Arguments every client profile takes. */
export interface LineClientAuthOptions {
  /** Who to authenticate as. */
  readonly credentials: ClientCredentials;
  /** The mechanism to use, by name or as an object. Default: the strongest one the server offers. */
  readonly mechanism?: string | ClientMechanism;
  /** The client mechanisms to choose from and to look names up in. Default {@link SASLAuth.all}. */
  readonly auth?: SASLAuth;
  /**
   * How to choose among the offered mechanisms: preference, and `encrypted: false` on a
   * connection without TLS (then PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 are not chosen unless
   * `allowPlaintext`). The credentials' kind (password or token) is considered, and -PLUS is
   * chosen when `client` carries channel-binding data, unless this says otherwise.
   */
  readonly choose?: ChooseOptions;
  /** Options for the client mechanism (host name, service, channel binding ...). */
  readonly client?: ClientOptions;
  /** The server's lines after the command is sent. */
  readonly lines: LineSource;
  /** Sends a line to the server (the writer adds CRLF). */
  readonly write: LineWriter;
  /** Line, message and round limits. */
  readonly limits?: LineLimits;
  /** Set to false to never send an initial response with the command. Default true (where the server allows it). */
  readonly initialResponse?: boolean;
}

/** The result of a client exchange the server accepted. */
export interface LineClientResult {
  /** The mechanism used. */
  readonly mechanism: string;
  /** True when the server proved that it knows the credentials too (SCRAM, DIGEST-MD5). */
  readonly serverVerified: boolean;
  /** How many times the client sent and waited for the server: the command, then each response. */
  readonly roundTrips: number;
  /** The text of the server's success reply. */
  readonly text: string;
}

/**
 * Picks the client mechanism (the one named, or the strongest offered that suits the
 * credentials and the transport) and the options to run it with, through
 * {@link SASLAuth.negotiateClient}: the GS2 channel-binding flag follows RFC 5802 section 6. @internal
 */
export function pickClientMechanism(args: LineClientAuthOptions, offered: Iterable<string> | undefined, protocol: string): ClientChoice {
  const registry = args.auth ?? SASLAuth.all();
  if (args.mechanism === undefined && offered === undefined) throw new UsageError(`${protocol}: pass the mechanism to use, or what the server offers`);
  return registry.negotiateClient(offered, { mechanism: args.mechanism, credentials: args.credentials, choose: args.choose, client: args.client, peer: `the ${protocol} server` });
}

/**
 * Runs the client side of one exchange: sends the command (with the initial response when it
 * fits and the server allows it, otherwise after the server's empty challenge), answers
 * challenges, and resolves once the server reported success and the mechanism accepted it. A
 * failure reply rejects with the error the dialect built from it (the mechanism may refine it).
 * When the client mechanism cannot answer a challenge, the client cancels, consumes the
 * server's reply to that, and rejects with its own error. @internal
 */
export async function runClientProfile(dialect: ClientDialect, args: LineClientAuthOptions, pick: () => ClientChoice, defaultMaxLineLength: number): Promise<LineClientResult> {
  const { mechanism, client } = pick();
  const limits = args.limits ?? {};
  const input = new LineInput(args.lines, limits.maxLineLength ?? defaultMaxLineLength, limits.signal);
  const context: ProfileContext = { mechanism: mechanism.name, party: 'server' };
  const session = new PromiseClientSession(mechanism.client(args.credentials, client), { ...limits, mechanism: mechanism.name });
  let roundTrips = 0;
  const send = async (lines: readonly string[]): Promise<void> => {
    roundTrips += 1;
    await writeLines(args.write, lines);
  };
  const cancel = async (): Promise<void> => {
    try {
      await send(dialect.cancel());
      // Servers answer a cancellation with BAD, NO, 501 or -ERR; any answer puts the connection back in step.
      await dialect.readReply(input, context);
    } catch {
      // The exchange already failed; how the server takes the cancellation does not change that.
    }
  };
  try {
    const initial = await session.start(dialect.initialResponseAllowed && args.initialResponse !== false);
    let pending: Uint8Array | undefined;
    let command = dialect.command(mechanism.name, initial);
    if (command === undefined) {
      // RFC 4954 section 4: an initial response that does not fit waits for the empty challenge.
      pending = initial;
      command = dialect.command(mechanism.name, undefined) ?? [];
    }
    await send(command);
    for (;;) {
      const reply = await dialect.readReply(input, context);
      if (reply.kind === 'challenge') {
        let response: Uint8Array;
        try {
          const data = decodeLineData(reply.data, 'server challenge', context);
          if (pending !== undefined) {
            if (data.length > 0) throw new UnexpectedMessageError('expected an empty challenge before the initial response', context);
            response = pending;
            pending = undefined;
          } else {
            response = await session.challenge(data);
          }
        } catch (error) {
          if (!session.finished) session.abort();
          await cancel();
          throw error;
        }
        await send(dialect.response(response));
      } else if (reply.kind === 'success') {
        if (pending !== undefined) throw new UnexpectedMessageError('the server reported success before the client authenticated', context);
        const outcome = await session.success(reply.data);
        return { mechanism: mechanism.name, serverVerified: outcome.serverVerified, roundTrips, text: reply.text };
      } else {
        return await session.failure(reply.error);
      }
    }
  } catch (thrown) {
    if (!session.finished) session.abort();
    throw thrown instanceof ProfileFailure ? thrown.error : thrown;
  }
}

/** Encodes a response line: base64, empty for an empty response. @internal */
export function encodeLineData(data: Uint8Array): string {
  return toBase64(data);
}

/** Wraps a base64 decoding error as a reply-worthy failure. @internal */
export function decodeOrFail(decode: () => Uint8Array): Uint8Array {
  try {
    return decode();
  } catch (error) {
    if (isSaslError(error)) throw new ProfileFailure('malformed', error);
    throw error;
  }
}

/**
 * Parses `VERB SP mechanism [SP initial-response]` (SMTP's AUTH, POP3's AUTH). Trailing spaces
 * are tolerated; anything else off the grammar is a syntax failure. @internal
 */
export function parseAuthCommand(command: string, verb: string): AuthCommand {
  const context = { party: 'client' as const };
  if (!isPrintableAscii(command)) throw syntaxError(`the ${verb} command has characters outside printable ASCII`, context);
  const words = command.trimEnd().split(' ');
  if (words.length < 2 || words.length > 3 || (words[0] ?? '').toUpperCase() !== verb) throw syntaxError(`expected ${verb} mechanism [initial-response]`, context);
  const mechanism = words[1] ?? '';
  if (!MECHANISM_NAME.test(mechanism)) throw syntaxError(`the ${verb} command names no valid mechanism`, context);
  const initial = words[2];
  if (initial === '') throw syntaxError(`the ${verb} command has an empty initial-response argument`, context);
  return { mechanism, initial };
}

/** Throws a syntax failure. @internal */
export function syntaxError(message: string, context: ProfileContext): ProfileFailure {
  return new ProfileFailure('syntax', new MalformedMessageError(message, context));
}
