/**
 * The POP3 AUTH profile (RFC 5034): `AUTH mechanism [initial-response]` within the 255-octet
 * command limit, `+ ` continuations in base64, base64 response lines, `*` to cancel, and
 * `+OK`/`-ERR`. Mechanisms are advertised by the CAPA `SASL` line (RFC 2449).
 * @module
 */
import { AuthenticationFailedError, MalformedMessageError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import {
  type AuthCommand,
  Base64LineClientDialect,
  Base64LineServerDialect,
  type ClientReply,
  type LineClientAuthOptions,
  type LineClientResult,
  type LineInput,
  type LineServerAuthOptions,
  type ProfileContext,
  type ReplyKind,
  continuationChallenge,
  describePeerText,
  mechanismList,
  parseAuthCommand,
  pickClientMechanism,
  runClientProfile,
  runServerProfile,
} from './lines.js';

/** Default `maxLineLength` of both POP3 profiles. RFC 5034 lets responses exceed the command limit; 12288 follows RFC 4954. */
export const POP3_MAX_AUTH_LINE = 12288;
/** RFC 2449 section 4's command limit, CRLF included: the AUTH command with its initial response must fit (RFC 5034 section 4). */
export const POP3_MAX_COMMAND_LINE = 255;

/** What a CAPA reply says. */
export interface Pop3Capabilities {
  /** Every capability (upper case) with its arguments. */
  readonly capabilities: ReadonlyMap<string, readonly string[]>;
  /** The mechanisms of the `SASL` capability, upper case. */
  readonly mechanisms: readonly string[];
}

/**
 * Parses a CAPA reply: its lines, with or without the leading `+OK ...` and the closing `.`.
 */
export function parsePop3Capa(lines: readonly string[]): Pop3Capabilities {
  const capabilities = new Map<string, string[]>();
  lines.forEach((line, i) => {
    if ((i === 0 && /^\+OK\b/i.test(line)) || line === '.') return;
    const [name = '', ...args] = line.trim().split(/[ \t]+/);
    if (name !== '') capabilities.set(name.toUpperCase(), args);
  });
  return { capabilities, mechanisms: mechanismList(capabilities.get('SASL') ?? []) };
}

/** The CAPA line that advertises `mechanisms`: `SASL PLAIN LOGIN`. */
export function pop3SaslCapability(mechanisms: Iterable<string>): string {
  return ['SASL', ...mechanisms].join(' ');
}

const REPLIES: Readonly<Record<ReplyKind, readonly ['+OK' | '-ERR', string]>> = {
  success: ['+OK', 'Authenticated'],
  failed: ['-ERR', '[AUTH] Authentication failed'],
  unauthorized: ['-ERR', '[AUTH] Authorization failed'],
  cancelled: ['-ERR', 'Authentication cancelled'],
  malformed: ['-ERR', 'Invalid SASL response'],
  syntax: ['-ERR', 'Syntax: AUTH mechanism [initial-response]'],
  unknownMechanism: ['-ERR', 'Unsupported authentication mechanism'],
  initialNotAllowed: ['-ERR', 'Initial response not allowed with this mechanism'],
  tooLong: ['-ERR', 'Line too long'],
  temporary: ['-ERR', '[SYS/TEMP] Temporary authentication failure'],
};

class Pop3ServerDialect extends Base64LineServerDialect {
  constructor(private readonly texts: LineServerAuthOptions['replies']) {
    super('+');
  }

  parseCommand(command: string): AuthCommand {
    return parseAuthCommand(command, 'AUTH');
  }

  reply(kind: ReplyKind): string[] {
    const [status, text] = REPLIES[kind];
    const custom = this.texts?.[kind] ?? text;
    return [custom === '' ? status : `${status} ${custom}`];
  }
}

// Stateless: shared by every exchange that keeps the default reply texts.
const DEFAULT_SERVER_DIALECT = new Pop3ServerDialect(undefined);

/** Arguments of {@link pop3ServerAuth}. */
export type Pop3ServerAuthOptions = LineServerAuthOptions;

/**
 * Runs the server side of one POP3 AUTH command (`command` is the whole line). Resolves with
 * the verified result after writing `+OK`. On failure it writes `-ERR` (with the RFC 3206
 * `[AUTH]` or `[SYS/TEMP]` code where one fits) and rejects with the typed error, or with the
 * error a credential store threw. Server-final data is a last `+` continuation answered by an
 * empty line. Refusing AUTH outside the AUTHORIZATION state is the host's job.
 */
export function pop3ServerAuth(args: Pop3ServerAuthOptions): Promise<Authenticated> {
  return runServerProfile(
    args.replies === undefined ? DEFAULT_SERVER_DIALECT : new Pop3ServerDialect(args.replies),
    args,
    POP3_MAX_AUTH_LINE,
    'pop',
  );
}

class Pop3ClientDialect extends Base64LineClientDialect {
  readonly initialResponseAllowed = true;

  protected commandWords(mechanism: string): string {
    return `AUTH ${mechanism}`;
  }

  async readReply(input: LineInput, context: ProfileContext): Promise<ClientReply> {
    const line = await input.read(context);
    const challenge = continuationChallenge(line);
    if (challenge) return challenge;
    const status = /^(\+OK|-ERR)(?: (.*))?$/i.exec(line);
    if (!status) throw new MalformedMessageError('the POP3 server sent a line that is not a reply', context);
    const text = status[2] ?? '';
    if ((status[1] ?? '').toUpperCase() === '+OK') return { kind: 'success', data: undefined, text };
    return {
      kind: 'failure',
      error: new AuthenticationFailedError(
        `the POP3 server refused authentication: ${describePeerText(`-ERR ${text}`)}`,
        { ...context, serverError: '-ERR' },
      ),
    };
  }
}

/** Arguments of {@link pop3ClientAuth}. */
export interface Pop3ClientAuthOptions extends LineClientAuthOptions {
  /** The mechanisms the server offers: {@link Pop3Capabilities.mechanisms}. Needed unless `mechanism` is given. */
  readonly offered?: Iterable<string>;
  /** Longest AUTH command sent with its initial response, CRLF included. Default {@link POP3_MAX_COMMAND_LINE}. */
  readonly maxCommandLength?: number;
}

/**
 * Runs the client side of one POP3 AUTH command. The initial response goes on the command
 * line when the line fits in 255 octets, otherwise after the server's empty `+`. Resolves on
 * `+OK`; rejects on `-ERR` with {@link AuthenticationFailedError} carrying the server's text.
 */
export function pop3ClientAuth(args: Pop3ClientAuthOptions): Promise<LineClientResult> {
  return runClientProfile(
    new Pop3ClientDialect(args.maxCommandLength ?? POP3_MAX_COMMAND_LINE),
    args,
    () => pickClientMechanism(args, args.offered, 'POP3'),
    POP3_MAX_AUTH_LINE,
  );
}
