/**
 * The servers of the loopback workloads, each run in its own child process (so that its memory
 * and CPU time are its own): `node -r ./bench/servers/register.cjs server.ts <kind>`. It
 * listens on 127.0.0.1 (a free port), tells the parent the port over IPC, and answers:
 *
 * - `{ cmd: 'cpu' }` with `process.cpuUsage()` (no GC, nothing else: the AUTH workload reads it
 *   right before and right after its timed phase);
 * - `{ cmd: 'memory', gc }` with `process.memoryUsage()`, after two full GCs when `gc` is true;
 * - `{ cmd: 'snapshot', path }` by writing a heap snapshot there (after two full GCs);
 * - `{ cmd: 'profile-start' }` / `{ cmd: 'profile-stop', path }` by running the V8 CPU profiler
 *   (100 us sampling) between the two and writing the `.cpuprofile` to `path`.
 *
 * Kinds:
 * - `readme-smtp`: README.md's "Example: an SMTP server" loop as a user copies it
 *   (bench/servers/readme-smtp.ts), with PLAIN, LOGIN and CRAM-MD5;
 * - `await-floor-smtp`: the README loop's shape (`async function`, `for await`, awaited writes)
 *   with no saslkit: the floor of any `for await` loop (bench/servers/await-floor-smtp.ts);
 * - `smtp-server`: nodemailer's smtp-server package (PLAIN, LOGIN, CRAM-MD5; no TLS, no reverse DNS);
 * - `trivial-smtp`: the floor, hand-written: socket I/O and one closure per connection, a Map of
 *   passwords, PLAIN, LOGIN and CRAM-MD5;
 * - `saslkit-imap`: a small IMAP command loop with LineReader and imapServerAuth;
 * - `trivial-imap`: a hand-written IMAP line server doing AUTHENTICATE PLAIN.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { type Socket, createServer } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { SMTPServer } from 'smtp-server';
import { PASSWORD, USER } from '../baselines.js';
import { sk } from '../saslkit.js';
import { listenAwaitFloorSmtp } from './await-floor-smtp.js';
import { listenReadmeSmtp } from './readme-smtp.js';
import { PASSWORDS, cramOk, passwordOk, plainOk } from './trivial-auth.js';

/** The server kinds this file starts. */
export type Kind =
  'readme-smtp' | 'await-floor-smtp' | 'smtp-server' | 'trivial-smtp' | 'saslkit-imap' | 'trivial-imap';

const ignore = (): void => undefined;

// ---------------------------------------------------------------------------------------------
// The trivial SMTP server: the floor of AUTH work over a socket.

const SMTP_OK = '235 2.7.0 Authentication successful\r\n';
const SMTP_NO = '535 5.7.8 Authentication credentials invalid\r\n';
const SMTP_EHLO = '250-localhost\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n';

function trivialSmtp(socket: Socket): void {
  socket.on('error', ignore);
  socket.write('220 localhost ESMTP trivial\r\n');
  // 0: commands, 1: PLAIN response, 2: LOGIN user name, 3: LOGIN password, 4: CRAM-MD5 response.
  let state = 0;
  let rest = '';
  let user = '';
  let challenge = '';
  socket.on('data', (chunk: Buffer) => {
    const text = rest === '' ? chunk.toString('latin1') : rest + chunk.toString('latin1');
    let start = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; start = lf + 1, lf = text.indexOf('\n', start)) {
      const line = text.slice(start, text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf);
      let reply: string;
      if (state === 1) {
        state = 0;
        reply = plainOk(line) ? SMTP_OK : SMTP_NO;
      } else if (state === 2) {
        user = Buffer.from(line, 'base64').toString('utf8');
        state = 3;
        reply = '334 UGFzc3dvcmQ6\r\n';
      } else if (state === 3) {
        state = 0;
        reply = passwordOk(user, Buffer.from(line, 'base64')) ? SMTP_OK : SMTP_NO;
      } else if (state === 4) {
        state = 0;
        reply = cramOk(line, challenge) ? SMTP_OK : SMTP_NO;
      } else {
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'AUTH') {
          const space = line.indexOf(' ', 5);
          const mechanism = (space < 0 ? line.slice(5) : line.slice(5, space)).toUpperCase();
          if (mechanism === 'PLAIN' && space > 0) reply = plainOk(line.slice(space + 1)) ? SMTP_OK : SMTP_NO;
          else if (mechanism === 'PLAIN') {
            state = 1;
            reply = '334 \r\n';
          } else if (mechanism === 'LOGIN') {
            state = 2;
            reply = '334 VXNlcm5hbWU6\r\n';
          } else if (mechanism === 'CRAM-MD5') {
            challenge = `<${randomBytes(8).toString('hex')}.${Date.now()}@localhost>`;
            state = 4;
            reply = `334 ${Buffer.from(challenge).toString('base64')}\r\n`;
          } else reply = '504 5.5.4 Unrecognized authentication type\r\n';
        } else if (verb === 'EHLO') reply = SMTP_EHLO;
        else if (verb === 'QUIT') {
          socket.end('221 2.0.0 Bye\r\n');
          return;
        } else reply = '502 5.5.2 Not implemented\r\n';
      }
      socket.write(reply);
    }
    rest = text.slice(start);
  });
}

