/**
 * Real IMAP clients logging in to saslkit's IMAP server (imapServerAuth, and the LOGIN command
 * checked with authenticatePassword, behind the small server in saslkit-server.ts): Python's
 * imaplib, curl and imapflow. Logins must show the verified identity in the server's record;
 * refusals must reach the client, and saslkit's error must blame the client without a secret.
 */
import { expect } from 'chai';
import { ImapFlow } from 'imapflow';
import { expectLogin, expectRefusal } from '../support/attempts.js';
import { ACCOUNTS } from './peers.js';
import { type SaslkitServer, startSaslkitServer } from './saslkit-server.js';
import { requireTool, runTool } from './tools.js';

const { alice, bob } = ACCOUNTS;

describe('interop: real IMAP clients against saslkit’s IMAP server', function () {
  this.timeout(30_000);
  let server: SaslkitServer;
  // XOAUTH2 only: imapflow and curl both prefer OAUTHBEARER whenever it is offered.
  let xoauth2Server: SaslkitServer;

  before(async () => {
    server = await startSaslkitServer('imap');
    xoauth2Server = await startSaslkitServer('imap', { mechanisms: ['XOAUTH2'] });
  });
  after(async () => {
    await server.close();
    await xoauth2Server.close();
  });

  describe("Python's imaplib", function () {
    const SCRIPT = [
      'import imaplib, os, sys',
      'port, how = int(sys.argv[1]), sys.argv[2]',
      "user, password = os.environ['SASL_USER'], os.environ['SASL_PASS']",
      "m = imaplib.IMAP4('127.0.0.1', port, timeout=20)",
      "if how == 'login':",
      '    typ, _ = m.login(user, password)',
      "elif how == 'cram':",
      '    typ, _ = m.login_cram_md5(user, password)',
      "elif how == 'PLAIN':",
      "    typ, _ = m.authenticate('PLAIN', lambda challenge: '\\0' + user + '\\0' + password)",
      "elif how == 'LOGIN':",
      '    answers = iter([user, password])',
      "    typ, _ = m.authenticate('LOGIN', lambda challenge: next(answers))",
      'print(typ)',
      'm.logout()',
    ].join('\n');

    before(async function () {
      await requireTool(this, 'python3');
    });

    const imaplib = (how: string, user: string, password: string): ReturnType<typeof runTool> =>
      runTool('python3', ['-c', SCRIPT, String(server.port), how], { env: { SASL_USER: user, SASL_PASS: password } });

    const logins = [
      { how: 'login', mechanism: 'LOGIN command', user: alice.user, pass: alice.pass },
      { how: 'login', mechanism: 'LOGIN command', user: bob.user, pass: bob.pass },
      { how: 'cram', mechanism: 'CRAM-MD5', user: alice.user, pass: alice.pass },
      { how: 'PLAIN', mechanism: 'PLAIN', user: alice.user, pass: alice.pass },
      { how: 'LOGIN', mechanism: 'LOGIN', user: bob.user, pass: bob.pass },
    ] as const;
    for (const { how, mechanism, user, pass } of logins) {
      const call =
        how === 'login' ? 'login()' : how === 'cram' ? 'login_cram_md5()' : `authenticate('${how}', callback)`;
      it(`${call} as ${user}`, async () => {
        const attempts = await server.attemptsDuring(async () => {
          const run = await imaplib(how, user, pass);
          expect(run, run.stderr).to.include({ code: 0, stdout: 'OK\n' });
        });
        // imaplib never sends an initial response.
        expectLogin(attempts, mechanism, user, false);
      });
    }

    it('a wrong password with login(): IMAP4.error with the NO; saslkit blames the client', async () => {
      const wrong = 'not-alice-pass';
      const attempts = await server.attemptsDuring(async () => {
        const run = await imaplib('login', alice.user, wrong);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.match(/imaplib\.IMAP4\.error: .*AUTHENTICATIONFAILED/);
      });
      // The LOGIN command is checked with PLAIN's rules, so the error names PLAIN.
      expectRefusal(attempts, 'PLAIN', [wrong, alice.pass]);
    });

    it("a wrong password with authenticate('PLAIN'): the tagged NO; saslkit blames the client", async () => {
      const wrong = 'not-alice-pass';
      const attempts = await server.attemptsDuring(async () => {
        const run = await imaplib('PLAIN', alice.user, wrong);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.match(/AUTHENTICATIONFAILED/);
      });
      expectRefusal(attempts, 'PLAIN', [wrong, alice.pass]);
    });
  });

  describe('curl', function () {
    before(async function () {
      await requireTool(this, 'curl');
    });

    // `-X CAPABILITY` on the server root: curl logs in, runs CAPABILITY and prints the untagged reply.
    const curl = (port: number, mechanism: string, credentials: readonly string[]): ReturnType<typeof runTool> =>
      runTool('curl', [
        '-sS',
        '--max-time',
        '20',
        ...credentials,
        '--login-options',
        `AUTH=${mechanism}`,
        '-X',
        'CAPABILITY',
        `imap://127.0.0.1:${port}/`,
      ]);

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5']) {
      it(`${mechanism} as alice`, async () => {
        const attempts = await server.attemptsDuring(async () => {
          const run = await curl(server.port, mechanism, ['--user', `${alice.user}:${alice.pass}`]);
          // After login the server lists no AUTH= capabilities any more.
          expect(run, run.stderr).to.include({ code: 0, stdout: '* CAPABILITY IMAP4rev1\r\n' });
        });
        // The server offers SASL-IR, so curl sends client-first mechanisms' first message with the command.
        expectLogin(attempts, mechanism, alice.user, mechanism === 'PLAIN' || mechanism === 'LOGIN');
      });
    }

    it('OAUTHBEARER and XOAUTH2 with --oauth2-bearer', async () => {
      const credentials = ['--user', `${alice.user}:`, '--oauth2-bearer', ACCOUNTS.aliceToken];
      const bearer = await server.attemptsDuring(async () => {
        const run = await curl(server.port, 'OAUTHBEARER', credentials);
        expect(run, run.stderr).to.include({ code: 0 });
      });
      expectLogin(bearer, 'OAUTHBEARER', alice.user, true);
      const xoauth2 = await xoauth2Server.attemptsDuring(async () => {
        const run = await curl(xoauth2Server.port, 'XOAUTH2', credentials);
        expect(run, run.stderr).to.include({ code: 0 });
      });
      expectLogin(xoauth2, 'XOAUTH2', alice.user, true);
    });

    it('a wrong password with CRAM-MD5: curl exits 67 (login denied); saslkit blames the client', async () => {
      const wrong = 'not-alice-pass';
      const attempts = await server.attemptsDuring(async () => {
        const run = await curl(server.port, 'CRAM-MD5', ['--user', `${alice.user}:${wrong}`]);
        expect(run.code).to.equal(67);
      });
      expectRefusal(attempts, 'CRAM-MD5', [wrong, alice.pass]);
    });
  });

  describe('imapflow', function () {
    const connect = async (
      port: number,
      auth: { user: string; pass?: string; accessToken?: string; loginMethod?: string },
    ): Promise<unknown> => {
      const client = new ImapFlow({
        host: '127.0.0.1',
        port,
        secure: false,
        doSTARTTLS: false,
        logger: false,
        verifyOnly: true,
        auth,
        connectionTimeout: 20_000,
        greetingTimeout: 20_000,
        socketTimeout: 20_000,
      });
      try {
        await client.connect();
        return client.authenticated;
      } catch (error) {
        return error;
      } finally {
        client.close();
      }
    };

    const logins = [
      { loginMethod: 'AUTH=PLAIN', mechanism: 'PLAIN' },
      { loginMethod: 'AUTH=LOGIN', mechanism: 'LOGIN' },
      { loginMethod: 'LOGIN', mechanism: 'LOGIN command' },
    ] as const;
    for (const { loginMethod, mechanism } of logins) {
      it(`loginMethod ${loginMethod} as alice`, async () => {
        const attempts = await server.attemptsDuring(async () => {
          expect(await connect(server.port, { user: alice.user, pass: alice.pass, loginMethod })).to.equal(true);
        });
        expectLogin(attempts, mechanism, alice.user);
      });
    }

    it('an access token: OAUTHBEARER where offered, else XOAUTH2', async () => {
      const bearer = await server.attemptsDuring(async () => {
        expect(await connect(server.port, { user: alice.user, accessToken: ACCOUNTS.aliceToken })).to.equal(true);
      });
      expectLogin(bearer, 'OAUTHBEARER', alice.user, true);
      const xoauth2 = await xoauth2Server.attemptsDuring(async () => {
        expect(await connect(xoauth2Server.port, { user: alice.user, accessToken: ACCOUNTS.aliceToken })).to.equal(
          true,
        );
      });
      expectLogin(xoauth2, 'XOAUTH2', alice.user);
    });

    it('a wrong password with AUTH=PLAIN: imapflow reports authenticationFailed; saslkit blames the client', async () => {
      const wrong = 'not-alice-pass';
      let refusal: unknown;
      const attempts = await server.attemptsDuring(async () => {
        refusal = await connect(server.port, { user: alice.user, pass: wrong, loginMethod: 'AUTH=PLAIN' });
      });
      expect(refusal).to.include({ authenticationFailed: true });
      expectRefusal(attempts, 'PLAIN', [wrong, alice.pass]);
    });
  });
});
