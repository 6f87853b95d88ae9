import { expect } from 'chai';
import { once } from 'node:events';
import { type Socket, connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import {
  CANCEL_LINE,
  ClientCredentials,
  LineQueue,
  LineReader,
  MECHANISM_NAME,
  SASLAuth,
  advertisedMechanisms,
  decodeInitialResponse,
  decodeLineData,
  encodeInitialResponse,
  lineIterator,
  lineWriter,
  smtpClientAuth,
  smtpServerAuth,
} from '../../lib/index.js';
import { ALICE, expectSaslError, storeOf } from '../support/helpers.js';

async function take(source: AsyncIterator<string>, count: number): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = await source.next();
    if (next.done === true) break;
    lines.push(next.value);
  }
  return lines;
}

describe('line plumbing', function () {
  this.timeout(10000);

  describe('LineQueue', () => {
    it('hands out pushed lines in order, to readers that wait and to readers that come later', async () => {
      const queue = new LineQueue();
      const waiting = queue.next();
      queue.push('one');
      queue.push('two');
      expect(await waiting).to.deep.equal({ done: false, value: 'one' });
      expect(queue.pending).to.equal(1);
      expect(await queue.next()).to.deep.equal({ done: false, value: 'two' });
    });

    it('delivers queued lines before the end, and the end to every waiting reader', async () => {
      const queue = new LineQueue();
      queue.push('last');
      queue.end();
      queue.push('ignored');
      expect(await take(queue, 5)).to.deep.equal(['last']);
      const other = new LineQueue();
      const a = other.next();
      const b = other.next();
      other.end();
      expect(await Promise.all([a, b])).to.deep.equal([
        { done: true, value: undefined },
        { done: true, value: undefined },
      ]);
    });

    it('fails waiting and later readers with the transport error', async () => {
      const queue = new LineQueue();
      const waiting = queue.next();
      queue.fail(new Error('ECONNRESET'));
      let caught: unknown;
      await waiting.catch((error: unknown) => {
        caught = error;
      });
      expect((caught as Error).message).to.equal('ECONNRESET');
      caught = undefined;
      await queue.next().catch((error: unknown) => {
        caught = error;
      });
      expect((caught as Error).message).to.equal('ECONNRESET');
    });

    it('keeps many queued lines and many waiting readers in order', async () => {
      const queue = new LineQueue();
      for (const line of ['1', '2', '', '4', '5']) queue.push(line);
      expect(queue.pending).to.equal(5);
      expect(await take(queue, 2)).to.deep.equal(['1', '2']);
      queue.push('6');
      expect(await take(queue, 4)).to.deep.equal(['', '4', '5', '6']);
      expect(queue.pending).to.equal(0);
      const readers = [queue.next(), queue.next(), queue.next()];
      queue.push('a');
      queue.push('b');
      queue.push('c');
      queue.push('d');
      expect((await Promise.all(readers)).map((r): unknown => r.value)).to.deep.equal(['a', 'b', 'c']);
      expect(queue.pending).to.equal(1);
    });

    it('is its own async iterator', async () => {
      const queue = new LineQueue();
      queue.push('a');
      queue.push('b');
      queue.end();
      const seen: string[] = [];
      for await (const line of queue) seen.push(line);
      expect(seen).to.deep.equal(['a', 'b']);
      expect(lineIterator(queue)).to.equal(queue);
    });
  });

  describe('LineReader', () => {
    it('splits LF and CRLF lines across chunks and keeps a last line without a line ending', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      stream.write('EHLO a\r');
      stream.write('\nAUTH PL');
      stream.write('AIN\nx\r\n\r\nlast');
      stream.end();
      expect(await take(reader, 10)).to.deep.equal(['EHLO a', 'AUTH PLAIN', 'x', '', 'last']);
    });

    it('cuts an over-long line to the limit plus one octet and discards the rest as it arrives', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream, { maxLineLength: 10 });
      stream.write('0123456789ABCDEF');
      stream.write('GHIJ'.repeat(1000));
      stream.write('\nnext\n');
      stream.end();
      expect(await take(reader, 5)).to.deep.equal(['0123456789A', 'next']);
    });

    it('joins a line whose octets (a UTF-8 character among them) arrive in several chunks, then splits the rest of the last chunk', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      const bytes = Buffer.from('caf\u00e9 cr\u00e8me\r\nnext\r\nlast\n', 'utf8');
      stream.write(bytes.subarray(0, 4));
      stream.write(bytes.subarray(4, 5));
      stream.write(bytes.subarray(5, 12));
      stream.end(bytes.subarray(12));
      expect(await take(reader, 5)).to.deep.equal(['caf\u00e9 cr\u00e8me', 'next', 'last']);
    });

    it('applies the line limit the same way whether a line comes in one chunk or in pieces', async () => {
      for (const pieces of [1, 3]) {
        const stream = new PassThrough();
        const reader = new LineReader(stream, { maxLineLength: 4 });
        const text = Buffer.from('1234\r\n12345\n123\r\n1234\r\r\n');
        const size = Math.ceil(text.length / pieces);
        for (let i = 0; i < text.length; i += size) stream.write(text.subarray(i, i + size));
        stream.end();
        // A line that fills the limit exactly and ends in CRLF still has its CR counted: cut, CR kept.
        expect(await take(reader, 6), `${pieces} piece(s)`).to.deep.equal(['1234\r', '12345', '123', '1234\r']);
      }
    });

    it('decodes UTF-8 by default and latin1 on request', async () => {
      for (const [encoding, expected] of [
        ['utf8', 'caf\u00e9'],
        ['latin1', 'caf\u00c3\u00a9'],
      ] as const) {
        const stream = new PassThrough();
        const reader = new LineReader(stream, { encoding });
        stream.end(Buffer.from('caf\u00e9\n', 'utf8'));
        expect(await take(reader, 1)).to.deep.equal([expected]);
      }
    });

    it('pauses the stream when lines pile up and resumes when they are read', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream, { highWaterMark: 2 });
      stream.write('a\nb\nc\n');
      await new Promise((resolve) => setImmediate(resolve));
      expect(stream.isPaused()).to.equal(true);
      expect(await take(reader, 2)).to.deep.equal(['a', 'b']);
      expect(stream.isPaused()).to.equal(false);
      stream.end('d\n');
      expect(await take(reader, 5)).to.deep.equal(['c', 'd']);
    });

    it('is not closed by breaking out of a for-await loop, so the host can keep reading', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      stream.end('first\nsecond\n');
      for await (const line of reader) {
        expect(line).to.equal('first');
        break;
      }
      expect(await take(reader, 5)).to.deep.equal(['second']);
    });

    it('ends after close() and reports stream errors to the reader', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      reader.close();
      stream.write('late\n');
      expect(await reader.next()).to.deep.equal({ done: true, value: undefined });
      expect(stream.listenerCount('data')).to.equal(0);
      const broken = new PassThrough();
      const failing = new LineReader(broken);
      broken.destroy(new Error('boom'));
      let caught: unknown;
      await failing.next().catch((error: unknown) => {
        caught = error;
      });
      expect((caught as Error).message).to.equal('boom');
    });

    it('shares its listener functions among readers of different streams, and keeps them per reader when one stream feeds two', async () => {
      // One pair of functions serves every stream that feeds one reader (no closures per connection).
      const streams = [new PassThrough(), new PassThrough()];
      const readers = streams.map((stream) => new LineReader(stream));
      const [a, b] = streams.map((stream) => stream.listeners('data')[0]);
      expect(a).to.be.a('function');
      expect(a).to.equal(b);
      streams.forEach((stream, i) => stream.end(`line ${i}\n`));
      expect(await take(readers[0] as LineReader, 5)).to.deep.equal(['line 0']);
      expect(await take(readers[1] as LineReader, 5)).to.deep.equal(['line 1']);
      // Two readers on one stream (odd, but it worked before): each still gets every line.
      const stream = new PassThrough();
      const first = new LineReader(stream);
      const second = new LineReader(stream);
      const [one, two] = stream.listeners('data');
      expect(one).to.not.equal(two);
      stream.end('x\ny\n');
      expect(await take(first, 5)).to.deep.equal(['x', 'y']);
      expect(await take(second, 5)).to.deep.equal(['x', 'y']);
    });

    it('after close(), lets a new reader of the same stream take over its lines and its end', async () => {
      const stream = new PassThrough();
      const old = new LineReader(stream);
      stream.write('for the old one\n');
      expect(await take(old, 1)).to.deep.equal(['for the old one']);
      old.close();
      expect(stream.listenerCount('data')).to.equal(0);
      expect(stream.listenerCount('end')).to.equal(0);
      const next = new LineReader(stream);
      stream.end('for the new one\n');
      expect(await take(next, 5)).to.deep.equal(['for the new one']);
      expect(await old.next()).to.deep.equal({ done: true, value: undefined });
    });
  });

  describe('lineWriter', () => {
    it('appends CRLF and resolves once written', async () => {
      const stream = new PassThrough();
      const write = lineWriter(stream);
      await write('235 2.7.0 ok');
      expect(String(stream.read())).to.equal('235 2.7.0 ok\r\n');
    });

    it('rejects when the stream is gone', async () => {
      const stream = new PassThrough();
      stream.on('error', () => undefined);
      stream.destroy();
      let caught: unknown;
      await lineWriter(stream)('x').catch((error: unknown) => {
        caught = error;
      });
      expect(caught).to.be.instanceOf(Error);
    });
  });

  describe('base64 framing', () => {
    it('encodes an empty initial response as = and decodes it back', () => {
      expect(encodeInitialResponse(new Uint8Array(0))).to.equal('=');
      expect(encodeInitialResponse(Buffer.from('\0a\0b'))).to.equal('AGEAYg==');
      expect(decodeInitialResponse('=')).to.have.length(0);
      expect(Buffer.from(decodeInitialResponse('AGEAYg==')).toString()).to.equal('\0a\0b');
    });

    it('decodes an empty line as an empty message and refuses sloppy base64', () => {
      expect(decodeLineData('', 'response')).to.have.length(0);
      for (const bad of ['AGEAYg', 'AGEA Yg==', 'AGEAYg=', 'AG=AYg==', '====', '*', '\u00e9']) {
        expectSaslError(() => decodeLineData(bad, 'response'), 'MALFORMED_MESSAGE');
      }
      expectSaslError(() => decodeInitialResponse('=='), 'MALFORMED_MESSAGE');
      expect(CANCEL_LINE).to.equal('*');
    });

    it('knows what a mechanism name is', () => {
      for (const good of ['PLAIN', 'SCRAM-SHA-256-PLUS', 'X_1', 'a'.repeat(20)])
        expect(MECHANISM_NAME.test(good), good).to.equal(true);
      for (const bad of ['', 'A'.repeat(21), 'PL AIN', 'PL@IN', 'PLAIN\n'])
        expect(MECHANISM_NAME.test(bad), bad).to.equal(false);
    });

    it('advertises no -PLUS mechanism unless the connection can bind channels', () => {
      const all = SASLAuth.all();
      expect(advertisedMechanisms(all).some((name) => name.endsWith('-PLUS'))).to.equal(false);
      expect(advertisedMechanisms(all, { channelBinding: true })).to.deep.equal(
        all.serverMechanisms.map((m) => m.name),
      );
      expect(advertisedMechanisms(SASLAuth.defaults())).to.deep.equal(['PLAIN', 'LOGIN']);
    });
  });

  describe('a host loop over readline on a 127.0.0.1 socket', () => {
    it('hands its readline interface to smtpServerAuth and keeps reading commands afterwards', async () => {
      const events: string[] = [];
      const sockets: Socket[] = [];
      const server = createServer((socket) => {
        sockets.push(socket);
        const rl = createInterface({ input: socket, crlfDelay: Infinity });
        const write = (line: string): void => {
          socket.write(`${line}\r\n`);
        };
        void (async () => {
          write('220 ready');
          for await (const line of rl) {
            if (line.startsWith('AUTH ')) {
              try {
                const result = await smtpServerAuth({
                  command: line,
                  auth: SASLAuth.defaults(),
                  options: { lookup: storeOf(ALICE) },
                  lines: rl,
                  write,
                });
                events.push(`auth ${result.authcid}`);
              } catch {
                events.push('auth failed');
              }
            } else if (line === 'QUIT') {
              write('221 bye');
              events.push('quit');
              socket.end();
              break;
            } else {
              write('250 ok');
              events.push(line);
            }
          }
        })();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      const socket = connect({ host: '127.0.0.1', port: address.port });
      try {
        const lines = createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
        const write = (line: string): void => {
          socket.write(`${line}\r\n`);
        };
        expect((await lines.next()).value).to.equal('220 ready');
        write('NOOP');
        expect((await lines.next()).value).to.equal('250 ok');
        const result = await smtpClientAuth({
          mechanism: 'LOGIN',
          credentials: new ClientCredentials('alice', 'alice-pass'),
          lines,
          write,
        });
        expect(result.roundTrips).to.equal(3);
        write('NOOP');
        expect((await lines.next()).value).to.equal('250 ok');
        write('QUIT');
        expect((await lines.next()).value).to.equal('221 bye');
        expect(events).to.deep.equal(['NOOP', 'auth alice', 'NOOP', 'quit']);
      } finally {
        socket.destroy();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
      }
    });
  });

  describe('a server exchange waiting for the client', () => {
    const auth = SASLAuth.defaults();
    const options = { lookup: storeOf(ALICE) };
    const b64 = (text: string): string => Buffer.from(text).toString('base64');

    it('takes responses pipelined in one chunk with the command and leaves the next command in the LineReader', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      const written: string[] = [];
      stream.write(`AUTH LOGIN\r\n${b64('alice')}\r\n${b64('alice-pass')}\r\nNOOP\r\n`);
      const command = await reader.next();
      const result = await smtpServerAuth({
        command: command.value as string,
        auth,
        options,
        lines: reader,
        write: (line) => {
          written.push(line);
        },
      });
      expect(result).to.include({ authcid: 'alice', mechanism: 'LOGIN' });
      expect(written).to.deep.equal(['334 VXNlcm5hbWU6', '334 UGFzc3dvcmQ6', '235 2.7.0 Authentication successful']);
      expect(await take(reader, 1)).to.deep.equal(['NOOP']);
      reader.close();
    });

    it('waits for responses that come one chunk at a time, the last split inside its line', async () => {
      const stream = new PassThrough();
      const reader = new LineReader(stream);
      const written: string[] = [];
      const run = smtpServerAuth({
        command: 'AUTH LOGIN',
        auth,
        options,
        lines: reader,
        write: (line) => {
          written.push(line);
        },
      });
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
      expect(written).to.deep.equal(['334 VXNlcm5hbWU6']);
      stream.write(`${b64('alice')}\r\n`);
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
      expect(written).to.have.length(2);
      const password = `${b64('alice-pass')}\r\n`;
      stream.write(password.slice(0, 5));
      stream.write(password.slice(5));
      expect(await run).to.include({ authcid: 'alice' });
      expect(written[2]).to.equal('235 2.7.0 Authentication successful');
      reader.close();
    });

    it('leaves a line that comes after the signal ended the wait to the host (LineReader and LineQueue)', async () => {
      for (const kind of ['reader', 'queue'] as const) {
        const stream = new PassThrough();
        const queue = new LineQueue();
        const reader = new LineReader(stream);
        const written: string[] = [];
        const controller = new AbortController();
        const run = smtpServerAuth({
          command: 'AUTH LOGIN',
          auth,
          options,
          lines: kind === 'reader' ? reader : queue,
          write: (line) => {
            written.push(line);
          },
          limits: { signal: controller.signal },
        });
        await new Promise<void>((resolve) => {
          setImmediate(resolve);
        });
        controller.abort(new DOMException('too slow', 'TimeoutError'));
        const error = await run.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, kind).to.include({ code: 'TIMEOUT', party: 'client', mechanism: 'LOGIN' });
        expect(written, kind).to.deep.equal(['334 VXNlcm5hbWU6', '454 4.7.0 Temporary authentication failure']);
        if (kind === 'reader') stream.write('QUIT\r\n');
        else queue.push('QUIT');
        expect(await take(kind === 'reader' ? reader : queue, 1), kind).to.deep.equal(['QUIT']);
        reader.close();
      }
    });

    it('ends a wait on any other async iterator with TIMEOUT too, and with ABORTED (no reply) when it ends', async () => {
      let release: () => void = () => undefined;
      const stalled = new Promise<void>((resolve) => {
        release = resolve;
      });
      async function* silent(): AsyncGenerator<string> {
        await stalled;
      }
      const written: string[] = [];
      const controller = new AbortController();
      const run = smtpServerAuth({
        command: 'AUTH LOGIN',
        auth,
        options,
        lines: silent(),
        write: (line) => {
          written.push(line);
        },
        limits: { signal: controller.signal },
      });
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      expect(
        await run.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ).to.include({ code: 'TIMEOUT', party: 'client' });
      expect(written).to.deep.equal(['334 VXNlcm5hbWU6', '454 4.7.0 Temporary authentication failure']);
      release();
      const ended: string[] = [];
      const error = await smtpServerAuth({
        command: 'AUTH LOGIN',
        auth,
        options,
        lines: silent(),
        write: (line) => {
          ended.push(line);
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'ABORTED', party: 'client' });
      expect(ended).to.deep.equal(['334 VXNlcm5hbWU6']);
    });

    it('refuses a source that yields something other than a string, without a crash', async () => {
      async function* numbers(): AsyncGenerator {
        yield await Promise.resolve(42);
      }
      const written: string[] = [];
      const error = await smtpServerAuth({
        command: 'AUTH LOGIN',
        auth,
        options,
        lines: numbers() as AsyncIterator<string>,
        write: (line) => {
          written.push(line);
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'USAGE' });
      expect(written).to.deep.equal(['334 VXNlcm5hbWU6']);
    });
  });

  describe('limits shared by every line profile', () => {
    const auth = SASLAuth.defaults();
    const options = { lookup: storeOf(ALICE) };

    it('ends a stalled exchange with TIMEOUT when the limits signal fires, blaming the client, and replies', async () => {
      const written: string[] = [];
      const lines = new LineQueue();
      const controller = new AbortController();
      const pending = smtpServerAuth({
        command: 'AUTH PLAIN',
        auth,
        options,
        lines,
        write: (line) => {
          written.push(line);
        },
        limits: { signal: controller.signal },
      });
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
      expect(written).to.deep.equal(['334 ']);
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'TIMEOUT', party: 'client' });
      expect(written[1]).to.match(/^454 /);
    });

    it('counts the initial response against maxMessageBytes', async () => {
      const written: string[] = [];
      const initial = Buffer.from(`\0alice\0${'x'.repeat(200)}`).toString('base64');
      const error = await smtpServerAuth({
        command: `AUTH PLAIN ${initial}`,
        auth,
        options,
        lines: new LineQueue(),
        write: (line) => {
          written.push(line);
        },
        limits: { maxMessageBytes: 100 },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'LIMIT_EXCEEDED', limit: 'maxMessageBytes' });
      expect(written).to.have.length(1);
    });
  });
});
