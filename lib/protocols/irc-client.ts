/**
 * The client side of IRCv3 SASL (sasl-3.1 and -3.2): {@link ircClientAuth} runs one
 * `AUTHENTICATE` exchange after the server acknowledged the `sasl` capability, and
 * {@link ircLogin} does the whole connection registration around it (CAP LS 302, NICK and
 * USER, CAP REQ :sasl, the exchange, CAP END, the welcome). Neither owns the socket.
 * @module
 */
import { DEFAULT_MAX_MESSAGE_BYTES } from '../core/core.js';
import { ExchangeAbortedError, LimitExceededError, MechanismUnavailableError, UsageError } from '../core/errors.js';
import { SASLAuth } from '../core/registry.js';
import {
  type ClientDialect,
  type ClientReply,
  type LineClientAuthOptions,
  type LineClientResult,
  LineInput,
  type ProfileContext,
  ProfileFailure,
  pickClientMechanism,
  runClientProfile,
  writeLines,
} from './lines.js';
import {
  IRC_MAX_LINE,
  IRC_NUMERICS,
  IrcChunkJoiner,
  type IrcMessage,
  formatIrcMessage,
  ircAuthenticateChunks,
  ircNumericError,
  parseIrcMechanisms,
  parseIrcMessage,
} from './irc-framing.js';

// Unrelated messages (notices, other numerics) a client skips while it waits for one reply.
const MAX_SKIPPED = 512;

/** What the SASL numerics told the client during an exchange. */
interface Heard {
  /** The account of 900 RPL_LOGGEDIN. */
  account: string | undefined;
  /** The list of 908 RPL_SASLMECHS. */
  offered: string[] | undefined;
}

/** Reads IRC messages, answering PING, until `want` takes one. */
async function readMessage<T>(
  input: LineInput,
  context: ProfileContext,
  write: LineClientAuthOptions['write'],
  want: (message: IrcMessage) => T | undefined,
): Promise<T> {
  for (let skipped = 0; skipped <= MAX_SKIPPED; skipped++) {
    const line = await input.read(context);
    if (line === '') continue;
    const message = parseIrcMessage(line, { party: 'server', mechanism: context.mechanism });
    if (message.command === 'PING') {
      const pong = writeLines(write, [formatIrcMessage('PONG', message.params.slice(0, 1))]);
      if (pong !== undefined) await pong;
      continue;
    }
    if (message.command === 'ERROR') throw new ExchangeAbortedError('the IRC server closed the link', context);
    const taken = want(message);
    if (taken !== undefined) return taken;
  }
  throw new LimitExceededError(
    'maxSkippedMessages',
    `the IRC server sent more than ${MAX_SKIPPED} unrelated messages while the client waited`,
    context,
  );
}

class IrcClientDialect implements ClientDialect {
  readonly initialResponseAllowed = false;

  constructor(
    private readonly write: LineClientAuthOptions['write'],
    private readonly heard: Heard,
    private readonly maxMessageBytes: number,
  ) {}

  command(mechanism: string): string[] {
    return [`AUTHENTICATE ${mechanism}`];
  }

  response(data: Uint8Array): string[] {
    return ircAuthenticateChunks(data).map((chunk) => `AUTHENTICATE ${chunk}`);
  }

  cancel(): string[] {
    return ['AUTHENTICATE *'];
  }

  readReply(input: LineInput, context: ProfileContext): Promise<ClientReply> {
    const joiner = new IrcChunkJoiner(this.maxMessageBytes, context);
    const heard = this.heard;
    return readMessage(input, context, this.write, (message): ClientReply | undefined => {
      switch (message.command) {
        case 'AUTHENTICATE': {
          const data = joiner.push(message.params[0] ?? '');
          return data === undefined ? undefined : { kind: 'challenge', data };
        }
        case IRC_NUMERICS.RPL_LOGGEDIN:
          heard.account = message.params[2];
          return undefined;
        case IRC_NUMERICS.RPL_SASLMECHS:
          heard.offered = parseIrcMechanisms(message.params[1] ?? '');
          return undefined;
        case IRC_NUMERICS.RPL_SASLSUCCESS:
          return { kind: 'success', data: undefined, text: message.params[message.params.length - 1] ?? '' };
        default: {
          const error = ircNumericError(message, { mechanism: context.mechanism, offered: heard.offered });
          return error === undefined ? undefined : { kind: 'failure', error };
        }
      }
    });
  }
}