// ---------------------------------------------------------------------------------------------
// smtp-server (nodemailer)

function smtpServerPackage(ready: (port: number) => void): void {
  const server = new SMTPServer({
    secure: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const username = auth.username ?? '';
      const stored = PASSWORDS.get(username);
      const ok =
        stored !== undefined &&
        (auth.method === 'CRAM-MD5'
          ? auth.validatePassword(stored.toString('utf8'))
          : passwordOk(username, Buffer.from(auth.password ?? '')));
      if (ok) callback(null, { user: username });
      else callback(new Error('Invalid username or password'));
    },
  });
  server.on('error', ignore);
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address();
    ready(typeof address === 'object' && address !== null ? address.port : 0);
  });
}

// ---------------------------------------------------------------------------------------------
// IMAP: a small saslkit command loop and a trivial line server (AUTHENTICATE PLAIN).

type Auth = ReturnType<typeof sk.SASLAuth.named>;
type Options = { lookup: (name: string) => InstanceType<typeof sk.ClearIdentity> | undefined };

function saslkitImap(): (socket: Socket) => void {
  const auth = sk.SASLAuth.named(['PLAIN', 'LOGIN']);
  const identity = new sk.ClearIdentity(USER, PASSWORD);
  const options = { lookup: (name: string) => (name === USER ? identity : undefined) };
  return (socket) => {
    socket.setNoDelay(true);
    socket.on('error', ignore);
    const lines = new sk.LineReader(socket, { maxLineLength: sk.IMAP_MAX_AUTH_LINE + 1 });
    const write = (line: string): void => {
      socket.write(`${line}\r\n`);
    };
    imapSession(socket, lines, write, auth, options).then(
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

async function imapSession(
  socket: Socket,
  lines: InstanceType<typeof sk.LineReader>,
  write: (line: string) => void,
  auth: Auth,
  options: Options,
): Promise<void> {
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

function trivialImap(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', ignore);
  let pendingTag: string | undefined;
  socket.write('* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN] trivial ready\r\n');
  onLines(socket, (line) => {
    if (pendingTag !== undefined) {
      socket.write(
        plainOk(line) ? `${pendingTag} OK authenticated\r\n` : `${pendingTag} NO [AUTHENTICATIONFAILED] invalid\r\n`,
      );
      pendingTag = undefined;
      return;
    }
    const [tag = '*', command = '', mechanism = '', initial] = line.split(' ');
    const verb = command.toUpperCase();
    if (verb === 'AUTHENTICATE' && mechanism.toUpperCase() === 'PLAIN') {
      if (initial === undefined) {
        pendingTag = tag;
        socket.write('+ \r\n');
      } else
        socket.write(plainOk(initial) ? `${tag} OK authenticated\r\n` : `${tag} NO [AUTHENTICATIONFAILED] invalid\r\n`);
    } else if (verb === 'LOGOUT') socket.end(`* BYE logging out\r\n${tag} OK LOGOUT completed\r\n`);
    else socket.write(`${tag} BAD unknown command\r\n`);
  });
}

function netServer(handler: (socket: Socket) => void, ready: (port: number) => void): void {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    ready(typeof address === 'object' && address !== null ? address.port : 0);
  });
}

// ---------------------------------------------------------------------------------------------
// The child's side of the IPC.

interface Command {
  readonly cmd?: string;
  readonly path?: string;
  readonly gc?: boolean;
}

let profiler: Session | undefined;

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

function answer(message: Command): void {
  switch (message.cmd) {
    case 'cpu':
      process.send?.({ cpu: process.cpuUsage() });
      break;
    case 'memory':
      if (message.gc !== false) fullGc();
      process.send?.({ memory: process.memoryUsage() });
      break;
    case 'snapshot':
      // For finding what a parked connection keeps alive: bench/README.md, "Profiling".
      fullGc();
      process.send?.({ snapshot: writeHeapSnapshot(message.path) });
      break;
    case 'profile-start': {
      const session = new Session();
      session.connect();
      profiler = session;
      session.post('Profiler.enable', () => {
        session.post('Profiler.setSamplingInterval', { interval: 100 }, () => {
          session.post('Profiler.start', () => process.send?.({ profiling: true }));
        });
      });
      break;
    }
    case 'profile-stop': {
      const session = profiler;
      profiler = undefined;
      session?.post('Profiler.stop', (error, result) => {
        if (error === null && message.path !== undefined) writeFileSync(message.path, JSON.stringify(result.profile));
        session.disconnect();
        process.send?.({ profiled: message.path ?? '' });
      });
      break;
    }
    default:
      break;
  }
}

function start(kind: Kind): void {
  const ready = (port: number): void => {
    process.send?.({ port });
  };
  if (kind === 'readme-smtp') listenReadmeSmtp(ready);
  else if (kind === 'await-floor-smtp') listenAwaitFloorSmtp(ready);
  else if (kind === 'smtp-server') smtpServerPackage(ready);
  else netServer(kind === 'trivial-smtp' ? trivialSmtp : kind === 'saslkit-imap' ? saslkitImap() : trivialImap, ready);
  process.on('message', answer);
  // The parent going away ends the child (and writes a --cpu-prof profile, if one was asked for).
  process.on('disconnect', () => process.exit(0));
}

start(process.argv[2] as Kind);
