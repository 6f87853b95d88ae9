import { expect } from 'chai';
import { main } from '../../lib/cli/main.js';
import { formatAttempt, parseListen } from '../../lib/cli/serve.js';
import {
  CERT_FILE,
  SERVE_TLS,
  childEnv,
  cliCommand,
  loginWith,
  memoryIo,
  runChild,
  startServe,
  tempDir,
} from './support.js';

const BOB =
  '{SCRAM-SHA-256}4096,j6dOQevYUNtIEKXSc6NJHQ==,xo7oQ7HAuvszxNw9nZcIG3ZFZ0sSSgZWI2LHikNcQRE=,+7mMU4qCJzo8YDga+OrXCoaFZzvBCCFYN5VjEWopVRg=';
const CAROL = '{PBKDF2}$1$7YCyIYrURUIEdIc.$5000$47edd2bab15734050989263a48c0b63bb0539f4d';

describe('cli/serve', function () {
  this.timeout(180000);
  const files = tempDir();
  const users = files.write('users', `alice:{PLAIN}alice-pass\nbob:${BOB}\ncarol:${CAROL}\n`);
  after(() => {
    files.cleanup();
  });

  it('logs every attempt with user and outcome, never the secret, and traces with secrets redacted', async () => {
    const serve = await startServe('smtp', users, ...SERVE_TLS, '--trace');
    try {
      const url = `smtp://127.0.0.1:${serve.port}`;
      expect((await loginWith('carol-pass', [url, '--starttls', '--ca', CERT_FILE, '--user', 'carol'])).code).to.equal(
        0,
      );
      expect(
        (await loginWith('wrong-secret', [url, '--starttls', '--ca', CERT_FILE, '--user', 'alice', '--mech', 'LOGIN']))
          .code,
      ).to.equal(1);
      expect(
        (
          await loginWith('bob-pass', [
            url,
            '--starttls',
            '--ca',
            CERT_FILE,
            '--user',
            'bob',
            '--mech',
            'PLAIN',
            '--authzid',
            'alice',
          ])
        ).code,
      ).to.equal(1);
    } finally {
      expect(await serve.stop()).to.equal(0);
    }
    const out = serve.output.out();
    expect(out).to.match(
      /^saslkit serve: smtp on 127\.0\.0\.1:\d+ \(STARTTLS\), 3 users\n {2}mechanisms: \(none\)\n {2}after TLS: PLAIN LOGIN\n/,
    );
    expect(out).to.match(/\n\S+Z 127\.0\.0\.1:\d+ smtp\+tls PLAIN user="carol" ok\n/);
    expect(out).to.match(/\n\S+Z 127\.0\.0\.1:\d+ smtp\+tls LOGIN user="alice" failed AUTHENTICATION_FAILED\n/);
    expect(out).to.match(/\n\S+Z 127\.0\.0\.1:\d+ smtp\+tls PLAIN user="bob" failed AUTHORIZATION_FAILED\n/);
    expect(out).to.match(/\] C: AUTH PLAIN "alice\\0bob\\0\[redacted\]"\n/);
    expect(out).to.match(/\] S: 334 "Password:"\n\[[^\]]+\] C: \[redacted\]\n/);
    expect(out).to.match(/saslkit serve: stopped\n$/);
    for (const secret of ['carol-pass', 'wrong-secret', 'bob-pass', Buffer.from('wrong-secret').toString('base64')])
      expect(out + serve.output.err()).to.not.include(secret);
  });

  it('leaves out accounts whose scheme it cannot serve, as in a Dovecot file with {SSHA512}', async () => {
    const mixed = files.write(
      'dovecot-users',
      'alice:{PLAIN}alice-pass\ncarol:{SSHA512}c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9\n',
    );
    const serve = await startServe('smtp', mixed);
    await serve.stop();
    expect(serve.output.err()).to.equal(
      'saslkit serve: users file line 2: saslkit cannot serve {SSHA512}; "carol" left out\n',
    );
    expect(serve.output.out()).to.match(/\), 1 user\n/);
    expect(serve.output.out()).to.not.include('c889a69e');
  });

  it('offers what every account can use, or what --mechs says', async () => {
    const scramOnly = files.write('scram-users', `bob:${BOB}\nalice:{PLAIN}alice-pass\n`);
    const serve = await startServe('imap', scramOnly, '--plaintext-auth');
    await serve.stop();
    expect(serve.output.out()).to.include('  mechanisms: SCRAM-SHA-256 PLAIN LOGIN\n');
    const chosen = await startServe('pop3', users, '--mechs', 'cram-md5, plain', '--tls-self-signed', '--implicit-tls');
    await chosen.stop();
    expect(chosen.output.out()).to.match(
      /pop3 on 127\.0\.0\.1:\d+ \(implicit TLS\), 3 users\n {2}mechanisms: CRAM-MD5 PLAIN\n/,
    );
  });

  it('reports usage errors with exit 2 and never echoes a secret from the users file', async () => {
    const bad = files.write('bad-users', 'alice:{PLAIN}alice-pass\nbob:{SCRAM-SHA-256}topsecretvalue\n');
    const cases: [string[], RegExp][] = [
      [['--users', users], /needs --protocol/],
      [['--protocol', 'smtp'], /needs --users/],
      [['--protocol', 'ftp', '--users', users], /--protocol must be one of: smtp, imap, pop3/],
      [['--protocol', 'smtp', '--users', bad], /users file line 2: the \{SCRAM-SHA-256\} secret does not parse/],
      [['--protocol', 'smtp', '--users', files.path('missing')], /cannot read the users file: ENOENT/],
      [['--protocol', 'smtp', '--users', users, '--mechs', 'XOAUTH2'], /XOAUTH2 needs --tokens/],
      [['--protocol', 'smtp', '--users', users, '--mechs', 'EXTERNAL'], /EXTERNAL needs TLS client certificates/],
      [['--protocol', 'smtp', '--users', users, '--implicit-tls'], /--implicit-tls needs/],
      [['--protocol', 'smtp', '--users', users, '--tls-cert', CERT_FILE], /--tls-cert and --tls-key go together/],
      [['--protocol', 'smtp', '--users', users, '--listen', '127.0.0.1'], /--listen must be host:port/],
    ];
    for (const [argv, message] of cases) {
      const io = memoryIo();
      expect(await main(['serve', ...argv], io.io), argv.join(' ')).to.equal(2);
      expect(io.err()).to.match(message);
      expect(io.err()).to.not.include('topsecretvalue');
    }
    expect(parseListen('[::1]:2525')).to.deep.equal({ host: '::1', port: 2525 });
    expect(
      formatAttempt(
        {
          remote: '127.0.0.1:1',
          protocol: 'imap',
          mechanism: 'PLAIN',
          tls: false,
          user: 'a"b',
          ok: true,
          authzid: 'c',
        },
        new Date(0),
      ),
    ).to.equal('1970-01-01T00:00:00.000Z 127.0.0.1:1 imap PLAIN user="a\\"b" ok authzid="c"');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`as a process, stops cleanly on ${signal} (exit 0)`, async () => {
      const [node, args] = cliCommand(['serve', '--protocol', 'imap', '--listen', '127.0.0.1:0', '--users', users]);
      let port = 0;
      let loggedIn: Promise<{ code: number }> | undefined;
      const result = await runChild(node, args, {
        timeoutMs: 150000,
        onStdout: (text, child) => {
          const match = /imap on 127\.0\.0\.1:(\d+)/.exec(text);
          if (match && port === 0) {
            port = Number(match[1]);
            loggedIn = loginWith('alice-pass', [`imap://127.0.0.1:${port}`, '--user', 'alice', '--mech', 'PLAIN']).then(
              (r) => {
                child.kill(signal);
                return r;
              },
            );
          }
        },
      });
      expect((await loggedIn)?.code).to.equal(0);
      expect(result.signal).to.equal(null);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/imap PLAIN user="alice" ok\nsaslkit serve: stopped\n$/);
    });
  }

  it('accepts Python smtplib, imaplib and poplib, over STARTTLS with a verified certificate', async () => {
    const servers = await Promise.all(
      (['smtp', 'imap', 'pop3'] as const).map((protocol) =>
        startServe(protocol, users, ...SERVE_TLS, '--mechs', 'PLAIN,LOGIN,SCRAM-SHA-256'),
      ),
    );
    const [smtp, imap, pop3] = servers.map((s) => s.port);
    const script = `
import smtplib, imaplib, poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = smtplib.SMTP('127.0.0.1', ${smtp ?? 0}, timeout=30); s.starttls(context=ctx); s.ehlo()
print('smtp', s.login('alice', 'alice-pass')[0]); s.quit()
s = smtplib.SMTP('127.0.0.1', ${smtp ?? 0}, timeout=30); s.starttls(context=ctx); s.ehlo()
try:
    s.login('carol', 'not-carol-pass')
except smtplib.SMTPAuthenticationError as e:
    print('smtp refused', e.smtp_code)
s.quit()
m = imaplib.IMAP4('127.0.0.1', ${imap ?? 0}, timeout=30); m.starttls(ssl_context=ctx)
print('imap', m.login('carol', 'carol-pass')[0]); m.logout()
m = imaplib.IMAP4('127.0.0.1', ${imap ?? 0}, timeout=30); m.starttls(ssl_context=ctx)
print('imap authenticate', m.authenticate('PLAIN', lambda _: b'\\0bob\\0bob-pass')[0]); m.logout()
p = poplib.POP3('127.0.0.1', ${pop3 ?? 0}, timeout=30); p.stls(context=ctx)
print('pop3', p.user('bob').decode(), p.pass_('bob-pass').decode()); p.quit()
`;
    try {
      const result = await runChild('python3', ['-c', script, CERT_FILE], { env: childEnv(), timeoutMs: 60000 });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(
        'smtp 235\nsmtp refused 535\nimap OK\nimap authenticate OK\npop3 +OK +OK Logged in\n',
      );
    } finally {
      for (const serve of servers) await serve.stop();
    }
    const logs = servers.map((s) => s.output.out()).join('');
    expect(logs).to.match(/smtp\+tls PLAIN user="alice" ok/);
    expect(logs).to.match(/smtp\+tls (PLAIN|LOGIN) user="carol" failed AUTHENTICATION_FAILED/);
    expect(logs).to.match(/imap\+tls LOGIN command user="carol" ok/);
    expect(logs).to.match(/imap\+tls PLAIN user="bob" ok/);
    expect(logs).to.match(/pop3\+tls USER\/PASS user="bob" ok/);
  });
});
