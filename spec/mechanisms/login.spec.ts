import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  LOGIN,
  PromiseClientSession,
  PromiseServerSession,
  SASLAuth,
  SyncClientSession,
  SyncServerSession,
  parseLoginResponses,
} from '../../lib/index.js';
import {
  ALICE,
  asyncStoreOf,
  b,
  expectNoSecrets,
  expectSaslError,
  expectSaslRejection,
  runPair,
  s,
  storeOf,
} from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

const TIM = new ClearIdentity('tim', 'tanstaaftanstaaf');
const options = { lookup: storeOf(ALICE, TIM) };

function challengeOf(step: ReturnType<SyncServerSession['start']>): string {
  expect(step.done, 'expected a challenge').to.equal(false);
  return step.done ? '' : s(step.challenge);
}

describe('LOGIN', () => {
  describe('draft-murchison vector', () => {
    const v = vector('login-draft-murchison-challenges');
    const user = bytesOf(v.expected['response1']);
    const pass = bytesOf(v.expected['response2']);

    for (const flavour of ['spec', 'example', 'common']) {
      it(`client answers the ${flavour} challenges with the user name, then the password`, () => {
        const client = new SyncClientSession(
          LOGIN.client(new ClientCredentials(textOf(v.expected['response1']), textOf(v.expected['response2']))),
        );
        expect(client.start()).to.equal(undefined);
        expect(
          Buffer.from(client.challenge(bytesOf(v.expected[`challenge1_${flavour}`]))).equals(Buffer.from(user)),
        ).to.equal(true);
        expect(
          Buffer.from(client.challenge(bytesOf(v.expected[`challenge2_${flavour}`]))).equals(Buffer.from(pass)),
        ).to.equal(true);
        expect(client.success().serverVerified).to.equal(false);
      });
    }

    it('server sends the common prompts and verifies the vector responses', () => {
      const session = new SyncServerSession(LOGIN.server(options));
      expect(challengeOf(session.start())).to.equal(textOf(v.expected['challenge1_common']));
      expect(challengeOf(session.respond(user))).to.equal(textOf(v.expected['challenge2_common']));
      const done = session.respond(pass);
      expect(done.done && done.outcome).to.include({ mechanism: 'LOGIN', authcid: 'tim', authzid: 'tim' });
    });
  });

  it('runs client against server', () => {
    const result = runPair(LOGIN.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      LOGIN.server(options, ir),
    );
    expect(result.transcript).to.deep.equal(['S: Username:', 'C: alice', 'S: Password:', 'C: alice-pass']);
    expect(result.server).to.include({ mechanism: 'LOGIN', authcid: 'alice', authzid: 'alice' });
    expect(result.server.identity).to.equal(ALICE);
    expect(result.client.serverVerified).to.equal(false);
  });

  it('takes an initial response as the user name (SMTP AUTH LOGIN <user>)', () => {
    const session = new SyncServerSession(LOGIN.server(options, b('alice')));
    expect(challengeOf(session.start())).to.equal('Password:');
    const done = session.respond(b('alice-pass'));
    expect(done.done && done.outcome.authcid).to.equal('alice');
  });

  it('treats an empty initial response as an empty user name, unlike no initial response', () => {
    expectSaslError(() => new SyncServerSession(LOGIN.server(options, new Uint8Array(0))).start(), 'MALFORMED_MESSAGE');
    const session = new SyncServerSession(LOGIN.server(options, undefined));
    expect(challengeOf(session.start())).to.equal('Username:');
  });

  it('refuses a wrong password and an unknown user with the same error, without secrets', () => {
    const attempt = (user: string, pass: string) => {
      const session = new SyncServerSession(LOGIN.server(options, b(user)));
      session.start();
      return expectSaslError(() => session.respond(b(pass)), 'AUTHENTICATION_FAILED');
    };
    const wrong = attempt('alice', 'hunter2-wrong');
    const unknown = attempt('mallory', 'hunter2-wrong');
    expect(wrong.message).to.equal(unknown.message);
    expect(wrong.party).to.equal('client');
    expectNoSecrets(wrong, ['hunter2-wrong', 'alice-pass']);
    expectNoSecrets(unknown, ['hunter2-wrong']);
  });

  it('applies SASLprep to the user name and password', () => {
    const session = new SyncServerSession(LOGIN.server(options, b('al\u00ADice')));
    session.start();
    const done = session.respond(b('alice-\u00ADpass'));
    expect(done.done && done.outcome.authcid).to.equal('alice');
  });

  it('is in SASLAuth.defaults(), server-first, priority 10', () => {
    expect(SASLAuth.defaults().getServer('login')).to.equal(LOGIN);
    expect(LOGIN.clientFirst).to.equal(false);
    expect(LOGIN.priority).to.equal(10);
  });

  describe('malformed input', () => {
    const bad = Uint8Array.of(0xc3, 0x28);
    const cases: [string, Uint8Array, Uint8Array][] = [
      ['an empty user name', new Uint8Array(0), b('pass')],
      ['an empty password', b('alice'), new Uint8Array(0)],
      ['an invalid UTF-8 user name', bad, b('pass')],
      ['an invalid UTF-8 password', b('alice'), bad],
    ];
    for (const [name, user, pass] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        const session = new SyncServerSession(LOGIN.server(options));
        session.start();
        const error = expectSaslError(() => {
          session.respond(user);
          session.respond(pass);
        }, 'MALFORMED_MESSAGE');
        expect(error).to.include({ mechanism: 'LOGIN', party: 'client' });
        expectSaslError(() => parseLoginResponses(user, pass), 'MALFORMED_MESSAGE');
      });
    }

    it('rejects the user name before asking for the password', () => {
      const session = new SyncServerSession(LOGIN.server(options));
      session.start();
      expectSaslError(() => session.respond(new Uint8Array(0)), 'MALFORMED_MESSAGE');
    });

    it('rejects oversized fields with LIMIT_EXCEEDED', () => {
      expectSaslError(
        () => new SyncServerSession(LOGIN.server(options, b('a'.repeat(1025)))).start(),
        'LIMIT_EXCEEDED',
      );
      const session = new SyncServerSession(LOGIN.server({ ...options, maxFieldBytes: 16 }, b('alice')));
      session.start();
      const error = expectSaslError(() => session.respond(b('p'.repeat(17))), 'LIMIT_EXCEEDED');
      expectNoSecrets(error, ['p'.repeat(17)]);
    });

    it('refuses a response after the exchange finished', () => {
      const session = new SyncServerSession(LOGIN.server(options, b('alice')));
      session.start();
      session.respond(b('alice-pass'));
      expectSaslError(() => session.respond(b('extra')), 'USAGE');
    });
  });

  it('parseLoginResponses returns claimed credentials that verify against an identity', () => {
    const claimed = parseLoginResponses(b('alice'), b('alice-pass'));
    expect(claimed).to.include({ authcid: 'alice', authzid: 'alice' });
    expect(claimed.verify(ALICE)).to.equal(true);
    expect(claimed.verify(TIM)).to.equal(false);
    expect(claimed.verify(undefined)).to.equal(false);
    expectNoSecrets(claimed, ['alice-pass']);
  });

  describe('client', () => {
    const creds = new ClientCredentials('alice', 'alice-pass');

    it('refuses an authzid it cannot carry', () => {
      const client = new SyncClientSession(LOGIN.client(new ClientCredentials('alice', 'alice-pass', 'bob')));
      const error = expectSaslError(() => client.start(), 'USAGE');
      expectNoSecrets(error, ['alice-pass']);
    });

    it('refuses a third challenge', () => {
      const client = new SyncClientSession(LOGIN.client(creds));
      client.start();
      client.challenge(b('Username:'));
      client.challenge(b('Password:'));
      const error = expectSaslError(() => client.challenge(b('Again:')), 'UNEXPECTED_MESSAGE');
      expect(error.party).to.equal('server');
      expectNoSecrets(error, ['alice-pass']);
    });

    it('refuses success before the password was sent', () => {
      const client = new SyncClientSession(LOGIN.client(creds));
      client.start();
      client.challenge(b('Username:'));
      expectSaslError(() => client.success(), 'UNEXPECTED_MESSAGE');
      const early = new SyncClientSession(LOGIN.client(creds));
      early.start();
      expectSaslError(() => early.success(), 'UNEXPECTED_MESSAGE');
    });

    it('refuses additional data with success', () => {
      const client = new SyncClientSession(LOGIN.client(creds));
      client.start();
      client.challenge(b('Username:'));
      client.challenge(b('Password:'));
      expectSaslError(() => client.success(b('surprise')), 'UNEXPECTED_MESSAGE');
    });
  });

  describe('under the promise driver', () => {
    it('verifies against an async store', async () => {
      const session = new PromiseServerSession(LOGIN.server({ lookup: asyncStoreOf(ALICE) }));
      const client = new PromiseClientSession(LOGIN.client(new ClientCredentials('alice', 'alice-pass')));
      expect(await client.start()).to.equal(undefined);
      let step = await session.start();
      while (!step.done) step = await session.respond(await client.challenge(step.challenge));
      expect(step.outcome.authcid).to.equal('alice');
      expect((await client.success()).serverVerified).to.equal(false);
    });

    it('fails a wrong password against an async store', async () => {
      const session = new PromiseServerSession(LOGIN.server({ lookup: asyncStoreOf(ALICE) }, b('alice')));
      await session.start();
      const error = await expectSaslRejection(session.respond(b('wrong-pass')), 'AUTHENTICATION_FAILED');
      expectNoSecrets(error, ['wrong-pass', 'alice-pass']);
    });

    it('refuses an async store under the sync driver', () => {
      const session = new SyncServerSession(LOGIN.server({ lookup: asyncStoreOf(ALICE) }, b('alice')));
      session.start();
      expectSaslError(() => session.respond(b('alice-pass')), 'USAGE');
    });
  });
});

