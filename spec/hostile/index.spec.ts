/**
 * Hostile peers: the named cases of the hardening list that no other spec covers, and two
 * generic checks over every registered mechanism (more rounds than the mechanism has; an abort
 * at every step, and during a pending effect).
 *
 * Where the other named cases live (not repeated here):
 * - SCRAM server omits or forges the signature: spec/mechanisms/scram.spec.ts "client refuses a
 *   server-final with a forged signature ..." and "refuses a missing, empty or undecodable signature ...".
 * - SCRAM server reuses the client nonce, i=1 and i=10^9, a salt that is not base64, m=:
 *   scram.spec.ts "refuses a server nonce that does not extend the client nonce", "refuses
 *   iteration counts outside [4096, scramMaxIterations]", "refuses a salt that is not strict
 *   base64, or empty", "refuses m=, wrong attribute order ...".
 * - SCRAM client replays a captured proof: scram.spec.ts "refuses a replayed client-final in a new exchange".
 * - Channel-binding flag against the policy: scram.spec.ts "detects a downgrade ...", "refuses a
 *   flag that contradicts the mechanism ...", "client policy require refuses plain SCRAM ...".
 * - GS2 header with a bad authzid escape: scram.spec.ts "client-first with a bad authzid escape";
 *   OAUTHBEARER: oauthbearer.spec.ts "rejects a bad saslname escape".
 * - PLAIN with 0, 1 and 3 NULs and invalid UTF-8: plain.spec.ts "malformed input".
 * - CRAM-MD5 digest upper-case, short, not hex: cram-md5.spec.ts "malformed input".
 * - XOAUTH2 and OAUTHBEARER duplicate or missing keys: xoauth2.spec.ts and oauthbearer.spec.ts
 *   "malformed input" (a repeated user/auth/key, no user, no auth).
 * - Initial response over maxMessageBytes and maxRounds, stalled peers: spec/hostile/limits.spec.ts.
 * - Unknown user versus wrong password: spec/hostile/unknown-user.spec.ts.
 */
import { expect } from 'chai';
import {
  type ChannelBindingSource,
  ClearIdentity,
  ClientCredentials,
  type ClientExchange,
  type ClientOptions,
  type Mechanism,
  OAUTHBEARER,
  PLAIN,
  PromiseClientSession,
  PromiseServerSession,
  SASLAuth,
  SCRAM_SHA_256,
  type ServerExchange,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  isSaslError,
} from '../../lib/index.js';
import { b, expectNoSecrets, expectSaslError, expectSaslRejection, storeOf } from '../support/helpers.js';

const BINDING: ChannelBindingSource = { types: ['tls-exporter'], data: () => b('binding-data-for-tests-0123456789') };
const PASSWORD = 'alice-Pass-1';
const ALICE = new ClearIdentity('alice', PASSWORD);

function serverOptions(lookup: NonNullable<ServerOptions['lookup']> = storeOf(ALICE)): ServerOptions {
  return {
    lookup,
    validateToken: ({ token }) => (token === PASSWORD ? { authcid: 'alice' } : { error: { status: 'invalid_token' } }),
    externalIdentity: 'alice',
    channelBindingData: BINDING,
  };
}

function clientOptions(mechanism: string): ClientOptions {
  return {
    host: 'localhost',
    service: 'imap',
    ...(mechanism.endsWith('-PLUS') ? { channelBindingData: BINDING } : {}),
  };
}

function credentials(mechanism: string): ClientCredentials {
  return mechanism === 'EXTERNAL' || mechanism === 'ANONYMOUS'
    ? new ClientCredentials('', '')
    : new ClientCredentials('alice', PASSWORD);
}

/** A client/server pair stepped one action at a time, as a protocol would relay it. */
class Pair {
  readonly clientGen: ClientExchange;
  readonly client: SyncClientSession;
  serverGen: ServerExchange | undefined;
  server: SyncServerSession | undefined;
  actions = 0;
  done = false;
  #toServer: Uint8Array | undefined;
  #toClient: { challenge: Uint8Array } | { success: Uint8Array | undefined } | undefined;

  constructor(readonly mechanism: Mechanism) {
    this.clientGen = mechanism.client(credentials(mechanism.name), clientOptions(mechanism.name));
    this.client = new SyncClientSession(this.clientGen);
  }

  /** Performs the next action; false once the exchange is complete. */
  step(): boolean {
    if (this.done) return false;
    this.actions += 1;
    if (this.server === undefined) {
      // Client start, then the server starts with whatever initial response it got.
      if (this.actions === 1) {
        this.#toServer = this.client.start(true);
        return true;
      }
      this.serverGen = this.mechanism.server(serverOptions(), this.#toServer);
      this.server = new SyncServerSession(this.serverGen);
      this.#fromServer(this.server.start());
      return true;
    }
    const pending = this.#toClient;
    if (pending === undefined) {
      this.#fromServer(this.server.respond(this.#toServer ?? new Uint8Array()));
      return true;
    }
    this.#toClient = undefined;
    if ('challenge' in pending) {
      this.#toServer = this.client.challenge(pending.challenge);
      return true;
    }
    // The server-final data, if any, travels with success here (as in XMPP).
    this.client.success(pending.success);
    this.done = true;
    return false;
  }

  #fromServer(step: ReturnType<SyncServerSession['start']>): void {
    this.#toClient = step.done ? { success: step.outcome.additionalData } : { challenge: step.challenge };
  }
}

