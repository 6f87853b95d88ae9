/**
 * The line profiles' server framing (SMTP, IMAP, POP3, ManageSieve, IRC): a profile gives a
 * {@link ServerDialect} (how its command, responses, challenges and replies look) and
 * {@link runServerProfile} runs the exchange on the one server loop (server-loop.ts) over a
 * {@link LineInput}.
 * @module
 */
import type { SessionOptions } from '../core/core.js';
import { constantTimeEqual } from '../core/bytes.js';
import { isSaslError } from '../core/errors.js';
import { type Authenticated } from '../core/exchange.js';
import type { ServerMechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { SASLAuth } from '../core/registry.js';
import { type LineSource, type LineWriter } from '../transport/lines.js';
import { serverOptionsFor } from './profile.js';
import { ServerLoop, type Written } from './server-loop.js';
import {
  type AuthCommand,
  CANCEL,
  CANCEL_LINE,
  LineInput,
  type LineLimits,
  ProfileFailure,
  type ProfileContext,
  type ReplyKind,
  type ReplyTexts,
  decodeInitialResponse,
  decodeLineData,
  encodeLineData,
  malformedFailure,
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

  // Each decode in its own try/catch: no closure per message (`npm run bench -- smtp`).
  decodeInitial(token: string, context: ProfileContext): Uint8Array {
    try {
      return decodeInitialResponse(token, context);
    } catch (error) {
      throw malformedFailure(error);
    }
  }

  challenge(data: Uint8Array): readonly string[] {
    return challengeLines(this.challengePrefix, data);
  }

  parseResponse(line: string, _input: LineInput, context: ProfileContext): Uint8Array | typeof CANCEL {
    if (line === CANCEL_LINE) return CANCEL;
    try {
      return decodeLineData(line, 'client response', context);
    } catch (error) {
      throw malformedFailure(error);
    }
  }
}

// Challenges seen before, by prefix and bytes: LOGIN's two prompts (and PLAIN's empty
// challenge) come out as the same lines every time, so encoding them per login only made garbage
// (`npm run bench -- smtp`: about 400 bytes a prompt). Only short challenges, and only the first
// few distinct ones, so that random challenges (CRAM-MD5, SCRAM: longer anyway) neither fill
// memory nor cost more than a length check. Challenges go out in clear, so nothing here is secret.
const CACHED_CHALLENGE_BYTES = 32;
const CACHED_CHALLENGES = 8;
const challengeCache: { prefix: string; data: Uint8Array; lines: readonly string[] }[] = [];

function challengeLines(prefix: string, data: Uint8Array): readonly string[] {
  const short = data.length <= CACHED_CHALLENGE_BYTES;
  if (short) {
    for (const entry of challengeCache)
      if (entry.prefix === prefix && constantTimeEqual(entry.data, data)) return entry.lines;
  }
  const lines = Object.freeze([`${prefix} ${encodeLineData(data)}`]);
  if (short && challengeCache.length < CACHED_CHALLENGES) challengeCache.push({ prefix, data: data.slice(), lines });
  return lines;
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

/** Maps an error from a mechanism or store to the reply kind it calls for (undefined: no reply, the connection is gone). @internal */
export function classify(thrown: unknown): ReplyKind | undefined {
  if (thrown instanceof ProfileFailure) return thrown.kind;
  // A store or callback that threw is the server's own trouble: the client may try again later.
  if (!isSaslError(thrown)) return 'temporary';
  // MECHANISM_UNAVAILABLE here is a stored identity the mechanism cannot use (CRAM-MD5 and a
  // hashed password); it must not reveal that the account exists, so it looks like any failure.
  switch (thrown.code) {
    case 'AUTHENTICATION_FAILED':
    case 'SERVER_NOT_VERIFIED':
    case 'MECHANISM_UNAVAILABLE':
      return 'failed';
    case 'AUTHORIZATION_FAILED':
      return 'unauthorized';
    case 'ABORTED':
      return 'cancelled';
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
      return 'malformed';
    case 'LIMIT_EXCEEDED': {
      const limit = 'limit' in thrown ? thrown.limit : undefined;
      if (limit === 'maxLineLength' || limit === 'maxMessageBytes') return 'tooLong';
      // An over-long user name or password is not a protocol error; it is wrong credentials.
      if (limit === 'maxFieldBytes') return 'failed';
      return 'malformed';
    }
    default:
      // USAGE (a missing store, an async store under a sync path) and TIMEOUT are server trouble.
      return 'temporary';
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
  return new LineServerRun(dialect, args, defaultMaxLineLength, service).start();
}

const NO_LIMITS: LineLimits = Object.freeze({});

/**
 * One server exchange of {@link runServerProfile}: the {@link ServerLoop} over a line dialect.
 * While it waits for a line it is only this object, registered with the line source.
 */
class LineServerRun extends ServerLoop<string, AuthCommand> {
  protected readonly input: LineInput;
  readonly #dialect: ServerDialect;
  readonly #write: LineWriter;
  // The host's arguments until the core runs; after that only `write` is needed, and a parked
  // exchange does not keep the rest alive (`npm run bench -- memory`).
  #args: LineServerAuthOptions | undefined;
  // The protocol's service name (DIGEST-MD5 digest-uri), used when the options name none.
  readonly #service: string | undefined;

  constructor(dialect: ServerDialect, args: LineServerAuthOptions, defaultMaxLineLength: number, service?: string) {
    super();
    const limits = args.limits ?? NO_LIMITS;
    this.#dialect = dialect;
    this.#write = args.write;
    this.#args = args;
    this.#service = service;
    this.input = new LineInput(args.lines, limits.maxLineLength ?? defaultMaxLineLength, limits.signal);
  }

  start(): Promise<Authenticated> {
    return this.run(this.#opening.command);
  }

  // The arguments, read only while the exchange starts (the loop calls select, serverOptions and
  // limits before `started`).
  get #opening(): LineServerAuthOptions {
    return this.#args as LineServerAuthOptions;
  }

  protected override started(): void {
    this.#args = undefined;
  }

  protected get successCarriesData(): boolean {
    return this.#dialect.successCarriesData;
  }

  protected open(command: string): AuthCommand | Promise<AuthCommand> {
    this.input.check(command, this.context);
    return this.#dialect.parseCommand(command, this.input);
  }

  protected select(command: AuthCommand): ServerMechanism | undefined {
    return this.#opening.auth.getServer(command.mechanism);
  }

  protected initial(command: AuthCommand): Uint8Array | undefined {
    return command.initial === undefined ? undefined : this.#dialect.decodeInitial(command.initial, this.context);
  }

  protected serverOptions(): ServerOptions {
    return serverOptionsFor(this.#opening.options, this.#service);
  }

  protected limits(): SessionOptions {
    return this.#opening.limits ?? NO_LIMITS;
  }

  protected challenge(data: Uint8Array): Written {
    return writeLines(this.#write, this.#dialect.challenge(data));
  }

  protected response(line: string): Uint8Array | typeof CANCEL | Promise<Uint8Array | typeof CANCEL> {
    return this.#dialect.parseResponse(line, this.input, this.context);
  }

  protected success(outcome: Authenticated): Authenticated | Promise<Authenticated> {
    const written = writeLines(this.#write, this.#dialect.reply('success', outcome));
    return written === undefined ? outcome : written.then(() => outcome);
  }

  protected failure(thrown: unknown): Written {
    const kind = classify(thrown);
    if (kind === undefined || this.input.closed) return undefined;
    return writeLines(this.#write, this.#dialect.reply(kind, undefined));
  }
}
