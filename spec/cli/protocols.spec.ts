/**
 * The CLI beyond SMTP/IMAP/POP3 basics (issue 14 item 5): a POP3 server without CAPA, Dovecot
 * `{CRAM-MD5}` lines, ManageSieve, PostgreSQL and XMPP against `serve`.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { type Socket, createConnection, createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { serveCommand } from '../../lib/cli/serve.js';
import {
  ALICE_USERS,
  CERT_FILE,
  SERVE_TLS,
  loginWith,
  memoryIo,
  runCli,
  serveDuring,
  type ServeRun,
  startServe,
  tempDir,
} from './support.js';

/**
 * Over STARTTLS with the test CA: alice logs in with SCRAM-*-PLUS bound by tls-exporter (with
 * `scramExtra`) and with PLAIN; a wrong password exits 1 with `refused` on stderr.
 */
async function expectStartTlsLogins(
  url: string,
  user: string,
  refused: RegExp,
  scramExtra: readonly string[] = [],
): Promise<void> {
  const tls = [url, '--starttls', '--ca', CERT_FILE, '--user', user];
  const scram = await loginWith('alice-pass', [...tls, ...scramExtra]);
  expect(scram.code, scram.err).to.equal(0);
  expect(scram.out).to.match(
    new RegExp(
      `^authenticated as ${user} with SCRAM-SHA-\\d+-PLUS over TLSv1\\.3 with channel binding tls-exporter; the server proved`,
    ),
  );
  const plain = await loginWith('alice-pass', [...tls, '--mech', 'PLAIN']);
  expect(plain.code, plain.err).to.equal(0);
  const wrong = await loginWith('wrong-secret', [...tls, '--mech', 'PLAIN']);
  expect(wrong.code).to.equal(1);
  expect(wrong.err).to.match(refused);
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
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  it('without --mech: exit 3 saying the server lists no mechanisms and to name one with --mech', async () => {
    const result = await loginWith('alice-pass', [url, '--user', 'alice']);
    expect(result.code).to.equal(3);
    expect(result.err).to.match(
      /^saslkit login: MECHANISM_UNAVAILABLE: the POP3 server does not answer CAPA, so it lists no mechanisms: name one with --mech \(/,
    );
    expect(result.err.split('\n')).to.have.length(2);
    expect(result.err).to.not.include('alice-pass');
    const mechs = await runCli(['mechs', url]);
    expect(mechs.code).to.equal(0);
    expect(mechs.out + mechs.err).to.match(/does not answer CAPA/);
  });

  it('with --mech PLAIN --allow-plaintext: logs in', async () => {
    seen.length = 0;
    const result = await loginWith('alice-pass', [url, '--user', 'alice', '--mech', 'PLAIN']);
    expect(result.code, result.err).to.equal(0);
    expect(result.out).to.match(/^authenticated as alice with PLAIN without TLS/);
    expect(seen).to.deep.equal(['CAPA', 'AUTH PLAIN', 'QUIT']);
  });
});

