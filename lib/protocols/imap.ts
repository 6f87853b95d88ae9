/**
 * The IMAP AUTHENTICATE profile (RFC 9051 section 6.2.2, RFC 3501 section 6.2.2, SASL-IR RFC
 * 4959): `tag AUTHENTICATE mechanism [initial-response]`, `+ ` continuations in base64, base64
 * response lines, `*` to cancel, and the tagged OK/NO/BAD outcome. The host keeps its command
 * loop and tags; {@link imapServerAuth} and {@link imapClientAuth} run one exchange.
 * @module
 */
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ExchangeAbortedError,
  MalformedMessageError,
  UnexpectedMessageError,
} from '../core/errors.js';
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
  MECHANISM_NAME,
  type ProfileContext,
  type ReplyKind,
  continuationChallenge,
  describePeerText,
  isPrintableAscii,
  mechanismList,
  pickClientMechanism,
  runClientProfile,
  runServerProfile,
  syntaxError,
} from './lines.js';

/** Default `maxLineLength` of both IMAP profiles: RFC 4954's 12288-octet suggestion, which IMAP servers follow for AUTHENTICATE. */
export const IMAP_MAX_AUTH_LINE = 12288;
/** Default longest AUTHENTICATE command the client sends with an initial response, CRLF included (RFC 7162 section 4's 8192). */
export const IMAP_MAX_COMMAND_LINE = 8192;

/** What a CAPABILITY list says about authentication. */
export interface ImapCapabilities {
  /** Every capability, as sent. */
  readonly atoms: readonly string[];
  /** The `AUTH=` mechanisms, upper case. */
  readonly mechanisms: readonly string[];
  /** True when the server takes an initial response: `SASL-IR`, or `IMAP4rev2`, which includes it. */
  readonly initialResponse: boolean;
  /** True when `LOGINDISABLED` is advertised (the LOGIN command, not the LOGIN mechanism). */
  readonly loginDisabled: boolean;
}

/**
 * Parses capabilities from a `* CAPABILITY ...` line, a line with a `[CAPABILITY ...]` response
 * code (greeting or tagged OK), or a list of atoms.
 */
export function parseImapCapabilities(input: string | readonly string[]): ImapCapabilities {
  let atoms: string[];
  if (typeof input === 'string') {
    const code = /\[CAPABILITY ([^\]]*)\]/i.exec(input);
    const untagged = /^\* CAPABILITY (.*)$/i.exec(input);
    const list = code?.[1] ?? untagged?.[1] ?? input;
    atoms = list
      .trim()
      .split(/ +/)
      .filter((atom) => atom !== '');
  } else {
    atoms = [...input];
  }
  const upper = new Set(atoms.map((atom) => atom.toUpperCase()));
  return {
    atoms,
    mechanisms: mechanismList(atoms.filter((atom) => /^AUTH=/i.test(atom)).map((atom) => atom.slice(5))),
    initialResponse: upper.has('SASL-IR') || upper.has('IMAP4REV2'),
    loginDisabled: upper.has('LOGINDISABLED'),
  };
}

/** The capability atoms that advertise `mechanisms`: `SASL-IR` (unless `saslIr` is false) and one `AUTH=` each. */
export function imapCapabilityAtoms(
  mechanisms: Iterable<string>,
  options: { readonly saslIr?: boolean } = {},
): string[] {
  return [...(options.saslIr === false ? [] : ['SASL-IR']), ...[...mechanisms].map((name) => `AUTH=${name}`)];
}

const REPLIES: Readonly<Record<ReplyKind, readonly ['OK' | 'NO' | 'BAD', string]>> = {
  success: ['OK', 'AUTHENTICATE completed'],
  failed: ['NO', '[AUTHENTICATIONFAILED] Authentication failed'],
  unauthorized: ['NO', '[AUTHORIZATIONFAILED] Authorization failed'],
  cancelled: ['BAD', 'AUTHENTICATE cancelled'],
  malformed: ['BAD', 'Invalid SASL response'],
  syntax: ['BAD', 'Syntax: tag AUTHENTICATE mechanism [initial-response]'],
  unknownMechanism: ['NO', 'Unsupported authentication mechanism'],
  initialNotAllowed: ['BAD', 'Initial response not allowed with this mechanism'],
  tooLong: ['BAD', 'Line too long'],
  temporary: ['NO', '[UNAVAILABLE] Temporary authentication failure'],
};

