/**
 * The line-based half of `login`, `mechs` and `demo`: connects to an SMTP, IMAP, POP3 or
 * ManageSieve server (plain, STARTTLS or implicit TLS), reads the greeting and what it
 * advertises, upgrades with STARTTLS, authenticates through saslkit's protocol profiles, and
 * says goodbye.
 * @module
 */
import {
  type ChooseOptions,
  type LineClientResult,
  LineReader,
  MalformedMessageError,
  SASLAuth,
  type SmtpReply,
  UnexpectedMessageError,
  UsageError,
  imapClientAuth,
  lineWriter,
  manageSieveClientAuth,
  parseManageSieveCapabilities,
  parseEhlo,
  parseImapCapabilities,
  parsePop3Capa,
  pop3ClientAuth,
  readSmtpReply,
  smtpClientAuth,
} from '../index.js';
import { type AuthenticateArgs, type ProtocolClient, SocketClient, peerText } from './client.js';
import { ClientSocket } from './socket.js';
import type { ConnectOptions } from './tls-client.js';
import { type ClientProtocol, serviceName } from './url.js';

const MAX_REPLY_LINES = 1000;

/** A connection to a line-based server (SMTP, IMAP, POP3, ManageSieve), at the authentication stage. */
export class MailClient extends SocketClient implements ProtocolClient {
  #reader!: LineReader;
  #lines!: AsyncIterator<string>;
  #write!: (line: string) => unknown;
  #tag = 0;
  /** ManageSieve: the listing just read came with the greeting (no re-issue to wait for). */
  #sieveFresh = true;
  /** IMAP: the server's capability atoms (SASL-IR decides the initial response). */
  #imapCapabilities: readonly string[] = [];

  private constructor(options: ConnectOptions, conn: ClientSocket) {
    super(options, conn);
    this.#attach();
  }

  /** Connects, reads the greeting and what the server advertises. */
  static async connect(options: ConnectOptions): Promise<MailClient> {
    const client = new MailClient(options, await ClientSocket.open(options));
    return client.start(async () => {
      await client.#greeting();
      await client.#capabilities();
    });
  }

