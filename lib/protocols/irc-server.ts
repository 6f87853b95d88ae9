/**
 * The server side of IRCv3 SASL (sasl-3.1 and -3.2): {@link ircServerAuth} runs one
 * `AUTHENTICATE` exchange over the shared line loop, and {@link ircServerRegister} answers a
 * client's connection registration as far as SASL needs (CAP LS/REQ/LIST/END, NICK, USER,
 * PING, AUTHENTICATE with 907 after a login) and hands the connection back at 001.
 * @module
 */
import { DEFAULT_MAX_MESSAGE_BYTES } from '../core/core.js';
import {
  AuthenticationFailedError,
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  isSaslError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import {
  type AuthCommand,
  CANCEL,
  LineInput,
  type LineServerAuthOptions,
  type ProfileContext,
  ProfileFailure,
  type ReplyKind,
  type ServerDialect,
  advertisedMechanisms,
  decodeLineData,
  decodeOrFail,
  runServerProfile,
  writeLines,
} from './lines.js';
import {
  IRC_MAX_LINE,
  IRC_NUMERICS,
  IrcChunkJoiner,
  type IrcMessage,
  formatIrcMessage,
  ircAuthenticateChunks,
  parseIrcMessage,
} from './irc-framing.js';

/** The server name used as the source of replies when the host names none. */
export const IRC_DEFAULT_SERVER_NAME = 'irc.saslkit.invalid';

/** Arguments of {@link ircServerAuth}. */
export interface IrcServerAuthOptions extends LineServerAuthOptions {
  /** The source of the numerics. Default {@link IRC_DEFAULT_SERVER_NAME}. */
  readonly serverName?: string;
  /** The client's nick, the numerics' first parameter; `*` before NICK. Default `*`. */
  readonly nick?: string;
  /** The client's `nick!user@host` for 900 RPL_LOGGEDIN. Default `<nick>!*@*`. */
  readonly mask?: string;
  /** The mechanisms listed in 908 RPL_SASLMECHS for an unknown one. Default every server mechanism of `auth`. */
  readonly mechanisms?: readonly string[];
  /**
   * Gets a line that was not AUTHENTICATE, read mid-exchange: the exchange ends with 906 and
   * the host should process the line as the client's next command (sasl-3.1: a client that
   * ends registration mid-exchange aborts it).
   */
  readonly onOtherLine?: (line: string) => void;
}

const TEXTS: Readonly<Record<Exclude<ReplyKind, 'success'>, readonly [string, string]>> = {
  failed: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed'],
  unauthorized: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: not authorized to use that account'],
  cancelled: [IRC_NUMERICS.ERR_SASLABORTED, 'SASL authentication aborted'],
  malformed: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: malformed message'],
  syntax: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: syntax error'],
  unknownMechanism: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: unknown mechanism'],
  initialNotAllowed: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed'],
  tooLong: [IRC_NUMERICS.ERR_SASLTOOLONG, 'SASL message too long'],
  temporary: [IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: temporary failure, try again later'],
};

/** The numerics {@link ircServerAuth} replies with, by kind (903 for success, 904, 905, 906). */
export const IRC_REPLY_NUMERICS: Readonly<Record<ReplyKind, string>> = {
  success: IRC_NUMERICS.RPL_SASLSUCCESS,
  ...Object.fromEntries(Object.entries(TEXTS).map(([kind, [numeric]]) => [kind, numeric])),
} as Record<ReplyKind, string>;

class IrcServerDialect implements ServerDialect {
  readonly successCarriesData = false;
  readonly #args: IrcServerAuthOptions;
  readonly #server: string;
  readonly #nick: string;
  readonly #maxMessageBytes: number;

  constructor(args: IrcServerAuthOptions) {
    this.#args = args;
    this.#server = args.serverName ?? IRC_DEFAULT_SERVER_NAME;
    this.#nick = args.nick ?? '*';
    this.#maxMessageBytes = args.limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  parseCommand(command: string): AuthCommand {
    const message = parseClientLine(command, { party: 'client' }, 'syntax');
    const mechanism = message.params[0] ?? '';
    if (message.command !== 'AUTHENTICATE' || message.params.length !== 1 || mechanism === '*' || mechanism === '+') {
      throw new ProfileFailure(
        'syntax',
        new MalformedMessageError('expected AUTHENTICATE <mechanism>', { party: 'client' }),
      );
    }
    // An unknown or invalid name gets 908 and 904 from the loop's lookup.
    return { mechanism, initial: undefined };
  }

  decodeInitial(token: string, context: ProfileContext): Uint8Array {
    return decodeOrFail(() => decodeLineData(token, 'initial response', context));
  }

  challenge(data: Uint8Array): string[] {
    return ircAuthenticateChunks(data).map((chunk) => `AUTHENTICATE ${chunk}`);
  }

  async parseResponse(line: string, input: LineInput, context: ProfileContext): Promise<Uint8Array | typeof CANCEL> {
    const joiner = new IrcChunkJoiner(this.#maxMessageBytes, context);
    for (let next = line; ; next = await input.read(context)) {
      const message = parseClientLine(next, context, 'malformed');
      if (message.command !== 'AUTHENTICATE') {
        // sasl-3.1: a client that goes on registering (CAP END, ...) mid-exchange aborts it; the host gets the line.
        this.#args.onOtherLine?.(next);
        throw new ProfileFailure(
          'cancelled',
          new ExchangeAbortedError('the client sent another command during authentication', context),
        );
      }
      const param = message.params[0] ?? '';
      if (param === '*') return CANCEL;
      let text: string | undefined;
      try {
        text = joiner.push(param);
      } catch (error) {
        throw isSaslError(error)
          ? new ProfileFailure(error.code === 'LIMIT_EXCEEDED' ? 'tooLong' : 'malformed', error)
          : error;
      }
      if (text !== undefined) return decodeOrFail(() => decodeLineData(text, 'client response', context));
    }
  }

  reply(kind: ReplyKind, outcome: Authenticated | undefined): string[] {
    const server = this.#server;
    const nick = this.#nick;
    if (kind === 'success') {
      const account = outcome?.authzid ?? '';
      return [
        formatIrcMessage(
          IRC_NUMERICS.RPL_LOGGEDIN,
          [nick, this.#args.mask ?? `${nick}!*@*`, account, `You are now logged in as ${account}`],
          server,
        ),
        formatIrcMessage(IRC_NUMERICS.RPL_SASLSUCCESS, [nick, 'SASL authentication successful'], server),
      ];
    }
    const [numeric, text] = TEXTS[kind];
    const lines = [formatIrcMessage(numeric, [nick, this.#args.replies?.[kind] ?? text], server)];
    if (kind === 'unknownMechanism') {
      const names = this.#args.mechanisms ?? advertisedMechanisms(this.#args.auth);
      lines.unshift(
        formatIrcMessage(IRC_NUMERICS.RPL_SASLMECHS, [nick, names.join(','), 'are available SASL mechanisms'], server),
      );
    }
    return lines;
  }
}

/** Parses a client's line, a parse error becoming the reply `kind`. */
function parseClientLine(line: string, context: ProfileContext, kind: ReplyKind): IrcMessage {
  try {
    return parseIrcMessage(line, { party: 'client', mechanism: context.mechanism });
  } catch (error) {
    if (!isSaslError(error)) throw error;
    throw new ProfileFailure(error.code === 'LIMIT_EXCEEDED' ? 'tooLong' : kind, error);
  }
}

/**
 * Runs the server side of one IRCv3 SASL exchange. Call it when the registration loop reads an
 * `AUTHENTICATE <mechanism>` line (after the client's `CAP REQ :sasl`), with that line as
 * `command` and the same line source: it sends challenges as `AUTHENTICATE` lines in 400-byte
 * chunks (`AUTHENTICATE +` for an empty one and after an exact multiple of 400), joins the
 * client's chunks, and on success writes 900 RPL_LOGGEDIN and 903 RPL_SASLSUCCESS and resolves
 * with the verified result. On failure it writes the numeric and rejects with the typed error:
 * 908 RPL_SASLMECHS and 904 for an unknown mechanism (MECHANISM_UNAVAILABLE), 904 for wrong
 * credentials, syntax errors and bad base64, 905 ERR_SASLTOOLONG for a chunk over 400 bytes, a
 * message over `limits.maxMessageBytes` (16384 decoded bytes by default) or a line over
 * `limits.maxLineLength` ({@link IRC_MAX_LINE} by default; LIMIT_EXCEEDED), 906 ERR_SASLABORTED
 * for `AUTHENTICATE *` or any other command mid-exchange (ABORTED; that line goes to
 * `onOtherLine`), and 904 when the credential store throws (rejecting with the store's error).
 * SCRAM's server-final goes out as a last challenge, answered by `AUTHENTICATE +`. Answering
 * 907 to an AUTHENTICATE after a login is the registration loop's job ({@link ircServerRegister}).
 */
export function ircServerAuth(args: IrcServerAuthOptions): Promise<Authenticated> {
  return runServerProfile(new IrcServerDialect(args), args, IRC_MAX_LINE, 'irc');
}

/** Arguments of {@link ircServerRegister}. */
export interface IrcServerRegisterOptions extends Omit<IrcServerAuthOptions, 'command' | 'nick' | 'mask'> {
  /** Whether a client must log in with SASL before 001; without a login CAP END gets ERROR and a rejection. Default false. */
  readonly requireSasl?: boolean;
  /** Failed exchanges allowed before the connection is refused with ERROR. Default 3. */
  readonly maxAttempts?: number;
  /** Lines accepted before registration completes. Default 100. */
  readonly maxCommands?: number;
  /** The client's host for the 900 mask. Default `*`. */
  readonly host?: string;
  /** Called after each exchange with its result or error (to log failed logins; the loop goes on after a failure). */
  readonly onAttempt?: (attempt: IrcAttempt) => void;
}

/** One exchange of {@link ircServerRegister}: the verified result, or the error it ended with. */
export type IrcAttempt =
  | { readonly outcome: Authenticated; readonly error?: undefined }
  | { readonly outcome?: undefined; readonly error: unknown };

/** The result of {@link ircServerRegister}: who registered, and the SASL login if any. */
export interface IrcRegistration {
  /** The registered nick. */
  readonly nick: string;
  /** The user name of USER. */
  readonly user: string;
  /** The real name of USER. */
  readonly realname: string;
  /** The SASL login, or undefined when the client registered without one. */
  readonly sasl: Authenticated | undefined;
  /** The capabilities the client enabled. */
  readonly capabilities: readonly string[];
}

const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;

// A client's word echoed in a numeric: printable, no leading colon, at most 32 characters.
function echo(word: string): string {
  return word.slice(0, 32).replace(/[^\x21-\x7e]|^:/g, '_') || '*';
}

/**
 * Answers one IRC client's connection registration as far as SASL needs: `CAP LS [302]` with
 * `sasl=<mechanisms>` (`sasl` alone for a sasl-3.1 client), `CAP REQ` (ACK for `sasl`, NAK for
 * anything else), `CAP LIST`, `CAP END`, NICK, USER, PASS (ignored), PING, QUIT, and
 * AUTHENTICATE through {@link ircServerAuth} (907 ERR_SASLALREADY once logged in, 906 for a
 * stray `*`, 904 before `sasl` was acknowledged). Other commands get 451. Once NICK, USER and
 * (when started) capability negotiation are done it writes 001 RPL_WELCOME and resolves; the
 * host's own command loop continues from there. Rejects with {@link ExchangeAbortedError} on
 * QUIT or the end of the lines, {@link AuthenticationFailedError} after `maxAttempts` failed
 * logins or when `requireSasl` and the client did not log in (after ERROR), and
 * {@link LimitExceededError} after `maxCommands` lines.
 */
export async function ircServerRegister(args: IrcServerRegisterOptions): Promise<IrcRegistration> {
  const server = args.serverName ?? IRC_DEFAULT_SERVER_NAME;
  const context: ProfileContext = { party: 'client' };
  const input = new LineInput(args.lines, args.limits?.maxLineLength ?? IRC_MAX_LINE, args.limits?.signal);
  const mechanisms = args.mechanisms ?? advertisedMechanisms(args.auth);
  const send = async (...lines: string[]): Promise<void> => {
    const written = writeLines(args.write, lines);
    if (written !== undefined) await written;
  };
  const numeric = (code: string, ...params: string[]): string =>
    formatIrcMessage(code, [nick ?? '*', ...params], server);
  // Capability lists always go as the trailing parameter, as servers send them and clients expect.
  const cap = (sub: string, list: string): string => `${formatIrcMessage('CAP', [nick ?? '*', sub], server)} :${list}`;
  let nick: string | undefined;
  let user: { user: string; realname: string } | undefined;
  let negotiating = false;
  let saslEnabled = false;
  let sasl: Authenticated | undefined;
  let failures = 0;
  // A line that ended an exchange (CAP END mid-exchange): processed as the next command.
  let held: string | undefined;
  const hold = (line: string): void => {
    held = line;
  };
  const maxCommands = args.maxCommands ?? 100;
  try {
    for (let count = 0; ; count++) {
      if (count >= maxCommands)
        throw new LimitExceededError(
          'maxCommands',
          `the IRC client sent more than ${maxCommands} lines before registering`,
          context,
        );
      const line = held ?? (await input.read(context));
      held = undefined;
      if (line === '') continue;
      let message: IrcMessage;
      try {
        message = parseIrcMessage(line, { party: 'client' });
      } catch (error) {
        if (!isSaslError(error)) throw error;
        await send(formatIrcMessage('ERROR', ['Malformed message']));
        throw error;
      }
      const p = message.params;
      switch (message.command) {
        case 'CAP': {
          const sub = (p[0] ?? '').toUpperCase();
          if (sub === 'LS') {
            negotiating = true;
            const v302 = Number(p[1] ?? '0') >= 302;
            await send(cap('LS', v302 ? `sasl=${mechanisms.join(',')}` : 'sasl'));
          } else if (sub === 'REQ') {
            negotiating = true;
            const wanted = (p[1] ?? '').split(' ').filter((w) => w !== '');
            const ok = wanted.length > 0 && wanted.every((w) => w === 'sasl' || w === '-sasl');
            if (ok) saslEnabled = !wanted.includes('-sasl') || wanted[wanted.length - 1] === 'sasl';
            await send(cap(ok ? 'ACK' : 'NAK', (p[1] ?? '').slice(0, 400)));
          } else if (sub === 'LIST') {
            await send(cap('LIST', saslEnabled ? 'sasl' : ''));
          } else if (sub === 'END') {
            negotiating = false;
          } else {
            await send(numeric('410', echo(sub), 'Invalid CAP command'));
          }
          break;
        }
        case 'NICK': {
          const wanted = p[0] ?? '';
          if (NICK.test(wanted)) nick = wanted;
          else if (wanted === '') await send(numeric('431', 'No nickname given'));
          else await send(numeric('432', echo(wanted), 'Erroneous nickname'));
          break;
        }
        case 'USER':
          if (p.length < 4 || (p[0] ?? '') === '') await send(numeric('461', 'USER', 'Not enough parameters'));
          else user = { user: p[0] ?? '', realname: p[3] ?? '' };
          break;
        case 'PASS':
          break;
        case 'PING':
          await send(formatIrcMessage('PONG', [server, p[0] ?? server], server));
          break;
        case 'QUIT':
          throw new ExchangeAbortedError('the IRC client quit before registering', context);
        case 'AUTHENTICATE':
          if (sasl !== undefined)
            await send(numeric(IRC_NUMERICS.ERR_SASLALREADY, 'You have already authenticated using SASL'));
          else if (p[0] === '*') await send(numeric(IRC_NUMERICS.ERR_SASLABORTED, 'SASL authentication aborted'));
          else if (!saslEnabled)
            await send(
              numeric(IRC_NUMERICS.ERR_SASLFAIL, 'SASL authentication failed: request the sasl capability first'),
            );
          else {
            try {
              sasl = await ircServerAuth({
                ...args,
                command: line,
                nick: nick ?? '*',
                mask: `${nick ?? '*'}!${user?.user ?? '*'}@${args.host ?? '*'}`,
                mechanisms,
                onOtherLine: hold,
              });
              args.onAttempt?.({ outcome: sasl });
            } catch (error) {
              args.onAttempt?.({ error });
              // An abort (by the client, or the connection's end, which the next read reports) and
              // a timeout are no failed attempt; a limit hit was answered with 905.
              if (isSaslError(error) && error.code === 'TIMEOUT') throw error;
              if (isSaslError(error) && (error.code === 'ABORTED' || error.code === 'LIMIT_EXCEEDED')) break;
              failures += 1;
              if (failures >= (args.maxAttempts ?? 3)) {
                await send(formatIrcMessage('ERROR', ['Too many failed SASL attempts']));
                throw error;
              }
            }
          }
          break;
        default:
          await send(numeric('451', 'You have not registered'));
      }
      if (nick !== undefined && user !== undefined && !negotiating) {
        if (sasl === undefined && args.requireSasl === true) {
          await send(formatIrcMessage('ERROR', ['SASL authentication is required']));
          throw new AuthenticationFailedError('the IRC client registered without logging in', context);
        }
        await send(numeric('001', `Welcome to the IRC network, ${nick}`));
        return { nick, user: user.user, realname: user.realname, sasl, capabilities: saslEnabled ? ['sasl'] : [] };
      }
    }
  } catch (thrown) {
    throw thrown instanceof ProfileFailure ? thrown.error : thrown;
  }
}
