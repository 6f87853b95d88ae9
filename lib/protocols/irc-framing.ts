/**
 * IRC framing for SASL (IRCv3 `sasl` 3.1 and 3.2): the IRC message grammar with the IRCv3
 * message-tags limits, the `AUTHENTICATE` payload cut into 400-byte base64 chunks (an exact
 * multiple of 400 followed by `AUTHENTICATE +`, an empty payload as `+`, `*` aborting), and the
 * SASL numerics 900 to 908 with the saslkit errors they stand for. The client (irc-client.ts)
 * and the server (irc-server.ts) share it.
 * @module
 */
import { toBase64, utf8Length } from '../core/bytes.js';
import {
  AuthenticationFailedError,
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
  type Party,
  type SaslError,
  UnexpectedMessageError,
} from '../core/errors.js';
import { describePeerText, mechanismList } from './line-input.js';

/** Longest base64 chunk of one `AUTHENTICATE` message (IRCv3 sasl-3.1). */
export const IRC_AUTHENTICATE_CHUNK = 400;
/** Longest IRC message without its tags, CRLF included (RFC 1459 section 2.3, IRCv3 message-tags). */
export const IRC_MAX_MESSAGE_BYTES = 512;
/** Longest tags section, the leading `@` and the space after it included (IRCv3 message-tags, for a message from a server). */
export const IRC_MAX_TAG_BYTES = 8191;
/** Longest line accepted by default, without CRLF: the tags plus the rest of a message. */
export const IRC_MAX_LINE = IRC_MAX_TAG_BYTES + IRC_MAX_MESSAGE_BYTES - 2;
/** Most parameters of one IRC message (RFC 2812 section 2.3.1: 14 middle ones and a trailing one). */
export const IRC_MAX_PARAMS = 15;

/** The SASL numerics of IRCv3 sasl-3.1 and -3.2. */
export const IRC_NUMERICS = Object.freeze({
  RPL_LOGGEDIN: '900',
  RPL_LOGGEDOUT: '901',
  ERR_NICKLOCKED: '902',
  RPL_SASLSUCCESS: '903',
  ERR_SASLFAIL: '904',
  ERR_SASLTOOLONG: '905',
  ERR_SASLABORTED: '906',
  ERR_SASLALREADY: '907',
  RPL_SASLMECHS: '908',
} as const);

/** One IRC message: `[@tags] [:source] COMMAND params...`. */
export interface IrcMessage {
  /** The IRCv3 tags, unescaped; a tag without a value maps to `''`. */
  readonly tags: ReadonlyMap<string, string>;
  /** The prefix (server name or `nick!user@host`) without its colon, if any. */
  readonly source: string | undefined;
  /** The command, upper-cased, or the three-digit numeric. */
  readonly command: string;
  /** The parameters, the trailing one last (without its colon). */
  readonly params: readonly string[];
}

/** Options of {@link parseIrcMessage}. */
export interface IrcParseOptions {
  /** Who sent the line, for the errors' blame. Default `server`. */
  readonly party?: Party;
  /** Longest tags section accepted, in octets with `@` and the space. Default {@link IRC_MAX_TAG_BYTES}. */
  readonly maxTagBytes?: number;
  /** Longest message without tags accepted, in octets with CRLF. Default {@link IRC_MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** The mechanism of the exchange, for the errors. */
  readonly mechanism?: string | undefined;
}

const NO_TAGS: ReadonlyMap<string, string> = new Map();
const TAG_KEY = /^\+?(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\/)?[A-Za-z0-9-]+$/;
const COMMAND = /^(?:[A-Za-z]+|[0-9]{3})$/;
const TAG_ESCAPES: Readonly<Record<string, string>> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

/**
 * Parses one IRC message (a line without CRLF) per RFC 1459 section 2.3.1 with IRCv3
 * message-tags: rejects NUL, CR and LF, a tags section or a message body over the limits, a
 * missing or invalid command, bad tag keys and more than {@link IRC_MAX_PARAMS} parameters, with
 * {@link MalformedMessageError} or {@link LimitExceededError} (`maxLineLength`).
 */
