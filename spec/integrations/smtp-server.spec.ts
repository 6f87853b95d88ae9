/**
 * saslkit/smtp-server: createOnAuth behind a real smtp-server (the npm package, in this process,
 * on 127.0.0.1), with nodemailer and Python's smtplib as clients. Every kind of stored account
 * (clear text, stored SCRAM keys, pysasl PBKDF2 and Dovecot {PBKDF2} hashes), the password-check
 * backend, the token validator; refusals answer like saslkit's own SMTP server and never tell
 * whether the user exists.
 */
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import {
  ClearIdentity,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  type Identity,
  type PasswordHasher,
  Pbkdf2Hasher,
  ScramIdentity,
  type ServerOptions,
  isSaslError,
} from '../../lib/index.js';
import { type OnAuthAttempt, type SmtpServerAuthResponse, createOnAuth } from '../../lib/integrations/smtp-server.js';
import { expectNoSecrets } from '../support/helpers.js';
import { requireTool, runTool } from '../interop/tools.js';

const TOKEN = 'alice-oauth-token';

/** Counts hasher calls, so that an unknown user's work can be compared with a wrong password's. */
function counted(inner: Pbkdf2Hasher, counter: { calls: number }): PasswordHasher {
  return {
    hash: (secret: string) => inner.hash(secret),
    verify: (secret: string, hashed: string) => {
      counter.calls += 1;
      return inner.verify(secret, hashed);
    },
    cost: (hashed: string) => inner.cost(hashed),
  };
}

const pbkdf2Calls = { calls: 0 };
const ACCOUNTS: Identity[] = [
  new ClearIdentity('alice', 'alice-pass'),
  ScramIdentity.create('bob', 'bob-pass', { hashes: ['SHA-256'], iterations: 4096 }),
  HashedIdentity.create('carol', 'carol-pass', counted(new Pbkdf2Hasher({ rounds: 1000 }), pbkdf2Calls)),
  HashedIdentity.create('dave', 'dave-pass', new DovecotPbkdf2Hasher({ rounds: 1000 })),
];

const storeOptions: ServerOptions = {
  lookup: (authcid) => ACCOUNTS.find((account) => account.authcid === authcid),
  validateToken: ({ token }) =>
    token === TOKEN ? { authcid: 'alice' } : { error: { status: '401', schemes: 'bearer', scope: 'mail' } },
};

interface Running {
  readonly port: number;
  readonly attempts: OnAuthAttempt<SMTPServerSession>[];
  readonly users: unknown[];
  close(): Promise<void>;
}

/** An smtp-server on 127.0.0.1 whose onAuth is saslkit's. */
async function startServer(options: ServerOptions): Promise<Running> {
  const attempts: OnAuthAttempt<SMTPServerSession>[] = [];
  const users: unknown[] = [];
  // The type check that matters for users: createOnAuth's handler is smtp-server's onAuth.
  const onAuth: NonNullable<SMTPServerOptions['onAuth']> = createOnAuth<SMTPServerSession>(options, {
    onAttempt: (attempt) => {
      attempts.push(attempt);
    },
  });
  const server = new SMTPServer({
    name: 'localhost',
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
    logger: false,
    onAuth,
    onData(stream, session, done) {
      users.push(session.user);
      stream.resume();
      stream.on('end', () => {
        done();
      });
    },
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    attempts,
    users,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** nodemailer logs in (transport.verify) with `method`; resolves true or with its error. */
async function nodemailerLogin(port: number, auth: Record<string, string>, authMethod?: string): Promise<unknown> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    auth,
    ...(authMethod === undefined ? {} : { authMethod }),
    connectionTimeout: 10_000,
    socketTimeout: 10_000,
  });
  try {
    return await transport.verify();
  } catch (error) {
    return error;
  } finally {
    transport.close();
  }
}

