/**
 * The soak test's clients: legitimate SMTP and IMAP logins (SCRAM-SHA-256 and PLAIN, through
 * saslkit's client profiles) and three kinds of misbehaviour (disconnect mid-exchange, garbage,
 * stalling past the server's time limit). Every wait is bounded.
 */
import { once } from 'node:events';
import { type Socket, createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  ClientCredentials,
  LineReader,
  imapClientAuth,
  isSaslError,
  lineWriter,
  parseEhlo,
  readSmtpReply,
  smtpClientAuth,
} from '../../lib/index.js';
import { passwordOf, userName } from './shared.js';

/** Which protocol and mechanism a login uses. */
export interface LoginPlan {
  readonly protocol: 'smtp' | 'imap';
  readonly mechanism: 'SCRAM-SHA-256' | 'PLAIN';
  readonly user: number;
}

/** The kinds of misbehaviour. */
export type Misbehaviour = 'disconnect' | 'garbage' | 'stall' | 'wrong-password' | 'abort';

/** Ports of the soak server. */
export interface Ports {
  readonly smtp: number;
  readonly imap: number;
}

class Connection {
  readonly reader: LineReader;
  readonly write: (line: string) => Promise<void>;
  readonly closed: Promise<unknown>;

  constructor(readonly socket: Socket) {
    this.reader = new LineReader(socket, { maxLineLength: 65536 });
    this.write = lineWriter(socket);
    // Not events.once: that rejects on 'error', and a reset connection is no failure here.
    this.closed = new Promise((resolve) => socket.once('close', resolve));
  }

  static async open(port: number): Promise<Connection> {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return new Connection(socket);
  }

  async line(): Promise<string> {
    const next = await this.reader.next();
    if (next.done === true) throw new Error('the server closed the connection');
    return next.value;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Counts the wrong-password clients, so that they alternate between a known and an unknown user. */
let wrongPasswordTurn = 0;

/** A wrong password or an unknown user that the server let in. */
export class BadLoginAccepted extends Error {}

/** Rejects after `ms`, so that no client waits forever. */
export async function bounded<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One legitimate login: connect, greet, authenticate, quit. Resolves with its latency in ms
 * (connect to success). `as` replaces the credentials (a wrong password, an unknown user).
 */
export async function login(ports: Ports, plan: LoginPlan, as?: ClientCredentials): Promise<number> {
  const started = performance.now();
  const conn = await Connection.open(plan.protocol === 'smtp' ? ports.smtp : ports.imap);
  try {
    const credentials = as ?? new ClientCredentials(userName(plan.user), passwordOf(plan.user));
    // No client-side cache: every SCRAM login derives its key, as separate clients would.
    const client = { scramCache: false };
    if (plan.protocol === 'smtp') {
      await readSmtpReply(conn.reader);
      await conn.write('EHLO client.soak.test');
      const info = parseEhlo(await readSmtpReply(conn.reader));
      await smtpClientAuth({
        credentials,
        mechanism: plan.mechanism,
        offered: info.mechanisms,
        lines: conn.reader,
        write: conn.write,
        client,
      });
      const latency = performance.now() - started;
      await conn.write('QUIT');
      await readSmtpReply(conn.reader);
      return latency;
    }
    const greeting = await conn.line();
    await imapClientAuth({
      tag: 'a1',
      capabilities: greeting,
      credentials,
      mechanism: plan.mechanism,
      lines: conn.reader,
      write: conn.write,
      client,
    });
    const latency = performance.now() - started;
    await conn.write('a2 LOGOUT');
    while (!(await conn.line()).startsWith('a2 ')) {
      // the untagged BYE
    }
    return latency;
  } finally {
    conn.socket.end();
    conn.destroy();
  }
}

function scramClientFirst(user: number): string {
  return Buffer.from(`n,,n=${userName(user)},r=${randomBytes(18).toString('base64')}`).toString('base64');
}

function authLine(protocol: 'smtp' | 'imap', tag: string, rest: string): string {
  return protocol === 'smtp' ? `AUTH ${rest}` : `${tag} AUTHENTICATE ${rest}`;
}

/** Reads the greeting: SMTP's 220, IMAP's untagged OK. */
async function greet(conn: Connection, protocol: 'smtp' | 'imap'): Promise<void> {
  if (protocol === 'smtp') await readSmtpReply(conn.reader);
  else await conn.line();
}

/**
 * One misbehaving client. Resolves with how long the server took to close a stalled
 * connection (ms), or undefined for the other kinds.
 */
export async function misbehave(
  ports: Ports,
  protocol: 'smtp' | 'imap',
  kind: Misbehaviour,
  user: number,
  exchangeTimeoutMs: number,
): Promise<number | undefined> {
  if (kind === 'wrong-password') {
    // Every other one names a user the store does not have; the mechanisms alternate in pairs.
    const turn = wrongPasswordTurn++;
    const credentials = new ClientCredentials(turn % 2 === 0 ? userName(user) : `nobody${user}`, 'not-the-password');
    const mechanism = turn % 4 < 2 ? 'SCRAM-SHA-256' : 'PLAIN';
    const outcome = await login(ports, { protocol, mechanism, user }, credentials).then(
      () => 'accepted',
      (error: unknown) => (isSaslError(error) ? error.code : String(error)),
    );
    if (outcome === 'accepted') throw new BadLoginAccepted(`a ${mechanism} login with a wrong password was accepted`);
    if (outcome !== 'AUTHENTICATION_FAILED')
      throw new Error(`a ${mechanism} login with a wrong password failed with ${outcome}, not AUTHENTICATION_FAILED`);
    return undefined;
  }
  const conn = await Connection.open(protocol === 'smtp' ? ports.smtp : ports.imap);
  try {
    await greet(conn, protocol);
    if (kind === 'abort') {
      // Start SCRAM, take the server-first message, cancel with `*`: the server answers the cancel.
      await conn.write(authLine(protocol, 'c1', `SCRAM-SHA-256 ${scramClientFirst(user)}`));
      await conn.line();
      await conn.write('*');
      const reply = await conn.line();
      if (!(protocol === 'smtp' ? reply.startsWith('501') : reply.startsWith('c1 BAD')))
        throw new Error('the server did not answer a cancelled exchange as expected');
      return undefined;
    }
    if (kind === 'disconnect') {
      // Start SCRAM, take the server-first message, and vanish.
      await conn.write(authLine(protocol, 'b1', `SCRAM-SHA-256 ${scramClientFirst(user)}`));
      await conn.line();
      conn.destroy();
      return undefined;
    }
    if (kind === 'garbage') {
      await conn.write(authLine(protocol, 'g1', 'PLAIN !!!not-base64!!!'));
      await conn.line();
      await conn.write(authLine(protocol, 'g2', `SCRAM-SHA-256 ${scramClientFirst(user)}`));
      await conn.line();
      await conn.write('%%% not a response %%%');
      await conn.line();
      await conn.write(authLine(protocol, 'g3', 'PLAIN'));
      await conn.line();
      await conn.write('A'.repeat(20000));
      await conn.line();
      // Binary junk without a line ending, then gone.
      conn.socket.write(randomBytes(512));
      conn.destroy();
      return undefined;
    }
    // Stall: start SCRAM, read the server-first message, then say nothing at all.
    await conn.write(authLine(protocol, 's1', `SCRAM-SHA-256 ${scramClientFirst(user)}`));
    await conn.line();
    const stalled = performance.now();
    await bounded(exchangeTimeoutMs + 5000, 'the server closing a stalled connection', conn.closed);
    return performance.now() - stalled;
  } finally {
    conn.destroy();
  }
}
