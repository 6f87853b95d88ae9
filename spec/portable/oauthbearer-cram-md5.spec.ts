/** OAUTHBEARER (RFC 7628) and CRAM-MD5 (RFC 2195, with the MD5 each runtime has), client and server. */
import { expect } from 'chai';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  OAUTHBEARER,
  PromiseClientSession,
  PromiseServerSession,
  type TokenRequest,
  type TokenResult,
  buildOauthbearerResponse,
  cramMd5Digest,
  cramMd5Server,
  parseOauthbearerResponse,
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

const RFC_TOKEN = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';

/** Accepts RFC_TOKEN for user@example.com, asynchronously, as a token introspection call would. */
async function validateToken(request: TokenRequest): Promise<TokenResult> {
  await Promise.resolve();
  if (request.token === RFC_TOKEN) return { authcid: 'user@example.com' };
  return { error: { status: 'invalid_token', scope: 'example_scope' } };
}

describe(`portable OAUTHBEARER (${RUNTIME})`, () => {
  for (const [id, port] of [
    ['oauthbearer-rfc7628-imap-success', 143],
    ['oauthbearer-rfc7628-smtp-success', 587],
  ] as const) {
    it(`${id}: the client builds it byte for byte; the server accepts it`, async () => {
      const message = bytesOf(vector(id).expected['message']);
      const client = new PromiseClientSession(
        OAUTHBEARER.client(new ClientCredentials('user@example.com', RFC_TOKEN), { host: 'server.example.com', port }),
      );
      expect(hex((await client.start(true)) ?? new Uint8Array(0))).to.equal(hex(message));
      expect(
        hex(buildOauthbearerResponse(RFC_TOKEN, { user: 'user@example.com', host: 'server.example.com', port })),
      ).to.equal(hex(message));
      expect(parseOauthbearerResponse(message)).to.include({
        user: 'user@example.com',
        host: 'server.example.com',
        port,
        token: RFC_TOKEN,
      });
      const step = await new PromiseServerSession(OAUTHBEARER.server({ validateToken }, message)).start();
      expect(step.done && step.outcome).to.include({ mechanism: 'OAUTHBEARER', authcid: 'user@example.com' });
    });
  }

  it('a refused token: the server sends the RFC 7628 error JSON, the client answers with the dummy response, the exchange fails typed', async () => {
    const client = new PromiseClientSession(OAUTHBEARER.client(new ClientCredentials('user@example.com', 'bad-token')));
    const server = new PromiseServerSession(OAUTHBEARER.server({ validateToken }, await client.start(true)));
    const step = await server.start();
    expect(step.done).to.equal(false);
    const challenge = step.done ? new Uint8Array(0) : step.challenge;
    expect(JSON.parse(s(challenge))).to.include({ status: 'invalid_token' });
    const dummy = await client.challenge(challenge);
    expect(hex(dummy)).to.equal(hex(bytesOf(vector('oauthbearer-rfc7628-dummy-response').expected['message'])));
    const error = await rejection(server.respond(dummy), 'AUTHENTICATION_FAILED');
    expectNoSecrets(error, ['bad-token']);
  });

  it('refuses malformed messages with a typed error', async () => {
    for (const message of ['', 'n,,', 'x,,\u0001auth=Bearer t\u0001\u0001', 'n,,\u0001auth=Bearer t\u0001']) {
      await rejection(
        new PromiseServerSession(OAUTHBEARER.server({ validateToken }, b(message))).start(),
        'MALFORMED_MESSAGE',
      );
    }
  });
});

describe(`portable CRAM-MD5 (${RUNTIME})`, () => {
  const rfc2195 = vector('cram-md5-rfc2195');
  const challenge = bytesOf(rfc2195.inputs['challenge']);
  const TIM = new ClearIdentity('tim', textOf(rfc2195.inputs['secret']));
  const options = { lookup: asyncStoreOf(TIM, new ClearIdentity('alice', 'alice-pass')) };

  it('computes the RFC 2195 digest', () => {
    expect(cramMd5Digest(textOf(rfc2195.inputs['secret']), challenge)).to.equal(
      (rfc2195.expected['digest'] as { hex: string }).hex,
    );
  });

  it('client answers the RFC 2195 challenge byte for byte; the server verifies it', async () => {
    const client = new PromiseClientSession(CRAM_MD5.client(new ClientCredentials('tim', 'tanstaaftanstaaf')));
    expect(await client.start(true)).to.equal(undefined);
    const response = await client.challenge(challenge);
    expect(hex(response)).to.equal(hex(bytesOf(rfc2195.expected['response'])));
    const server = new PromiseServerSession(cramMd5Server(options, challenge));
    const first = await server.start();
    expect(!first.done && hex(first.challenge)).to.equal(hex(challenge));
    const done = await server.respond(response);
    expect(done.done && done.outcome).to.include({ mechanism: 'CRAM-MD5', authcid: 'tim' });
  });

  it('client and server agree with a fresh challenge; a wrong password is refused typed', async () => {
    const result = await runPair(CRAM_MD5.client(new ClientCredentials('alice', 'alice-pass')), (ir) =>
      CRAM_MD5.server(options, ir),
    );
    expect(result.server.authcid).to.equal('alice');
    const error = await rejection(
      runPair(CRAM_MD5.client(new ClientCredentials('alice', 'wrong-pass')), (ir) => CRAM_MD5.server(options, ir)),
      'AUTHENTICATION_FAILED',
    );
    expectNoSecrets(error, ['wrong-pass', 'alice-pass']);
  });

  it('refuses a malformed response with a typed error', async () => {
    for (const response of ['', 'alice', 'alice xyz', `alice ${'0'.repeat(31)}`]) {
      const server = new PromiseServerSession(cramMd5Server(options, challenge));
      await server.start();
      await rejection(server.respond(b(response)), 'MALFORMED_MESSAGE');
    }
  });
});
