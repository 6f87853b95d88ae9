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
      expect(await Promise.all([a, b])).to.deep.equal([{ done: true, value: undefined }, { done: true, value: undefined }]);
    });

    it('fails waiting and later readers with the transport error', async () => {
      const queue = new LineQueue();
      const waiting = queue.next();
      queue.fail(new Error('ECONNRESET'));
      let caught: unknown;
      await waiting.catch((error: unknown) => { caught = error; });
      expect((caught as Error).message).to.equal('ECONNRESET');
      caught = undefined;
      await queue.next().catch((error: unknown) => { caught = error; });
      expect((caught as Error).message).to.equal('ECONNRESET');
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

    it('decodes UTF-8 by default and latin1 on request', async () => {
      for (const [encoding, expected] of [['utf8', 'caf\u00e9'], ['latin1', 'caf\u00c3\u00a9']] as const) {
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
      await failing.next().catch((error: unknown) => { caught = error; });
      expect((caught as Error).message).to.equal('boom');
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
      await lineWriter(stream)('x').catch((error: unknown) => { caught = error; });
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
      for (const good of ['PLAIN', 'SCRAM-SHA-256-PLUS', 'X_1', 'a'.repeat(20)]) expect(MECHANISM_NAME.test(good), good).to.equal(true);
      for (const bad of ['', 'A'.repeat(21), 'PL AIN', 'PL@IN', 'PLAIN\n']) expect(MECHANISM_NAME.test(bad), bad).to.equal(false);
    });

    it('advertises no -PLUS mechanism unless the connection can bind channels', () => {
      const all = SASLAuth.all();
      expect(advertisedMechanisms(all).some((name) => name.endsWith('-PLUS'))).to.equal(false);
      expect(advertisedMechanisms(all, { channelBinding: true })).to.deep.equal(all.serverMechanisms.map((m) => m.name));
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
        const write = (line: string): void => { socket.write(`${line}\r\n`); };
        void (async () => {
          write('220 ready');
          for await (const line of rl) {
            if (line.startsWith('AUTH ')) {
              try {
                const result = await smtpServerAuth({ command: line, auth: SASLAuth.defaults(), options: { lookup: storeOf(ALICE) }, lines: rl, write });
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
        const write = (line: string): void => { socket.write(`${line}\r\n`); };
        expect((await lines.next()).value).to.equal('220 ready');
        write('NOOP');
        expect((await lines.next()).value).to.equal('250 ok');
        const result = await smtpClientAuth({ mechanism: 'LOGIN', credentials: new ClientCredentials('alice', 'alice-pass'), lines, write });
        expect(result.roundTrips).to.equal(3);
        write('NOOP');
        expect((await lines.next()).value).to.equal('250 ok');
        write('QUIT');
        expect((await lines.next()).value).to.equal('221 bye');
        expect(events).to.deep.equal(['NOOP', 'auth alice', 'NOOP', 'quit']);
      } finally {
        socket.destroy();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
      }
    });
  });

  describe('limits shared by every line profile', () => {
    const auth = SASLAuth.defaults();
    const options = { lookup: storeOf(ALICE) };

    it('ends a stalled exchange with TIMEOUT when the limits signal fires, blaming the client, and replies', async () => {
      const written: string[] = [];
      const lines = new LineQueue();
      const controller = new AbortController();
      const pending = smtpServerAuth({ command: 'AUTH PLAIN', auth, options, lines, write: (line) => { written.push(line); }, limits: { signal: controller.signal } });
      await new Promise<void>((resolve) => { setImmediate(resolve); });
      expect(written).to.deep.equal(['334 ']);
      controller.abort(new DOMException('too slow', 'TimeoutError'));
      const error = await pending.then(() => undefined, (e: unknown) => e);
      expect(error).to.include({ code: 'TIMEOUT', party: 'client' });
      expect(written[1]).to.match(/^454 /);
    });

    it('counts the initial response against maxMessageBytes', async () => {
      const written: string[] = [];
      const initial = Buffer.from(`\0alice\0${'x'.repeat(200)}`).toString('base64');
      const error = await smtpServerAuth({ command: `AUTH PLAIN ${initial}`, auth, options, lines: new LineQueue(), write: (line) => { written.push(line); }, limits: { maxMessageBytes: 100 } })
        .then(() => undefined, (e: unknown) => e);
      expect(error).to.include({ code: 'LIMIT_EXCEEDED', limit: 'maxMessageBytes' });
      expect(written).to.have.length(1);
    });
  });
});
