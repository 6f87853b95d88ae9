/**
 * The CLI beyond SMTP/IMAP/POP3 basics (issue 14 item 5): a POP3 server without CAPA, Dovecot
 * `{CRAM-MD5}` lines, ManageSieve, PostgreSQL and XMPP against `serve`.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { type Socket, createServer } from 'node:net';
import { main } from '../../lib/cli/main.js';
import { memoryIo } from './support.js';

async function run(argv: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo(options);
  const code = await main(argv, io.io);
  return { code, out: io.out(), err: io.err() };
}

describe('cli/login: a POP3 server without CAPA', function () {
  this.timeout(30000);
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  // RFC 1939 only: CAPA is unknown; AUTH PLAIN with an initial response is accepted.
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write('+OK POP3 ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        seen.push(line.split(' ').slice(0, 2).join(' '));
        if (/^CAPA$/i.test(line)) socket.write('-ERR unknown command\r\n');
        else if (/^AUTH PLAIN /i.test(line)) socket.write('+OK logged in\r\n');
        else if (/^QUIT$/i.test(line)) socket.end('+OK bye\r\n');
        else socket.write('-ERR what\r\n');
      }
    });
  });
  let url = '';
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `pop3://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  });

  it('without --mech: exit 3 saying the server lists no mechanisms and to name one with --mech', async () => {
    const result = await run(['login', url, '--user', 'alice'], { env: { SASLKIT_PASSWORD: 'alice-pass' } });
    expect(result.code).to.equal(3);
    expect(result.err).to.match(/^saslkit login: MECHANISM_UNAVAILABLE: the POP3 server does not answer CAPA, so it lists no mechanisms: name one with --mech \(/);
    expect(result.err.split('\n')).to.have.length(2);
    expect(result.err).to.not.include('alice-pass');
    const mechs = await run(['mechs', url]);
    expect(mechs.code).to.equal(0);
    expect(mechs.out + mechs.err).to.match(/does not answer CAPA/);
  });

  it('with --mech PLAIN --allow-plaintext: logs in', async () => {
    seen.length = 0;
    const result = await run(['login', url, '--user', 'alice', '--mech', 'PLAIN'], { env: { SASLKIT_PASSWORD: 'alice-pass' } });
    expect(result.code, result.err).to.equal(0);
    expect(result.out).to.match(/^authenticated as alice with PLAIN without TLS/);
    expect(seen).to.deep.equal(['CAPA', 'AUTH PLAIN', 'QUIT']);
  });
});