/** Arguments of {@link ircClientAuth}. */
export interface IrcClientAuthOptions extends LineClientAuthOptions {
  /**
   * The mechanisms the server offers: the `sasl=` value of CAP LS 302 (see
   * {@link parseIrcMechanisms}). A server of sasl-3.1 lists none: leave it out, and the
   * strongest mechanism `auth` has for the credentials is tried (the server's 908 list then
   * names the ones it has).
   */
  readonly offered?: Iterable<string>;
}

/** The result of {@link ircClientAuth}. */
export interface IrcClientResult extends LineClientResult {
  /** The account of 900 RPL_LOGGEDIN, when the server sent it. */
  readonly account: string | undefined;
}

/**
 * Runs one IRCv3 SASL exchange, after the server acknowledged `CAP REQ :sasl`: `AUTHENTICATE
 * <mechanism>`, the responses in 400-byte chunks (an exact multiple followed by
 * `AUTHENTICATE +`), and the server's chunked challenges joined. Answers PING, skips unrelated
 * messages, and resolves on 903 RPL_SASLSUCCESS once the mechanism accepted the outcome (SCRAM
 * checks the server signature). Rejects with {@link AuthenticationFailedError} on 904 or 902
 * (`serverError` the numeric), {@link MechanismUnavailableError} on 904 after a 908 list without
 * the mechanism, {@link LimitExceededError} on 905, {@link ExchangeAbortedError} on 906 or when
 * the server's lines end, {@link UnexpectedMessageError} on 907. Sending CAP END afterwards is
 * the caller's (or {@link ircLogin}'s) job.
 */
export async function ircClientAuth(args: IrcClientAuthOptions): Promise<IrcClientResult> {
  const heard: Heard = { account: undefined, offered: undefined };
  return runIrcExchange(args, heard, args.offered);
}

