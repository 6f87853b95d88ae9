/**
 * The IRC half of `login` and `mechs` (IRCv3 SASL 3.1/3.2): `CAP LS 302` for the mechanisms of
 * `sasl=`, then a connection registration with SASL through {@link ircLogin} (CAP REQ :sasl,
 * AUTHENTICATE in 400-byte chunks, CAP END, 001), and QUIT. IRC's STARTTLS is obsolete:
 * `ircs://` starts TLS at once.
 * @module
 */
import {
  IRC_MAX_LINE,
  LineReader,
  MalformedMessageError,
  UnexpectedMessageError,
  UsageError,
  formatIrcMessage,
  ircLogin,
  lineWriter,
  parseIrcMechanisms,
  parseIrcMessage,
} from '../index.js';
import { type AuthResult, type AuthenticateArgs, type ProtocolClient, SocketClient, peerText } from './client.js';
import { ClientSocket } from './socket.js';
import type { ConnectOptions } from './tls-client.js';

const MAX_LINES_BEFORE_CAP = 1000;
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;

/** The nick to register: `--nick`, else the user name when it is a valid nick, else `saslkit`. */
export function ircNick(nick: string | undefined, user: string): string {
  if (nick !== undefined) {
    if (!NICK.test(nick))
      throw new UsageError(
        '--nick is not a valid IRC nick (a letter or [ ] \\ ` _ ^ { | } first, at most 30 characters)',
      );
    return nick;
  }
  return NICK.test(user) ? user : 'saslkit';
}

/** A connection to an IRC server, up to the end of its registration. */
export class IrcClient extends SocketClient implements ProtocolClient {
  readonly #reader: LineReader;
  readonly #lines: AsyncIterator<string>;
  readonly #write: (line: string) => unknown;
  // IRC's STARTTLS is obsolete (servers that have TLS listen for ircs://), and a sasl-3.1 server
  // lists no mechanisms in CAP LS: name one with --mech. The base's defaults say both.

  private constructor(options: ConnectOptions, conn: ClientSocket) {
    super(options, conn);
    this.#reader = new LineReader(conn.socket, { maxLineLength: IRC_MAX_LINE });
    const tracer = options.tracer;
    this.#lines = tracer ? tracer.source(this.#reader) : this.#reader;
    const write = lineWriter(conn.socket);
    this.#write = tracer ? tracer.writer(write) : write;
  }

  /** Connects and asks for the capabilities (`CAP LS 302`); the mechanisms are those of `sasl=`. */
  static async connect(options: ConnectOptions): Promise<IrcClient> {
    const client = new IrcClient(options, await ClientSocket.open(options));
    return client.start(() => client.#capabilities());
  }

  get protocol(): 'irc' {
    return 'irc';
  }

  /** Reads CAP LS (several lines with `*` before the last), answering PING on the way. */
  async #capabilities(): Promise<void> {
    await this.#write('CAP LS 302');
    let sasl: string | undefined;
    for (let count = 0; count < MAX_LINES_BEFORE_CAP; count++) {
      const next = await this.#lines.next();
      if (next.done === true)
        throw new UnexpectedMessageError('the IRC server closed the connection', { party: 'server' });
      const message = parseIrcMessage(next.value, { party: 'server' });
      const params = message.params;
      if (message.command === 'PING') await this.#write(formatIrcMessage('PONG', [params[0] ?? '']));
      else if (message.command === 'ERROR')
        throw new UnexpectedMessageError(`the IRC server refused the connection: ${peerText(params[0] ?? '')}`, {
          party: 'server',
        });
      else if (message.command === '001')
        throw new UnexpectedMessageError(
          'the IRC server registered the client without capability negotiation (no CAP)',
          { party: 'server' },
        );
      else if (message.command === 'CAP' && params[1]?.toUpperCase() === 'LS') {
        for (const word of (params[params.length - 1] ?? '').split(' ')) {
          if (word === 'sasl' || word.startsWith('sasl=')) sasl = word.slice('sasl='.length);
        }
        // `CAP * LS * :...` says more lines follow.
        if (!(params.length > 3 && params[2] === '*')) {
          this.mechanisms = sasl === undefined || sasl === '' ? [] : parseIrcMechanisms(sasl);
          return;
        }
      }
    }
    throw new MalformedMessageError('the IRC server sent no CAP LS reply', { party: 'server' });
  }

  /** IRC has no STARTTLS here: use an ircs:// URL. */
  startTls(): Promise<void> {
    return Promise.reject(new UsageError('IRC servers take TLS on their own port: use an ircs:// URL'));
  }

  /** Registers the connection with SASL (the nick from the connect options). */
  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const tls = this.tls;
    return this.conn.guard(async () => {
      const result = await ircLogin({
        nick: ircNick(this.options.nick, args.credentials.authcid),
        credentials: args.credentials,
        ...(args.mechanism === undefined ? {} : { mechanism: args.mechanism }),
        choose: {
          encrypted: tls !== undefined,
          allowPlaintext: args.allowPlaintext === true,
          ...(args.preference === undefined ? {} : { preference: args.preference }),
        },
        client: {
          host: this.target.host,
          service: 'irc',
          channelBinding: args.channelBinding ?? 'prefer',
          ...(tls === undefined ? {} : { channelBindingData: tls.binding }),
        },
        lines: this.#lines,
        write: this.#write,
      });
      const sasl = result.sasl;
      if (sasl === undefined)
        throw new UnexpectedMessageError('the IRC server registered the client without SASL', { party: 'server' });
      return { mechanism: sasl.mechanism, serverVerified: sasl.serverVerified, roundTrips: sasl.roundTrips };
    });
  }

  /** Sends QUIT and waits for the server to close; never throws. */
  async quit(): Promise<void> {
    try {
      await this.#write('QUIT :saslkit');
    } catch {
      // The server hung up first.
    }
    this.#reader.close();
    await this.conn.end('');
  }

  /** Closes at once. */
  override close(): void {
    this.#reader.close();
    super.close();
  }
}