/** The status {@link imapServerAuth} replies with, by kind (OK, NO or BAD). */
export const IMAP_REPLY_STATUS: Readonly<Record<ReplyKind, 'OK' | 'NO' | 'BAD'>> = Object.fromEntries(
  Object.entries(REPLIES).map(([kind, [status]]) => [kind, status]),
) as Record<ReplyKind, 'OK' | 'NO' | 'BAD'>;

// tag = 1*<any ASTRING-CHAR except "+">: printable ASCII without SP ( ) { % * " \ and +.
const TAG = /^[!#$&'\x2c-\x5b\x5d-\x7a|}~]+$/;

/** Splits `tag SP rest`; undefined when the line has no valid tag. */
function splitTag(line: string): [string, string] | undefined {
  const space = line.indexOf(' ');
  if (space <= 0) return undefined;
  const tag = line.slice(0, space);
  return TAG.test(tag) ? [tag, line.slice(space + 1)] : undefined;
}

class ImapServerDialect extends Base64LineServerDialect {
  #tag = '*';
  constructor(private readonly args: ImapServerAuthOptions) {
    super('+');
  }

  parseCommand(command: string): AuthCommand {
    const context = { party: 'client' as const };
    if (!isPrintableAscii(command)) {
      // Without a trustworthy tag the reply is untagged (RFC 9051 section 7.1.5).
      const split = splitTag(command);
      if (split !== undefined) this.#tag = split[0];
      throw syntaxError('the AUTHENTICATE command has characters outside printable ASCII', context);
    }
    const split = splitTag(command);
    if (split === undefined) throw syntaxError('the command has no valid tag', context);
    this.#tag = split[0];
    const words = split[1].trimEnd().split(' ');
    if (words.length < 2 || words.length > 3 || (words[0] ?? '').toUpperCase() !== 'AUTHENTICATE')
      throw syntaxError('expected tag AUTHENTICATE mechanism [initial-response]', context);
    const mechanism = words[1] ?? '';
    if (!MECHANISM_NAME.test(mechanism))
      throw syntaxError('the AUTHENTICATE command names no valid mechanism', context);
    const initial = words[2];
    if (initial === '') throw syntaxError('the AUTHENTICATE command has an empty initial-response argument', context);
    return { mechanism, initial };
  }

  reply(kind: ReplyKind): string[] {
    const [status, text] = REPLIES[kind];
    const caps =
      kind === 'success' && this.args.capabilities !== undefined
        ? `[CAPABILITY ${this.args.capabilities.join(' ')}] `
        : '';
    return [`${this.#tag} ${status} ${caps}${this.args.replies?.[kind] ?? text}`];
  }
}

/** Arguments of {@link imapServerAuth}. */
export interface ImapServerAuthOptions extends LineServerAuthOptions {
  /** Capabilities to announce in the tagged OK (`[CAPABILITY ...]`), as RFC 9051 suggests after authentication. */
  readonly capabilities?: readonly string[];
}

/**
 * Runs the server side of one IMAP AUTHENTICATE command; `command` is the whole line with its
 * tag. Resolves with the verified result after writing the tagged OK. On failure it writes the
 * tagged reply and rejects with the typed error: NO for wrong credentials
 * (`[AUTHENTICATIONFAILED]`, `[AUTHORIZATIONFAILED]`), an unknown mechanism and a store that
 * throws (`[UNAVAILABLE]`, rejecting with the store's error); BAD for syntax errors, invalid
 * base64, an initial response to a server-first mechanism, `*` and a line over
 * `limits.maxLineLength`; an untagged `* BAD` when the line has no valid tag. An initial
 * response is accepted whether or not SASL-IR was advertised. Server-final data (SCRAM) is a
 * last `+` continuation answered by an empty line.
 */
export function imapServerAuth(args: ImapServerAuthOptions): Promise<Authenticated> {
  return runServerProfile(new ImapServerDialect(args), args, IMAP_MAX_AUTH_LINE, 'imap');
}

class ImapClientDialect extends Base64LineClientDialect {
  readonly initialResponseAllowed: boolean;
  /** Capabilities the server announced during the exchange (untagged CAPABILITY or in the tagged OK). */
  announced: ImapCapabilities | undefined;

  constructor(
    private readonly tag: string,
    capabilities: ImapCapabilities,
    maxCommandLength: number,
  ) {
    super(maxCommandLength);
    this.initialResponseAllowed = capabilities.initialResponse;
  }

  protected commandWords(mechanism: string): string {
    return `${this.tag} AUTHENTICATE ${mechanism}`;
  }

  async readReply(input: LineInput, context: ProfileContext): Promise<ClientReply> {
    for (;;) {
      const line = await input.read(context);
      // Some servers send a bare "+" for an empty continuation.
      const challenge = continuationChallenge(line);
      if (challenge) return challenge;
      if (line.startsWith('* ')) {
        if (/^\* CAPABILITY /i.test(line)) this.announced = parseImapCapabilities(line);
        else if (/^\* BYE\b/i.test(line)) {
          return {
            kind: 'failure',
            error: new ExchangeAbortedError(
              `the IMAP server is closing the connection: ${describePeerText(line)}`,
              context,
            ),
          };
        }
        continue;
      }
      const split = splitTag(line);
      if (split === undefined || split[0] !== this.tag)
        throw new UnexpectedMessageError(
          'the IMAP server sent a line that does not belong to the AUTHENTICATE command',
          context,
        );
      const status = /^(OK|NO|BAD)(?: (.*))?$/i.exec(split[1]);
      if (!status)
        throw new MalformedMessageError('the IMAP server sent a tagged reply without OK, NO or BAD', context);
      const text = status[2] ?? '';
      if (/\[CAPABILITY /i.test(text)) this.announced = parseImapCapabilities(text);
      const word = (status[1] ?? '').toUpperCase();
      if (word === 'OK') return { kind: 'success', data: undefined, text };
      const summary = describePeerText(`${word} ${text}`);
      if (/^\[AUTHORIZATIONFAILED\]/i.test(text))
        return {
          kind: 'failure',
          error: new AuthorizationFailedError(
            `the IMAP server refused the authorization identity: ${summary}`,
            context,
          ),
        };
      return {
        kind: 'failure',
        error: new AuthenticationFailedError(`the IMAP server refused authentication: ${summary}`, {
          ...context,
          serverError: word,
        }),
      };
    }
  }
}

/** Arguments of {@link imapClientAuth}. */
export interface ImapClientAuthOptions extends LineClientAuthOptions {
  /** The tag of the AUTHENTICATE command. */
  readonly tag: string;
  /** The server's capabilities: parsed, a CAPABILITY line, or atoms. Decide the mechanism (`AUTH=`) and the initial response (`SASL-IR`, `IMAP4rev2`). */
  readonly capabilities: ImapCapabilities | string | readonly string[];
  /** Longest AUTHENTICATE command sent with an initial response, CRLF included. Default {@link IMAP_MAX_COMMAND_LINE}. */
  readonly maxCommandLength?: number;
}

/** The result of {@link imapClientAuth}. */
export interface ImapClientResult extends LineClientResult {
  /** Capabilities the server announced with its OK (or in an untagged CAPABILITY during the exchange). */
  readonly capabilities?: ImapCapabilities | undefined;
}

/**
 * Runs the client side of one IMAP AUTHENTICATE command. Uses `mechanism`, or the strongest
 * `AUTH=` mechanism in `capabilities` that `auth` has. Sends the initial response with the
 * command only when the server has SASL-IR or IMAP4rev2 (and it fits); otherwise after the
 * first empty `+`. Untagged lines during the exchange are skipped (CAPABILITY is remembered).
 * Resolves on the tagged OK; rejects on NO or BAD with {@link AuthenticationFailedError}
 * (`serverError` is `NO` or `BAD`) or {@link AuthorizationFailedError}, whose message carries
 * the server's text. A cancellation (`*`) is accepted whether the server answers BAD (RFC 9051)
 * or NO (as in RFC 7628's example).
 */
export async function imapClientAuth(args: ImapClientAuthOptions): Promise<ImapClientResult> {
  const capabilities =
    typeof args.capabilities === 'string' || Array.isArray(args.capabilities)
      ? parseImapCapabilities(args.capabilities as string | readonly string[])
      : (args.capabilities as ImapCapabilities);
  if (!TAG.test(args.tag)) throw new MalformedMessageError('the IMAP tag is not valid', { party: 'local' });
  const dialect = new ImapClientDialect(args.tag, capabilities, args.maxCommandLength ?? IMAP_MAX_COMMAND_LINE);
  const result = await runClientProfile(
    dialect,
    args,
    () => pickClientMechanism(args, capabilities.mechanisms, 'IMAP'),
    IMAP_MAX_AUTH_LINE,
  );
  return { ...result, capabilities: dialect.announced };
}
