/**
 * Connection plumbing for the interop specs where saslkit is the client: connect to a peer on
 * 127.0.0.1, read the greeting, ask for the capabilities (EHLO, CAPABILITY, CAPA), switch to
 * TLS where asked, and hand the line source and writer to saslkit's protocol profiles. The
 * SASL exchange itself is always the profile's; nothing here builds a SASL message.
 */
import { once } from 'node:events';
import { type Socket, createConnection } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  type EhloInfo,
  type ImapCapabilities,
  LineReader,
  PgMessageReader,
  type Pop3Capabilities,
  buildPgMessage,
  buildPgSSLRequest,
  buildPgTerminate,
  lineWriter,
  parseEhlo,
  parseImapCapabilities,
  parsePgErrorResponse,
  parsePop3Capa,
  readSmtpReply,
} from '../../lib/index.js';
import { READ_TIMEOUT_MS } from './line-client.js';
import { HOST, PORTS } from './peers.js';

/** A line-based connection: what the profiles read from and write to. */
export interface LineConnection {
  /** The server's lines; handed to a profile, which reads with `next()` only. */
  readonly lines: LineReader;
  /** Sends one line (the writer adds CRLF). */
  readonly write: (line: string) => Promise<void>;
  /** The TLS socket once STARTTLS (or implicit TLS) is up. */
  readonly tls: TLSSocket | undefined;
  /** The next server line; rejects when the connection ends first. */
  readLine(): Promise<string>;
  /** Lines up to and including the first one `last` accepts. */
  readUntil(last: (line: string) => boolean): Promise<string[]>;
  /** Closes the connection. */
  close(): void;
}

// Every connection a spec opens is closed by closeAll() in an afterEach hook, even when the spec fails half way.
const open = new Set<{ close(): void }>();

/** Closes every connection opened through this module and not closed yet. */
export function closeAll(): void {
  for (const connection of open) connection.close();
  open.clear();
}

/** Connects to 127.0.0.1:`port`. A silent peer ends the socket after READ_TIMEOUT_MS, so no read hangs. */
async function connectTcp(port: number): Promise<Socket> {
  const socket = createConnection({ host: HOST, port, noDelay: true });
  socket.setTimeout(READ_TIMEOUT_MS, () =>
    socket.destroy(new Error(`127.0.0.1:${port} was silent for ${READ_TIMEOUT_MS} ms`)),
  );
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/** A TLS client over an already connected socket. The interop peers use self-signed certificates. */
async function upgrade(socket: Socket): Promise<TLSSocket> {
  // Hold the plain socket's data until the TLS socket takes it over.
  socket.pause();
  const tls = tlsConnect({ socket, rejectUnauthorized: false, servername: 'localhost' });
  tls.on('error', () => undefined);
  await once(tls, 'secureConnect');
  return tls;
}

class Lines implements LineConnection {
  readonly lines: LineReader;
  readonly write: (line: string) => Promise<void>;

  constructor(
    private readonly socket: Socket,
    readonly tls: TLSSocket | undefined,
    private readonly raw: Socket,
  ) {
    this.lines = new LineReader(socket);
    this.write = lineWriter(socket);
    open.add(this);
  }

  async readLine(): Promise<string> {
    const next = await this.lines.next();
    if (next.done === true) throw new Error('the peer closed the connection');
    return next.value;
  }

  async readUntil(last: (line: string) => boolean): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      lines.push(line);
      if (last(line)) return lines;
    }
  }

  /** Detaches the line reader and hands the raw socket over for TLS. */
  async startTls(): Promise<Lines> {
    this.lines.close();
    open.delete(this);
    const tls = await upgrade(this.socket);
    return new Lines(tls, tls, this.raw);
  }

  close(): void {
    this.lines.close();
    this.socket.destroy();
    this.raw.destroy();
    open.delete(this);
  }
}

async function connectLines(port: number): Promise<Lines> {
  const socket = await connectTcp(port);
  return new Lines(socket, undefined, socket);
}

// ---------------------------------------------------------------------------------------------
// IMAP

/** An IMAP connection, greeted, with the capabilities a CAPABILITY command returned. */
export interface ImapConnection extends LineConnection {
  readonly capabilities: ImapCapabilities;
  /** Sends `tag command` and returns the lines up to the tagged reply. */
  command(tag: string, command: string): Promise<string[]>;
}

async function imapCommand(lines: Lines, tag: string, command: string): Promise<string[]> {
  await lines.write(`${tag} ${command}`);
  return lines.readUntil((line) => line.startsWith(`${tag} `));
}

async function imapCapabilities(lines: Lines): Promise<ImapCapabilities> {
  const reply = await imapCommand(lines, 'c1', 'CAPABILITY');
  const line = reply.find((text) => /^\* CAPABILITY /i.test(text));
  if (line === undefined || !/^c1 OK/i.test(reply.at(-1) ?? ''))
    throw new Error('the IMAP server did not answer CAPABILITY');
  return parseImapCapabilities(line);
}