function fullRun(mechanism: Mechanism): number {
  const pair = new Pair(mechanism);
  while (pair.step()) {
    // every action of a successful exchange
  }
  expect(pair.done, `${mechanism.name} pair completes`).to.equal(true);
  return pair.actions;
}

const MECHANISMS = SASLAuth.all().serverMechanisms as Mechanism[];

describe('hostile: named cases not covered elsewhere', () => {
  describe('SCRAM server-first from a hostile server', () => {
    const CNONCE = 'fyko+d2lbbFgONRv9qkxdawL';
    const salt = 'QSXCR+Q6sek8bf92';
    const started = (): SyncClientSession => {
      const client = new SyncClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('user', 'pencil'), { scramNonceForTesting: CNONCE }),
      );
      client.start();
      return client;
    };

    it('refuses a server nonce that truncates the client nonce', () => {
      const error = expectSaslError(
        () => started().challenge(b(`r=${CNONCE.slice(0, 10)},s=${salt},i=4096`)),
        'MALFORMED_MESSAGE',
      );
      expect(error.party).to.equal('server');
      expectSaslError(
        () => started().challenge(b(`r=${CNONCE.slice(0, -1)}XYZ,s=${salt},i=4096`)),
        'MALFORMED_MESSAGE',
      );
    });

    it('refuses an unknown attribute in place of a mandatory one, and never echoes it', () => {
      for (const message of [
        `q=1,r=${CNONCE}x,s=${salt},i=4096`,
        `r=${CNONCE}x,q=1,s=${salt},i=4096`,
        `r=${CNONCE}x,s=${salt},q=4096`,
      ]) {
        const error = expectSaslError(() => started().challenge(b(message)), 'MALFORMED_MESSAGE');
        expectNoSecrets(error, ['q=', 'pencil']);
      }
    });
  });

  describe('PLAIN', () => {
    const options = serverOptions();
    const TEN_MB = 10 * 1024 * 1024;
    const huge = 'a'.repeat(TEN_MB);
    const fields: [string, () => Uint8Array][] = [
      ['a 10 MB authzid', () => b(`${huge}\0alice\0${PASSWORD}`)],
      ['a 10 MB authcid', () => b(`\0${huge}\0${PASSWORD}`)],
      ['a 10 MB password', () => b(`\0alice\0${huge}`)],
    ];
    for (const [name, build] of fields) {
      it(`${name}: LIMIT_EXCEEDED (maxFieldBytes) as an initial response, maxMessageBytes through the session`, () => {
        const message = build();
        const field = expectSaslError(
          () => new SyncServerSession(PLAIN.server(options, message)).start(),
          'LIMIT_EXCEEDED',
        );
        expect((field as { limit?: string }).limit).to.equal('maxFieldBytes');
        const checked = new SyncServerSession(PLAIN.server(options, message), { initialResponse: message });
        expect((expectSaslError(() => checked.start(), 'LIMIT_EXCEEDED') as { limit?: string }).limit).to.equal(
          'maxMessageBytes',
        );
        const session = new SyncServerSession(PLAIN.server(options));
        session.start();
        expect(
          (expectSaslError(() => session.respond(message), 'LIMIT_EXCEEDED') as { limit?: string }).limit,
        ).to.equal('maxMessageBytes');
      });
    }

    // RFC 4013 section 2.3: C.2.1 ASCII control, C.3 private use, C.8 change display properties,
    // C.9 tagging, and a lone surrogate (not a character at all).
    const prohibited: [string, string][] = [
      ['an ASCII control character', '\u0007'],
      ['a private-use character', '\uE000'],
      ['a left-to-right mark', '\u200E'],
      ['a tagging character', '\u{E0001}'],
      ['a lone surrogate', '\uD800'],
    ];
    for (const [name, char] of prohibited) {
      it(`fails a password with ${name} like a wrong password, without echoing it`, () => {
        const password = `${PASSWORD}${char}`;
        const error = expectSaslError(
          () => new SyncServerSession(PLAIN.server(options, b(`\0alice\0${password}`))).start(),
          'AUTHENTICATION_FAILED',
        );
        expectNoSecrets(error, [password, PASSWORD]);
      });

      it(`fails a user name with ${name}, and never matches a stored password with it`, () => {
        expectSaslError(
          () => new SyncServerSession(PLAIN.server(options, b(`\0alice${char}\0${PASSWORD}`))).start(),
          'AUTHENTICATION_FAILED',
        );
        const stored = `stored${char}`;
        const odd = new ClearIdentity('odd', stored);
        const error = expectSaslError(
          () => new SyncServerSession(PLAIN.server(serverOptions(storeOf(odd)), b(`\0odd\0${stored}`))).start(),
          'AUTHENTICATION_FAILED',
        );
        expectNoSecrets(error, [stored]);
      });
    }
  });

  describe('OAUTHBEARER keys', () => {
    const options = serverOptions();
    for (const [name, message] of [
      ['a repeated auth key', 'n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01'],
      ['a repeated port key', 'n,,\x01port=1\x01port=2\x01auth=Bearer t\x01\x01'],
      ['a key without a value separator', 'n,,\x01auth\x01\x01'],
    ] as const) {
      it(`refuses ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(
          () => new SyncServerSession(OAUTHBEARER.server(options, b(message))).start(),
          'MALFORMED_MESSAGE',
        );
      });
    }
  });
});

describe('hostile: every registered mechanism', () => {
  it('covers every built-in mechanism, each pair completing in a few actions', () => {
    expect(MECHANISMS.length).to.be.greaterThanOrEqual(14);
    for (const mechanism of MECHANISMS) expect(fullRun(mechanism), mechanism.name).to.be.within(3, 10);
  });

  for (const mechanism of MECHANISMS) {
    describe(mechanism.name, () => {
      it('more rounds than the mechanism has: a challenge after the exchange completed is UNEXPECTED_MESSAGE', () => {
        const pair = new Pair(mechanism);
        while (pair.step()) {
          // run to completion
        }
        const error = expectSaslError(() => pair.client.challenge(b('one more')), 'UNEXPECTED_MESSAGE');
        expect(error.party).to.equal('server');
      });

      it('a client that keeps answering: the server ends with a typed error, never loops', () => {
        // Past the mechanism's last round (or maxRounds) every further response is refused.
        const session = new SyncServerSession(mechanism.server(serverOptions()), { maxRounds: 2 });
        let thrown: unknown;
        try {
          session.start();
          for (let i = 0; i < 5; i++) session.respond(b(i === 0 ? 'x' : 'more'));
        } catch (error) {
          thrown = error;
        }
        expect(isSaslError(thrown), String(thrown)).to.equal(true);
        expect(session.finished).to.equal(true);
      });

      it('an abort at every step: ABORTED, both generators closed, later calls refused', () => {
        const total = fullRun(mechanism);
        for (let k = 0; k < total; k++) {
          const pair = new Pair(mechanism);
          for (let i = 0; i < k; i++) pair.step();
          const serverError = pair.server?.abort('client');
          const clientError = pair.client.abort();
          for (const error of [clientError, serverError])
            if (error !== undefined) expect(error.code).to.equal('ABORTED');
          if (serverError !== undefined) expect(serverError.party).to.equal('client');
          expect(pair.client.finished).to.equal(true);
          // The generators were returned: their finally blocks ran and nothing stays suspended.
          expect(pair.clientGen.next(b('late')).done, `${mechanism.name} client after ${k}`).to.equal(true);
          if (pair.serverGen)
            expect(pair.serverGen.next(b('late')).done, `${mechanism.name} server after ${k}`).to.equal(true);
          expect(() => pair.client.challenge(b('late'))).to.throw();
          if (pair.server) expect(() => pair.server!.respond(b('late'))).to.throw();
        }
      });

      it('an abort while an async store or validator is pending: the step rejects with ABORTED, no hang', async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const base = serverOptions(async (authcid) => {
          await gate;
          return authcid === 'alice' ? ALICE : undefined;
        });
        const validate = base.validateToken!;
        const options: ServerOptions = {
          ...base,
          validateToken: async (request) => {
            await gate;
            return validate(request);
          },
        };
        const isPending = (promise: Promise<unknown>): Promise<boolean> =>
          Promise.race([
            promise.then(
              () => false,
              () => false,
            ),
            new Promise<boolean>((resolve) => setImmediate(resolve, true)),
          ]);
        const client = new PromiseClientSession(
          mechanism.client(credentials(mechanism.name), clientOptions(mechanism.name)),
        );
        const server = new PromiseServerSession(mechanism.server(options, await client.start(true)));
        let next = server.start();
        for (let i = 0; i < 6; i++) {
          if (await isPending(next)) {
            expect(server.abort('client').code).to.equal('ABORTED');
            release();
            const error = await expectSaslRejection(next, 'ABORTED');
            expect(error.party).to.equal('client');
            expect(server.finished).to.equal(true);
            client.abort();
            return;
          }
          const step = await next;
          if (step.done) break;
          next = server.respond(await client.challenge(step.challenge));
        }
        // No host effect to wait for (EXTERNAL, ANONYMOUS): the between-steps aborts above cover it.
        release();
        expect(['EXTERNAL', 'ANONYMOUS']).to.include(mechanism.name);
        client.abort();
      });
    });
  }
});
