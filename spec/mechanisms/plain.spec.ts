import { expect } from 'chai';
import {
  ClientCredentials,
  PLAIN,
  PromiseServerSession,
  SCRAM_SHA_256,
  SyncClientSession,
  SyncServerSession,
  buildPlainResponse,
  parsePlainResponse,
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
import { bytesOf, textOf, vectorsOf } from '../support/vectors.js';

describe('PLAIN', () => {
  const options = { lookup: storeOf(ALICE) };

  describe('RFC vectors', () => {
    for (const v of vectorsOf('mechanism-message', 'PLAIN')) {
      it(`${v.id}: client builds and server parses the message`, () => {
        const authzid = textOf(v.inputs['authzid'] ?? { utf8: '' });
        const authcid = textOf(v.inputs['authcid']);
        const passwd = textOf(v.inputs['passwd']);
        const message = bytesOf(v.expected['message']);
        expect(Buffer.from(buildPlainResponse(authcid, passwd, authzid)).equals(Buffer.from(message))).to.equal(true);
        const parsed = parsePlainResponse(message);
        expect(parsed.authcid).to.equal(authcid);
        expect(parsed.secret).to.equal(passwd);
        expect(parsed.authzid).to.equal(authzid === '' ? authcid : authzid);
      });
    }
  });

  it('authenticates with an initial response', () => {
    const result = runPair(PLAIN.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      PLAIN.server(options, ir),
    );
    expect(result.server).to.include({ mechanism: 'PLAIN', authcid: 'alice', authzid: 'alice' });
    expect(result.client.serverVerified).to.equal(false);
    expect(result.transcript).to.deep.equal(['C: \0alice\0alice-pass']);
  });

  it('sends an empty challenge when there was no initial response, and accepts an empty initial response as a message', () => {
    const session = new SyncServerSession(PLAIN.server(options));
    const step = session.start();
    expect(step.done).to.equal(false);
    if (!step.done) expect(step.challenge.length).to.equal(0);
    const done = session.respond(b('\0alice\0alice-pass'));
    expect(done.done).to.equal(true);
    // An empty initial response is a (malformed) message, not "no initial response".
    expectSaslError(() => new SyncServerSession(PLAIN.server(options, new Uint8Array(0))).start(), 'MALFORMED_MESSAGE');
  });

  it('refuses a wrong password and an unknown user with the same error', () => {
    const wrong = expectSaslError(
      () => new SyncServerSession(PLAIN.server(options, b('\0alice\0nope'))).start(),
      'AUTHENTICATION_FAILED',
    );
    const unknown = expectSaslError(
      () => new SyncServerSession(PLAIN.server(options, b('\0mallory\0nope'))).start(),
      'AUTHENTICATION_FAILED',
    );
    expect(wrong.message).to.equal(unknown.message);
    expectNoSecrets(wrong, ['nope', 'alice-pass']);
  });

  it('refuses a foreign authzid unless the policy allows it', () => {
    expectSaslError(
      () => new SyncServerSession(PLAIN.server(options, b('bob\0alice\0alice-pass'))).start(),
      'AUTHORIZATION_FAILED',
    );
    const allowed = new SyncServerSession(
      PLAIN.server(
        { ...options, authorize: ({ authcid, authzid }) => authcid === 'alice' && authzid === 'bob' },
        b('bob\0alice\0alice-pass'),
      ),
    ).start();
    expect(allowed.done && allowed.outcome.authzid).to.equal('bob');
  });

  it('applies SASLprep to both sides of the comparison', () => {
    const result = new SyncServerSession(PLAIN.server(options, b('\0al\u00ADice\0alice-\u00ADpass'))).start();
    expect(result.done).to.equal(true);
  });

  it('works with an async store under an async driver, and refuses it under the sync driver', () => {
    expectSaslError(
      () => new SyncServerSession(PLAIN.server({ lookup: asyncStoreOf(ALICE) }, b('\0alice\0alice-pass'))).start(),
      'USAGE',
    );
  });

  describe('malformed input', () => {
    const cases: [string, Uint8Array][] = [
      ['no NUL', b('alice')],
      ['one NUL', b('alice\0pass')],
      ['three NULs', b('\0alice\0pass\0')],
      ['empty authcid', b('\0\0pass')],
      ['empty password', b('\0alice\0')],
      ['invalid UTF-8', Uint8Array.of(0, 0xc3, 0x28, 0, 0x70)],
    ];
    for (const [name, message] of cases) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => new SyncServerSession(PLAIN.server(options, message)).start(), 'MALFORMED_MESSAGE');
      });
    }
    it('rejects an oversized field with LIMIT_EXCEEDED', () => {
      expectSaslError(() => parsePlainResponse(b(`\0${'a'.repeat(2000)}\0pass`)), 'LIMIT_EXCEEDED');
    });
    it('rejects a message larger than the session limit before parsing it', () => {
      const session = new SyncServerSession(PLAIN.server(options), { maxMessageBytes: 100 });
      session.start();
      expectSaslError(() => session.respond(new Uint8Array(101)), 'LIMIT_EXCEEDED');
    });
  });

  it('client refuses NUL inside a field', () => {
    expectSaslError(() => buildPlainResponse('a\0b', 'x'), 'USAGE');
  });

  it('client refuses a challenge after its response', () => {
    const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
    expect(s(client.start())).to.equal('\0alice\0alice-pass');
    expectSaslError(() => client.challenge(b('more?')), 'UNEXPECTED_MESSAGE');
  });
});