export function parseIrcMessage(line: string, options: IrcParseOptions = {}): IrcMessage {
  const context = { party: options.party ?? 'server', mechanism: options.mechanism };
  const malformed = (what: string): MalformedMessageError =>
    new MalformedMessageError(`malformed IRC message: ${what}`, context);
  if (/[\0\r\n]/.test(line)) throw malformed('it contains NUL, CR or LF');
  let at = 0;
  let tags = NO_TAGS;
  if (line.startsWith('@')) {
    const end = line.indexOf(' ');
    if (end === -1) throw malformed('tags without a command');
    const section = line.slice(1, end);
    if (utf8Length(section) + 2 > (options.maxTagBytes ?? IRC_MAX_TAG_BYTES))
      throw new LimitExceededError('maxLineLength', 'the tags of an IRC message are over the limit', context);
    tags = parseTags(section, malformed);
    at = end + 1;
  }
  while (line.charCodeAt(at) === 0x20) at++;
  const body = line.slice(at);
  if (utf8Length(body) + 2 > (options.maxMessageBytes ?? IRC_MAX_MESSAGE_BYTES))
    throw new LimitExceededError('maxLineLength', 'an IRC message is longer than its limit', context);
  let source: string | undefined;
  let rest = body;
  if (rest.startsWith(':')) {
    const end = rest.indexOf(' ');
    source = end === -1 ? rest.slice(1) : rest.slice(1, end);
    if (end === -1 || source === '') throw malformed('a prefix without a command');
    rest = rest.slice(end + 1).replace(/^ +/, '');
  }
  const space = rest.indexOf(' ');
  const command = space === -1 ? rest : rest.slice(0, space);
  if (!COMMAND.test(command)) throw malformed('no valid command');
  const params: string[] = [];
  let i = space === -1 ? rest.length : space;
  while (i < rest.length) {
    while (rest.charCodeAt(i) === 0x20) i++;
    if (i >= rest.length) break;
    if (rest.charCodeAt(i) === 0x3a || params.length === IRC_MAX_PARAMS - 1) {
      // The trailing parameter: everything after the colon (or, as RFC 2812 allows, the 15th parameter).
      params.push(rest.charCodeAt(i) === 0x3a ? rest.slice(i + 1) : rest.slice(i));
      break;
    }
    const end = rest.indexOf(' ', i);
    params.push(end === -1 ? rest.slice(i) : rest.slice(i, end));
    i = end === -1 ? rest.length : end;
  }
  return { tags, source, command: command.toUpperCase(), params };
}

function parseTags(section: string, malformed: (what: string) => MalformedMessageError): Map<string, string> {
  const tags = new Map<string, string>();
  for (const item of section.split(';')) {
    if (item === '') continue;
    const equals = item.indexOf('=');
    const key = equals === -1 ? item : item.slice(0, equals);
    if (!TAG_KEY.test(key)) throw malformed('an invalid tag key');
    const raw = equals === -1 ? '' : item.slice(equals + 1);
    // IRCv3 message-tags: an unknown escape drops the backslash, a trailing one is dropped.
    tags.set(
      key,
      raw.replace(/\\(.?)/g, (_all, next: string) => TAG_ESCAPES[next] ?? next),
    );
  }
  return tags;
}

/**
 * Formats an IRC message: the command and its parameters, the last one after a colon when it
 * is empty, holds a space or starts with a colon. Every other parameter must be a non-empty
 * word without a leading colon (a programming error otherwise).
 */
export function formatIrcMessage(command: string, params: readonly string[] = [], source?: string): string {
  const parts = source === undefined ? [command] : [`:${source}`, command];
  params.forEach((param, i) => {
    const last = i === params.length - 1;
    if (/[\0\r\n]/.test(param))
      throw new MalformedMessageError('an IRC parameter cannot hold NUL, CR or LF', { party: 'local' });
    if (last && (param === '' || param.includes(' ') || param.startsWith(':'))) parts.push(`:${param}`);
    else if (param === '' || param.includes(' ') || param.startsWith(':'))
      throw new MalformedMessageError('only the last IRC parameter may be empty, hold a space or start with a colon', {
        party: 'local',
      });
    else parts.push(param);
  });
  return parts.join(' ');
}

/**
 * The `AUTHENTICATE` parameters that carry `data`: base64 in chunks of 400, then `+` when the
 * last chunk was exactly 400 long; an empty message is a single `+`.
 */
export function ircAuthenticateChunks(data: Uint8Array): string[] {
  const text = toBase64(data);
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += IRC_AUTHENTICATE_CHUNK) chunks.push(text.slice(i, i + IRC_AUTHENTICATE_CHUNK));
  if (text.length % IRC_AUTHENTICATE_CHUNK === 0) chunks.push('+');
  return chunks;
}