/** The last attempt the server saw, once it has been recorded (a client may return first). */
async function lastAttempt(server: Running, count: number): Promise<OnAuthAttempt<SMTPServerSession>> {
  for (let i = 0; i < 100 && server.attempts.length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(server.attempts).to.have.length(count);
  return server.attempts[count - 1] as OnAuthAttempt<SMTPServerSession>;
}

describe('saslkit/smtp-server: createOnAuth behind smtp-server', function () {
  this.timeout(20_000);

  describe('with a store of identities, nodemailer as the client', () => {
    let server: Running;
    before(async () => {
      server = await startServer(storeOptions);
    });
    after(async () => {
      await server.close();
    });

    const logins: [string, string, string][] = [
      ['PLAIN', 'alice', 'alice-pass'],
      ['LOGIN', 'alice', 'alice-pass'],
      ['CRAM-MD5', 'alice', 'alice-pass'],
      ['PLAIN', 'bob', 'bob-pass'],
      ['LOGIN', 'bob', 'bob-pass'],
      ['PLAIN', 'carol', 'carol-pass'],
      ['LOGIN', 'dave', 'dave-pass'],
    ];
    for (const [mechanism, user, pass] of logins) {
      it(`${mechanism} as ${user} (${ACCOUNTS.find((a) => a.authcid === user)?.constructor.name})`, async () => {
        const before = server.attempts.length;
        expect(await nodemailerLogin(server.port, { user, pass }, mechanism)).to.equal(true);
        const attempt = await lastAttempt(server, before + 1);
        expect(attempt.error).to.equal(undefined);
        expect(attempt.result).to.include({ mechanism, authcid: user, authzid: user });
        expect(attempt.reply.code).to.equal(235);
      });
    }

    it('XOAUTH2 with a valid token, and a refused token gets the JSON error challenge then EAUTH', async () => {
      const before = server.attempts.length;
      expect(await nodemailerLogin(server.port, { type: 'OAuth2', user: 'alice', accessToken: TOKEN })).to.equal(true);
      expect((await lastAttempt(server, before + 1)).result).to.include({ mechanism: 'XOAUTH2', authcid: 'alice' });
      const refusal = await nodemailerLogin(server.port, {
        type: 'OAuth2',
        user: 'alice',
        accessToken: 'stolen-token',
      });
      expect(refusal).to.include({ code: 'EAUTH', responseCode: 535 });
      // nodemailer tries a refused token once more (it would renew it if it could): two refusals.
      const attempts = server.attempts.slice(before + 1);
      expect(attempts.length).to.be.within(1, 2);
      for (const attempt of attempts) {
        expect(attempt.reply.code).to.equal(535);
        expect(isSaslError(attempt.error) && attempt.error.code).to.equal('AUTHENTICATION_FAILED');
        expect(isSaslError(attempt.error) && (attempt.error as { serverError?: string }).serverError).to.be.a('string');
        expectNoSecrets(attempt.error, ['stolen-token']);
      }
    });

    it('a wrong password and an unknown user get the same 535 and the same hashing work', async () => {
      pbkdf2Calls.calls = 0;
      const wrong = await nodemailerLogin(server.port, { user: 'carol', pass: 'not-carol-pass' }, 'PLAIN');
      const wrongCalls = pbkdf2Calls.calls;
      const count = server.attempts.length;
      const wrongAttempt = await lastAttempt(server, count);
      pbkdf2Calls.calls = 0;
      const unknown = await nodemailerLogin(server.port, { user: 'mallory', pass: 'not-carol-pass' }, 'PLAIN');
      const unknownAttempt = await lastAttempt(server, count + 1);
      expect(wrong).to.include({ code: 'EAUTH', responseCode: 535 });
      expect((unknown as { response?: string }).response).to.equal((wrong as { response?: string }).response);
      expect((wrong as { response?: string }).response).to.equal('535 5.7.8 Authentication credentials invalid');
      // The decoy is the store's kind: the unknown user's password went through the same hasher.
      expect(wrongCalls).to.equal(1);
      expect(pbkdf2Calls.calls).to.equal(1);
      for (const attempt of [wrongAttempt, unknownAttempt]) {
        expect(isSaslError(attempt.error) && attempt.error.code).to.equal('AUTHENTICATION_FAILED');
        expectNoSecrets(attempt.error, ['not-carol-pass', 'carol-pass']);
      }
    });

    it('CRAM-MD5 against an account without a clear secret fails like a wrong password; the cause tells the operator', async () => {
      const refusal = await nodemailerLogin(server.port, { user: 'bob', pass: 'bob-pass' }, 'CRAM-MD5');
      expect(refusal).to.include({ code: 'EAUTH', responseCode: 535 });
      const attempt = await lastAttempt(server, server.attempts.length);
      const error = attempt.error;
      if (!isSaslError(error)) throw new Error('expected a saslkit error');
      expect(error.code).to.equal('AUTHENTICATION_FAILED');
      expect(isSaslError(error.cause) && error.cause.code).to.equal('MECHANISM_UNAVAILABLE');
    });

    it('a message was accepted from a logged-in user, whose session.user is the authorization identity', async () => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        ignoreTLS: true,
        auth: { user: 'bob', pass: 'bob-pass' },
        authMethod: 'PLAIN',
      });
      try {
        const info = await transport.sendMail({
          from: 'bob@example.org',
          to: 'alice@example.org',
          subject: 'hi',
          text: 'hello',
        });
        expect(info.accepted).to.deep.equal(['alice@example.org']);
      } finally {
        transport.close();
      }
      expect(server.users.at(-1)).to.equal('bob');
    });
  });

  describe('with a password-check backend (verifyPassword) only', () => {
    let server: Running;
    const asked: string[] = [];
    before(async () => {
      server = await startServer({
        verifyPassword: async (authcid, password) => {
          asked.push(authcid);
          await new Promise((resolve) => setImmediate(resolve));
          return authcid === 'erin' && password === 'erin-pass';
        },
      });
    });
    after(async () => {
      await server.close();
    });

    for (const mechanism of ['PLAIN', 'LOGIN']) {
      it(`${mechanism} as erin, checked by the backend`, async () => {
        asked.length = 0;
        expect(await nodemailerLogin(server.port, { user: 'erin', pass: 'erin-pass' }, mechanism)).to.equal(true);
        expect(asked).to.deep.equal(['erin']);
        const unknown = await nodemailerLogin(server.port, { user: 'mallory', pass: 'erin-pass' }, mechanism);
        expect(unknown).to.include({ code: 'EAUTH', responseCode: 535 });
        expect(asked).to.deep.equal(['erin', 'mallory']);
      });
    }

    it('CRAM-MD5 cannot use it: 454, and saslkit says why', async () => {
      const refusal = await nodemailerLogin(server.port, { user: 'erin', pass: 'erin-pass' }, 'CRAM-MD5');
      expect(refusal).to.include({ code: 'EAUTH', responseCode: 454 });
      const attempt = await lastAttempt(server, server.attempts.length);
      expect(isSaslError(attempt.error) && attempt.error.code).to.equal('USAGE');
      expect((attempt.error as Error).message).to.match(/verifyPassword serves only PLAIN and LOGIN/);
    });
  });

  describe('the handler itself', () => {
    type Answer = { error: Error | null | undefined; response: SmtpServerAuthResponse | undefined };
    const call = (options: ServerOptions, auth: Parameters<ReturnType<typeof createOnAuth>>[0]): Promise<Answer> =>
      new Promise((resolve) => {
        createOnAuth(options)(auth, {}, (error, response) => {
          resolve({ error, response });
        });
      });

    it('PLAIN with an authzid: refused without a policy, allowed by one', async () => {
      const auth = { method: 'PLAIN', username: 'alice', authcid: 'alice', authzid: 'bob', password: 'alice-pass' };
      expect((await call(storeOptions, auth)).response).to.deep.equal({
        message: '5.7.8 Not authorized to use the requested identity',
        responseCode: 535,
      });
      expect((await call({ ...storeOptions, authorize: () => true }, auth)).response).to.deep.equal({ user: 'bob' });
    });

    it('PLAIN with the name in the authzid field and an empty authcid, as smtp-server takes it: that name, no proxy', async () => {
      expect(
        (
          await call(storeOptions, {
            method: 'PLAIN',
            username: 'alice',
            authcid: '',
            authzid: 'alice',
            password: 'alice-pass',
          })
        ).response,
      ).to.deep.equal({ user: 'alice' });
    });

    it("a store that throws: 454 with a fixed text; the store's error is the cause", async () => {
      const down = new Error('database down');
      const answer = await call(
        { lookup: () => Promise.reject(down) },
        { method: 'LOGIN', username: 'alice', password: 'alice-pass' },
      );
      expect(answer.error?.message).to.equal('4.7.0 Temporary authentication failure');
      expect(answer.error).to.include({ responseCode: 454 });
      expect(answer.error?.cause).to.equal(down);
    });

    it('an empty password is a malformed message (501), an unknown method 504, XCLIENT is left to smtp-server', async () => {
      expect(
        (await call(storeOptions, { method: 'PLAIN', username: 'alice', authcid: 'alice', authzid: '', password: '' }))
          .response,
      ).to.include({ responseCode: 501 });
      expect((await call(storeOptions, { method: 'NTLM', username: 'alice' })).response).to.include({
        responseCode: 504,
      });
      const xclient = await call(storeOptions, { method: 'XCLIENT', username: 'alice', password: null });
      expect(xclient).to.deep.equal({ error: null, response: undefined });
    });
  });

  describe("with Python's smtplib as the client", function () {
    let server: Running;
    before(async function () {
      await requireTool(this, 'python3');
      server = await startServer(storeOptions);
    });
    after(async () => {
      await (server as Running | undefined)?.close();
    });

    // smtplib's own AUTH: auth_plain / auth_login / auth_cram_md5, or login() choosing; then a message.
    const SCRIPT = [
      'import os, smtplib, sys',
      'port, mech = int(sys.argv[1]), sys.argv[2]',
      "s = smtplib.SMTP('127.0.0.1', port, timeout=10)",
      's.ehlo()',
      "user, password = os.environ['SASL_USER'], os.environ['SASL_PASS']",
      'try:',
      "    if mech == 'auto':",
      '        code, _ = s.login(user, password)',
      '    else:',
      '        s.user, s.password = user, password',
      "        code, _ = s.auth(mech, {'PLAIN': s.auth_plain, 'LOGIN': s.auth_login, 'CRAM-MD5': s.auth_cram_md5}[mech])",
      "    s.sendmail(user + '@example.org', ['alice@example.org'], 'Subject: hi\\r\\n\\r\\nhello\\r\\n')",
      '    print(code)',
      'except smtplib.SMTPAuthenticationError as e:',
      '    print(e.smtp_code, e.smtp_error.decode())',
      's.quit()',
    ].join('\n');
    const smtplib = (mechanism: string, user: string, password: string): ReturnType<typeof runTool> =>
      runTool('python3', ['-c', SCRIPT, String(server.port), mechanism], {
        env: { SASL_USER: user, SASL_PASS: password },
      });

    for (const [mechanism, user, pass] of [
      ['PLAIN', 'bob', 'bob-pass'],
      ['LOGIN', 'carol', 'carol-pass'],
      ['CRAM-MD5', 'alice', 'alice-pass'],
      ['auto', 'alice', 'alice-pass'],
    ] as const) {
      it(`${mechanism} as ${user}, then a message`, async () => {
        const run = await smtplib(mechanism, user, pass);
        expect(run.stderr).to.equal('');
        expect(run.stdout.trim()).to.equal('235');
        expect(server.users.at(-1)).to.equal(user);
      });
    }

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      it(`${mechanism}: a wrong password gets 535 with saslkit's text`, async () => {
        const run = await smtplib(mechanism, 'alice', 'not-alice-pass');
        expect(run.stdout.trim()).to.equal('535 5.7.8 Authentication credentials invalid');
      });
    }
  });
});