describe('PLAIN under the promise driver', () => {
  it('verifies against an async store', async () => {
    const session = new PromiseServerSession(PLAIN.server({ lookup: asyncStoreOf(ALICE) }, b('\0alice\0alice-pass')));
    const step = await session.start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });
});

describe('PLAIN with a password-check backend (verifyPassword)', () => {
  /** A backend that knows alice's password and records what it was asked. */
  function backend(
    calls: [string, string, string][] = [],
  ): (authcid: string, password: string, context: { mechanism: string }) => boolean {
    return (authcid, password, context) => {
      calls.push([authcid, password, context.mechanism]);
      return authcid === 'alice' && password === 'alice-pass';
    };
  }

  it('authenticates through the backend alone: no lookup, no identity', () => {
    const calls: [string, string, string][] = [];
    const step = new SyncServerSession(
      PLAIN.server({ verifyPassword: backend(calls) }, b('\0alice\0alice-pass')),
    ).start();
    expect(step.done).to.equal(true);
    if (!step.done) return;
    expect(step.outcome).to.include({ mechanism: 'PLAIN', authcid: 'alice', authzid: 'alice' });
    expect(step.outcome.identity).to.equal(undefined);
    expect(calls).to.deep.equal([['alice', 'alice-pass', 'PLAIN']]);
  });

  it('refuses a wrong password and an unknown user with the same error, without the secrets', () => {
    const wrong = expectSaslError(
      () => new SyncServerSession(PLAIN.server({ verifyPassword: backend() }, b('\0alice\0nope'))).start(),
      'AUTHENTICATION_FAILED',
    );
    const unknown = expectSaslError(
      () => new SyncServerSession(PLAIN.server({ verifyPassword: backend() }, b('\0mallory\0nope'))).start(),
      'AUTHENTICATION_FAILED',
    );
    expect(unknown.message).to.equal(wrong.message);
    expect(unknown.party).to.equal('client');
    expectNoSecrets(wrong, ['nope', 'alice-pass']);
  });

  it('accepts only true: a truthy non-boolean answer is a refusal', () => {
    for (const answer of [1, 'yes', {}, undefined]) {
      const verifyPassword = (() => answer) as unknown as () => boolean;
      expectSaslError(
        () => new SyncServerSession(PLAIN.server({ verifyPassword }, b('\0alice\0alice-pass'))).start(),
        'AUTHENTICATION_FAILED',
      );
    }
  });

  it('hands the backend the SASLprep-ed name and password (RFC 4616 section 2, RFC 4013 example)', () => {
    const calls: [string, string, string][] = [];
    const step = new SyncServerSession(
      PLAIN.server({ verifyPassword: backend(calls) }, b('\0al\u00ADice\0alice-\u00ADpass')),
    ).start();
    expect(step.done).to.equal(true);
    expect(calls).to.deep.equal([['alice', 'alice-pass', 'PLAIN']]);
  });

  it('never asks the backend about a name or password SASLprep refuses, and fails like a wrong password', () => {
    const calls: [string, string, string][] = [];
    const badName = expectSaslError(
      () =>
        new SyncServerSession(PLAIN.server({ verifyPassword: backend(calls) }, b('\0al\u0007ice\0alice-pass'))).start(),
      'AUTHENTICATION_FAILED',
    );
    const badPassword = expectSaslError(
      () =>
        new SyncServerSession(PLAIN.server({ verifyPassword: backend(calls) }, b('\0alice\0alice\u0007pass'))).start(),
      'AUTHENTICATION_FAILED',
    );
    expect(calls).to.deep.equal([]);
    expect(badName.message).to.equal(badPassword.message);
  });

  it('applies the authorization policy to a foreign authzid', () => {
    expectSaslError(
      () => new SyncServerSession(PLAIN.server({ verifyPassword: backend() }, b('bob\0alice\0alice-pass'))).start(),
      'AUTHORIZATION_FAILED',
    );
    const allowed = new SyncServerSession(
      PLAIN.server(
        { verifyPassword: backend(), authorize: ({ authzid }) => authzid === 'bob' },
        b('bob\0alice\0alice-pass'),
      ),
    ).start();
    expect(allowed.done && allowed.outcome.authzid).to.equal('bob');
  });

  it('wins over lookup for PLAIN: the store is never asked', () => {
    let lookups = 0;
    const lookup = (): undefined => {
      lookups += 1;
      return undefined;
    };
    const step = new SyncServerSession(
      PLAIN.server({ lookup, verifyPassword: backend() }, b('\0alice\0alice-pass')),
    ).start();
    expect(step.done).to.equal(true);
    expect(lookups).to.equal(0);
  });

  it('an async backend works under the promise driver and is a USAGE error under the sync driver', async () => {
    const verifyPassword = (authcid: string, password: string): Promise<boolean> =>
      Promise.resolve(authcid === 'alice' && password === 'alice-pass');
    const step = await new PromiseServerSession(PLAIN.server({ verifyPassword }, b('\0alice\0alice-pass'))).start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
    await expectSaslRejection(
      new PromiseServerSession(PLAIN.server({ verifyPassword }, b('\0alice\0wrong'))).start(),
      'AUTHENTICATION_FAILED',
    );
    expectSaslError(
      () => new SyncServerSession(PLAIN.server({ verifyPassword }, b('\0alice\0alice-pass'))).start(),
      'USAGE',
    );
  });

  it('a backend that throws fails the exchange with its own error (the protocol profiles answer 454)', async () => {
    const down = new Error('directory unreachable');
    const verifyPassword = (): Promise<boolean> => Promise.reject(down);
    try {
      await new PromiseServerSession(PLAIN.server({ verifyPassword }, b('\0alice\0alice-pass'))).start();
      expect.fail('the exchange should have failed');
    } catch (error) {
      expect(error).to.equal(down);
    }
  });

  it('a mechanism that needs stored secrets says that verifyPassword cannot serve it', () => {
    const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass')));
    const error = expectSaslError(
      () => new SyncServerSession(SCRAM_SHA_256.server({ verifyPassword: backend() }, client.start())).start(),
      'USAGE',
    );
    expect(error.message)
      .to.match(/lookup/)
      .and.to.match(/verifyPassword.*PLAIN and LOGIN/);
  });
});