/**
 * Joins the chunks of one SASL message as `AUTHENTICATE` parameters arrive. {@link push} takes
 * one parameter and returns the message's whole base64 text once it is complete (`''` for an
 * empty message), or undefined while more chunks are due. A chunk over 400 or a message whose
 * decoded size would exceed `maxMessageBytes` is a {@link LimitExceededError}; an empty
 * parameter or one with characters outside base64 a {@link MalformedMessageError}. The work is
 * linear in the bytes received.
 */
export class IrcChunkJoiner {
  readonly #chunks: string[] = [];
  #length = 0;
  readonly #maxBase64: number;
  readonly #context: { party: Party; mechanism?: string | undefined };

  /** `maxMessageBytes`: the largest decoded message accepted. */
  constructor(maxMessageBytes: number, context: { party: Party; mechanism?: string | undefined }) {
    this.#maxBase64 = Math.ceil(maxMessageBytes / 3) * 4;
    this.#context = context;
  }

  /** Whether chunks of an unfinished message were received. */
  get pending(): boolean {
    return this.#chunks.length > 0;
  }

  /** Adds one `AUTHENTICATE` parameter; the message's base64 text once complete. */
  push(param: string): string | undefined {
    if (param === '+') return this.#finish();
    if (param.length > IRC_AUTHENTICATE_CHUNK)
      throw new LimitExceededError(
        'maxLineLength',
        `an AUTHENTICATE chunk is longer than ${IRC_AUTHENTICATE_CHUNK} bytes`,
        this.#context,
      );
    if (!/^[A-Za-z0-9+/=]+$/.test(param))
      throw new MalformedMessageError('an AUTHENTICATE chunk is not base64', this.#context);
    this.#length += param.length;
    if (this.#length > this.#maxBase64)
      throw new LimitExceededError('maxMessageBytes', 'a chunked SASL message is over the size limit', this.#context);
    this.#chunks.push(param);
    return param.length === IRC_AUTHENTICATE_CHUNK ? undefined : this.#finish();
  }

  #finish(): string {
    const text = this.#chunks.join('');
    this.#chunks.length = 0;
    this.#length = 0;
    return text;
  }
}

/**
 * The saslkit error a failure numeric stands for, or undefined for a numeric that is not a
 * failure (900, 901, 903, 908, or any other): 902 ERR_NICKLOCKED and 904 ERR_SASLFAIL are
 * {@link AuthenticationFailedError} (`serverError` the numeric; 904 after a 908 list that left
 * the mechanism out is {@link MechanismUnavailableError}), 905 ERR_SASLTOOLONG a
 * {@link LimitExceededError}, 906 ERR_SASLABORTED an {@link ExchangeAbortedError} and 907
 * ERR_SASLALREADY an {@link UnexpectedMessageError}. The server's text is included, cleaned.
 */
export function ircNumericError(
  message: IrcMessage,
  options: { readonly mechanism?: string | undefined; readonly offered?: readonly string[] | undefined } = {},
): SaslError | undefined {
  const context = { party: 'server' as const, mechanism: options.mechanism };
  const text = describePeerText(message.params[message.params.length - 1] ?? '');
  const said = `${message.command} ${text}`;
  switch (message.command) {
    case IRC_NUMERICS.ERR_NICKLOCKED:
      return new AuthenticationFailedError(`the IRC server refused the account (nick locked): ${said}`, {
        ...context,
        serverError: message.command,
      });
    case IRC_NUMERICS.ERR_SASLFAIL:
      if (
        options.offered !== undefined &&
        options.mechanism !== undefined &&
        !options.offered.includes(options.mechanism.toUpperCase())
      ) {
        return new MechanismUnavailableError(`the IRC server does not offer ${options.mechanism}: ${said}`, context);
      }
      return new AuthenticationFailedError(`the IRC server refused authentication: ${said}`, {
        ...context,
        serverError: message.command,
      });
    case IRC_NUMERICS.ERR_SASLTOOLONG:
      return new LimitExceededError(
        'maxLineLength',
        `the IRC server found an AUTHENTICATE message too long: ${said}`,
        context,
      );
    case IRC_NUMERICS.ERR_SASLABORTED:
      return new ExchangeAbortedError(`the IRC server aborted authentication: ${said}`, context);
    case IRC_NUMERICS.ERR_SASLALREADY:
      return new UnexpectedMessageError(`the IRC server says the client is already authenticated: ${said}`, context);
    default:
      return undefined;
  }
}

/** The mechanisms of a `sasl=` capability value or a 908 RPL_SASLMECHS list (comma-separated), upper case. */
export function parseIrcMechanisms(list: string): string[] {
  return mechanismList(list.split(','));
}