async function runIrcExchange(
  args: LineClientAuthOptions,
  heard: Heard,
  offered: Iterable<string> | undefined,
): Promise<IrcClientResult> {
  const registry = args.auth ?? SASLAuth.all();
  // sasl-3.1 servers list nothing: any mechanism the client has is worth a try.
  const choices = offered ?? (args.mechanism === undefined ? registry.clientMechanisms.map((m) => m.name) : undefined);
  const dialect = new IrcClientDialect(args.write, heard, args.limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  const result = await runClientProfile(dialect, args, () => pickClientMechanism(args, choices, 'IRC'), IRC_MAX_LINE);
  return { ...result, account: heard.account };
}

/** Arguments of {@link ircLogin}. */
export interface IrcLoginOptions extends LineClientAuthOptions {
  /** The nick to register. */
  readonly nick: string;
  /** The user name of USER. Default the nick. */
  readonly user?: string;
  /** The real name of USER. Default the nick. */
  readonly realname?: string;
  /** Whether to fail when the server offers no SASL. Default true. */
  readonly requireSasl?: boolean;
}

/** The result of {@link ircLogin}. */
export interface IrcLoginResult {
  /** The SASL result; undefined when the server had no SASL and `requireSasl` was false. */
  readonly sasl: IrcClientResult | undefined;
  /** The capabilities of CAP LS, with their values (`''` for none). */
  readonly capabilities: ReadonlyMap<string, string>;
  /** The nick the server welcomed (the first parameter of 001). */
  readonly nick: string;
}

const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;

/**
 * Registers an IRC connection with SASL: sends `CAP LS 302`, NICK and USER, reads the
 * capability list (multi-line replies joined), requests `sasl`, runs {@link ircClientAuth} with
 * the mechanisms of `sasl=` (retrying once with the 908 list when a sasl-3.1 server refused the
 * first guess), sends CAP END and resolves on 001 RPL_WELCOME. Rejects with
 * {@link MechanismUnavailableError} when the server has no `sasl` capability or refuses it (unless
 * `requireSasl` is false), with the exchange's error when SASL fails (the connection is then
 * still unregistered: the caller closes it or sends CAP END), and with
 * {@link ExchangeAbortedError} when the server refuses the nick or closes the link.
 */
export async function ircLogin(args: IrcLoginOptions): Promise<IrcLoginResult> {
  if (!NICK.test(args.nick) || /[\s:]/.test(args.user ?? '') || (args.user !== undefined && args.user === ''))
    throw new UsageError('IRC: the nick or user name is not valid');
  const context: ProfileContext = { party: 'server' };
  const input = new LineInput(args.lines, args.limits?.maxLineLength ?? IRC_MAX_LINE, args.limits?.signal);
  const send = async (...lines: string[]): Promise<void> => {
    const written = writeLines(args.write, lines);
    if (written !== undefined) await written;
  };
  try {
    await send(
      'CAP LS 302',
      formatIrcMessage('NICK', [args.nick]),
      formatIrcMessage('USER', [args.user ?? args.nick, '0', '*', args.realname ?? args.nick]),
    );
    const capabilities = new Map<string, string>();
    let welcomed: string | undefined;
    // CAP LS, possibly in several lines (`CAP * LS * :...`); a server without CAP welcomes at once.
    await readMessage(input, context, args.write, (message) => {
      if (message.command === '001') {
        welcomed = message.params[0] ?? args.nick;
        return true;
      }
      refusedNick(message, context);
      if (message.command !== 'CAP' || message.params[1]?.toUpperCase() !== 'LS') return undefined;
      const more = message.params.length > 3 && message.params[2] === '*';
      for (const word of (message.params[message.params.length - 1] ?? '').split(' ')) {
        if (word === '') continue;
        const equals = word.indexOf('=');
        capabilities.set(equals === -1 ? word : word.slice(0, equals), equals === -1 ? '' : word.slice(equals + 1));
      }
      if (capabilities.size > 1000)
        throw new LimitExceededError('maxCapabilities', 'the IRC server listed too many capabilities', context);
      return more ? undefined : true;
    });
    const saslValue = capabilities.get('sasl');
    let sasl: IrcClientResult | undefined;
    if (welcomed === undefined && saslValue !== undefined) {
      await send('CAP REQ :sasl');
      const acked = await readMessage(input, context, args.write, (message) => {
        refusedNick(message, context);
        if (message.command !== 'CAP') return undefined;
        const sub = message.params[1]?.toUpperCase();
        if (sub !== 'ACK' && sub !== 'NAK') return undefined;
        return sub === 'ACK' && (message.params[2] ?? '').split(' ').includes('sasl');
      });
      if (acked) sasl = await authenticate(args, saslValue);
    }
    if (sasl === undefined && args.requireSasl !== false)
      throw new MechanismUnavailableError('the IRC server offers no SASL', context);
    if (welcomed === undefined) {
      await send('CAP END');
      welcomed = await readMessage(input, context, args.write, (message) => {
        refusedNick(message, context);
        return message.command === '001' ? (message.params[0] ?? args.nick) : undefined;
      });
    }
    return { sasl, capabilities, nick: welcomed };
  } catch (thrown) {
    throw thrown instanceof ProfileFailure ? thrown.error : thrown;
  }
}

// One exchange, and a second with the server's 908 list when a sasl-3.1 server refused the guess.
async function authenticate(args: IrcLoginOptions, saslValue: string): Promise<IrcClientResult> {
  const heard: Heard = { account: undefined, offered: undefined };
  const listed = saslValue === '' ? undefined : parseIrcMechanisms(saslValue);
  try {
    return await runIrcExchange(args, heard, listed);
  } catch (error) {
    const offered = heard.offered;
    if (
      listed !== undefined ||
      offered === undefined ||
      args.mechanism !== undefined ||
      !(error instanceof MechanismUnavailableError)
    )
      throw error;
    heard.offered = undefined;
    return runIrcExchange(args, heard, offered);
  }
}

// 432/433/436/437: the server will not register this nick.
function refusedNick(message: IrcMessage, context: ProfileContext): void {
  if (['432', '433', '436', '437'].includes(message.command))
    throw new ExchangeAbortedError(`the IRC server refused the nick (${message.command})`, context);
}
