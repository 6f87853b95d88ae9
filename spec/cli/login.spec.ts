import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ARGV_SECRET_REFUSED } from '../../lib/cli/args.js';
import { CLI_PROTOCOLS } from '../../lib/cli/url.js';
import { CERT_FILE, SERVE_TLS, loginWith, runCli, type ServeRun, startServe, tempDir } from './support.js';

// bob as Dovecot stores him (doveadm pw -s SCRAM-SHA-256 -p bob-pass): the server never sees his password.
const BOB =
  '{SCRAM-SHA-256}4096,j6dOQevYUNtIEKXSc6NJHQ==,xo7oQ7HAuvszxNw9nZcIG3ZFZ0sSSgZWI2LHikNcQRE=,+7mMU4qCJzo8YDga+OrXCoaFZzvBCCFYN5VjEWopVRg=';
const TOKEN = 'tok-alice-0123456789';
const SECRETS = ['alice-pass', 'bob-pass', 'wrong-secret', TOKEN, 'hunter2'];

function expectClean(text: string): void {
  for (const secret of SECRETS) expect(text).to.not.include(secret);
}

describe('cli/login and cli/mechs', function () {
  this.timeout(60000);
  const files = tempDir();
  const users = files.write('users', `alice:{PLAIN}alice-pass\nbob:${BOB}\n`);
  const tokens = files.write('tokens', `alice:${TOKEN}\n`);
  const password = files.write('alice.pw', 'alice-pass\n');
  const token = files.write('alice.token', `${TOKEN}\n`);
  const serves = new Map<string, ServeRun>();
  const url = (protocol: string): string => `${protocol}://127.0.0.1:${serves.get(protocol)?.port ?? 0}`;
  // The server's URL with STARTTLS and the test CA.
  const overTls = (protocol: string): string[] => [url(protocol), '--starttls', '--ca', CERT_FILE];

  before(async () => {
    for (const protocol of CLI_PROTOCOLS) {
      serves.set(protocol, await startServe(protocol, users, '--tokens', tokens, ...SERVE_TLS));
    }
  });
  after(async () => {
    for (const serve of serves.values()) expect(await serve.stop()).to.equal(0);
    files.cleanup();
  });

  for (const protocol of CLI_PROTOCOLS) {
    it(`${protocol}: logs in after STARTTLS with the strongest mechanism, a named one, and a token; refuses a wrong password in one line`, async () => {
      const bob = await loginWith('bob-pass', [...overTls(protocol), '--user', 'bob']);
      expect(bob.code, bob.err).to.equal(0);
      expect(bob.out).to.match(
        /^authenticated as bob with SCRAM-SHA-256-PLUS over TLSv1\.3 with channel binding tls-exporter; the server proved it knows the credentials; 3 round trips, [0-9.]+ ms\n$/,
      );
      const alice = await runCli([
        'login',
        ...overTls(protocol),
        '--user',
        'alice',
        '--mech',
        'plain',
        '--password-file',
        password,
      ]);
      expect(alice.code, alice.err).to.equal(0);
      expect(alice.out).to.match(/^authenticated as alice with PLAIN over TLSv1\.3; 1 round trip, /);
      const oauth = await runCli(['login', ...overTls(protocol), '--user', 'alice', '--token-file', token]);
      expect(oauth.code, oauth.err).to.equal(0);
      expect(oauth.out).to.match(/^authenticated as alice with OAUTHBEARER over TLSv1\.3;/);
      const wrong = await loginWith('wrong-secret', [...overTls(protocol), '--user', 'alice', '--mech', 'LOGIN']);
      expect(wrong.code).to.equal(1);
      expect(wrong.out).to.equal('');
      expect(wrong.err.split('\n')).to.have.length(2);
      expect(wrong.err).to.match(
        /^saslkit login: AUTHENTICATION_FAILED: the (SMTP|IMAP|POP3) server refused authentication: (535 5\.7\.8|NO \[AUTHENTICATIONFAILED\]|-ERR \[AUTH\])/,
      );
      expectClean(bob.out + bob.err + alice.out + alice.err + oauth.out + oauth.err + wrong.out + wrong.err);
    });
  }

  it('prints JSON for success and failure', async () => {
    const ok = await loginWith('bob-pass', [...overTls('imap'), '--user', 'bob', '--json']);
    expect(ok.code).to.equal(0);
    const result = JSON.parse(ok.out) as Record<string, unknown>;
    expect(result).to.deep.include({
      ok: true,
      protocol: 'imap',
      tls: 'TLSv1.3',
      certificateVerified: true,
      mechanism: 'SCRAM-SHA-256-PLUS',
      user: 'bob',
      authzid: null,
      serverVerified: true,
      channelBinding: 'tls-exporter',
      roundTrips: 3,
    });
    const failed = await loginWith('wrong-secret', [...overTls('imap'), '--user', 'bob', '--json']);
    expect(failed.code).to.equal(1);
    expect(failed.err).to.equal('');
    expect(JSON.parse(failed.out)).to.deep.equal({
      ok: false,
      exitCode: 1,
      reason:
        'AUTHENTICATION_FAILED: the IMAP server refused authentication: NO [AUTHENTICATIONFAILED] Authentication failed',
    });
  });

  it('--trace shows the exchange decoded with the password, proof and token redacted', async () => {
    const traces: string[] = [];
    for (const [mech, env] of [
      ['PLAIN', 'alice-pass'],
      ['LOGIN', 'alice-pass'],
      ['SCRAM-SHA-256', 'alice-pass'],
      ['SCRAM-SHA-256', 'wrong-secret'],
    ] as const) {
      const result = await loginWith(env, [...overTls('smtp'), '--user', 'alice', '--mech', mech, '--trace']);
      expect(result.err).to.include('C: AUTH ');
      traces.push(result.err);
    }
    for (const mech of ['XOAUTH2', 'OAUTHBEARER']) {
      const result = await runCli([
        'login',
        ...overTls('pop3'),
        '--user',
        'alice',
        '--mech',
        mech,
        '--token-file',
        token,
        '--trace',
      ]);
      expect(result.code).to.equal(0);
      traces.push(result.err);
    }
    const all = traces.join('\n');
    expect(all).to.include('C: AUTH PLAIN "\\0alice\\0[redacted]"');
    expect(all).to.include('S: 334 "Password:"\nC: [redacted]');
    expect(all).to.match(/C: "c=biws,r=[^,"]+,p=\[redacted\]"/);
    expect(all).to.include('S: 334 "v=[redacted]"');
    expect(all).to.include('-- TLS established (TLSv1.3)');
    expect(all).to.include('auth=[redacted]');
    expectClean(all);
    // The base64 forms of the secrets never appear either.
    for (const secret of ['\0alice\0alice-pass', 'alice-pass'])
      expect(all).to.not.include(Buffer.from(secret).toString('base64'));
  });

  it('refuses a secret on the command line, in any form, without echoing it', async () => {
    for (const argv of [
      ['login', url('smtp'), '--user', 'alice', '--password', 'hunter2'],
      ['login', url('smtp'), '--user', 'alice', '--password=hunter2'],
      ['login', url('smtp'), '--user', 'alice', '-p', 'hunter2'],
      ['login', url('smtp'), '--user', 'alice', '--token', 'hunter2'],
      ['login', `smtp://alice:hunter2@127.0.0.1:${serves.get('smtp')?.port ?? 0}`],
      ['login', url('smtp'), '--user', 'alice', '--password', 'hunter2', '--json'],
    ]) {
      const result = await runCli(argv);
      expect(result.code, argv.join(' ')).to.equal(2);
      expect(result.err + result.out).to.include(ARGV_SECRET_REFUSED);
      expectClean(result.out + result.err);
    }
  });

  it('exit 3 for no usable mechanism, 2 for a missing secret, 4 for connection and certificate trouble', async () => {
    // Without TLS the server offers only SCRAM: bob gets it, unbound.
    const plain = await loginWith('bob-pass', [url('smtp'), '--user', 'bob']);
    expect(plain.code, plain.err).to.equal(0);
    expect(plain.out).to.match(/^authenticated as bob with SCRAM-SHA-256 without TLS; the server proved/);
    const notOffered = await loginWith('alice-pass', [url('smtp'), '--user', 'alice', '--mech', 'PLAIN']);
    expect(notOffered.code).to.equal(3);
    expect(notOffered.err).to.equal(
      'saslkit login: MECHANISM_UNAVAILABLE: the server does not offer PLAIN (it offers: SCRAM-SHA-256)\n',
    );
    const cbWithoutTls = await loginWith('bob-pass', [url('imap'), '--user', 'bob', '--channel-binding', 'require']);
    expect(cbWithoutTls.code).to.equal(3);
    expect(cbWithoutTls.err).to.match(/--channel-binding require needs TLS/);
    const unknown = await loginWith('bob-pass', [url('imap'), '--user', 'bob', '--mech', 'GSSAPI']);
    expect(unknown.code).to.equal(3);
    const noSecret = await runCli(['login', url('imap'), '--user', 'bob']);
    expect(noSecret.code).to.equal(2);
    expect(noSecret.err).to.match(/^saslkit login: no password: use --password-file/);
    const noUser = await loginWith('bob-pass', [url('imap')]);
    expect(noUser.code).to.equal(2);
    const untrusted = await loginWith('bob-pass', [url('imap'), '--starttls', '--user', 'bob']);
    expect(untrusted.code).to.equal(4);
    expect(untrusted.err).to.match(/self-signed certificate \(pass --ca <file> to trust it, or --insecure\)\n$/);
    const insecure = await loginWith('bob-pass', [url('imap'), '--starttls', '--insecure', '--user', 'bob']);
    expect(insecure.code).to.equal(0);
    expect(insecure.out).to.match(/with channel binding tls-exporter \(certificate not verified\)/);
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => {
      closed.close(() => {
        resolve();
      });
    });
    const refused = await loginWith('bob-pass', [`pop3://127.0.0.1:${port}`, '--user', 'bob']);
    expect(refused.code).to.equal(4);
    expect(refused.err).to.match(/ECONNREFUSED/);
  });

  it('without TLS, never picks PLAIN, LOGIN or a token mechanism on its own: exit 3 says why; --allow-plaintext or --mech opts in', async () => {
    // A server (or a man in the middle) that offers only clear-text mechanisms on a plain connection.
    const clear = await startServe('smtp', users, '--tokens', tokens, '--mechs', 'PLAIN,LOGIN,OAUTHBEARER,XOAUTH2');
    try {
      const at = `smtp://127.0.0.1:${clear.port}`;
      const refused = await loginWith('alice-pass', [at, '--user', 'alice']);
      expect(refused.code, refused.err).to.equal(3);
      expect(refused.out).to.equal('');
      expect(refused.err).to.equal(
        'saslkit login: MECHANISM_UNAVAILABLE: without TLS, the server offers only mechanisms that send the password in clear (it offers: PLAIN LOGIN OAUTHBEARER XOAUTH2): ' +
          'add --starttls or use an smtps/imaps/pop3s URL; or, to send it in clear anyway, pass --allow-plaintext or name the mechanism with --mech PLAIN\n',
      );
      const refusedToken = await runCli(['login', at, '--user', 'alice', '--token-file', token, '--json']);
      expect(refusedToken.code).to.equal(3);
      expect(JSON.parse(refusedToken.out)).to.deep.include({ ok: false, exitCode: 3 });
      expect((JSON.parse(refusedToken.out) as { reason: string }).reason).to.match(
        /send the token in clear .*--mech OAUTHBEARER$/,
      );
      // Nothing was sent: the server saw no attempt.
      expect(clear.output.out()).to.not.match(/ (PLAIN|LOGIN|OAUTHBEARER|XOAUTH2) user=/);
      const allowed = await loginWith('alice-pass', [at, '--user', 'alice', '--allow-plaintext']);
      expect(allowed.code, allowed.err).to.equal(0);
      expect(allowed.out).to.match(/^authenticated as alice with PLAIN without TLS; 1 round trip/);
      const allowedToken = await runCli(['login', at, '--user', 'alice', '--token-file', token, '--allow-plaintext']);
      expect(allowedToken.code, allowedToken.err).to.equal(0);
      expect(allowedToken.out).to.match(/^authenticated as alice with OAUTHBEARER without TLS;/);
      const named = await loginWith('alice-pass', [at, '--user', 'alice', '--mech', 'LOGIN']);
      expect(named.code, named.err).to.equal(0);
      expect(named.out).to.match(/^authenticated as alice with LOGIN without TLS;/);
      expectClean(
        refused.out +
          refused.err +
          refusedToken.out +
          refusedToken.err +
          allowed.out +
          allowed.err +
          allowedToken.out +
          allowedToken.err +
          named.out +
          named.err,
      );
    } finally {
      expect(await clear.stop()).to.equal(0);
    }
  });

  it('--allow-plaintext changes nothing over TLS, and the help text explains it', async () => {
    const result = await loginWith('bob-pass', [...overTls('imap'), '--user', 'bob', '--allow-plaintext']);
    expect(result.code, result.err).to.equal(0);
    expect(result.out).to.match(/with SCRAM-SHA-256-PLUS over TLSv1\.3/);
    const help = await runCli(['login', '--help']);
    expect(help.out).to.match(/--allow-plaintext +without TLS, let the automatic choice send the password or\n/);
  });

  it('a plain SCRAM named while the server offers its -PLUS variant goes without binding (GS2 flag n, not y) and logs in', async () => {
    const result = await loginWith('bob-pass', [
      ...overTls('smtp'),
      '--user',
      'bob',
      '--mech',
      'SCRAM-SHA-256',
      '--trace',
    ]);
    expect(result.code, result.err).to.equal(0);
    expect(result.err).to.match(/S: 250[- ]AUTH SCRAM-SHA-256-PLUS /);
    expect(result.err).to.match(/C: AUTH SCRAM-SHA-256 "n,,n=bob,r=/);
    expect(result.out).to.match(/^authenticated as bob with SCRAM-SHA-256 over TLSv1\.3; the server proved/);
  });

  it('reads the password from standard input with --password-file -', async () => {
    const result = await runCli(
      ['login', ...overTls('pop3'), '--user', 'alice', '--password-file', '-', '--mech', 'SCRAM-SHA-256-PLUS'],
      { stdin: 'alice-pass\n' },
    );
    expect(result.code, result.err).to.equal(0);
    expect(result.out).to.match(/with SCRAM-SHA-256-PLUS over TLSv1\.3 with channel binding tls-exporter/);
  });

  it('mechs lists the mechanisms before and after STARTTLS, as text and JSON', async () => {
    const text = await runCli(['mechs', url('smtp'), '--starttls', '--ca', CERT_FILE]);
    expect(text.code, text.err).to.equal(0);
    expect(text.out).to.equal(
      `${url('smtp')}\n` +
        '  before TLS: SCRAM-SHA-256\n' +
        '  after STARTTLS: SCRAM-SHA-256-PLUS SCRAM-SHA-256 OAUTHBEARER XOAUTH2 PLAIN LOGIN\n' +
        '  TLS: TLSv1.3, certificate verified, channel binding tls-exporter, tls-server-end-point\n',
    );
    const json = await runCli(['mechs', url('pop3'), '--json']);
    expect(JSON.parse(json.out)).to.deep.equal({
      ok: true,
      url: url('pop3'),
      protocol: 'pop3',
      implicitTls: false,
      starttlsOffered: true,
      before: ['SCRAM-SHA-256'],
      after: null,
      tls: null,
    });
    const hint = await runCli(['mechs', url('imap')]);
    expect(hint.out).to.include('[STARTTLS offered: add --starttls to see what TLS adds]');
    const bad = await runCli(['mechs']);
    expect(bad.code).to.equal(2);
  });
});
