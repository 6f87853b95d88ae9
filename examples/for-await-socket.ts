/**
 * SASL over a socket with `for await` loops: a tiny line-protocol server whose AUTH handler
 * iterates `iterateServer`, and a client that iterates `iterateClient`, both over `readline`.
 *
 *   npx ts-node examples/for-await-socket.ts
 *
 * The protocol, one line each: `AUTH <mech> [<b64>|=]`, `+ <b64>|=` (a challenge), a client
 * response `<b64>|=` or `*` (cancel), then `OK <user>` or `NO <code>`. `=` is an empty message.
 * Once a client is logged in, the server refuses another AUTH on that connection (`NO
 * ALREADY_AUTHENTICATED`): a second login must not replace the first. The client tries one to
 * show it. Exits 0 only when the client logged in and the second AUTH was refused.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import {
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  type ServerEvent,
  fromBase64,
  isSaslError,
  iterateClient,
  iterateServer,
  toBase64,
} from 'saslkit';

const auth = SASLAuth.defaults();
// A clear-text store keeps the example short; a real server stores HashedIdentity values.
const users = new Map([['alice', new ClearIdentity('alice', 'alice-pass')]]);

const encode = (data: Uint8Array): string => (data.length === 0 ? '=' : toBase64(data));
const decode = (text: string): Uint8Array => (text === '=' ? new Uint8Array(0) : fromBase64(text));
// PLAIN responses carry the password: they are sent, but kept out of the log.
const hide = (data: Uint8Array): string => `[${data.length} bytes, not shown]`;

/**
 * Lines from `socket`, and a writer that logs what it sends. The loops below call `next()`
 * themselves and never `return()`, so the readline interface outlives the AUTH command.
 */
function lineIo(
  socket: Socket,
  who: string,
): { lines: AsyncIterator<string>; write: (line: string, shown?: string) => void } {
  return {
    lines: createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator](),
    write: (line, shown = line) => {
      console.log(`${who}: ${shown}`);
      socket.write(`${line}\r\n`);
    },
  };
}

/** The client's responses, pulled one line at a time. Ending the iterable (`*`) cancels AUTH. */
async function* responses(lines: AsyncIterator<string>): AsyncGenerator<Uint8Array> {
  for (let next = await lines.next(); next.done !== true && next.value !== '*'; next = await lines.next())
    yield decode(next.value);
}

/** The AUTH command: the exchange's steps, as a `for await` loop. Resolves with who logged in, or undefined. */
async function handleAuth(
  args: string[],
  lines: AsyncIterator<string>,
  write: (line: string) => void,
): Promise<string | undefined> {
  const [name = '', initial] = args;
  const mechanism = auth.getServer(name);
  if (!mechanism) {
    write('NO MECHANISM_UNAVAILABLE');
    return undefined;
  }
  try {
    const exchange = mechanism.server(
      { lookup: (authcid) => users.get(authcid) },
      initial === undefined ? undefined : decode(initial),
    );
    for await (const step of iterateServer(exchange, responses(lines), {
      mechanism: mechanism.name,
      timeoutMs: 5000,
    })) {
      if (!step.done) {
        write(`+ ${encode(step.challenge)}`);
        continue;
      }
      write(`OK ${step.outcome.authcid}`);
      return step.outcome.authcid;
    }
  } catch (error) {
    write(`NO ${isSaslError(error) ? error.code : 'ERROR'}`);
  }
  return undefined;
}

const server = createServer((socket) => {
  socket.on('error', () => undefined); // a client that went away: its loop ends with the stream
  const { lines, write } = lineIo(socket, 'S');
  // Who this connection is logged in as: set once, never replaced.
  let user: string | undefined;
  void (async () => {
    for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
      const [command, ...args] = next.value.split(' ');
      if (command !== 'AUTH') write('NO UNKNOWN_COMMAND');
      else if (user !== undefined) write('NO ALREADY_AUTHENTICATED');
      else user = await handleAuth(args, lines, write);
    }
  })().catch(() => socket.destroy());
});

/** What the server says during AUTH, as events for `iterateClient`. */
async function* events(lines: AsyncIterator<string>): AsyncGenerator<ServerEvent> {
  for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
    if (next.value.startsWith('+ ')) yield { type: 'challenge', data: decode(next.value.slice(2)) };
    else if (next.value.startsWith('OK')) yield { type: 'success' };
    else yield { type: 'failure' };
  }
}

/** Logs in as alice, then tries a second AUTH; true when the first succeeded and the second was refused. */
async function login(port: number): Promise<boolean> {
  const socket = createConnection({ host: '127.0.0.1', port });
  const { lines, write } = lineIo(socket, 'C');
  try {
    const exchange = auth.getClient('PLAIN')!.client(new ClientCredentials('alice', 'alice-pass'));
    // As over IMAP without SASL-IR: the initial response waits for the server's empty challenge.
    const options = { mechanism: 'PLAIN', canSendInitial: false, timeoutMs: 5000 };
    let loggedIn = false;
    for await (const step of iterateClient(exchange, events(lines), options)) {
      if (step.done) {
        loggedIn = true;
        break;
      }
      if (!step.initial) write(encode(step.response), hide(step.response));
      else if (step.response === undefined) write('AUTH PLAIN');
      else write(`AUTH PLAIN ${encode(step.response)}`, `AUTH PLAIN ${hide(step.response)}`);
    }
    if (!loggedIn) return false;
    console.log('logged in as alice');
    // A second AUTH on the same connection, as bob: the server must keep alice.
    write('AUTH PLAIN');
    const reply = await lines.next();
    console.log(`second AUTH: ${reply.done === true ? 'connection closed' : reply.value}`);
    return reply.value === 'NO ALREADY_AUTHENTICATED';
  } catch (error) {
    console.log(`client: ${isSaslError(error) ? error.code : String(error)}`);
    return false;
  } finally {
    socket.destroy();
  }
}

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  void login(port).then((ok) => {
    console.log(ok ? 'ok: logged in once, second AUTH refused' : 'FAILED');
    process.exitCode = ok ? 0 : 1;
    server.close();
  });
});
