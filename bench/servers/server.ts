/**
 * The servers of the loopback workloads, each run in its own child process (so that its
 * memory and CPU are its own): `node -r ts-node/register/transpile-only server.ts <kind>`.
 * It listens on 127.0.0.1 (a free port), tells the parent the port over IPC, and answers
 * `{ cmd: 'memory' }` with its memory after two full garbage collections (and
 * `{ cmd: 'snapshot', path }` by writing a heap snapshot there).
 *
 * Kinds:
 * - `saslkit-smtp`, `saslkit-imap`: a small command loop as a user writes it, with saslkit's
 *   LineReader and smtpServerAuth / imapServerAuth, the store holding a ClearIdentity;
 * - `smtp-server`: nodemailer's smtp-server package (PLAIN and LOGIN, no TLS, no reverse DNS);
 * - `trivial-smtp`, `trivial-imap`: hand-written line servers that do only what the load needs.
 */
import { timingSafeEqual } from 'node:crypto';
import { type Socket, createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { writeHeapSnapshot } from 'node:v8';
import { PASSWORD, USER } from '../baselines.js';
import { sk } from '../saslkit.js';

type Kind = 'saslkit-smtp' | 'saslkit-imap' | 'smtp-server' | 'trivial-smtp' | 'trivial-imap';

const PASSWORD_BYTES = Buffer.from(PASSWORD);

function passwordOk(password: string | Buffer): boolean {
  const given = typeof password === 'string' ? Buffer.from(password) : password;
  return given.length === PASSWORD_BYTES.length && timingSafeEqual(given, PASSWORD_BYTES);
}

// Replies are written without waiting for the OS: every reply here is a few dozen bytes.
function writer(socket: Socket): (line: string) => void {
  return (line) => {
    socket.write(`${line}\r\n`);
  };
}

function saslkitServer(protocol: 'smtp' | 'imap'): (socket: Socket) => void {
  const auth = sk.SASLAuth.named(['PLAIN', 'LOGIN']);
  const identity = new sk.ClearIdentity(USER, PASSWORD);
  const options = { lookup: (name: string) => (name === USER ? identity : undefined) };
  return (socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const lines = new sk.LineReader(socket, { maxLineLength: protocol === 'smtp' ? sk.SMTP_MAX_AUTH_LINE + 1 : sk.IMAP_MAX_AUTH_LINE + 1 });
    const write = writer(socket);
    const session = protocol === 'smtp' ? smtpSession : imapSession;
    session(socket, lines, write, auth, options).then(
      () => {
        lines.close();
      },
      () => {
        lines.close();
        socket.destroy();
      },
    );
  };
}

type Auth = ReturnType<typeof sk.SASLAuth.named>;
type Options = { lookup: (name: string) => InstanceType<typeof sk.ClearIdentity> | undefined };

async function smtpSession(socket: Socket, lines: InstanceType<typeof sk.LineReader>, write: (line: string) => void, auth: Auth, options: Options): Promise<void> {
  write('220 localhost ESMTP saslkit bench');
  let user: string | undefined;
  for (;;) {
    const next = await lines.next();
    if (next.done === true) return;
    const line = next.value;
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') {
      socket.write('250-localhost\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n');
    } else if (verb === 'AUTH') {
      if (user !== undefined) {
        write('503 5.5.1 Already authenticated');
        continue;
      }
      try {
        user = (await sk.smtpServerAuth({ command: line, auth, options, lines, write })).authzid;
      } catch {
        // The profile has replied already (535, 501 ...).
      }
    } else if (verb === 'QUIT') {
      write('221 2.0.0 Bye');
      socket.end();
      return;
    } else {
      write('500 5.5.2 Command not recognized');
    }
  }
}

async function imapSession(socket: Socket, lines: InstanceType<typeof sk.LineReader>, write: (line: string) => void, auth: Auth, options: Options): Promise<void> {
  write('* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN] saslkit bench ready');
  for (;;) {
    const next = await lines.next();
    if (next.done === true) return;
    const line = next.value;
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const command = line.slice(space + 1, line.indexOf(' ', space + 1) >>> 0).toUpperCase();
    if (command === 'AUTHENTICATE') {
      try {
        await sk.imapServerAuth({ command: line, auth, options, lines, write });
      } catch {
        // The profile has replied already (tagged NO or BAD).
      }
    } else if (command === 'LOGOUT') {
      socket.write(`* BYE logging out\r\n${tag} OK LOGOUT completed\r\n`);
      socket.end();
      return;
    } else {
      write(`${tag} BAD unknown command`);
    }
  }
}

