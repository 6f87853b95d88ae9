/**
 * The server loop of the line profiles (SMTP, IMAP, POP3, ManageSieve): a profile gives a
 * {@link ServerDialect} (how its command, responses, challenges and replies look) and
 * {@link runServerProfile} runs the exchange. The loop is a callback state machine rather than
 * an async function so that a connection parked mid-exchange holds no suspended async frame
 * or promise (the bench's memory per parked connection measures it).
 * @module
 */
import type { ServerStep } from '../core/core.js';
import { PromiseServerSession } from '../drivers/promise.js';
import {
  ExchangeAbortedError,
  MechanismUnavailableError,
  UnexpectedMessageError,
  isSaslError,
} from '../core/errors.js';
import { type Authenticated } from '../core/exchange.js';
import type { ServerOptions } from '../core/options.js';
import { SASLAuth } from '../core/registry.js';
import { type LineSource, type LineWriter } from '../transport/lines.js';
import { serverOptionsFor } from './profile.js';
import {
  type AuthCommand,
  CANCEL,
  CANCEL_LINE,
  type LineConsumer,
  LineInput,
  type LineLimits,
  ProfileFailure,
  type ProfileContext,
  type ReplyKind,
  type ReplyTexts,
  decodeInitialResponse,
  decodeLineData,
  decodeOrFail,
  encodeLineData,
  writeLines,
} from './line-input.js';

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
  parseResponse(
    line: string,
    input: LineInput,
    context: ProfileContext,
  ): Uint8Array | typeof CANCEL | Promise<Uint8Array | typeof CANCEL>;
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
export function runServerProfile(
  dialect: ServerDialect,
  args: LineServerAuthOptions,
  defaultMaxLineLength: number,
  service?: string,
): Promise<Authenticated> {
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

  constructor(
    dialect: ServerDialect,
    args: LineServerAuthOptions,
    defaultMaxLineLength: number,
    resolve: (outcome: Authenticated) => void,
    reject: (error: unknown) => void,
    service: string | undefined,
  ) {
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
    if (!mechanism)
      throw new ProfileFailure(
        'unknownMechanism',
        new MechanismUnavailableError('the client asked for a mechanism the server does not offer', this.#context),
      );
    const context = clientContext(mechanism.name);
    this.#context = context;
    let initial: Uint8Array | undefined;
    if (command.initial !== undefined) initial = dialect.decodeInitial(command.initial, context);
    const session = new PromiseServerSession(mechanism.server(serverOptionsFor(args.options, this.#service), initial), {
      ...(args.limits ?? NO_LIMITS),
      mechanism: mechanism.name,
      initialResponse: initial,
    });
    this.#session = session;
    try {
      return await session.start();
    } catch (error) {
      // Whether a server-first mechanism takes an initial response is the mechanism's call
      // (LOGIN takes the user name; CRAM-MD5 refuses); a refusal gets the protocol's own reply.
      if (initial !== undefined && !mechanism.clientFirst && isSaslError(error) && error.code === 'UNEXPECTED_MESSAGE')
        throw new ProfileFailure('initialNotAllowed', error);
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
      if (response.length > 0)
        throw new ProfileFailure(
          'malformed',
          new UnexpectedMessageError('expected an empty response to the server-final data', context),
        );
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
