import { expect } from 'chai';
import { LineQueue } from '../../lib/index.js';
import { LineTracer } from '../../lib/cli/trace.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
// A SCRAM-SHA-256 proof has 32 bytes; the client-final parser refuses any other length.
const PROOF = Buffer.alloc(32, 7).toString('base64');

/** Feeds lines through a tracer as `side` sees them and returns the trace. */
function trace(
  side: 'client' | 'server',
  lines: readonly (readonly ['C' | 'S', string])[],
  secrets: string[] = [],
): string[] {
  const out: string[] = [];
  const tracer = new LineTracer((line) => out.push(line), { side, secrets });
  for (const [from, line] of lines) tracer.line(from === 'C' ? 'client' : 'server', line);
  return out;
}

describe('cli/trace', () => {
  it('follows an SMTP LOGIN exchange and hides the password line', () => {
    const out = trace('client', [
      ['S', '220 localhost ESMTP'],
      ['C', 'EHLO saslkit.invalid'],
      ['S', '250 AUTH LOGIN'],
      ['C', `AUTH LOGIN ${b64('alice')}`],
      ['S', `334 ${b64('Password:')}`],
      ['C', b64('hunter2')],
      ['S', '235 2.7.0 Authentication successful'],
      ['C', 'QUIT'],
    ]);
    expect(out).to.deep.equal([
      'S: 220 localhost ESMTP',
      'C: EHLO saslkit.invalid',
      'S: 250 AUTH LOGIN',
      'C: AUTH LOGIN "alice"',
      'S: 334 "Password:"',
      'C: [redacted]',
      'S: 235 2.7.0 Authentication successful',
      'C: QUIT',
    ]);
  });

  it('follows an IMAP SCRAM exchange with untagged lines, and a cancelled one', () => {
    const out = trace('server', [
      ['C', 'A1 AUTHENTICATE SCRAM-SHA-256'],
      ['S', '+ '],
      ['C', b64('n,,n=alice,r=abc')],
      ['S', `+ ${b64('r=abcdef,s=c2FsdA==,i=4096')}`],
      ['C', b64(`c=biws,r=abcdef,p=${PROOF}`)],
      ['S', '* CAPABILITY IMAP4rev1'],
      ['S', `+ ${b64('v=c2lnbmF0dXJl')}`],
      ['C', ''],
      ['S', 'A1 OK AUTHENTICATE completed'],
      ['C', 'A2 AUTHENTICATE PLAIN'],
      ['S', '+'],
      ['C', '*'],
      ['S', 'A2 BAD AUTHENTICATE cancelled'],
      ['C', 'A3 LOGIN alice "hunter2"'],
      ['C', 'A4 LOGIN "al ice" hunter2'],
    ]);
    expect(out).to.deep.equal([
      'C: A1 AUTHENTICATE SCRAM-SHA-256',
      'S: + ""',
      'C: "n,,n=alice,r=abc"',
      'S: + "r=abcdef,s=c2FsdA==,i=4096"',
      'C: "c=biws,r=abcdef,p=[redacted]"',
      'S: * CAPABILITY IMAP4rev1',
      'S: + "v=[redacted]"',
      'C: ""',
      'S: A1 OK AUTHENTICATE completed',
      'C: A2 AUTHENTICATE PLAIN',
      'S: + ""',
      'C: *',
      'S: A2 BAD AUTHENTICATE cancelled',
      'C: A3 LOGIN alice [redacted]',
      'C: A4 LOGIN "al ice" [redacted]',
    ]);
  });

  it('hides POP3 PASS and an OAuth token, and scrubs known secrets from any line', () => {
    const out = trace(
      'client',
      [
        ['C', 'USER alice'],
        ['C', 'PASS hunter2'],
        ['C', `AUTH XOAUTH2 ${b64('user=alice\x01auth=Bearer tok-123456\x01\x01')}`],
        ['S', '-ERR [AUTH] Authentication failed'],
        ['S', '-ERR your password hunter2 is wrong'],
        ['C', 'AUTH PLAIN ###'],
      ],
      ['hunter2'],
    );
    expect(out).to.deep.equal([
      'C: USER alice',
      'C: PASS [redacted]',
      'C: AUTH XOAUTH2 "user=alice\\x01auth=[redacted]\\x01\\x01"',
      'S: -ERR [AUTH] Authentication failed',
      'S: -ERR your password [redacted] is wrong',
      'C: AUTH PLAIN [not base64]',
    ]);
    expect(out.join('\n')).to.not.include('tok-123456');
  });

  it('traces a line source and a writer, and notes', async () => {
    const out: string[] = [];
    const tracer = new LineTracer((line) => out.push(line), { side: 'client', prefix: '[x] ' });
    const server = new LineQueue();
    server.push('220 hi\r');
    server.end();
    const source = tracer.source(server);
    expect(await source.next()).to.deep.equal({ done: false, value: '220 hi\r' });
    expect((await source.next()).done).to.equal(true);
    const written: string[] = [];
    await tracer.writer((line) => written.push(line))(`AUTH PLAIN ${b64('\0alice\0hunter2')}`);
    tracer.note('TLS established (TLSv1.3)');
    expect(written).to.deep.equal([`AUTH PLAIN ${b64('\0alice\0hunter2')}`]);
    expect(out).to.deep.equal([
      '[x] S: 220 hi',
      '[x] C: AUTH PLAIN "\\0alice\\0[redacted]"',
      '[x] -- TLS established (TLSv1.3)',
    ]);
  });
});
