/**
 * The SMTP AUTH profile (RFC 4954): `AUTH <mechanism> [initial-response]`, `334` challenges in
 * base64, bare base64 response lines, `*` to cancel, and the 235/535/454/504/501/500 replies.
 * A server adds {@link smtpServerAuth} to its own command loop; a client calls
 * {@link smtpClientAuth} after EHLO. Neither owns the socket.
 * @module
 */
import { AuthenticationFailedError, MalformedMessageError, MechanismUnavailableError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import {
  type AuthCommand,
  Base64LineClientDialect,
  Base64LineServerDialect,
  type ClientReply,
  type LineClientAuthOptions,
  type LineClientResult,
  LineInput,
  type LineServerAuthOptions,
  type LineSource,
  type ProfileContext,
  ProfileFailure,
  type ReplyKind,
  describePeerText,
  mechanismList,
  parseAuthCommand,
  pickClientMechanism,
  runClientProfile,
  runServerProfile,
} from './lines.js';

/** RFC 4954's suggested buffer for one challenge or response line, in octets. The server default of `maxLineLength`. */
export const SMTP_MAX_AUTH_LINE = 12288;
/** RFC 5321's command line limit, CRLF included: an AUTH command with its initial response must fit (RFC 4954 section 4). */
export const SMTP_MAX_COMMAND_LINE = 512;

const REPLIES: Readonly<Record<ReplyKind, readonly [number, string]>> = {
  success: [235, '2.7.0 Authentication successful'],
  failed: [535, '5.7.8 Authentication credentials invalid'],
  unauthorized: [535, '5.7.8 Not authorized to use the requested identity'],
  cancelled: [501, '5.7.0 Authentication cancelled'],
  malformed: [501, '5.5.2 Cannot decode the client response'],
  syntax: [501, '5.5.4 Syntax: AUTH mechanism [initial-response]'],
  unknownMechanism: [504, '5.5.4 Unrecognized authentication type'],
  initialNotAllowed: [501, '5.7.0 Client initiation is not allowed with this mechanism'],
  tooLong: [500, '5.5.6 Authentication Exchange line is too long'],
  temporary: [454, '4.7.0 Temporary authentication failure'],
};

/** The codes {@link smtpServerAuth} replies with, by kind (235, 535, 501, 504, 500, 454). */
export const SMTP_REPLY_CODES: Readonly<Record<ReplyKind, number>> = Object.fromEntries(
  Object.entries(REPLIES).map(([kind, [code]]) => [kind, code]),
) as Record<ReplyKind, number>;

/**
 * Formats an SMTP reply: one line per line of `text`, joined as a multi-line reply
 * (`535-...` then `535 ...`).
 */
export function formatSmtpReply(code: number, text: string): string[] {
  const lines = text.split('\n');
  return lines.map((line, i) => `${code}${i === lines.length - 1 ? ' ' : '-'}${line}`);
}

/** An SMTP reply: its code and the text of each line (after `ddd-` or `ddd `). */
export interface SmtpReply {
  /** The three-digit reply code. */
  readonly code: number;
  /** The text of each line, in order. */
  readonly lines: readonly string[];
}

const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/;

async function readReply(input: LineInput, context: ProfileContext): Promise<SmtpReply> {
  const lines: string[] = [];
  let code: string | undefined;
  for (;;) {
    const line = await input.read(context);
    const match = REPLY_LINE.exec(line);
    if (!match) throw new MalformedMessageError('the SMTP server sent a line that is not a reply', context);
    if (code !== undefined && match[1] !== code)
      throw new MalformedMessageError('the SMTP server changed the reply code inside a multi-line reply', context);
    code = match[1];
    lines.push(match[3] ?? '');
    if (match[2] !== '-') return { code: Number(code), lines };
    if (lines.length > 1000)
      throw new MalformedMessageError('the SMTP server sent an endless multi-line reply', context);
  }
}

/**
 * Reads one (possibly multi-line) SMTP reply from `lines`: the greeting, the EHLO reply, ...
 * Rejects with {@link MalformedMessageError} for a line that is not a reply, and with
 * {@link ExchangeAbortedError} when the source ends first. Pass the same iterator every time
 * (for `readline`, `rl[Symbol.asyncIterator]()`).
 */
export async function readSmtpReply(
  lines: LineSource,
  options: { readonly maxLineLength?: number } = {},
): Promise<SmtpReply> {
  try {
    return await readReply(new LineInput(lines, options.maxLineLength ?? SMTP_MAX_AUTH_LINE), { party: 'server' });
  } catch (error) {
    throw error instanceof ProfileFailure ? error.error : error;
  }
}

/** What an EHLO reply says. */
export interface EhloInfo {
  /** The server's domain: the first word of the first line. */
  readonly domain: string;
  /** Every extension keyword (upper case) with its parameters. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  /** The SASL mechanisms of the `AUTH` keyword (and of the obsolete `AUTH=` form), upper case. */
  readonly mechanisms: readonly string[];
}

/**
 * Parses an EHLO reply: an {@link SmtpReply}, its raw lines (`250-smtp.example.com`,
 * `250 AUTH PLAIN`), or just their texts.
 */
export function parseEhlo(reply: SmtpReply | readonly string[]): EhloInfo {
  const texts = 'code' in reply ? reply.lines : reply.map((line) => line.replace(/^[2-5][0-9][0-9](?:[ -]|$)/, ''));
  const keywords = new Map<string, string[]>();
  const auth: string[] = [];
  texts.slice(1).forEach((text) => {
    // Old servers (before RFC 2554 was final) advertise `AUTH=LOGIN PLAIN`.
    const words = text.trim().split(/[ \t]+/);
    const first = words[0] ?? '';
    const equals = /^AUTH=/i.test(first);
    const keyword = (equals ? 'AUTH' : first).toUpperCase();
    if (keyword === '') return;
    const params = equals ? [first.slice(5), ...words.slice(1)] : words.slice(1);
    keywords.set(keyword, [...(keywords.get(keyword) ?? []), ...params]);
    if (keyword === 'AUTH') auth.push(...params);
  });
  const domain = (texts[0] ?? '').trim().split(/[ \t]+/)[0] ?? '';
  return { domain, keywords, mechanisms: mechanismList(auth) };
}

/** The EHLO keyword line that advertises `mechanisms`: `AUTH PLAIN LOGIN` (prefix it with `250-` or `250 `). */
export function smtpAuthKeyword(mechanisms: Iterable<string>): string {
  return ['AUTH', ...mechanisms].join(' ');
}

class SmtpServerDialect extends Base64LineServerDialect {
  constructor(private readonly texts: LineServerAuthOptions['replies']) {
    super('334');
  }

  parseCommand(command: string): AuthCommand {
    return parseAuthCommand(command, 'AUTH');
  }

  reply(kind: ReplyKind): readonly string[] {
    const texts = this.texts;
    if (texts === undefined) return defaultReply(kind);
    const [code, text] = REPLIES[kind];
    return formatSmtpReply(code, texts[kind] ?? text);
  }
}

// The default replies, each formatted once: a success or a refusal costs no formatting (`npm run bench -- smtp`).
const DEFAULT_REPLIES = new Map<ReplyKind, readonly string[]>();

function defaultReply(kind: ReplyKind): readonly string[] {
  let lines = DEFAULT_REPLIES.get(kind);
  if (lines === undefined) {
    const [code, text] = REPLIES[kind];
    lines = Object.freeze(formatSmtpReply(code, text));
    DEFAULT_REPLIES.set(kind, lines);
  }
  return lines;
}

// Stateless: shared by every exchange that keeps the default reply texts.
const DEFAULT_SERVER_DIALECT = new SmtpServerDialect(undefined);

/** Arguments of {@link smtpServerAuth}. */
export type SmtpServerAuthOptions = LineServerAuthOptions;

/**
 * Runs the server side of one SMTP AUTH command. Call it when the command loop reads a line
 * starting with `AUTH `, with that line as `command` and the same line source: it relays the
 * exchange, writes `235 2.7.0 ...` and resolves with the verified result. On failure it
 * writes the matching reply and rejects with the typed error: 504 5.5.4 for an unknown
 * mechanism (MECHANISM_UNAVAILABLE), 501 for syntax errors, bad base64, an initial response to
 * a server-first mechanism and `*` (MALFORMED_MESSAGE, UNEXPECTED_MESSAGE, ABORTED), 500 5.5.6
 * for a line over `limits.maxLineLength` (12288 by default; LIMIT_EXCEEDED), 535 5.7.8 for
 * wrong credentials (AUTHENTICATION_FAILED, AUTHORIZATION_FAILED), and 454 4.7.0 when the
 * credential store throws (rejecting with the store's own error). Server-final data (SCRAM) is
 * sent as a last `334` challenge, answered by an empty line, before 235.
 *
 * Checking that the client is not already authenticated and not inside a mail transaction
 * (reply 503) is the host's job, as is refusing AUTH before TLS where that is the policy.
 */
export function smtpServerAuth(args: SmtpServerAuthOptions): Promise<Authenticated> {
  return runServerProfile(
    args.replies === undefined ? DEFAULT_SERVER_DIALECT : new SmtpServerDialect(args.replies),
    args,
    SMTP_MAX_AUTH_LINE,
    'smtp',
  );
}

class SmtpClientDialect extends Base64LineClientDialect {
  readonly initialResponseAllowed = true;

  protected commandWords(mechanism: string): string {
    return `AUTH ${mechanism}`;
  }

  async readReply(input: LineInput, context: ProfileContext): Promise<ClientReply> {
    const reply = await readReply(input, context);
    const summary = describePeerText(`${reply.code} ${reply.lines.join(' ')}`);
    if (reply.code === 334) return { kind: 'challenge', data: reply.lines[reply.lines.length - 1] ?? '' };
    if (reply.code === 235) return { kind: 'success', data: undefined, text: reply.lines.join('\n') };
    if (reply.code === 504)
      return {
        kind: 'failure',
        error: new MechanismUnavailableError(`the SMTP server refused the mechanism: ${summary}`, context),
      };
    if (reply.code >= 400) {
      return {
        kind: 'failure',
        error: new AuthenticationFailedError(`the SMTP server refused authentication: ${summary}`, {
          ...context,
          serverError: String(reply.code),
        }),
      };
    }
    throw new MalformedMessageError(`the SMTP server sent an unexpected reply to AUTH: ${summary}`, context);
  }
}

/** Arguments of {@link smtpClientAuth}. */
export interface SmtpClientAuthOptions extends LineClientAuthOptions {
  /** The mechanisms the server offers: {@link EhloInfo.mechanisms}. Needed unless `mechanism` is given. */
  readonly offered?: Iterable<string>;
  /** Longest AUTH command sent with its initial response, CRLF included. Default {@link SMTP_MAX_COMMAND_LINE}. */
  readonly maxCommandLength?: number;
}

/**
 * Runs the client side of SMTP AUTH after EHLO. Uses `mechanism`, or the strongest mechanism in
 * `offered` that `auth` has. The initial response goes on the AUTH line unless the line would
 * exceed 512 octets; then it follows the server's empty `334`. Resolves on 235 once the
 * mechanism accepted the outcome (SCRAM checks the server signature). Rejects on 4xx/5xx with
 * {@link AuthenticationFailedError} (`serverError` holds the reply code) or, for 504,
 * {@link MechanismUnavailableError}; both messages include the server's reply code and text,
 * never a credential.
 */
export function smtpClientAuth(args: SmtpClientAuthOptions): Promise<LineClientResult> {
  return runClientProfile(
    new SmtpClientDialect(args.maxCommandLength ?? SMTP_MAX_COMMAND_LINE),
    args,
    () => pickClientMechanism(args, args.offered, 'SMTP'),
    SMTP_MAX_AUTH_LINE,
  );
}
