/**
 * The line server's writes (lib/protocols/line-server.ts, writeLines in line-input.ts): a line the
 * stream takes at once (lineWriter's shared settled promise) is a finished write, so a success or
 * a challenge over a real stream costs no promise job; a write that must wait is still waited
 * for, in order. Promises are counted with async_hooks, not timed. Short challenges seen before
 * (LOGIN's prompts) are written from a cache: it must never answer for bytes that changed.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { ClearIdentity, LineQueue, SASLAuth, type ServerMechanism, smtpServerAuth } from '../../lib/index.js';
import { writeLines } from '../../lib/protocols/line-input.js';
import { type LineWriter, WRITTEN, lineWriter } from '../../lib/transport/lines.js';
import { countPromises } from '../support/promise-count.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const accounts = new Map([['alice', new ClearIdentity('alice', 'alice-pass')]]);
const options = { lookup: (authcid: string) => accounts.get(authcid) };
const auth = SASLAuth.named(['PLAIN', 'LOGIN']);

/** A stream that takes every write at once and keeps what it got. */
function sink(): { stream: Writable; written: string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      callback();
    },
  });
  return { stream, written };
}

async function smtp(write: LineWriter, command: string, responses: string[]): Promise<number> {
  const lines = new LineQueue();
  for (const line of responses) lines.push(line);
  const { promises, value } = await countPromises(() => smtpServerAuth({ command, auth, options, lines, write }));
  expect(value.authcid).to.equal('alice');
  return promises;
}

describe('protocols/line-server', () => {
  it('costs no more promises over lineWriter on a stream that takes the lines than over a writer that returns nothing', async () => {
    // The test's first suspension makes mocha chain a promise: have it before anything is counted.
    await Promise.resolve();
    const command = `AUTH PLAIN ${b64('\0alice\0alice-pass')}`;
    const bare = await smtp(() => undefined, command, []);
    const { stream, written } = sink();
    const streamed = await smtp(lineWriter(stream), command, []);
    expect(written).to.deep.equal(['235 2.7.0 Authentication successful\r\n']);
    expect(streamed).to.equal(bare);
    // LOGIN's two challenges go out the same way: nothing per step.
    const login = await smtp(lineWriter(sink().stream), 'AUTH LOGIN', [b64('alice'), b64('alice-pass')]);
    expect(login).to.be.at.most(bare);
  });

  it('still waits for a write that has to wait, and sends the lines after it in order', async () => {
    const out: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const write = (line: string): Promise<void> | undefined => {
      out.push(line);
      return line === 'a' ? gate : undefined;
    };
    const pending = writeLines(write, ['a', 'b', 'c']);
    expect(pending).to.be.instanceOf(Promise);
    expect(out).to.deep.equal(['a']);
    release();
    await pending;
    expect(out).to.deep.equal(['a', 'b', 'c']);
  });

  it('treats WRITTEN as a finished write and any other promise as one to wait for', () => {
    const out: string[] = [];
    expect(writeLines((line) => (out.push(line), WRITTEN), ['a', 'b'])).to.equal(undefined);
    expect(out).to.deep.equal(['a', 'b']);
    const other = Promise.resolve();
    expect(writeLines(() => other, ['c'])).to.be.instanceOf(Promise);
  });

  it('writes each challenge from its bytes as they are now, even when a mechanism reuses and changes one array', async () => {
    const reused = new Uint8Array([0x61, 0x62, 0x63]);
    // Yields the same array three times, changed in between, then many distinct short challenges.
    const changing: ServerMechanism = {
      name: 'X-CHANGING',
      clientFirst: false,
      priority: 0,
      *server() {
        yield reused;
        reused[0] = 0x7a;
        yield reused;
        reused[0] = 0x61;
        yield reused;
        for (let i = 0; i < 20; i++) yield new Uint8Array([i, i + 1]);
        return { mechanism: 'X-CHANGING', authcid: 'alice', authzid: 'alice' };
      },
    };
    const lines = new LineQueue();
    for (let i = 0; i < 23; i++) lines.push('');
    const written: string[] = [];
    const done = await smtpServerAuth({
      command: 'AUTH X-CHANGING',
      auth: new SASLAuth([changing]),
      lines,
      write: (line) => void written.push(line),
      limits: { maxRounds: 30 },
    });
    expect(done.authcid).to.equal('alice');
    const expected = [b64('abc'), b64('zbc'), b64('abc')];
    for (let i = 0; i < 20; i++) expected.push(Buffer.from([i, i + 1]).toString('base64'));
    expect(written).to.deep.equal([...expected.map((data) => `334 ${data}`), '235 2.7.0 Authentication successful']);
  });
});