describe('cli: serve --tls-client-ca offers EXTERNAL; login --cert/--key uses it', function () {
  this.timeout(60000);
  const files = tempDir();
  const users = files.write('users', 'alice:{PLAIN}alice-pass\n');
  const file = (name: string): string => files.path(name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  const serves: ServeRun[] = [];
  const url = (serve: ServeRun | undefined, protocol = 'imap'): string => `${protocol}://127.0.0.1:${serve?.port ?? 0}`;
  // Over STARTTLS with the test CA, showing the client certificate `name`.pem.
  const withCert = (serve: ServeRun | undefined, name: string, protocol?: string): string[] => [
    url(serve, protocol),
    '--starttls',
    '--ca',
    CERT_FILE,
    '--cert',
    file(`${name}.pem`),
    '--key',
    file(`${name}.key`),
  ];

  before(async () => {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    // A CA and alice's certificate signed by it; and a self-signed "alice" no CA vouches for.
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-subj',
      '/CN=saslkit test CA',
      '-days',
      '2',
    );
    openssl('req', ...ec, '-keyout', file('alice.key'), '-out', file('alice.csr'), '-subj', '/CN=alice');
    openssl(
      'x509',
      '-req',
      '-in',
      file('alice.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('alice.pem'),
      '-days',
      '2',
    );
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('mallory.key'),
      '-out',
      file('mallory.pem'),
      '-subj',
      '/CN=alice',
      '-days',
      '2',
    );
    for (const protocol of ['imap', 'smtp']) {
      serves.push(await startServe(protocol, users, ...SERVE_TLS, '--tls-client-ca', file('ca.pem')));
    }
  });
  after(async () => {
    for (const serve of serves) expect(await serve.stop()).to.equal(0);
    files.cleanup();
  });

  it('a trusted certificate: EXTERNAL is offered after STARTTLS and logs in as the subject CN', async () => {
    for (const [index, protocol] of ['imap', 'smtp'].entries()) {
      const serve = serves[index];
      const mechs = await runCli(['mechs', ...withCert(serve, 'alice', protocol), '--json']);
      expect(mechs.code, mechs.err).to.equal(0);
      const offer = JSON.parse(mechs.out) as { before: string[]; after: string[] };
      expect(offer.before).to.not.include('EXTERNAL');
      expect(offer.after).to.include('EXTERNAL');
      const login = await runCli(['login', ...withCert(serve, 'alice', protocol), '--mech', 'EXTERNAL']);
      expect(login.code, login.err).to.equal(0);
      expect(login.out).to.match(/^authenticated with EXTERNAL over TLSv1\.3;/);
      expect(serve?.output.out()).to.match(new RegExp(`${protocol}\\+tls EXTERNAL user="alice" ok`));
    }
  });

  it('no certificate, or an untrusted one: EXTERNAL is not offered and login --mech EXTERNAL exits 3; passwords still work', async () => {
    const serve = serves[0];
    const bare = await runCli(['mechs', url(serve), '--starttls', '--ca', CERT_FILE, '--json']);
    expect(bare.code, bare.err).to.equal(0);
    expect((JSON.parse(bare.out) as { after: string[] }).after).to.not.include('EXTERNAL');
    const untrusted = await runCli(['login', ...withCert(serve, 'mallory'), '--mech', 'EXTERNAL']);
    expect(untrusted.code).to.equal(3);
    expect(untrusted.err).to.match(
      /^saslkit login: MECHANISM_UNAVAILABLE: the server does not offer EXTERNAL \(it offers: [^\n]*\)\n$/,
    );
    expect(untrusted.err.replace('does not offer EXTERNAL', '')).to.not.include('EXTERNAL');
    const password = await loginWith('alice-pass', [...withCert(serve, 'mallory'), '--user', 'alice']);
    expect(password.code, password.err).to.equal(0);
  });

  it('usage: EXTERNAL without --cert exits 2; --tls-client-ca without a server certificate exits 2', async () => {
    const noCert = await runCli(['login', url(serves[0]), '--starttls', '--mech', 'EXTERNAL']);
    expect(noCert.code).to.equal(2);
    expect(noCert.err).to.match(/give --cert and --key/);
    const io = memoryIo();
    expect(
      await serveCommand(['--protocol', 'imap', '--users', users, '--tls-client-ca', file('ca.pem')], io.io),
    ).to.equal(2);
    expect(io.err()).to.match(/--tls-client-ca needs --tls-cert/);
  });
});

