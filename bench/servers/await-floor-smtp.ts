/**
 * The floor of any `for await` SMTP loop: README.md's loop shape (an `async function` per
 * connection, `for await` over its lines, `await write(...)` for every reply, AUTH awaited inside
 * the loop) with no saslkit in it: a ten-line async line iterator without limits, and the trivial
 * server's own checks (bench/servers/trivial-auth.ts) for PLAIN, LOGIN and CRAM-MD5.
 *
 * It is an info line of the `smtp` and `memory` workloads: what the README loop's style costs
 * before any library runs, so that saslkit's own share shows as the distance between this line
 * and the README loop's (bench/README.md, "Session 4").
 */
import { randomBytes } from 'node:crypto';
import { type Socket, createServer } from 'node:net';
import { cramOk, passwordOk, plainOk } from './trivial-auth.js';

const DONE: IteratorResult<string, undefined> = { done: true, value: undefined };

/** Lines of a socket as an async iterator: a queue and one waiting reader, nothing else. */
class Lines implements AsyncIterableIterator<string> {
  readonly #queue: string[] = [];
  #waiting: ((result: IteratorResult<string, undefined>) => void) | undefined;
  #rest = '';
  #ended = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const text = this.#rest + chunk.toString('latin1');
      let start = 0;
      for (let lf = text.indexOf('\n'); lf !== -1; start = lf + 1, lf = text.indexOf('\n', start)) {
        this.#push(text.slice(start, text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf));
      }
      this.#rest = text.slice(start);
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#waiting?.(DONE);
    });
  }

  #push(line: string): void {
    const waiting = this.#waiting;
    if (waiting === undefined) this.#queue.push(line);
    else {
      this.#waiting = undefined;
      waiting({ done: false, value: line });
    }
  }

  next(): Promise<IteratorResult<string, undefined>> {
    const line = this.#queue.shift();
    if (line !== undefined) return Promise.resolve({ done: false, value: line });
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const WRITTEN = Promise.resolve();

async function nextLine(lines: Lines): Promise<string> {
  const next = await lines.next();
  if (next.done === true) throw new Error('connection closed');
  return next.value;
}

async function session(socket: Socket): Promise<void> {
  const lines = new Lines(socket);
  const write = (line: string): Promise<void> => {
    socket.write(`${line}\r\n`);
    return WRITTEN;
  };
  let authenticated = false;
  await write('220 mail.example.com ESMTP');
  for await (const line of lines) {
    const [verb = '', mechanism = '', initial] = line.split(' ');
    const command = verb.toUpperCase();
    if (command === 'EHLO') {
      await write('250-mail.example.com');
      await write('250 AUTH PLAIN LOGIN CRAM-MD5');
    } else if (command === 'AUTH' && authenticated) {
      await write('503 5.5.1 Already authenticated');
    } else if (command === 'AUTH') {
      let ok: boolean;
      const name = mechanism.toUpperCase();
      if (name === 'PLAIN') {
        if (initial === undefined) await write('334 ');
        ok = plainOk(initial ?? (await nextLine(lines)));
      } else if (name === 'LOGIN') {
        await write('334 VXNlcm5hbWU6');
        const user = Buffer.from(await nextLine(lines), 'base64').toString('utf8');
        await write('334 UGFzc3dvcmQ6');
        ok = passwordOk(user, Buffer.from(await nextLine(lines), 'base64'));
      } else if (name === 'CRAM-MD5') {
        const challenge = `<${randomBytes(8).toString('hex')}.${Date.now()}@localhost>`;
        await write(`334 ${Buffer.from(challenge).toString('base64')}`);
        ok = cramOk(await nextLine(lines), challenge);
      } else {
        await write('504 5.5.4 Unrecognized authentication type');
        continue;
      }
      authenticated = ok;
      await write(ok ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
    } else if (command === 'QUIT') {
      await write('221 Bye');
      socket.end();
      return;
    } else {
      await write('502 5.5.2 Not implemented');
    }
  }
}

/** Starts the floor server on 127.0.0.1 and a free port; `ready` gets the port. */
export function listenAwaitFloorSmtp(ready: (port: number) => void): void {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    session(socket).catch(() => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    ready(typeof address === 'object' && address !== null ? address.port : 0);
  });
}
