/**
 * saslkit as the server, for real clients to log in to: a small SMTP or IMAP server on
 * 127.0.0.1 that speaks its protocol only as far as those clients need (greeting, EHLO /
 * CAPABILITY, NOOP, QUIT / LOGOUT, IMAP's LOGIN command) and hands AUTH / AUTHENTICATE to
 * smtpServerAuth / imapServerAuth. Every attempt is recorded with the verified outcome or the
 * typed error saslkit raised, so specs can check what the server side saw and said.
 */
import { type Server, type Socket, createServer } from 'node:net';
import {
  type Authenticated,
  ClearIdentity,
  IMAP_MAX_AUTH_LINE,
  type Identity,
  LineReader,
  SASLAuth,
  SMTP_MAX_AUTH_LINE,
  ScramIdentity,
  type ServerOptions,
  advertisedMechanisms,
  authenticate,
  authenticatePassword,
  formatSmtpReply,
  imapCapabilityAtoms,
  imapServerAuth,
  lineWriter,
  smtpAuthKeyword,
  smtpServerAuth,
} from '../../lib/index.js';
import { READ_TIMEOUT_MS } from './line-client.js';
import { ACCOUNTS, HOST } from './peers.js';

/** The mechanisms the test servers offer, in advertising order. No -PLUS: there is no TLS. */
export const SERVER_MECHANISMS = [
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'DIGEST-MD5',
  'CRAM-MD5',
  'OAUTHBEARER',
  'XOAUTH2',
  'PLAIN',
  'LOGIN',
] as const;

/** The server's name: DIGEST-MD5's realm (curl needs a non-empty one) and the greeting's host. */
export const SERVER_HOSTNAME = 'localhost';

/** One authentication attempt as the server saw it: the verified outcome, or saslkit's error. */
export interface AuthAttempt {
  /** The SASL mechanism, or `LOGIN command` for IMAP's LOGIN. */
  readonly mechanism: string;
  /** Whether the command carried an initial response (SMTP and IMAP SASL-IR). */
  readonly initialResponse: boolean;
  readonly outcome?: Authenticated;
  readonly error?: unknown;
}