describe('cli: serve reads Dovecot {CRAM-MD5} lines (HMAC-MD5 states)', function () {
  this.timeout(60000);
  const files = tempDir();
  // carol's line in the Dovecot interop peer's passwd-file, made by `doveadm pw -s CRAM-MD5 -p carol-pass`.
  const CAROL = 'carol:{CRAM-MD5}c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9';
  let serve: ServeRun | undefined;
  let doveadmLine = false;
  const url = (): string => `smtp://127.0.0.1:${serve?.port ?? 0}`;
  const login = (user: string, mech: string, password: string): Promise<{ code: number; out: string; err: string }> =>
    loginWith(password, [url(), '--user', user, '--mech', mech]);

  before(async () => {
    let lines = `${CAROL}\nalice:{PLAIN}alice-pass\n`;
    // A fresh line from doveadm too, where Dovecot is installed.
    try {
      const made = execFileSync('doveadm', ['pw', '-s', 'CRAM-MD5', '-p', 'erin-pass'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (/^\{CRAM-MD5\}[0-9a-f]{64}$/.test(made)) {
        lines += `erin:${made}\n`;
        doveadmLine = true;
      }
    } catch {
      // No doveadm: carol's line stands for it.
    }
    serve = await startServe(
      'smtp',
      files.write('users', lines),
      '--mechs',
      'CRAM-MD5,PLAIN,LOGIN',
      '--plaintext-auth',
    );
  });
  after(async () => {
    expect(await serve?.stop()).to.equal(0);
    files.cleanup();
  });

  it('loads the line and logs carol in with CRAM-MD5, PLAIN and LOGIN; refuses a wrong password', async () => {
    expect(serve?.output.err()).to.equal('');
    for (const mech of ['CRAM-MD5', 'PLAIN', 'LOGIN']) {
      const ok = await login('carol', mech, 'carol-pass');
      expect(ok.code, `${mech}: ${ok.err}`).to.equal(0);
      expect(ok.out).to.match(new RegExp(`^authenticated as carol with ${mech} without TLS;`));
      const wrong = await login('carol', mech, 'wrong-secret');
      expect(wrong.code, mech).to.equal(1);
    }
    // alice ({PLAIN}) still logs in with CRAM-MD5 through the same mechanism.
    expect((await login('alice', 'CRAM-MD5', 'alice-pass')).code).to.equal(0);
    expect(serve?.output.out()).to.not.include('c889a69e');
  });

  it('a line made by doveadm pw -s CRAM-MD5 works too (where doveadm is installed)', async function () {
    if (!doveadmLine) this.skip();
    const ok = await login('erin', 'CRAM-MD5', 'erin-pass');
    expect(ok.code, ok.err).to.equal(0);
    expect((await login('erin', 'CRAM-MD5', 'wrong-secret')).code).to.equal(1);
  });
});

describe('cli: serve --protocol sieve (ManageSieve) with saslkit mechs and login', function () {
  this.timeout(60000);
  const servers = serveDuring(ALICE_USERS, {
    serve: ['sieve', ...SERVE_TLS],
    open: ['sieve', ...SERVE_TLS, '--plaintext-auth'],
  });
  const url = (run: ServeRun): string => `sieve://127.0.0.1:${run.port}`;

  it('lists PLAIN only after STARTTLS, re-issues the capabilities then, and logs in with SCRAM-SHA-256-PLUS and PLAIN', async () => {
    const mechs = await runCli(['mechs', url(servers.serve), '--starttls', '--ca', CERT_FILE, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    const offer = JSON.parse(mechs.out) as { before: string[]; after: string[] };
    expect(offer.before).to.not.include('PLAIN');
    expect(offer.after).to.include.members(['PLAIN', 'SCRAM-SHA-256-PLUS']);
    await expectStartTlsLogins(
      url(servers.serve),
      'alice',
      /^saslkit login: AUTHENTICATION_FAILED: the ManageSieve server refused authentication: NO/,
    );
    expect(servers.serve.output.out()).to.match(/sieve\+tls PLAIN user="alice" ok/);
  });

  it('refuses STARTTLS after a login', async () => {
    // Closed by the test, or by the server's stop() if it fails half way.
    const socket = createConnection({ host: '127.0.0.1', port: servers.open.port });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    const until = async (pattern: RegExp): Promise<void> => {
      for (let i = 0; i < 200 && !pattern.test(text); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(text).to.match(pattern);
    };
    await until(/^OK "saslkit test server ready"\r\n/m);
    socket.write(`AUTHENTICATE "PLAIN" "${Buffer.from('\0alice\0alice-pass').toString('base64')}"\r\n`);
    await until(/^OK\b(?! "saslkit)/m);
    socket.write('STARTTLS\r\n');
    await until(/^NO "STARTTLS is not permitted after authentication"\r\n/m);
    socket.destroy();
  });
});

describe('cli: serve --protocol postgres with saslkit mechs and login', function () {
  this.timeout(60000);
  const servers = serveDuring(ALICE_USERS, { serve: ['postgres', ...SERVE_TLS] });
  const url = (path = '/app'): string => `postgres://127.0.0.1:${servers.serve.port}${path}`;

  it('offers SCRAM-SHA-256, and -PLUS after SSLRequest; logs in with both; refuses a wrong password with 28P01', async () => {
    expect(servers.serve.output.out()).to.match(
      /\(SSLRequest\), 1 user\n {2}mechanisms: SCRAM-SHA-256\n {2}after TLS: SCRAM-SHA-256-PLUS SCRAM-SHA-256\n/,
    );
    const mechs = await runCli([
      'mechs',
      `postgres://alice@127.0.0.1:${servers.serve.port}`,
      '--starttls',
      '--ca',
      CERT_FILE,
      '--json',
    ]);
    expect(mechs.code, mechs.err).to.equal(0);
    expect(JSON.parse(mechs.out)).to.deep.include({
      before: ['SCRAM-SHA-256'],
      after: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
    const plus = await loginWith('alice-pass', [
      url(),
      '--starttls',
      '--ca',
      CERT_FILE,
      '--user',
      'alice',
      '--channel-binding',
      'require',
    ]);
    expect(plus.code, plus.err).to.equal(0);
    expect(plus.out).to.match(
      /^authenticated as alice with SCRAM-SHA-256-PLUS over TLSv1\.3 with channel binding tls-server-end-point; the server proved/,
    );
    const clear = await loginWith('alice-pass', [url(), '--user', 'alice']);
    expect(clear.code, clear.err).to.equal(0);
    const wrong = await loginWith('wrong-secret', [url(), '--user', 'alice']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.equal(
      'saslkit login: AUTHENTICATION_FAILED: the PostgreSQL server refused the login (28P01)\n',
    );
    expect(servers.serve.output.out()).to.match(/postgres\+tls SCRAM-SHA-256-PLUS user="alice" ok/);
  });
});

describe('cli: serve --protocol xmpp with saslkit mechs and login', function () {
  this.timeout(60000);
  const servers = serveDuring(ALICE_USERS, {
    serve: ['xmpp', ...SERVE_TLS],
    open: ['xmpp', ...SERVE_TLS, '--plaintext-auth'],
  });
  const url = (run: ServeRun): string => `xmpp://127.0.0.1:${run.port}`;
  const HEADER =
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

  it('offers STARTTLS, PLAIN and -PLUS only after it; logs in with SCRAM-*-PLUS and PLAIN; refuses a wrong password', async () => {
    const mechs = await runCli([
      'mechs',
      url(servers.serve),
      '--domain',
      'localhost',
      '--starttls',
      '--ca',
      CERT_FILE,
      '--json',
    ]);
    expect(mechs.code, mechs.err).to.equal(0);
    const offer = JSON.parse(mechs.out) as { before: string[]; after: string[]; starttlsOffered: boolean };
    expect(offer.starttlsOffered).to.equal(true);
    expect(offer.before).to.not.include('PLAIN');
    expect(offer.after).to.include.members(['PLAIN', 'SCRAM-SHA-256-PLUS']);
    await expectStartTlsLogins(url(servers.serve), 'alice@localhost', /not-authorized/, [
      '--channel-binding',
      'require',
    ]);
    expect(servers.serve.output.out()).to.match(/xmpp\+tls PLAIN user="alice" ok/);
    // A failed attempt names the user the client gave, as in the line protocols.
    expect(servers.serve.output.out()).to.match(/xmpp\+tls PLAIN user="alice" failed AUTHENTICATION_FAILED/);
  });

  it('after SASL success the restarted stream offers only <bind>, and STARTTLS is refused', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: servers.open.port });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const until = async (pattern: RegExp): Promise<void> => {
      for (let i = 0; i < 200 && !pattern.test(text); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(text).to.match(pattern);
    };
    socket.write(HEADER);
    await until(/<\/stream:features>/);
    expect(text).to.include("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    socket.write(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0alice\0alice-pass').toString('base64')}</auth>`,
    );
    await until(/<success /);
    text = '';
    socket.write(HEADER);
    await until(/<\/stream:features>/);
    expect(text).to.match(/<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'\/><\/stream:features>$/);
    socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await until(/<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/><\/stream:stream>/);
    socket.destroy();
  });
});