describe('LOGIN with a password-check backend (verifyPassword)', () => {
  it('checks the user name and password with the backend, asked once, after both prompts', async () => {
    const calls: [string, string, string][] = [];
    const verifyPassword = (authcid: string, password: string, context: { mechanism: string }): Promise<boolean> => {
      calls.push([authcid, password, context.mechanism]);
      return Promise.resolve(authcid === 'alice' && password === 'alice-pass');
    };
    const session = new PromiseServerSession(LOGIN.server({ verifyPassword }));
    const client = new PromiseClientSession(LOGIN.client(new ClientCredentials('alice', 'alice-pass')));
    expect(await client.start()).to.equal(undefined);
    let step = await session.start();
    while (!step.done) step = await session.respond(await client.challenge(step.challenge));
    expect(step.outcome).to.include({ mechanism: 'LOGIN', authcid: 'alice', authzid: 'alice' });
    expect(step.outcome.identity).to.equal(undefined);
    expect(calls).to.deep.equal([['alice', 'alice-pass', 'LOGIN']]);
  });

  it('refuses a wrong password and an unknown user alike', () => {
    const verifyPassword = (authcid: string, password: string): boolean =>
      authcid === 'alice' && password === 'alice-pass';
    const attempt = (user: string): ReturnType<typeof expectSaslError> => {
      const session = new SyncServerSession(LOGIN.server({ verifyPassword }, b(user)));
      session.start();
      return expectSaslError(() => session.respond(b('wrong-pass')), 'AUTHENTICATION_FAILED');
    };
    const wrong = attempt('alice');
    const unknown = attempt('mallory');
    expect(unknown.message).to.equal(wrong.message);
    expectNoSecrets(wrong, ['wrong-pass', 'alice-pass']);
  });
});