/** A running test server. */
export interface SaslkitServer {
  readonly port: number;
  /** The mechanisms advertised. */
  readonly mechanisms: readonly string[];
  /** Every attempt so far, in order. */
  readonly attempts: readonly AuthAttempt[];
  /**
   * The attempts made while `client` ran: resolves once the server recorded `count` new ones,
   * since a client may exit before the server has finished recording its failure.
   */
  attemptsDuring(client: () => Promise<unknown>, count?: number): Promise<AuthAttempt[]>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * The accounts: alice in clear text (every mechanism), bob as SCRAM-SHA-256 keys only (SCRAM,
 * PLAIN, LOGIN), and alice's bearer token.
 */
function serverOptions(): ServerOptions {
  const accounts: Identity[] = [
    new ClearIdentity(ACCOUNTS.alice.user, ACCOUNTS.alice.pass),
    ScramIdentity.create(ACCOUNTS.bob.user, ACCOUNTS.bob.pass, { hashes: ['SHA-256'], iterations: 4096 }),
  ];
  return {
    lookup: (authcid) => accounts.find((account) => account.authcid === authcid),
    hostname: SERVER_HOSTNAME,
    validateToken: ({ token }) =>
      token === ACCOUNTS.aliceToken
        ? { authcid: ACCOUNTS.alice.user }
        : { error: { status: 'invalid_token', schemes: 'bearer', scope: 'mail' } },
  };
}

/** Per-connection state both protocols need. */
interface Connection {
  readonly lines: LineReader;
  readonly write: (line: string) => Promise<void>;
  readonly socket: Socket;
  readonly auth: SASLAuth;
  readonly options: ServerOptions;
  readonly mechanisms: readonly string[];
  /** Runs one exchange, records it, and tells whether it succeeded. */
  attempt(mechanism: string, initialResponse: boolean, run: () => Promise<Authenticated>): Promise<boolean>;
}

async function nextLine(lines: LineReader): Promise<string | undefined> {
  const next = await lines.next();
  return next.done === true ? undefined : next.value;
}

async function smtpSession(c: Connection): Promise<void> {
  let authenticated = false;
  await c.write(`220 ${SERVER_HOSTNAME} ESMTP saslkit interop server`);
  for (;;) {
    const line = await nextLine(c.lines);
    if (line === undefined) return;
    const verb = (line.split(' ')[0] ?? '').toUpperCase();
    if (verb === 'EHLO') {
      for (const reply of formatSmtpReply(
        250,
        [`${SERVER_HOSTNAME} Hello`, 'ENHANCEDSTATUSCODES', smtpAuthKeyword(c.mechanisms)].join('\n'),
      ))
        await c.write(reply);
    } else if (verb === 'HELO') {
      await c.write(`250 ${SERVER_HOSTNAME}`);
    } else if (verb === 'AUTH') {
      if (authenticated) await c.write('503 5.5.1 Already authenticated');
      else
        authenticated = await c.attempt(
          (line.split(' ')[1] ?? '').toUpperCase(),
          line.trimEnd().split(' ').length > 2,
          () => smtpServerAuth({ command: line, auth: c.auth, options: c.options, lines: c.lines, write: c.write }),
        );
    } else if (verb === 'NOOP' || verb === 'RSET') {
      await c.write('250 2.0.0 OK');
    } else if (verb === 'MAIL') {
      await c.write(authenticated ? '250 2.1.0 OK' : '530 5.7.0 Authentication required');
    } else if (verb === 'QUIT') {
      await c.write('221 2.0.0 Bye');
      c.socket.end();
      return;
    } else {
      await c.write('502 5.5.1 Not implemented by this test server');
    }
  }
}

/** Atoms and quoted strings of an IMAP LOGIN command; undefined for anything else (literals). */
function imapStrings(text: string): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  while (rest !== '') {
    const match = /^(?:"((?:[^"\\]|\\["\\])*)"|([^\s"(){%*\\]+))(?: |$)/.exec(rest);
    if (!match) return undefined;
    out.push(match[1] === undefined ? (match[2] ?? '') : match[1].replace(/\\(["\\])/g, '$1'));
    rest = rest.slice(match[0].length);
  }
  return out;
}

async function imapSession(c: Connection): Promise<void> {
  let authenticated = false;
  const capabilities = (): string =>
    ['IMAP4rev1', ...(authenticated ? [] : imapCapabilityAtoms(c.mechanisms))].join(' ');
  await c.write(`* OK [CAPABILITY ${capabilities()}] saslkit interop server ready`);
  for (;;) {
    const line = await nextLine(c.lines);
    if (line === undefined) return;
    const match = /^([^\s(){%*"\\+]+) ([A-Za-z]+)(?: (.*))?$/.exec(line);
    if (!match) {
      await c.write('* BAD Missing tag or command');
      continue;
    }
    const [, tag = '*', verb = '', args = ''] = match;
    switch (verb.toUpperCase()) {
      case 'CAPABILITY':
        await c.write(`* CAPABILITY ${capabilities()}`);
        await c.write(`${tag} OK CAPABILITY completed`);
        break;
      case 'NOOP':
        await c.write(`${tag} OK NOOP completed`);
        break;
      case 'AUTHENTICATE':
        if (authenticated) await c.write(`${tag} BAD Already authenticated`);
        else
          authenticated = await c.attempt(
            (args.split(' ')[0] ?? '').toUpperCase(),
            args.trimEnd().split(' ').length > 1,
            () =>
              imapServerAuth({
                command: line,
                auth: c.auth,
                options: c.options,
                lines: c.lines,
                write: c.write,
                capabilities: ['IMAP4rev1'],
              }),
          );
        break;
      case 'LOGIN': {
        const strings = imapStrings(args);
        if (authenticated) await c.write(`${tag} BAD Already authenticated`);
        else if (strings?.length !== 2) await c.write(`${tag} BAD Syntax: LOGIN user password`);
        else {
          // The LOGIN command checks the password with the same store and rules as PLAIN.
          const [user = '', password = ''] = strings;
          authenticated = await c.attempt('LOGIN command', false, () =>
            authenticate(authenticatePassword(c.options, 'PLAIN', user, password, ''), () =>
              Promise.reject(new Error('authenticatePassword sent a challenge')),
            ),
          );
          await c.write(
            authenticated ? `${tag} OK LOGIN completed` : `${tag} NO [AUTHENTICATIONFAILED] Authentication failed`,
          );
        }
        break;
      }
      case 'LOGOUT':
        await c.write('* BYE logging out');
        await c.write(`${tag} OK LOGOUT completed`);
        c.socket.end();
        return;
      default:
        await c.write(`${tag} BAD Command not supported by this test server`);
    }
  }
}

/** Starts a saslkit SMTP or IMAP server on 127.0.0.1 and a free port, offering `mechanisms` (default {@link SERVER_MECHANISMS}). */
export async function startSaslkitServer(
  protocol: 'smtp' | 'imap',
  settings: { readonly mechanisms?: readonly string[] } = {},
): Promise<SaslkitServer> {
  const auth = SASLAuth.named(settings.mechanisms ?? SERVER_MECHANISMS);
  const mechanisms = advertisedMechanisms(auth, { channelBinding: false });
  const options = serverOptions();
  const attempts: AuthAttempt[] = [];
  const waiters = new Set<() => void>();
  const record = (attempt: AuthAttempt): void => {
    attempts.push(attempt);
    for (const wake of waiters) wake();
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    socket.setTimeout(READ_TIMEOUT_MS, () => socket.destroy());
    const lines = new LineReader(socket, {
      maxLineLength: (protocol === 'smtp' ? SMTP_MAX_AUTH_LINE : IMAP_MAX_AUTH_LINE) + 1,
    });
    const connection: Connection = {
      lines,
      write: lineWriter(socket),
      socket,
      auth,
      options,
      mechanisms,
      attempt: async (mechanism, initialResponse, run) => {
        try {
          record({ mechanism, initialResponse, outcome: await run() });
          return true;
        } catch (error) {
          record({ mechanism, initialResponse, error });
          return false;
        }
      },
    };
    (protocol === 'smtp' ? smtpSession(connection) : imapSession(connection))
      .catch(() => undefined)
      .finally(() => {
        lines.close();
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    port: address.port,
    mechanisms,
    attempts,
    attemptsDuring: async (client, count = 1) => {
      const start = attempts.length;
      await client();
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (attempts.length < start + count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the server recorded ${attempts.length - start} of ${count} authentication attempts`));
        }, 5000);
        waiters.add(check);
        check();
      });
      return attempts.slice(start);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
