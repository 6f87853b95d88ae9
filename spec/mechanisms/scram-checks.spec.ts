// Specs that pin each SCRAM check so that removing or loosening it fails a spec (issue 11, found
// by mutation testing: see mutation/RESULTS.md). Every case sends a message that is right in every
// way but the one under test, with a correct proof where a proof is needed, so that the check
// under test is the only thing standing between the message and a successful login.
import { expect } from 'chai';
import {
  AuthenticationFailedError,
  ClearIdentity,
  ClientCredentials,
  type ClientOutcome,
  type ClientYield,
  type Identity,
  type SaslError,
  SCRAM_DEFAULT_MAX_ITERATIONS,
  SCRAM_CLIENT_CACHE_SIZE,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  type ScramHash,
  ScramIdentity,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  clearScramClientCache,
  isEffect,
  parseScramClientFinal,
  parseScramClientFirst,
  parseScramServerFirst,
  scramAuthMessage,
  scramClientKey,
  scramClientSignature,
  scramSaltedPassword,
  scramServerErrorOf,
  scramServerKey,
  scramServerSignature,
  scramStoredKey,
  scramXor,
  staticChannelBinding,
  toBase64,
  verifyScramServerFinal,
  MalformedMessageError,
  UsageError,
  LimitExceededError,
} from '../../lib/index.js';
import { parseGs2Header } from '../../lib/mechanisms/gs2.js';
import { createHmac } from 'node:crypto';
import {
  SCRAM_SHA_1,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_512,
  SCRAM_SHA_512_PLUS,
  ScramSecret,
  scramGs2Header,
  type ChannelBindingSource,
} from '../../lib/index.js';
import { b, expectSaslError, runPair, s, storeOf } from '../support/helpers.js';

const MECH = 'SCRAM-SHA-256';
const HASH: ScramHash = 'SHA-256';
const PASS = 'alice-pass';
const alice = ScramIdentity.create('alice', PASS, { hashes: [HASH] });
const OPTIONS: ServerOptions = { lookup: storeOf(alice) };

/** Asserts the error's code and its `{mechanism, party}` blame. */
function blamed(
  fn: () => unknown,
  code: SaslError['code'],
  party: SaslError['party'],
  mechanism: string | undefined = MECH,
): SaslError {
  const error = expectSaslError(fn, code);
  expect({ mechanism: error.mechanism, party: error.party }, error.message).to.deep.equal({ mechanism, party });
  return error;
}

function serverErrorOf(error: SaslError): string | undefined {
  expect(error).to.be.instanceOf(AuthenticationFailedError);
  return (error as unknown as { readonly serverError?: string }).serverError;
}

function limitOf(error: SaslError): unknown {
  return (error as unknown as { readonly limit?: unknown }).limit;
}

const attr = (text: string, key: string): string => new RegExp(`(?:^|,)${key}=([^,]*)`).exec(text)?.[1] ?? '';

/** The salted password a real client would derive for this server-first. */
function saltedFor(password: string, serverFirst: string): Uint8Array {
  return scramSaltedPassword(
    HASH,
    password,
    Buffer.from(attr(serverFirst, 's'), 'base64'),
    Number(attr(serverFirst, 'i')),
  );
}

/** A correct ClientProof for `withoutProof`, whatever it contains. */
function proofOf(password: string, bare: string, serverFirst: string, withoutProof: string): string {
  const clientKey = scramClientKey(HASH, saltedFor(password, serverFirst));
  const authMessage = scramAuthMessage(bare, serverFirst, withoutProof);
  return toBase64(scramXor(clientKey, scramClientSignature(HASH, scramStoredKey(HASH, clientKey), authMessage)));
}

interface Started {
  readonly session: SyncServerSession;
  readonly serverFirst: string;
  readonly nonce: string;
  readonly bare: string;
}

/** A SCRAM-SHA-256 server that has received `clientFirst` and sent server-first. */
function started(clientFirst: string, options: ServerOptions = OPTIONS, mechanism = SCRAM_SHA_256): Started {
  const session = new SyncServerSession(mechanism.server(options, b(clientFirst)));
  const step = session.start();
  if (step.done) throw new Error('expected server-first');
  const serverFirst = s(step.challenge);
  const second = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1);
  return { session, serverFirst, nonce: attr(serverFirst, 'r'), bare: clientFirst.slice(second + 1) };
}

/** Sends client-final `build(nonce)` plus `<proofKey>=<correct proof>` (a proof made for exactly that text). */
function finish(
  at: Started,
  build: (nonce: string) => string,
  password = PASS,
  proofKey = 'p',
): ReturnType<SyncServerSession['respond']> {
  const withoutProof = build(at.nonce);
  return at.session.respond(
    b(`${withoutProof},${proofKey}=${proofOf(password, at.bare, at.serverFirst, withoutProof)}`),
  );
}