  /** Reads lines from the connection's socket, as it is now. */
  #attach(): void {
    const socket = this.conn.socket;
    this.#reader = new LineReader(socket);
    const tracer = this.tracer;
    this.#lines = tracer ? tracer.source(this.#reader) : this.#reader;
    const write = lineWriter(socket);
    this.#write = tracer ? tracer.writer(write) : write;
  }

  /** The protocol. */
  get protocol(): ClientProtocol {
    return this.target.protocol;
  }

  async #line(): Promise<string> {
    const next = await this.#lines.next();
    if (next.done === true) throw new UnexpectedMessageError('the server closed the connection', { party: 'server' });
    return next.value.endsWith('\r') ? next.value.slice(0, -1) : next.value;
  }

  /** Reads an SMTP reply; a code other than `code` is the server refusing `what`. */
  async #smtpReply(code: number, what: string): Promise<SmtpReply> {
    const reply = await readSmtpReply(this.#lines);
    if (reply.code !== code)
      throw new UnexpectedMessageError(
        `the SMTP server refused ${what}: ${reply.code} ${peerText(reply.lines.join(' '))}`,
        { party: 'server' },
      );
    return reply;
  }

  async #greeting(): Promise<void> {
    switch (this.protocol) {
      case 'smtp':
        await this.#smtpReply(220, 'the session');
        return;
      case 'imap': {
        const line = await this.#line();
        if (!/^\* OK\b/i.test(line))
          throw new UnexpectedMessageError(`the IMAP greeting is not OK: ${peerText(line)}`, { party: 'server' });
        return;
      }
      case 'pop3': {
        const line = await this.#line();
        if (!/^\+OK\b/i.test(line))
          throw new UnexpectedMessageError(`the POP3 greeting is not +OK: ${peerText(line)}`, { party: 'server' });
        return;
      }
      case 'sieve':
        // The greeting is the capability listing (RFC 5804 section 1.7).
        await this.#sieveListing('greeting');
        return;
      default:
        throw new UsageError(`the ${this.protocol} protocol is not line-based`);
    }
  }

  /** Reads a ManageSieve capability listing up to its `OK`. */
  async #sieveListing(what: string): Promise<void> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.#line();
      const status = /^(OK|NO|BYE)\b/i.exec(line);
      if (status) {
        if ((status[1] ?? '').toUpperCase() !== 'OK')
          throw new UnexpectedMessageError(`the ManageSieve ${what} is not OK: ${peerText(line)}`, { party: 'server' });
        break;
      }
      lines.push(line);
      if (lines.length > MAX_REPLY_LINES)
        throw new MalformedMessageError('the ManageSieve capability listing does not end', { party: 'server' });
    }
    const capabilities = parseManageSieveCapabilities(lines);
    this.mechanisms = capabilities.mechanisms;
    this.startTlsOffered = capabilities.capabilities.has('STARTTLS');
  }

  /** Asks the server what it offers now (EHLO, CAPABILITY, CAPA). */
  async #capabilities(): Promise<void> {
    switch (this.protocol) {
      case 'smtp': {
        await this.#write('EHLO saslkit.invalid');
        const ehlo = parseEhlo(await this.#smtpReply(250, 'EHLO'));
        this.mechanisms = ehlo.mechanisms;
        this.startTlsOffered = ehlo.keywords.has('STARTTLS');
        return;
      }
      case 'imap': {
        const { untagged } = await this.#imapCommand('CAPABILITY');
        const line = untagged.find((text) => /^\* CAPABILITY /i.test(text));
        if (line === undefined)
          throw new MalformedMessageError('the IMAP server sent no CAPABILITY response', { party: 'server' });
        const capabilities = parseImapCapabilities(line);
        this.#imapCapabilities = capabilities.atoms;
        this.mechanisms = capabilities.mechanisms;
        this.startTlsOffered = capabilities.atoms.some((atom) => atom.toUpperCase() === 'STARTTLS');
        return;
      }
      case 'pop3': {
        await this.#write('CAPA');
        const status = await this.#line();
        if (!/^\+OK\b/i.test(status)) {
          // A server without CAPA (RFC 1939 only) advertises nothing.
          this.mechanisms = [];
          this.startTlsOffered = false;
          this.noCapa = true;
          return;
        }
        const lines: string[] = [];
        for (;;) {
          const line = await this.#line();
          if (line === '.') break;
          lines.push(line.startsWith('..') ? line.slice(1) : line);
          if (lines.length > MAX_REPLY_LINES)
            throw new MalformedMessageError('the POP3 CAPA reply does not end', { party: 'server' });
        }
        const capa = parsePop3Capa(lines);
        this.noCapa = false;
        this.mechanisms = capa.mechanisms;
        this.startTlsOffered = capa.capabilities.has('STLS');
        return;
      }
      case 'sieve':
        // The greeting carried the listing; after STARTTLS the server sends it again unasked.
        if (this.tls !== undefined && !this.#sieveFresh) await this.#sieveListing('capability listing after STARTTLS');
        this.#sieveFresh = false;
        return;
      default:
        throw new UsageError(`the ${this.protocol} protocol is not line-based`);
    }
  }

  #nextTag(): string {
    this.#tag += 1;
    return `A${this.#tag}`;
  }

  async #imapCommand(command: string): Promise<{ untagged: string[]; status: string; text: string }> {
    const tag = this.#nextTag();
    await this.#write(`${tag} ${command}`);
    const untagged: string[] = [];
    for (;;) {
      const line = await this.#line();
      if (line.startsWith(`${tag} `)) {
        const match = /^(OK|NO|BAD)\b ?(.*)$/i.exec(line.slice(tag.length + 1));
        if (!match)
          throw new MalformedMessageError('the IMAP server sent a tagged reply without OK, NO or BAD', {
            party: 'server',
          });
        return { untagged, status: (match[1] ?? '').toUpperCase(), text: match[2] ?? '' };
      }
      untagged.push(line);
      if (untagged.length > MAX_REPLY_LINES)
        throw new MalformedMessageError('the IMAP server sent too many untagged lines', { party: 'server' });
    }
  }

  /** Upgrades with STARTTLS (STLS in POP3), then asks again what the server offers. */
  async startTls(): Promise<void> {
    if (this.tls !== undefined) throw new UnexpectedMessageError('TLS is already active', { party: 'local' });
    await this.conn.guard(async () => {
      switch (this.protocol) {
        case 'smtp': {
          await this.#write('STARTTLS');
          await this.#smtpReply(220, 'STARTTLS');
          break;
        }
        case 'imap': {
          const reply = await this.#imapCommand('STARTTLS');
          if (reply.status !== 'OK')
            throw new UnexpectedMessageError(
              `the IMAP server refused STARTTLS: ${reply.status} ${peerText(reply.text)}`,
              { party: 'server' },
            );
          break;
        }
        case 'pop3': {
          await this.#write('STLS');
          const line = await this.#line();
          if (!/^\+OK\b/i.test(line))
            throw new UnexpectedMessageError(`the POP3 server refused STLS: ${peerText(line)}`, { party: 'server' });
          break;
        }
        case 'sieve': {
          await this.#write('STARTTLS');
          const line = await this.#line();
          if (!/^OK\b/i.test(line))
            throw new UnexpectedMessageError(`the ManageSieve server refused STARTTLS: ${peerText(line)}`, {
              party: 'server',
            });
          break;
        }
        default:
          throw new UsageError(`the ${this.protocol} protocol is not line-based`);
      }
      this.#reader.close();
      // Anything the server sent after its go-ahead was sent in the clear: an injection attempt.
      if ((await this.#reader.next()).done !== true)
        throw new UnexpectedMessageError('the server sent data after accepting STARTTLS', { party: 'server' });
      await this.conn.upgrade();
      this.#attach();
      await this.#capabilities();
    });
  }

  /** Authenticates. Resolves with the profile's result; rejects with its typed error. */
  async authenticate(args: AuthenticateArgs): Promise<LineClientResult> {
    const tls = this.tls;
    // The registry decides the mechanism and the GS2 flag, as in every client profile: a plain
    // SCRAM chosen while the server offers its -PLUS variant goes without binding data ("n"),
    // since "y" would read as a downgrade attack (RFC 5802 section 6).
    const choose: ChooseOptions = {
      encrypted: tls !== undefined,
      allowPlaintext: args.allowPlaintext === true,
      ...(args.preference === undefined ? {} : { preference: args.preference }),
    };
    const { mechanism, client } = SASLAuth.all().negotiateClient(this.mechanisms, {
      mechanism: args.mechanism,
      credentials: args.credentials,
      choose,
      client: {
        host: this.target.host,
        port: this.target.port,
        service: serviceName(this.protocol),
        channelBinding: args.channelBinding ?? 'prefer',
        channelBindingData: tls?.binding,
      },
      peer: `the ${this.protocol.toUpperCase()} server`,
    });
    const common = {
      credentials: args.credentials,
      mechanism,
      choose,
      client,
      lines: this.#lines,
      write: this.#write,
    };
    return this.conn.guard(async () => {
      switch (this.protocol) {
        case 'smtp':
          return smtpClientAuth({ ...common, offered: this.mechanisms });
        case 'imap':
          return imapClientAuth({ ...common, tag: this.#nextTag(), capabilities: this.#imapCapabilities });
        case 'pop3':
          return pop3ClientAuth({ ...common, offered: this.mechanisms });
        case 'sieve':
          return manageSieveClientAuth({ ...common, offered: this.mechanisms });
        default:
          throw new UsageError(`the ${this.protocol} protocol is not line-based`);
      }
    });
  }

  /** Says goodbye (QUIT, LOGOUT) and closes; never throws. */
  async quit(): Promise<void> {
    try {
      await this.conn.guard(async () => {
        if (this.protocol === 'imap') await this.#imapCommand('LOGOUT');
        else {
          await this.#write(this.protocol === 'sieve' ? 'LOGOUT' : 'QUIT');
          await this.#line();
        }
      });
    } catch {
      // The session is over either way; a server that hangs up first is not an error.
    } finally {
      this.close();
    }
  }

  /** Closes the connection at once. */
  override close(): void {
    this.#reader.close();
    super.close();
  }
}
