/**
 * The one command loop of the line protocols (SMTP, IMAP, POP3, ManageSieve): read a command
 * line, hand it to the protocol, until the protocol or the client ends the session. Each
 * protocol's module says only what its commands mean.
 * @module
 */
import type { Socket } from 'node:net';
import {
  type Authenticated,
  type LineServerAuthOptions,
  LineReader,
  type LineWriter,
  lineWriter,
} from '../../index.js';
import type { Session } from './session.js';

/** A line protocol's commands, for one connection. */
export interface LineProtocol {
  /** The longest line the protocol's SASL profile takes (its AUTH command or a response). */
  readonly maxLine: number;
  /** Sends the greeting. */
  greet(): Promise<void>;
  /** Handles one command line; resolves false when the session is over. */
  command(line: string): Promise<boolean>;
  /** Forgets the protocol's own state (SMTP's EHLO, POP3's USER) when TLS starts. */
  reset?(): void;
}

/** A connection that reads and writes CRLF lines, traced when tracing is on. */
export class LineConnection {
  readonly session: Session;
  #reader!: LineReader;
  #maxLine = 0;
  #reset: (() => void) | undefined;
  /** The client's lines. */
  lines!: AsyncIterator<string>;
  /** Sends one line (the writer adds CRLF). */
  write!: LineWriter;
  /** Sends one line and waits until it is written. */
  readonly send = async (line: string): Promise<void> => {
    await this.write(line);
  };

  constructor(session: Session) {
    this.session = session;
  }

  /** Starts reading with the protocol's line limit; `reset` runs when TLS starts. */
  start(maxLine: number, reset: (() => void) | undefined): void {
    this.#maxLine = maxLine;
    this.#reset = reset;
    this.#attach(this.session.socket);
  }

  #attach(socket: Socket): void {
    const tracer = this.session.tracer;
    this.#reader = new LineReader(socket, { maxLineLength: this.#maxLine + 1 });
    this.lines = tracer ? tracer.source(this.#reader) : this.#reader;
    const write = lineWriter(socket);
    this.write = tracer ? tracer.writer(write) : write;
  }

  /** The next line; undefined once the client hung up. */
  async next(): Promise<string | undefined> {
    const next = await this.lines.next();
    return next.done === true ? undefined : next.value;
  }

  /** Runs one SASL exchange for `command` through a line profile (`smtpServerAuth`, ...). */
  sasl(
    mechanism: string,
    command: string,
    profile: (args: LineServerAuthOptions) => Promise<Authenticated>,
  ): Promise<Authenticated | undefined> {
    return this.session.sasl(mechanism, (auth, options) =>
      profile({ command, auth, options, lines: this.lines, write: this.write }),
    );
  }

  /**
   * Switches to TLS after the protocol's go-ahead `reply`, then reads lines over TLS with the
   * session forgotten. A line pipelined after the STARTTLS command drops the connection.
   */
  async startTls(reply: string): Promise<boolean> {
    this.#reader.close();
    const leftover = this.#reader;
    const ok = await this.session.startTls(
      async () => (await leftover.next()).done === true,
      () => this.write(reply),
    );
    if (!ok) return false;
    this.#attach(this.session.socket);
    this.#reset?.();
    return true;
  }

  /** Ends the session after the goodbye. */
  end(): void {
    this.session.socket.end();
  }

  /** Stops reading and closes the socket. */
  close(): void {
    this.#reader.close();
    this.session.socket.destroy();
  }
}

/** Runs a line protocol's session to its end, then closes the connection. */
export async function runLines(
  session: Session,
  protocol: (connection: LineConnection) => LineProtocol,
): Promise<void> {
  const connection = new LineConnection(session);
  const commands = protocol(connection);
  connection.start(commands.maxLine, commands.reset?.bind(commands));
  try {
    await commands.greet();
    for (;;) {
      const line = await connection.next();
      if (line === undefined || !(await commands.command(line))) return;
    }
  } finally {
    connection.close();
  }
}
