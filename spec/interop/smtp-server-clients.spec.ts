/**
 * Real SMTP clients logging in to saslkit's SMTP server (smtpServerAuth behind the small server
 * in saslkit-server.ts): nodemailer, Python's smtplib and curl. For every login the server's
 * record must show the verified identity; for every refusal, the client must see the refusal
 * and saslkit's error must blame the client, name the mechanism and hold no secret.
 */
import { expect } from 'chai';
import nodemailer from 'nodemailer';
import { expectLogin, expectRefusal } from '../support/attempts.js';
import { ACCOUNTS } from './peers.js';
import { type SaslkitServer, startSaslkitServer } from './saslkit-server.js';
import { requireTool, runTool } from './tools.js';

const { alice, bob } = ACCOUNTS;

describe('interop: real SMTP clients against saslkit’s SMTP server', function () {
  this.timeout(30_000);
  let server: SaslkitServer;

  before(async () => {
    server = await startSaslkitServer('smtp');
  });
  after(async () => {
    await server.close();
  });

  describe('nodemailer', function () {
    const verify = async (auth: Record<string, string>, authMethod?: string): Promise<unknown> => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        ignoreTLS: true,
        auth,
        ...(authMethod === undefined ? {} : { authMethod }),
        connectionTimeout: 20_000,
        greetingTimeout: 20_000,
        socketTimeout: 20_000,
      });
      try {
        return await transport.verify();
      } catch (error) {
        return error;
      } finally {
        transport.close();
      }
    };

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      it(`${mechanism} as alice`, async () => {
        const attempts = await server.attemptsDuring(async () => {
          expect(await verify({ user: alice.user, pass: alice.pass }, mechanism)).to.equal(true);
        });
        expectLogin(attempts, mechanism, alice.user);
      });
    }

    it('PLAIN as bob, checked against stored SCRAM keys', async () => {
      const attempts = await server.attemptsDuring(async () => {
        expect(await verify({ user: bob.user, pass: bob.pass }, 'PLAIN')).to.equal(true);
      });
      expectLogin(attempts, 'PLAIN', bob.user);
    });

    it('XOAUTH2 with a bearer token', async () => {
      const attempts = await server.attemptsDuring(async () => {
        expect(await verify({ type: 'OAuth2', user: alice.user, accessToken: ACCOUNTS.aliceToken })).to.equal(true);
      });
      expectLogin(attempts, 'XOAUTH2', alice.user);
    });

    it('a wrong password: nodemailer gets EAUTH 535; saslkit blames the client', async () => {
      const wrong = 'not-alice-pass';
      let refusal: unknown;
      const attempts = await server.attemptsDuring(async () => {
        refusal = await verify({ user: alice.user, pass: wrong }, 'LOGIN');
      });
      expect(refusal).to.include({ code: 'EAUTH', responseCode: 535 });
      expectRefusal(attempts, 'LOGIN', [wrong, alice.pass]);
    });
  });

  describe("Python's smtplib", function () {
    // smtplib's own AUTH: auth_plain / auth_login / auth_cram_md5 as the callback, or login() choosing.
    const SCRIPT = [
      'import os, smtplib, sys',
      "port, mech, ir = int(sys.argv[1]), sys.argv[2], sys.argv[3] == '1'",
      "s = smtplib.SMTP('127.0.0.1', port, timeout=20)",
      's.ehlo()',
      "user, password = os.environ['SASL_USER'], os.environ['SASL_PASS']",
      "if mech == 'auto':",
      '    code, _ = s.login(user, password)',
      'else:',
      '    s.user, s.password = user, password',
      "    obj = {'PLAIN': s.auth_plain, 'LOGIN': s.auth_login, 'CRAM-MD5': s.auth_cram_md5}[mech]",
      '    code, _ = s.auth(mech, obj, initial_response_ok=ir)',
      'print(code)',
      's.quit()',
    ].join('\n');

    before(async function () {
      await requireTool(this, 'python3');
    });

    const smtplib = (
      mechanism: string,
      user: string,
      password: string,
      initialResponse = true,
    ): ReturnType<typeof runTool> =>
      runTool('python3', ['-c', SCRIPT, String(server.port), mechanism, initialResponse ? '1' : '0'], {
        env: { SASL_USER: user, SASL_PASS: password },
      });

    for (const mechanism of ['PLAIN', 'LOGIN']) {
      for (const initialResponse of [true, false]) {
        it(`${mechanism} as alice, ${initialResponse ? 'with' : 'without'} an initial response`, async () => {
          const attempts = await server.attemptsDuring(async () => {
            const run = await smtplib(mechanism, alice.user, alice.pass, initialResponse);
            expect(run, run.stderr).to.include({ code: 0, stdout: '235\n' });
          });
          expectLogin(attempts, mechanism, alice.user, initialResponse);
        });
      }
    }

    it('CRAM-MD5 as alice', async () => {
      const attempts = await server.attemptsDuring(async () => {
        const run = await smtplib('CRAM-MD5', alice.user, alice.pass);
        expect(run, run.stderr).to.include({ code: 0, stdout: '235\n' });
      });
      expectLogin(attempts, 'CRAM-MD5', alice.user);
    });

    it('login() picks CRAM-MD5, the first of its preferences the server offers', async () => {
      const attempts = await server.attemptsDuring(async () => {
        const run = await smtplib('auto', alice.user, alice.pass);
        expect(run, run.stderr).to.include({ code: 0, stdout: '235\n' });
      });
      expectLogin(attempts, 'CRAM-MD5', alice.user);
    });

    it('a wrong password with CRAM-MD5: SMTPAuthenticationError 535; saslkit blames the client', async () => {
      const wrong = 'not-alice-pass';
      const attempts = await server.attemptsDuring(async () => {
        const run = await smtplib('CRAM-MD5', alice.user, wrong);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.match(/SMTPAuthenticationError: \(535,/);
      });
      expectRefusal(attempts, 'CRAM-MD5', [wrong, alice.pass]);
    });
  });

  describe('curl', function () {
    before(async function () {
      await requireTool(this, 'curl');
    });

    // `-X NOOP` without a recipient: curl connects, authenticates, sends NOOP and prints the reply.
    const curl = (
      mechanism: string,
      user: string,
      password: string,
      extra: readonly string[] = [],
    ): ReturnType<typeof runTool> =>
      runTool('curl', [
        '-sS',
        '--max-time',
        '20',
        '--user',
        `${user}:${password}`,
        '--login-options',
        `AUTH=${mechanism}`,
        ...extra,
        '-X',
        'NOOP',
        `smtp://127.0.0.1:${server.port}`,
      ]);

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5']) {
      it(`${mechanism} as alice`, async () => {
        const attempts = await server.attemptsDuring(async () => {
          const run = await curl(mechanism, alice.user, alice.pass);
          expect(run, run.stderr).to.include({ code: 0, stdout: '250 2.0.0 OK\r\n' });
        });
        // curl waits for the empty 334 unless told --sasl-ir.
        expectLogin(attempts, mechanism, alice.user, false);
      });
    }

    it('PLAIN and LOGIN with --sasl-ir: the initial response rides on the AUTH line', async () => {
      for (const mechanism of ['PLAIN', 'LOGIN']) {
        const attempts = await server.attemptsDuring(async () => {
          const run = await curl(mechanism, alice.user, alice.pass, ['--sasl-ir']);
          expect(run, run.stderr).to.include({ code: 0, stdout: '250 2.0.0 OK\r\n' });
        });
        expectLogin(attempts, mechanism, alice.user, true);
      }
    });

    it('OAUTHBEARER with --oauth2-bearer', async () => {
      const attempts = await server.attemptsDuring(async () => {
        const run = await runTool('curl', [
          '-sS',
          '--max-time',
          '20',
          '--user',
          `${alice.user}:`,
          '--oauth2-bearer',
          ACCOUNTS.aliceToken,
          '--login-options',
          'AUTH=OAUTHBEARER',
          '-X',
          'NOOP',
          `smtp://127.0.0.1:${server.port}`,
        ]);
        expect(run, run.stderr).to.include({ code: 0, stdout: '250 2.0.0 OK\r\n' });
      });
      expectLogin(attempts, 'OAUTHBEARER', alice.user);
    });

    for (const mechanism of ['PLAIN', 'DIGEST-MD5']) {
      it(`a wrong password with ${mechanism}: curl exits 67 (login denied); saslkit blames the client`, async () => {
        const wrong = 'not-alice-pass';
        const attempts = await server.attemptsDuring(async () => {
          const run = await curl(mechanism, alice.user, wrong);
          expect(run.code).to.equal(67);
        });
        expectRefusal(attempts, mechanism, [wrong, alice.pass]);
      });
    }
  });
});
