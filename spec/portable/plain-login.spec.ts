/** PLAIN and LOGIN, client and server, through the promise drivers with portable APIs only. */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  LOGIN,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  buildPlainResponse,
} from '../../lib/index.js';
import {
  RUNTIME,
  asyncStoreOf,
  b,
  bytesOf,
  expectNoSecrets,
  hex,
  rejection,
  runPair,
  s,
  textOf,
  vector,
} from './support.js';

const ALICE = new ClearIdentity('alice', 'alice-pass');
const TIM = new ClearIdentity('tim', 'tanstaaftanstaaf');
const options = { lookup: asyncStoreOf(ALICE, TIM) };

describe(`portable PLAIN (${RUNTIME})`, () => {
  for (const id of ['plain-rfc4616-ex1', 'plain-rfc4616-ex2', 'plain-derived-utf8']) {
    it(`client sends the ${id} message byte for byte`, async () => {
      const v = vector(id);
      const credentials = new ClientCredentials(
        textOf(v.inputs['authcid']),
        textOf(v.inputs['passwd']),
        textOf(v.inputs['authzid']),
      );
      const initial = await new PromiseClientSession(PLAIN.client(credentials)).start(true);
      expect(hex(initial ?? new Uint8Array(0))).to.equal(hex(bytesOf(v.expected['message'])));
      expect(
        hex(buildPlainResponse(textOf(v.inputs['authcid']), textOf(v.inputs['passwd']), textOf(v.inputs['authzid']))),
      ).to.equal(hex(bytesOf(v.expected['message'])));
    });
  }

  it('server accepts the RFC 4616 example against an async store', async () => {
    const step = await new PromiseServerSession(
      PLAIN.server(options, bytesOf(vector('plain-rfc4616-ex1').expected['message'])),
    ).start();
    expect(step.done && step.outcome).to.include({ mechanism: 'PLAIN', authcid: 'tim', authzid: 'tim' });
  });

  it('client and server agree', async () => {
    const result = await runPair(PLAIN.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      PLAIN.server(options, ir),
    );
    expect(result.server).to.include({ authcid: 'alice', authzid: 'alice' });
    expect(result.client.serverVerified).to.equal(false);
  });

  it('refuses a wrong password and an unknown user alike, without the password in the error', async () => {
    for (const message of ['\0alice\0wrong-pass', '\0nobody\0wrong-pass']) {
      const error = await rejection(
        new PromiseServerSession(PLAIN.server(options, b(message))).start(),
        'AUTHENTICATION_FAILED',
      );
      expectNoSecrets(error, ['wrong-pass', 'alice-pass']);
    }
  });

  it('refuses a malformed message with a typed error', async () => {
    for (const message of ['alice', 'a\0b', '\0\0\0\0', '\0alice\0pass\0']) {
      await rejection(new PromiseServerSession(PLAIN.server(options, b(message))).start(), 'MALFORMED_MESSAGE');
    }
  });
});

describe(`portable LOGIN (${RUNTIME})`, () => {
  const v = vector('login-draft-murchison-challenges');

  it('client answers the draft challenges with the user name, then the password', async () => {
    const client = new PromiseClientSession(
      LOGIN.client(new ClientCredentials(textOf(v.expected['response1']), textOf(v.expected['response2']))),
    );
    expect(await client.start(true)).to.equal(undefined);
    expect(hex(await client.challenge(bytesOf(v.expected['challenge1_spec'])))).to.equal(
      hex(bytesOf(v.expected['response1'])),
    );
    expect(hex(await client.challenge(bytesOf(v.expected['challenge2_spec'])))).to.equal(
      hex(bytesOf(v.expected['response2'])),
    );
    expect((await client.success()).serverVerified).to.equal(false);
  });

  it('client and server agree, with the common prompts', async () => {
    const result = await runPair(LOGIN.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      LOGIN.server(options, ir),
    );
    expect(result.transcript).to.deep.equal(['S: Username:', 'C: alice', 'S: Password:', 'C: alice-pass']);
    expect(result.server.identity).to.equal(ALICE);
  });

  it('refuses a wrong password with a typed error', async () => {
    const server = new PromiseServerSession(LOGIN.server(options));
    await server.start();
    await server.respond(b('alice'));
    const error = await rejection(server.respond(b('nope-pass')), 'AUTHENTICATION_FAILED');
    expectNoSecrets(error, ['nope-pass']);
    expect(s(b('ok'))).to.equal('ok');
  });
});