/** Splits a socket's data into lines and hands each to `onLine`. */
function onLines(socket: Socket, onLine: (line: string) => void): void {
  let rest = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    let text = rest + chunk;
    let lf = text.indexOf('\n');
    while (lf !== -1) {
      onLine(text.charCodeAt(lf - 1) === 13 ? text.slice(0, lf - 1) : text.slice(0, lf));
      text = text.slice(lf + 1);
      lf = text.indexOf('\n');
    }
    rest = text;
  });
}

/** PLAIN's `\0user\0password`, decoded from base64: the user, or undefined when it does not verify. */
function checkPlain(base64: string): string | undefined {
  const bytes = Buffer.from(base64, 'base64');
  const a = bytes.indexOf(0);
  const b = a < 0 ? -1 : bytes.indexOf(0, a + 1);
  if (b < 0) return undefined;
  const user = bytes.toString('utf8', a + 1, b);
  return user === USER && passwordOk(bytes.subarray(b + 1)) ? user : undefined;
}

function trivialSmtp(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let state: 'command' | 'login-user' | 'login-password' = 'command';
  let loginUser = '';
  socket.write('220 localhost ESMTP trivial\r\n');
  onLines(socket, (line) => {
    if (state === 'login-user') {
      loginUser = Buffer.from(line, 'base64').toString('utf8');
      state = 'login-password';
      socket.write('334 UGFzc3dvcmQ6\r\n');
      return;
    }
    if (state === 'login-password') {
      state = 'command';
      socket.write(loginUser === USER && passwordOk(Buffer.from(line, 'base64')) ? '235 2.7.0 Authentication successful\r\n' : '535 5.7.8 Authentication credentials invalid\r\n');
      return;
    }
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') socket.write('250-localhost\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n');
    else if (line.startsWith('AUTH PLAIN ')) socket.write(checkPlain(line.slice(11)) !== undefined ? '235 2.7.0 Authentication successful\r\n' : '535 5.7.8 Authentication credentials invalid\r\n');
    else if (line === 'AUTH LOGIN') {
      state = 'login-user';
      socket.write('334 VXNlcm5hbWU6\r\n');
    } else if (verb === 'QUIT') {
      socket.end('221 2.0.0 Bye\r\n');
    } else socket.write('500 5.5.2 Command not recognized\r\n');
  });
}

function trivialImap(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let pendingTag: string | undefined;
  socket.write('* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN] trivial ready\r\n');
  onLines(socket, (line) => {
    if (pendingTag !== undefined) {
      socket.write(checkPlain(line) !== undefined ? `${pendingTag} OK authenticated\r\n` : `${pendingTag} NO [AUTHENTICATIONFAILED] invalid\r\n`);
      pendingTag = undefined;
      return;
    }
    const [tag = '*', command = '', mechanism = '', initial] = line.split(' ');
    const verb = command.toUpperCase();
    if (verb === 'AUTHENTICATE' && mechanism.toUpperCase() === 'PLAIN') {
      if (initial === undefined) {
        pendingTag = tag;
        socket.write('+ \r\n');
      } else socket.write(checkPlain(initial) !== undefined ? `${tag} OK authenticated\r\n` : `${tag} NO [AUTHENTICATIONFAILED] invalid\r\n`);
    } else if (verb === 'LOGOUT') socket.end(`* BYE logging out\r\n${tag} OK LOGOUT completed\r\n`);
    else socket.write(`${tag} BAD unknown command\r\n`);
  });
}

function smtpServerPackage(): { listen: (done: (port: number) => void) => void } {
  const server = new SMTPServer({
    secure: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && passwordOk(auth.password ?? '')) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
  });
  server.on('error', () => undefined);
  return {
    listen: (done) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.server.address();
        done(typeof address === 'object' && address !== null ? address.port : 0);
      });
    },
  };
}

function netServer(handler: (socket: Socket) => void): { listen: (done: (port: number) => void) => void } {
  const server = createServer(handler);
  return {
    listen: (done) => {
      server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, () => {
        const address = server.address();
        done(typeof address === 'object' && address !== null ? address.port : 0);
      });
    },
  };
}

function start(kind: Kind): void {
  const server =
    kind === 'smtp-server'
      ? smtpServerPackage()
      : netServer(kind === 'saslkit-smtp' ? saslkitServer('smtp') : kind === 'saslkit-imap' ? saslkitServer('imap') : kind === 'trivial-smtp' ? trivialSmtp : trivialImap);
  server.listen((port) => process.send?.({ port }));
  process.on('message', (message: { cmd?: string; path?: string }) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    if (message.cmd === 'memory') process.send?.({ memory: process.memoryUsage() });
    // For finding what a parked connection keeps alive: bench/README.md, "Profiling".
    if (message.cmd === 'snapshot') process.send?.({ snapshot: writeHeapSnapshot(message.path) });
  });
  // The parent going away ends the child.
  process.on('disconnect', () => process.exit(0));
}

start(process.argv[2] as Kind);