/** Connects to an IMAP server (Dovecot by default), optionally upgrading with STARTTLS first. */
export async function openImap(
  options: { readonly port?: number; readonly starttls?: boolean } = {},
): Promise<ImapConnection> {
  let lines = await connectLines(options.port ?? PORTS.imap);
  const greeting = await lines.readLine();
  if (!greeting.startsWith('* OK')) throw new Error('the IMAP server did not greet with * OK');
  if (options.starttls === true) {
    const reply = await imapCommand(lines, 's1', 'STARTTLS');
    if (!/^s1 OK/i.test(reply.at(-1) ?? '')) throw new Error('the IMAP server refused STARTTLS');
    lines = await lines.startTls();
  }
  const capabilities = await imapCapabilities(lines);
  const connection = lines;
  return Object.assign(connection, {
    capabilities,
    command: (tag: string, command: string) => imapCommand(connection, tag, command),
  });
}

// ---------------------------------------------------------------------------------------------
// POP3

/** A POP3 connection, greeted, with what CAPA said. */
export interface Pop3Connection extends LineConnection {
  readonly capa: Pop3Capabilities;
}

/** Connects to a POP3 server (Dovecot by default) and sends CAPA. */
export async function openPop3(options: { readonly port?: number } = {}): Promise<Pop3Connection> {
  const lines = await connectLines(options.port ?? PORTS.pop3);
  if (!(await lines.readLine()).startsWith('+OK')) throw new Error('the POP3 server did not greet with +OK');
  await lines.write('CAPA');
  const capa = parsePop3Capa(await lines.readUntil((line) => line === '.'));
  return Object.assign(lines, { capa });
}

// ---------------------------------------------------------------------------------------------
// SMTP

/** An SMTP connection, greeted, with the EHLO reply. */
export interface SmtpConnection extends LineConnection {
  readonly ehlo: EhloInfo;
}

/** Connects to an SMTP server (nodemailer's smtp-server by default) and sends EHLO. */
export async function openSmtp(options: { readonly port?: number } = {}): Promise<SmtpConnection> {
  const lines = await connectLines(options.port ?? PORTS.smtp);
  const greeting = await readSmtpReply(lines.lines);
  if (greeting.code !== 220) throw new Error(`the SMTP server greeted with ${greeting.code}`);
  await lines.write('EHLO localhost');
  const reply = await readSmtpReply(lines.lines);
  if (reply.code !== 250) throw new Error(`the SMTP server answered EHLO with ${reply.code}`);
  return Object.assign(lines, { ehlo: parseEhlo(reply) });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** A PostgreSQL connection before the StartupMessage: plain, or TLS after SSLRequest. */
export interface PgConnection {
  readonly reader: PgMessageReader;
  readonly write: (data: Uint8Array) => void;
  readonly tls: TLSSocket | undefined;
  /** Sends Terminate and closes. */
  close(): void;
}

/** Connects to PostgreSQL; with `tls`, sends SSLRequest and upgrades after the server's `S`. */
export async function openPostgres(
  options: { readonly tls?: boolean; readonly port?: number } = {},
): Promise<PgConnection> {
  const raw = await connectTcp(options.port ?? PORTS.postgres);
  let socket: Socket = raw;
  let tls: TLSSocket | undefined;
  if (options.tls === true) {
    raw.write(buildPgSSLRequest());
    const [answer] = (await once(raw, 'data')) as [Buffer];
    // Anything after the one-byte answer would be plaintext injected before TLS (CVE-2021-23222).
    if (answer.length !== 1 || answer[0] !== 0x53) throw new Error('the PostgreSQL server did not accept SSLRequest');
    tls = await upgrade(raw);
    socket = tls;
  }
  const reader = new PgMessageReader(socket, { peer: 'server' });
  const connection: PgConnection = {
    reader,
    write: (data) => {
      socket.write(data);
    },
    tls,
    close: () => {
      open.delete(connection);
      if (socket.destroyed) return;
      // Terminate lets the server end the session cleanly instead of logging a reset connection.
      socket.write(buildPgTerminate(), () => {
        socket.destroy();
        raw.destroy();
      });
    },
  };
  open.add(connection);
  return connection;
}

/**
 * Runs one simple query (after authentication and ReadyForQuery) and returns the first column
 * of the first row as text, proving the session is really logged in.
 */
export async function pgQueryValue(connection: PgConnection, sql: string): Promise<string | undefined> {
  connection.write(buildPgMessage('Q', Buffer.from(`${sql}\0`, 'utf8')));
  let value: string | undefined;
  for (;;) {
    const message = await connection.reader.read();
    if (message.type === 'E') throw new Error(`the query failed: SQLSTATE ${parsePgErrorResponse(message.body).code}`);
    if (message.type === 'D' && value === undefined) {
      // DataRow: Int16 column count, then per column an Int32 length (-1 for NULL) and the bytes.
      const body = Buffer.from(message.body);
      const length = body.readInt32BE(2);
      value = length < 0 ? undefined : body.subarray(6, 6 + length).toString('utf8');
    }
    if (message.type === 'Z') return value;
  }
}
