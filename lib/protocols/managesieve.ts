/**
 * The ManageSieve AUTHENTICATE profile (RFC 5804 section 2.1): `AUTHENTICATE "MECH"
 * ["initial-response"]`, where every argument, challenge and response is a string (quoted, or
 * a literal `{n+}` / `{n}` followed by its octets) holding base64; `""` is an empty message,
 * `"*"` cancels, and the server may return final data as `OK (SASL "base64")`.
 * @module
 */
import {
  AuthenticationFailedError,
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import {
  type AuthCommand,
  CANCEL,
  type ClientDialect,
  type ClientReply,
  type LineClientAuthOptions,
  type LineClientResult,
  type LineInput,
  type LineServerAuthOptions,
  MECHANISM_NAME,
  type ProfileContext,
  ProfileFailure,
  type ReplyKind,
  type ServerDialect,
  decodeLineData,
  decodeOrFail,
  describePeerText,
  encodeLineData,
  isPrintableAscii,
  mechanismList,
  pickClientMechanism,
  runClientProfile,
  runServerProfile,
  syntaxError,
} from './lines.js';

/** Default `maxLineLength` of both ManageSieve profiles, and the largest literal accepted. */
export const MANAGESIEVE_MAX_AUTH_LINE = 12288;
/** RFC 5804's limit on a quoted string's content; longer strings are sent as literals. */
export const MANAGESIEVE_MAX_QUOTED = 1024;

/** Quotes a string for ManageSieve (`"` and `\` escaped). */
export function quoteSieveString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A string value as lines: quoted when short, otherwise a literal (`{n+}` from a client, `{n}` from a server) and its data. */
function stringLines(value: string, prefix: string, suffix: string, from: 'client' | 'server'): string[] {
  if (value.length <= MANAGESIEVE_MAX_QUOTED) return [`${prefix}${quoteSieveString(value)}${suffix}`];
  return [`${prefix}{${value.length}${from === 'client' ? '+' : ''}}`, `${value}${suffix}`];
}

/** Reads ManageSieve tokens from a line, pulling further lines for literals. */
class SieveTokens {
  #line: string;
  #pos = 0;
  constructor(
    line: string,
    private readonly input: LineInput | undefined,
    private readonly context: ProfileContext,
  ) {
    this.#line = line;
    this.#checkLine(line);
  }

  #checkLine(line: string): void {
    // Mechanism names, base64 and the texts saslkit reads are all ASCII; anything else is not an AUTHENTICATE line.
    if (!isPrintableAscii(line)) throw this.#error('a ManageSieve line has characters outside printable ASCII');
  }

  #error(message: string): ProfileFailure {
    return syntaxError(message, this.context);
  }

  get atEnd(): boolean {
    return this.#pos >= this.#line.length;
  }

  /** The next character, without consuming it ('' at the end). */
  peek(): string {
    return this.#line.charAt(this.#pos);
  }

  /** Consumes one space; false at the end of the line. */
  space(): boolean {
    if (this.atEnd) return false;
    if (this.#line[this.#pos] !== ' ') throw this.#error('expected a space between ManageSieve tokens');
    this.#pos += 1;
    return true;
  }

  /** Consumes a literal character. */
  expect(char: string): void {
    if (this.#line[this.#pos] !== char) throw this.#error(`expected ${char} in a ManageSieve response`);
    this.#pos += 1;
  }

  /** An atom: letters, digits and `-` (status words and response codes). */
  atom(): string {
    const match = /^[A-Za-z0-9-/]+/.exec(this.#line.slice(this.#pos));
    if (!match) throw this.#error('expected an atom');
    this.#pos += match[0].length;
    return match[0];
  }

  /** A quoted string or a literal. */
  async string(): Promise<string> {
    const rest = this.#line.slice(this.#pos);
    if (rest.startsWith('"')) return this.#quoted();
    const literal = /^\{([0-9]{1,9})\+?\}$/.exec(rest);
    if (!literal) throw this.#error('expected a ManageSieve string');
    const size = Number(literal[1]);
    const input = this.input;
    if (input === undefined) throw this.#error('a literal cannot be read here');
    if (size > input.maxLineLength)
      throw new ProfileFailure(
        'tooLong',
        new LimitExceededError(
          'maxLineLength',
          `a ManageSieve literal is larger than ${input.maxLineLength} octets`,
          this.context,
        ),
      );
    let remaining = size;
    let data = '';
    for (;;) {
      const next = await input.read(this.context);
      this.#checkLine(next);
      if (next.length >= remaining) {
        data += next.slice(0, remaining);
        this.#line = next;
        this.#pos = remaining;
        return data;
      }
      data += next;
      remaining -= next.length;
      if (remaining < 2) throw this.#error('a ManageSieve literal ends inside a line break');
      data += '\r\n';
      remaining -= 2;
    }
  }

  #quoted(): string {
    let value = '';
    for (let i = this.#pos + 1; i < this.#line.length; i++) {
      const c = this.#line.charAt(i);
      if (c === '"') {
        this.#pos = i + 1;
        return value;
      }
      if (c === '\\') {
        const escaped = this.#line.charAt(i + 1);
        if (escaped !== '"' && escaped !== '\\') throw this.#error('a ManageSieve quoted string has an invalid escape');
        value += escaped;
        i += 1;
      } else {
        value += c;
      }
    }
    throw this.#error('a ManageSieve quoted string is not terminated');
  }

  /** Requires the end of the line. */
  end(): void {
    if (!this.atEnd) throw this.#error('unexpected data after a ManageSieve string');
  }
}

/** Parses one line of a capability listing synchronously; undefined for lines that are not `"NAME" ["value"]`. */
function capabilityLine(line: string): [string, string | undefined] | undefined {
  const match = /^"((?:[^"\\]|\\["\\])*)"(?: "((?:[^"\\]|\\["\\])*)")?\s*$/.exec(line);
  if (!match) return undefined;
  const unescape = (text: string): string => text.replace(/\\(["\\])/g, '$1');
  return [unescape(match[1] ?? ''), match[2] === undefined ? undefined : unescape(match[2])];
}

/** What a ManageSieve capability listing says. */
export interface ManageSieveCapabilities {
  /** Every capability (upper case) with its value, if any. */
  readonly capabilities: ReadonlyMap<string, string | undefined>;
  /** The mechanisms of the `"SASL"` capability, upper case. */
  readonly mechanisms: readonly string[];
}

/**
 * Parses a capability listing (the greeting, or the reply to CAPABILITY): lines such as
 * `"SASL" "PLAIN SCRAM-SHA-256"`. The closing `OK` line and lines that are not capabilities
 * are skipped. Capability names are compared in any case.
 */
export function parseManageSieveCapabilities(lines: readonly string[]): ManageSieveCapabilities {
  const capabilities = new Map<string, string | undefined>();
  for (const line of lines) {
    const parsed = capabilityLine(line);
    if (parsed) capabilities.set(parsed[0].toUpperCase(), parsed[1]);
  }
  return { capabilities, mechanisms: mechanismList((capabilities.get('SASL') ?? '').split(' ')) };
}

/** The capability line that advertises `mechanisms`: `"SASL" "PLAIN LOGIN"`. */
export function manageSieveSaslCapability(mechanisms: Iterable<string>): string {
  return `"SASL" ${quoteSieveString([...mechanisms].join(' '))}`;
}

const REPLIES: Readonly<Record<ReplyKind, readonly [string, string]>> = {
  success: ['OK', 'Authentication successful'],
  failed: ['NO', 'Authentication failed'],
  unauthorized: ['NO', 'Authorization failed'],
  cancelled: ['NO', 'Authentication cancelled'],
  malformed: ['NO', 'Invalid SASL response'],
  syntax: ['NO', 'Syntax: AUTHENTICATE "mechanism" ["initial-response"]'],
  unknownMechanism: ['NO', 'Unsupported authentication mechanism'],
  initialNotAllowed: ['NO', 'Initial response not allowed with this mechanism'],
  tooLong: ['NO', 'Line too long'],
  temporary: ['NO (TRYLATER)', 'Temporary authentication failure'],
};

class SieveServerDialect implements ServerDialect {
  readonly successCarriesData = true;
  constructor(private readonly texts: LineServerAuthOptions['replies']) {}

  async parseCommand(command: string, input: LineInput): Promise<AuthCommand> {
    const context = { party: 'client' as const };
    const tokens = new SieveTokens(command, input, context);
    const verb = /^[A-Za-z]+/.exec(command)?.[0] ?? '';
    if (verb.toUpperCase() !== 'AUTHENTICATE') throw syntaxError('expected AUTHENTICATE', context);
    tokens.atom();
    if (!tokens.space()) throw syntaxError('AUTHENTICATE needs a mechanism', context);
    const mechanism = await tokens.string();
    if (!MECHANISM_NAME.test(mechanism))
      throw syntaxError('the AUTHENTICATE command names no valid mechanism', context);
    let initial: string | undefined;
    if (tokens.space()) initial = await tokens.string();
    tokens.end();
    return { mechanism, initial };
  }

  decodeInitial(token: string, context: ProfileContext): Uint8Array {
    // "" is the empty initial response; "=" is accepted too, as other profiles spell it.
    return decodeOrFail(() => decodeLineData(token === '=' ? '' : token, 'initial response', context));
  }

  challenge(data: Uint8Array): string[] {
    return stringLines(encodeLineData(data), '', '', 'server');
  }

  async parseResponse(line: string, input: LineInput, context: ProfileContext): Promise<Uint8Array | typeof CANCEL> {
    const tokens = new SieveTokens(line, input, context);
    const value = await tokens.string();
    tokens.end();
    if (value === '*') return CANCEL;
    return decodeOrFail(() => decodeLineData(value, 'client response', context));
  }

  reply(kind: ReplyKind, outcome: Authenticated | undefined): string[] {
    const [status, text] = REPLIES[kind];
    const custom = this.texts?.[kind] ?? text;
    const suffix = custom === '' ? '' : ` ${quoteSieveString(custom)}`;
    const extra = outcome?.additionalData;
    if (kind === 'success' && extra !== undefined && extra.length > 0)
      return stringLines(encodeLineData(extra), `${status} (SASL `, `)${suffix}`, 'server');
    return [`${status}${suffix}`];
  }
}

/** Arguments of {@link manageSieveServerAuth}. */
export type ManageSieveServerAuthOptions = LineServerAuthOptions;

/**
 * Runs the server side of one ManageSieve AUTHENTICATE command (`command` is its first line;
 * literals are read from `lines`). Resolves with the verified result after writing `OK`, with
 * server-final data as `OK (SASL "...")`. Every failure is a `NO` (`NO (TRYLATER)` when the
 * store throws) and rejects with the typed error, or with the store's error. Refusing a second
 * AUTHENTICATE after success is the host's job. After LIMIT_EXCEEDED for a literal the client
 * may still be sending the literal's octets (`{n+}` does not wait), so close the connection.
 */
export function manageSieveServerAuth(args: ManageSieveServerAuthOptions): Promise<Authenticated> {
  return runServerProfile(new SieveServerDialect(args.replies), args, MANAGESIEVE_MAX_AUTH_LINE, 'sieve');
}

class SieveClientDialect implements ClientDialect {
  readonly initialResponseAllowed = true;

  command(mechanism: string, initial: Uint8Array | undefined): string[] {
    if (initial === undefined) return [`AUTHENTICATE ${quoteSieveString(mechanism)}`];
    return stringLines(encodeLineData(initial), `AUTHENTICATE ${quoteSieveString(mechanism)} `, '', 'client');
  }

  response(data: Uint8Array): string[] {
    return stringLines(encodeLineData(data), '', '', 'client');
  }

  cancel(): string[] {
    return ['"*"'];
  }

  async readReply(input: LineInput, context: ProfileContext): Promise<ClientReply> {
    const line = await input.read(context);
    const tokens = new SieveTokens(line, input, context);
    if (tokens.peek() === '"' || tokens.peek() === '{') {
      const data = await tokens.string();
      tokens.end();
      return { kind: 'challenge', data };
    }
    const status = tokens.atom().toUpperCase();
    let code: string | undefined;
    let codeData: string | undefined;
    let text = '';
    if (tokens.space()) {
      if (tokens.peek() === '(') {
        tokens.expect('(');
        code = tokens.atom().toUpperCase();
        if (tokens.peek() === ' ') {
          tokens.space();
          codeData = await tokens.string();
        }
        tokens.expect(')');
        if (tokens.space()) text = await tokens.string();
      } else {
        text = await tokens.string();
      }
    }
    tokens.end();
    const summary = describePeerText(`${status}${code === undefined ? '' : ` (${code})`} ${text}`);
    if (status === 'OK') {
      const data =
        code === 'SASL' && codeData !== undefined ? decodeLineData(codeData, 'server-final data', context) : undefined;
      return { kind: 'success', data, text };
    }
    if (status === 'BYE')
      return {
        kind: 'failure',
        error: new ExchangeAbortedError(`the ManageSieve server is closing the connection: ${summary}`, context),
      };
    if (status !== 'NO') throw new MalformedMessageError('the ManageSieve server sent an unknown response', context);
    if (code === 'AUTH-TOO-WEAK' || code === 'ENCRYPT-NEEDED')
      return {
        kind: 'failure',
        error: new MechanismUnavailableError(`the ManageSieve server refused the mechanism: ${summary}`, context),
      };
    return {
      kind: 'failure',
      error: new AuthenticationFailedError(`the ManageSieve server refused authentication: ${summary}`, {
        ...context,
        serverError: code ?? 'NO',
      }),
    };
  }
}

/** Arguments of {@link manageSieveClientAuth}. */
export interface ManageSieveClientAuthOptions extends LineClientAuthOptions {
  /** The mechanisms the server offers: {@link ManageSieveCapabilities.mechanisms}. Needed unless `mechanism` is given. */
  readonly offered?: Iterable<string>;
}

/**
 * Runs the client side of one ManageSieve AUTHENTICATE command. Strings longer than 1024
 * characters go out as `{n+}` literals. Resolves on `OK` once the mechanism accepted the
 * outcome (and its `(SASL ...)` data); rejects on `NO` or `BYE` with a typed error carrying the
 * server's text. When the mechanism refuses the data that came with `OK` (a SCRAM signature
 * that does not verify: SERVER_NOT_VERIFIED), the server already considers the client logged
 * in, so close the connection. Pass `client: { service: 'sieve', host }` for DIGEST-MD5.
 */
export function manageSieveClientAuth(args: ManageSieveClientAuthOptions): Promise<LineClientResult> {
  return runClientProfile(
    new SieveClientDialect(),
    args,
    () => pickClientMechanism(args, args.offered, 'ManageSieve'),
    MANAGESIEVE_MAX_AUTH_LINE,
  );
}