describe('SCRAM checks (each pinned on its own)', () => {
  beforeEach(() => {
    clearScramClientCache();
  });

  it('the hand-built exchange these specs use logs in when nothing is wrong, and server-final is v=<ServerSignature>', () => {
    const at = started('n,,n=alice,r=abc');
    const done = finish(at, (n) => `c=biws,r=${n}`);
    if (!done.done) throw new Error('expected the outcome');
    expect(done.outcome.authcid).to.equal('alice');
    const withoutProof = `c=biws,r=${at.nonce}`;
    const authMessage = scramAuthMessage(at.bare, at.serverFirst, withoutProof);
    const signature = scramServerSignature(HASH, scramServerKey(HASH, saltedFor(PASS, at.serverFirst)), authMessage);
    expect(s(done.outcome.additionalData)).to.equal(`v=${toBase64(signature)}`);
  });

  describe('logins that must fail', () => {
    const bobIdentities: [string, () => Identity][] = [
      ['a ScramIdentity', () => ScramIdentity.create('bob', 'bob-pass', { hashes: [HASH] })],
      ['a ClearIdentity', () => new ClearIdentity('bob', 'bob-pass')],
    ];
    for (const [kind, bob] of bobIdentities) {
      it(`a store that maps "alice" to bob's identity (${kind}) does not let bob's password in as "alice"`, () => {
        const identity = bob();
        const options: ServerOptions = { lookup: (name) => (name === 'alice' ? identity : undefined) };
        const error = blamed(
          () =>
            runPair(SCRAM_SHA_256.client(new ClientCredentials('alice', 'bob-pass')), (ir) =>
              SCRAM_SHA_256.server(options, ir),
            ),
          'AUTHENTICATION_FAILED',
          'client',
        );
        expect(serverErrorOf(error)).to.equal('invalid-proof');
      });
    }

    it('an account whose stored clear-text password is empty after SASLprep cannot log in with the empty password', () => {
      // U+00AD (soft hyphen) maps to nothing under SASLprep: the stored password prepares to ''.
      const options: ServerOptions = { lookup: storeOf(new ClearIdentity('alice', '\u00AD')) };
      const at = started('n,,n=alice,r=abc', options);
      const error = blamed(() => finish(at, (n) => `c=biws,r=${n}`, ''), 'AUTHENTICATION_FAILED', 'client');
      expect(serverErrorOf(error)).to.equal('invalid-proof');
    });

    it('client-final with a wrong nonce fails even when its proof is right for the message sent (e=other-error)', () => {
      for (const wrong of [
        (n: string) => `${n}x`,
        (n: string) => n.slice(0, -1),
        (n: string) => `abc${'A'.repeat(n.length - 3)}`,
      ]) {
        const at = started('n,,n=alice,r=abc');
        const error = blamed(() => finish(at, (n) => `c=biws,r=${wrong(n)}`), 'AUTHENTICATION_FAILED', 'client');
        expect(serverErrorOf(error)).to.equal('other-error');
      }
    });

    it('a channel-binding value other than the GS2 header fails with e=channel-bindings-dont-match', () => {
      const at = started('n,,n=alice,r=abc');
      const error = blamed(
        () => finish(at, (n) => `c=${toBase64(b('y,,'))},r=${n}`),
        'AUTHENTICATION_FAILED',
        'client',
      );
      expect(serverErrorOf(error)).to.equal('channel-bindings-dont-match');
    });
  });

  describe('attribute names', () => {
    it('client-first: the user must be n= and the nonce r=', () => {
      for (const message of ['n,,u=alice,r=abc', 'n,,n=alice,q=abc', 'n,,N=alice,r=abc']) {
        blamed(() => parseScramClientFirst(b(message), MECH), 'MALFORMED_MESSAGE', 'client');
        blamed(() => started(message), 'MALFORMED_MESSAGE', 'client');
      }
    });
    it('client-final: c=, r= and p= are required by name, even with a correct proof', () => {
      const cases: [string, (n: string) => string, string][] = [
        ['d= for c=', (n) => `d=biws,r=${n}`, 'p'],
        ['q= for r=', (n) => `c=biws,q=${n}`, 'p'],
        ['q= for p=', (n) => `c=biws,r=${n}`, 'q'],
      ];
      for (const [name, build, proofKey] of cases) {
        const at = started('n,,n=alice,r=abc');
        blamed(() => finish(at, build, PASS, proofKey), 'MALFORMED_MESSAGE', 'client');
        const text = `${build('abc')},${proofKey}=${toBase64(Buffer.alloc(32))}`;
        blamed(() => parseScramClientFinal(b(text), HASH, MECH), 'MALFORMED_MESSAGE', 'client');
        expect(name).to.be.a('string');
      }
    });
    it('server-first: r=, s= and i= are required by name', () => {
      const cn = 'client-nonce';
      for (const message of [
        `q=${cn}x,s=QSXCR+Q6sek8bf92,i=4096`,
        `r=${cn}x,t=QSXCR+Q6sek8bf92,i=4096`,
        `r=${cn}x,s=QSXCR+Q6sek8bf92,j=4096`,
      ]) {
        blamed(() => parseScramServerFirst(b(message), cn, MECH), 'MALFORMED_MESSAGE', 'server');
      }
      expect(parseScramServerFirst(b(`r=${cn}x,s=QSXCR+Q6sek8bf92,i=4096`), cn, MECH)).to.include({
        nonce: `${cn}x`,
        iterations: 4096,
      });
    });
    it('server-final: the signature must be under v=, not under another key', () => {
      const signature = Buffer.alloc(32, 7);
      expect(() => {
        verifyScramServerFinal(b(`v=${toBase64(signature)}`), signature, MECH);
      }).to.not.throw();
      for (const final of [`w=${toBase64(signature)}`, `v=${toBase64(Buffer.alloc(32, 8))}`, 'v=not base64!']) {
        blamed(
          () => {
            verifyScramServerFinal(b(final), signature, MECH);
          },
          'SERVER_NOT_VERIFIED',
          'server',
        );
      }
    });
    it('a real client refuses server-final whose v= key was renamed, as a challenge and as success data', () => {
      for (const asSuccess of [false, true]) {
        const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', PASS)));
        const server = new SyncServerSession(SCRAM_SHA_256.server(OPTIONS, client.start()));
        const first = server.start();
        if (first.done) throw new Error('expected server-first');
        const done = server.respond(client.challenge(first.challenge));
        if (!done.done) throw new Error('expected the outcome');
        const renamed = b(`w${s(done.outcome.additionalData).slice(1)}`);
        blamed(
          () => (asSuccess ? client.success(renamed) : client.challenge(renamed)),
          'SERVER_NOT_VERIFIED',
          'server',
        );
      }
    });
  });

  describe('GS2 flag and pattern anchors', () => {
    it('the channel-binding flag letter is p=, not any letter before "="', () => {
      blamed(() => parseGs2Header('q=tls-exporter,,', 'OAUTHBEARER'), 'MALFORMED_MESSAGE', 'client', 'OAUTHBEARER');
      blamed(() => parseScramClientFirst(b('q=tls-exporter,,n=alice,r=abc'), MECH), 'MALFORMED_MESSAGE', 'client');
      const binding = staticChannelBinding({ 'tls-exporter': Buffer.alloc(32, 3) });
      blamed(
        () => started('q=tls-exporter,,n=alice,r=abc', { ...OPTIONS, channelBindingData: binding }, SCRAM_SHA_256_PLUS),
        'MALFORMED_MESSAGE',
        'client',
        'SCRAM-SHA-256-PLUS',
      );
      expect(parseGs2Header('p=tls-exporter,,').header).to.include({ flag: 'p', cbName: 'tls-exporter' });
      // The second comma is searched for after the first, wherever the first is.
      const parsed = parseGs2Header('p=tls-exporter,a=bob,n=bob,r=abc');
      expect([parsed.header.text, parsed.header.authzid, parsed.rest]).to.deep.equal([
        'p=tls-exporter,a=bob,',
        'bob',
        'n=bob,r=abc',
      ]);
      blamed(() => parseGs2Header('n', MECH), 'MALFORMED_MESSAGE', 'client');
    });
    it('cb-name is anchored at both ends', () => {
      for (const cbind of ['p=tls exporter', 'p= tls', 'p=tls ']) {
        blamed(() => parseGs2Header(`${cbind},,`, MECH), 'MALFORMED_MESSAGE', 'client');
        blamed(() => parseScramClientFirst(b(`${cbind},,n=alice,r=abc`), MECH), 'MALFORMED_MESSAGE', 'client');
      }
    });
    it('the nonce alphabet is anchored at both ends (client-first, server-first)', () => {
      for (const nonce of ['a bc', ' abc', 'abc ']) {
        blamed(() => parseScramClientFirst(b(`n,,n=alice,r=${nonce}`), MECH), 'MALFORMED_MESSAGE', 'client');
        blamed(
          () => parseScramServerFirst(b(`r=cn${nonce},s=QSXCR+Q6sek8bf92,i=4096`), 'cn', MECH),
          'MALFORMED_MESSAGE',
          'server',
        );
      }
    });
    it('the client-final nonce alphabet is checked before the nonce comparison', () => {
      blamed(
        () => parseScramClientFinal(b(`c=biws,r=a bc,p=${toBase64(Buffer.alloc(32))}`), HASH, MECH),
        'MALFORMED_MESSAGE',
        'client',
      );
      blamed(
        () => parseScramClientFinal(b(`c=biws,r=abc ,p=${toBase64(Buffer.alloc(32))}`), HASH, MECH),
        'MALFORMED_MESSAGE',
        'client',
      );
    });
    it('an extension name is exactly one letter (the attr-val pattern is anchored)', () => {
      blamed(() => parseScramClientFirst(b('n,,n=alice,r=abc,xy=1'), MECH), 'MALFORMED_MESSAGE', 'client');
      blamed(
        () => parseScramClientFinal(b(`c=biws,r=abc,xy=1,p=${toBase64(Buffer.alloc(32))}`), HASH, MECH),
        'MALFORMED_MESSAGE',
        'client',
      );
      blamed(
        () => parseScramServerFirst(b('r=cnx,s=QSXCR+Q6sek8bf92,i=4096,xy=1'), 'cn', MECH),
        'MALFORMED_MESSAGE',
        'server',
      );
      expect(parseScramClientFirst(b('n,,n=alice,r=abc,x=1'), MECH).bare).to.equal('n=alice,r=abc,x=1');
    });
    it('the iteration count is digits only, anchored at both ends', () => {
      for (const count of ['04096', 'x4096', '4096x', '4096 ']) {
        blamed(
          () => parseScramServerFirst(b(`r=cnx,s=QSXCR+Q6sek8bf92,i=${count}`), 'cn', MECH),
          'MALFORMED_MESSAGE',
          'server',
        );
      }
    });
  });

  describe('limits at their edges', () => {
    it('an iteration count of exactly scramMaxIterations is accepted; one more is not', () => {
      const message = (i: number): Uint8Array => b(`r=cnx,s=QSXCR+Q6sek8bf92,i=${i}`);
      expect(parseScramServerFirst(message(SCRAM_DEFAULT_MAX_ITERATIONS), 'cn', MECH).iterations).to.equal(
        SCRAM_DEFAULT_MAX_ITERATIONS,
      );
      const over = blamed(
        () => parseScramServerFirst(message(SCRAM_DEFAULT_MAX_ITERATIONS + 1), 'cn', MECH),
        'LIMIT_EXCEEDED',
        'server',
      );
      expect(limitOf(over)).to.equal('scramMaxIterations');
      expect(parseScramServerFirst(message(4096), 'cn', MECH).iterations).to.equal(4096);
      expect(
        limitOf(blamed(() => parseScramServerFirst(message(4095), 'cn', MECH), 'LIMIT_EXCEEDED', 'server')),
      ).to.equal('scramMinIterations');
      expect(parseScramServerFirst(message(5000), 'cn', MECH, 5000).iterations).to.equal(5000);
      blamed(() => parseScramServerFirst(message(5001), 'cn', MECH, 5000), 'LIMIT_EXCEEDED', 'server');
    });
    it('scramMaxIterations itself must be an integer of at least 4096', () => {
      const client = (max: number): unknown =>
        new SyncClientSession(
          SCRAM_SHA_256.client(new ClientCredentials('alice', PASS), { scramMaxIterations: max }),
        ).start();
      expect(client(4096)).to.be.instanceOf(Uint8Array);
      for (const bad of [4095, 4096.5, Number.NaN]) blamed(() => client(bad), 'USAGE', 'local');
    });
    it('user name, authzid and nonce are counted without their "x=" prefix: exactly maxFieldBytes passes, one more fails', () => {
      const max = 16;
      const options: ServerOptions = { ...OPTIONS, maxFieldBytes: max };
      const name = 'u'.repeat(max);
      const parsed = parseScramClientFirst(b(`n,a=${name},n=${name},r=${'r'.repeat(max)}`), MECH, options);
      expect(parsed).to.include({ authzid: name, authcid: name, nonce: 'r'.repeat(max) });
      for (const message of [
        `n,a=${name}u,n=alice,r=abc`,
        `n,,n=${name}u,r=abc`,
        `n,,n=alice,r=${'r'.repeat(max + 1)}`,
      ]) {
        const error = blamed(() => parseScramClientFirst(b(message), MECH, options), 'LIMIT_EXCEEDED', 'client');
        expect(limitOf(error)).to.equal('maxFieldBytes');
      }
    });
  });

  describe('e= codes on the wire (scramSendErrors)', () => {
    const wire = (make: () => Started | SyncServerSession, act?: (at: Started) => unknown): string => {
      let sent: string;
      try {
        const at = make();
        if (at instanceof SyncServerSession) {
          const step = at.start();
          sent = step.done ? '' : s(step.challenge);
        } else {
          const step = act?.(at) as ReturnType<SyncServerSession['respond']>;
          sent = step.done ? '' : s(step.challenge);
        }
      } catch (error) {
        throw new Error('expected an e= challenge', { cause: error });
      }
      return sent;
    };
    const send = { ...OPTIONS, scramSendErrors: true };
    const server = (first: string, options: ServerOptions = send, mechanism = SCRAM_SHA_256): SyncServerSession =>
      new SyncServerSession(mechanism.server(options, b(first)));
    const binding = staticChannelBinding({ 'tls-exporter': Buffer.alloc(32, 3) });

    it('sends the RFC 5802 value for each failure', () => {
      expect(wire(() => server('n,,n=al=ice,r=abc'))).to.equal('e=invalid-username-encoding');
      expect(wire(() => server('n,,m=x,n=alice,r=abc'))).to.equal('e=extensions-not-supported');
      expect(wire(() => server('n,,n=alice'))).to.equal('e=invalid-encoding');
      expect(wire(() => server('y,,n=alice,r=abc', { ...send, channelBindingData: binding }))).to.equal(
        'e=server-does-support-channel-binding',
      );
      expect(wire(() => server('p=tls-exporter,,n=alice,r=abc', send, SCRAM_SHA_256_PLUS))).to.equal(
        'e=channel-binding-not-supported',
      );
      expect(
        wire(() => server('p=tls-unique,,n=alice,r=abc', { ...send, channelBindingData: binding }, SCRAM_SHA_256_PLUS)),
      ).to.equal('e=unsupported-channel-binding-type');
      expect(
        wire(
          () => started('n,,n=alice,r=abc', send),
          (at) => finish(at, (n) => `c=biws,r=${n}x`),
        ),
      ).to.equal('e=other-error');
      expect(
        wire(
          () => started('n,,n=alice,r=abc', send),
          (at) => finish(at, (n) => `c=biws,r=${n}`, 'wrong'),
        ),
      ).to.equal('e=invalid-proof');
      expect(
        wire(
          () => started('n,,n=alice,r=abc', send),
          (at) => finish(at, (n) => `c=${toBase64(b('y,,'))},r=${n}`),
        ),
      ).to.equal('e=channel-bindings-dont-match');
    });
    it('the server fails with the same reason after the client acknowledges e=', () => {
      const session = server('n,,n=al=ice,r=abc');
      session.start();
      const error = blamed(() => session.respond(new Uint8Array(0)), 'MALFORMED_MESSAGE', 'client');
      expect(scramServerErrorOf(error)).to.equal('invalid-username-encoding');
    });
    it('scramServerErrorOf maps by type and blame', () => {
      expect(scramServerErrorOf(new MalformedMessageError('x', { party: 'client' }))).to.equal('invalid-encoding');
      expect(scramServerErrorOf(new MalformedMessageError('x', { party: 'server' }))).to.equal(undefined);
      expect(scramServerErrorOf(new UsageError('x'))).to.equal(undefined);
      expect(scramServerErrorOf(new LimitExceededError('maxFieldBytes', 'x', { party: 'client' }))).to.equal(
        'other-error',
      );
      expect(scramServerErrorOf(new AuthenticationFailedError(undefined, { party: 'client' }))).to.equal('other-error');
      expect(
        scramServerErrorOf(new AuthenticationFailedError(undefined, { party: 'client', serverError: 'unknown-user' })),
      ).to.equal('unknown-user');
      expect(
        scramServerErrorOf(new AuthenticationFailedError(undefined, { party: 'client', serverError: 'made-up' })),
      ).to.equal('other-error');
      expect(scramServerErrorOf(new Error('x'))).to.equal(undefined);
    });
  });

  describe('the client salted-password cache', () => {
    const SALT = Buffer.alloc(16, 9);
    /** Runs a client up to client-final against a fixed server-first; returns how many PBKDF2 it asked for. */
    const derives = (password: string, options: { scramCache?: boolean; scram?: { cache: boolean } } = {}): number => {
      let count = 0;
      function* counted(
        inner: Generator<ClientYield, ClientOutcome, unknown>,
      ): Generator<ClientYield, ClientOutcome, unknown> {
        let step = inner.next();
        for (;;) {
          if (step.done) return step.value;
          if (isEffect(step.value) && step.value.kind === 'derive') count++;
          step = inner.next(yield step.value);
        }
      }
      const client = new SyncClientSession(
        counted(
          SCRAM_SHA_256.client(new ClientCredentials('alice', password), { scramNonceForTesting: 'cn', ...options }),
        ),
      );
      client.start();
      client.challenge(b(`r=cnx,s=${toBase64(SALT)},i=4096`));
      return count;
    };

    it(`keeps the ${SCRAM_CLIENT_CACHE_SIZE} most recently used salted passwords`, () => {
      const passwords = Array.from({ length: SCRAM_CLIENT_CACHE_SIZE + 1 }, (_, i) => `pass-${i}`);
      for (const password of passwords.slice(0, SCRAM_CLIENT_CACHE_SIZE)) expect(derives(password)).to.equal(1);
      // All of them fit; using pass-1 .. pass-31 again leaves pass-0 the least recently used.
      for (const password of passwords.slice(1, SCRAM_CLIENT_CACHE_SIZE))
        expect(derives(password), password).to.equal(0);
      expect(derives(passwords[SCRAM_CLIENT_CACHE_SIZE] as string)).to.equal(1);
      expect(derives('pass-1'), 'a recently used entry stays').to.equal(0);
      expect(derives('pass-0'), 'the least recently used entry went').to.equal(1);
    });
    it('a hit counts as a use: the entry read last is not the one evicted', () => {
      for (let i = 0; i < SCRAM_CLIENT_CACHE_SIZE; i++) derives(`pass-${i}`);
      expect(derives('pass-0')).to.equal(0);
      derives('pass-new');
      expect(derives('pass-0'), 'read just before, so kept').to.equal(0);
      expect(derives('pass-1'), 'the oldest unread entry went').to.equal(1);
    });
    it('scram.cache: true is the process-wide cache, as the default', () => {
      expect(derives('cache-true', { scram: { cache: true } })).to.equal(1);
      expect(derives('cache-true', { scram: { cache: true } }), 'a hit').to.equal(0);
      expect(derives('cache-true'), 'the same cache as the default').to.equal(0);
    });
    it('scramCache: false neither reads nor fills the process-wide cache', () => {
      for (let i = 0; i < SCRAM_CLIENT_CACHE_SIZE - 1; i++) derives(`pass-${i}`);
      expect(derives('pass-5', { scramCache: false }), 'not read').to.equal(1);
      expect(derives('other', { scramCache: false })).to.equal(1);
      expect(derives('other'), 'not filled').to.equal(1);
      // The cache is now exactly full: had the uncached runs added an entry, pass-0 would be gone.
      for (let i = 0; i < SCRAM_CLIENT_CACHE_SIZE - 1; i++) expect(derives(`pass-${i}`), `pass-${i}`).to.equal(0);
    });
  });
  describe('more checks (second mutation run)', () => {
    it('PLUS server: a connection with a binding source but no types is channel-binding-not-supported', () => {
      const session = new SyncServerSession(
        SCRAM_SHA_256_PLUS.server(
          { ...OPTIONS, scramSendErrors: true, channelBindingData: staticChannelBinding({}) },
          b('p=tls-exporter,,n=alice,r=abc'),
        ),
      );
      const step = session.start();
      expect(!step.done && s(step.challenge)).to.equal('e=channel-binding-not-supported');
    });
    it('blames channel-binding flag mismatches on the client', () => {
      blamed(() => started('p=tls-exporter,,n=alice,r=abc'), 'MALFORMED_MESSAGE', 'client');
      blamed(
        () => started('n,,n=alice,r=abc', OPTIONS, SCRAM_SHA_256_PLUS),
        'MALFORMED_MESSAGE',
        'client',
        'SCRAM-SHA-256-PLUS',
      );
    });
    it('scramIterations must lie in [1, 2^31-1] (USAGE), both ends included', () => {
      const firstOf = (scramIterations: number): string => {
        const step = new SyncServerSession(
          SCRAM_SHA_256.server({ lookup: storeOf(), scramIterations }, b('n,,n=nobody,r=abc')),
        ).start();
        return step.done ? '' : attr(s(step.challenge), 'i');
      };
      expect(firstOf(1)).to.equal('1');
      expect(firstOf(0x7fffffff)).to.equal('2147483647');
      for (const bad of [0, -1, 1.5, 0x80000000]) blamed(() => firstOf(bad), 'USAGE', 'local');
    });
    it('a stored SCRAM secret of the wrong shape is not used: no login, and no empty salt or zero count sent', () => {
      const good = alice.getScramSecret(HASH) as ScramSecret;
      const shaped = (
        patch: Partial<Record<keyof ScramSecret, unknown>>,
      ): Identity & { getScramSecret(): unknown } => ({
        authcid: 'alice',
        compareAuthcid: (name: string) => name === 'alice',
        compareSecret: () => false,
        getClearSecret: () => undefined,
        getScramSecret: () => ({
          hash: good.hash,
          salt: good.salt,
          iterations: good.iterations,
          storedKey: good.storedKey,
          serverKey: good.serverKey,
          ...patch,
        }),
      });
      // Right stored key, server key of the wrong length: the proof would pass with it.
      const shortServerKey = shaped({ serverKey: good.serverKey.subarray(0, 16) });
      const at = started('n,,n=alice,r=abc', { lookup: storeOf(shortServerKey) });
      blamed(() => finish(at, (n) => `c=biws,r=${n}`), 'AUTHENTICATION_FAILED', 'client');
      for (const patch of [
        { salt: new Uint8Array(0) },
        { iterations: 0 },
        { storedKey: good.storedKey.subarray(0, 16) },
      ]) {
        const first = started('n,,n=alice,r=abc', { lookup: storeOf(shaped(patch)) }).serverFirst;
        expect(attr(first, 's')).to.not.equal('');
        expect(Number(attr(first, 'i'))).to.be.greaterThan(0);
      }
    });
    it('a stored clear-text password that SASLprep refuses (unassigned code point) cannot log in', () => {
      const options: ServerOptions = { lookup: storeOf(new ClearIdentity('alice', 'p\u0221ss')) };
      blamed(
        () => finish(started('n,,n=alice,r=abc', options), (n) => `c=biws,r=${n}`, 'p\u0221ss'),
        'AUTHENTICATION_FAILED',
        'client',
      );
    });
    it('an identity with neither SCRAM keys nor a clear password fails like a wrong password', () => {
      const opaque: Identity = {
        authcid: 'alice',
        compareAuthcid: (n) => n === 'alice',
        compareSecret: () => true,
        getClearSecret: () => undefined,
      };
      blamed(
        () => finish(started('n,,n=alice,r=abc', { lookup: storeOf(opaque) }), (n) => `c=biws,r=${n}`),
        'AUTHENTICATION_FAILED',
        'client',
      );
    });
    it('the store is not asked for a name that prepares to nothing, and is asked for unassigned code points', () => {
      const asked: string[] = [];
      const lookup = (name: string): Identity | undefined => (
        asked.push(name),
        name === 'a\u0221' ? new ClearIdentity('a\u0221', PASS) : undefined
      );
      started('n,,n=\u00AD,r=abc', { lookup });
      expect(asked).to.deep.equal([]);
      started('n,,n=a\u0221,r=abc', { lookup });
      expect(asked).to.deep.equal(['a\u0221']);
    });
    it('unknown users get a salt derived as documented: HMAC-SHA-512(scramSaltSecret, label, block, hash, name)', () => {
      const first = started('n,,n=nobody,r=abc', { lookup: storeOf(), scramSaltSecret: 'k' }).serverFirst;
      const expected = createHmac('sha512', 'k')
        .update('saslkit-scram-salt\u00000\u0000SHA-256\u0000')
        .update('nobody')
        .digest()
        .subarray(0, 16);
      expect(attr(first, 's')).to.equal(toBase64(expected));
    });
    it('client: the nonce is 32 characters and fresh, across many exchanges', () => {
      const nonces = new Set<string>();
      for (let i = 0; i < 150; i++) {
        const first = s(new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', PASS))).start());
        const nonce = attr(first, 'r');
        expect(nonce).to.have.length(32);
        nonces.add(nonce);
      }
      expect(nonces.size).to.equal(150);
    });
    it('client: scramNonceForTesting must be printable (USAGE), and the GS2 header defaults to no authzid', () => {
      blamed(
        () =>
          new SyncClientSession(
            SCRAM_SHA_256.client(new ClientCredentials('alice', PASS), { scramNonceForTesting: 'a b' }),
          ).start(),
        'USAGE',
        'local',
      );
      blamed(
        () =>
          new SyncServerSession(
            SCRAM_SHA_256.server({ ...OPTIONS, scramNonceForTesting: 'a,b' }, b('n,,n=alice,r=abc')),
          ).start(),
        'USAGE',
        'local',
      );
      expect(scramGs2Header('n')).to.equal('n,,');
      expect(parseScramClientFirst(b('n,,n=alice,r=abc'))).to.include({ flag: 'n', cbName: '', authzid: '' });
    });
    it('client: a user name SASLprep refuses is a local USAGE error; unassigned code points are allowed (query profile)', () => {
      blamed(
        () => new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('a\u0007b', PASS))).start(),
        'USAGE',
        'local',
      );
      expect(
        attr(s(new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('a\u0221', PASS))).start()), 'n'),
      ).to.equal('a\u0221');
    });
    it('client: channel-binding policy errors name the mechanism', () => {
      const noData: ChannelBindingSource = { types: ['tls-exporter'], data: () => undefined };
      blamed(
        () =>
          new SyncClientSession(
            SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', PASS), { channelBindingData: noData }),
          ).start(),
        'MECHANISM_UNAVAILABLE',
        'local',
        'SCRAM-SHA-256-PLUS',
      );
      blamed(
        () =>
          new SyncClientSession(
            SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', PASS), { channelBinding: 'disable' }),
          ).start(),
        'MECHANISM_UNAVAILABLE',
        'local',
        'SCRAM-SHA-256-PLUS',
      );
      blamed(
        () =>
          new SyncClientSession(
            SCRAM_SHA_256.client(new ClientCredentials('alice', PASS), { channelBinding: 'require' }),
          ).start(),
        'MECHANISM_UNAVAILABLE',
        'local',
      );
    });
    it('client: success instead of server-first, or success without data, is SERVER_NOT_VERIFIED naming the mechanism', () => {
      const early = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', PASS)));
      early.start();
      blamed(() => early.success(), 'SERVER_NOT_VERIFIED', 'server');
      const client = new SyncClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('alice', PASS), { scramNonceForTesting: 'cn' }),
      );
      client.start();
      client.challenge(b(`r=cnx,s=${toBase64(Buffer.alloc(16))},i=4096`));
      blamed(() => client.success(new Uint8Array(0)), 'SERVER_NOT_VERIFIED', 'server');
    });
    it('client: a challenge that starts with "e" but not "e=" is malformed, not a server error', () => {
      const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', PASS)));
      client.start();
      blamed(() => client.challenge(b('ex')), 'MALFORMED_MESSAGE', 'server');
    });
    it('parse and verify helpers read e= themselves, and name the mechanism SCRAM by default', () => {
      expect(
        serverErrorOf(
          blamed(() => parseScramServerFirst(b('e=unknown-user'), 'cn', MECH), 'AUTHENTICATION_FAILED', 'server'),
        ),
      ).to.equal('unknown-user');
      expect(
        serverErrorOf(
          blamed(
            () => {
              verifyScramServerFinal(b('e=invalid-proof'), new Uint8Array(32), MECH);
            },
            'AUTHENTICATION_FAILED',
            'server',
          ),
        ),
      ).to.equal('invalid-proof');
      blamed(() => parseScramClientFirst(b('x')), 'MALFORMED_MESSAGE', 'client', 'SCRAM');
      blamed(() => parseScramClientFinal(b('x'), HASH), 'MALFORMED_MESSAGE', 'client', 'SCRAM');
      blamed(() => parseScramServerFirst(b('x'), 'cn'), 'MALFORMED_MESSAGE', 'server', 'SCRAM');
      blamed(
        () => {
          verifyScramServerFinal(b('x'), new Uint8Array(32));
        },
        'SERVER_NOT_VERIFIED',
        'server',
        'SCRAM',
      );
    });
    it('invalid UTF-8 is blamed on whoever sent it', () => {
      const bad = Uint8Array.of(0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3, 0x28);
      blamed(() => parseScramClientFirst(bad, MECH), 'MALFORMED_MESSAGE', 'client');
      blamed(() => parseScramClientFinal(bad, HASH, MECH), 'MALFORMED_MESSAGE', 'client');
      blamed(() => parseScramServerFirst(bad, 'cn', MECH), 'MALFORMED_MESSAGE', 'server');
      const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials('alice', PASS)));
      client.start();
      blamed(() => client.challenge(Uint8Array.of(0x65, 0x3d, 0xc3, 0x28)), 'MALFORMED_MESSAGE', 'server');
    });
    it('scramXor refuses operands of different lengths', () => {
      expect(expectSaslError(() => scramXor(new Uint8Array(2), new Uint8Array(3)), 'USAGE').party).to.equal('local');
    });
    it('every variant is client-first, and ranked PLUS above plain, longer hashes first', () => {
      const ranks = [
        SCRAM_SHA_1,
        SCRAM_SHA_256,
        SCRAM_SHA_512,
        SCRAM_SHA_1_PLUS,
        SCRAM_SHA_256_PLUS,
        SCRAM_SHA_512_PLUS,
      ].map((m) => [m.name, m.priority, m.clientFirst]);
      expect(ranks).to.deep.equal([
        ['SCRAM-SHA-1', 81, true],
        ['SCRAM-SHA-256', 82, true],
        ['SCRAM-SHA-512', 83, true],
        ['SCRAM-SHA-1-PLUS', 91, true],
        ['SCRAM-SHA-256-PLUS', 92, true],
        ['SCRAM-SHA-512-PLUS', 93, true],
      ]);
    });
  });
});
