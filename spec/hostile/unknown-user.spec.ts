/**
 * An unknown user must fail like a wrong password: the same error, the same effects, and the
 * same identity and hasher work (so about the same time), whatever the store holds. Counts, not
 * clocks: no wall-clock assertion here.
 */
import { expect } from 'chai';
import {
  CRAM_MD5,
  ClearIdentity,
  DIGEST_MD5,
  HashedIdentity,
  type Identity,
  LOGIN,
  PLAIN,
  type PasswordHasher,
  Pbkdf2Hasher,
  SCRAM_SHA_256,
  ScramIdentity,
  ScryptHasher,
  type ServerOptions,
  SyncClientSession,
  ClientCredentials,
  buildCramMd5Response,
  buildPlainResponse,
} from '../../lib/index.js';
import { unknownUserIdentity } from '../../lib/server-auth.js';
import { b, s, storeOf } from '../support/helpers.js';
import { type ServerTrace, countingIdentity, traceServer } from './support.js';

/** A hasher that records the cost part of every stored string it verifies against. */
function countingHasher(inner: PasswordHasher & { verify(secret: string, hashed: string): boolean; hash(secret: string): string }, costs: string[]): PasswordHasher {
  return {
    hash: (secret) => inner.hash(secret),
    verify: (secret, hashed) => {
      // `$pbkdf2-sha256$<rounds>$...` or `$scrypt$ln=..,r=..,p=..$...`: the cost field is the third.
      costs.push(hashed.split('$')[2] ?? '?');
      return inner.verify(secret, hashed);
    },
  };
}

function plainTrace(options: ServerOptions, user: string, password: string): ServerTrace {
  return traceServer(PLAIN.server(options, buildPlainResponse(user, password)), []);
}

function expectSameFailure(wrong: ServerTrace, unknown: ServerTrace): void {
  expect(wrong.error?.code).to.equal('AUTHENTICATION_FAILED');
  expect(unknown.error?.code).to.equal('AUTHENTICATION_FAILED');
  expect(unknown.error?.message).to.equal(wrong.error?.message);
  expect(unknown.error?.party).to.equal(wrong.error?.party);
  expect(unknown.steps).to.deep.equal(wrong.steps);
}

describe('hostile: unknown users cost what wrong passwords cost', () => {
  const hashers: [string, () => PasswordHasher & { verify(secret: string, hashed: string): boolean; hash(secret: string): string }][] = [
    ['PBKDF2', () => new Pbkdf2Hasher({ rounds: 2000 })],
    ['scrypt', () => new ScryptHasher({ ln: 4, r: 8, p: 1 })],
  ];
  for (const [name, makeHasher] of hashers) {
    it(`PLAIN over a ${name} store: same effects, one hash of the same cost for both`, () => {
      const costs: string[] = [];
      const alice = HashedIdentity.create('alice', 'alice-pass', countingHasher(makeHasher(), costs));
      const options: ServerOptions = { lookup: storeOf(alice) };
      expect(plainTrace(options, 'alice', 'alice-pass').error).to.equal(undefined);
      costs.length = 0;
      const wrong = plainTrace(options, 'alice', 'wrong-pass');
      const wrongCosts = costs.splice(0);
      const unknown = plainTrace(options, 'mallory', 'wrong-pass');
      expectSameFailure(wrong, unknown);
      expect(wrong.steps).to.deep.equal(['lookup', 'verify']);
      expect(wrongCosts).to.have.length(1);
      expect(costs).to.deep.equal(wrongCosts);
    });
  }

  it('LOGIN over a PBKDF2 store: same effects and the same hash work', () => {
    const costs: string[] = [];
    const alice = HashedIdentity.create('alice', 'alice-pass', countingHasher(new Pbkdf2Hasher({ rounds: 1500 }), costs));
    const options: ServerOptions = { lookup: storeOf(alice) };
    const login = (user: string): ServerTrace => traceServer(LOGIN.server(options), [b(user), b('wrong-pass')]);
    const wrong = login('alice');
    const wrongCosts = costs.splice(0);
    const unknown = login('mallory');
    expectSameFailure(wrong, unknown);
    expect(costs).to.deep.equal(wrongCosts).and.to.deep.equal(['1500']);
  });

  it('a store of SCRAM secrets gets a SCRAM decoy with the same iteration count', () => {
    const alice = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'], iterations: 4321 });
    const options: ServerOptions = { lookup: storeOf(alice) };
    const wrong = plainTrace(options, 'alice', 'wrong-pass');
    const unknown = plainTrace(options, 'mallory', 'wrong-pass');
    expectSameFailure(wrong, unknown);
    const decoy = unknownUserIdentity(options);
    expect(decoy).to.be.instanceOf(ScramIdentity);
    expect(decoy.authcid).to.not.equal('alice');
    expect(decoy instanceof ScramIdentity ? decoy.getScramSecret('SHA-256')?.iterations : undefined).to.equal(4321);
  });

  it('SCRAM over stored secrets: an unknown user gets the same iteration count and salt size, and the same effects', () => {
    const alice = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'], iterations: 5005 });
    const options: ServerOptions = { lookup: storeOf(alice) };
    const serverFirstOf = (user: string): { trace: ServerTrace; fields: Map<string, string> } => {
      const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials(user, 'wrong-pass')));
      let serverFirst = '';
      const trace = traceServer(SCRAM_SHA_256.server(options, client.start()), (challenge) => {
        serverFirst = s(challenge);
        return client.challenge(challenge);
      });
      return { trace, fields: new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as [string, string])) };
    };
    const known = serverFirstOf('alice');
    const unknown = serverFirstOf('mallory');
    expect(known.fields.get('i')).to.equal('5005');
    expect(unknown.fields.get('i')).to.equal('5005');
    expect(Buffer.from(unknown.fields.get('s')!, 'base64').length).to.equal(Buffer.from(known.fields.get('s')!, 'base64').length);
    expect(unknown.trace.steps).to.deep.equal(known.trace.steps);
    expect(unknown.trace.error?.code).to.equal(known.trace.error?.code);
  });

  it('unknownUserIdentity, when set, gets exactly the calls the real identity gets for a wrong password', () => {
    const realCalls: string[] = [];
    const decoyCalls: string[] = [];
    const alice = countingIdentity(new ClearIdentity('alice', 'alice-pass'), realCalls);
    const decoy = countingIdentity(new ClearIdentity('nobody', 'decoy-pass'), decoyCalls);
    const options: ServerOptions = { lookup: storeOf(alice), unknownUserIdentity: decoy };
    const wrong = plainTrace(options, 'alice', 'wrong-pass');
    const unknown = plainTrace(options, 'mallory', 'wrong-pass');
    expectSameFailure(wrong, unknown);
    expect(realCalls).to.deep.equal(['compareSecret', 'compareAuthcid']);
    expect(decoyCalls).to.deep.equal(realCalls);
  });

  it('the decoy never lets anyone in: an unknown user with the decoy\'s own password and name fails', () => {
    const decoy: Identity = new ClearIdentity('nobody', 'decoy-pass');
    const options: ServerOptions = { lookup: storeOf(), unknownUserIdentity: decoy };
    expect(plainTrace(options, 'nobody', 'decoy-pass').error?.code).to.equal('AUTHENTICATION_FAILED');
  });

  it('CRAM-MD5: an account without a clear secret fails exactly like an unknown user; only the cause tells', () => {
    const hashed = HashedIdentity.create('carol', 'carol-pass', new Pbkdf2Hasher({ rounds: 1000 }));
    const options: ServerOptions = { lookup: storeOf(hashed) };
    const traceFor = (user: string): ServerTrace => traceServer(CRAM_MD5.server(options), (challenge) => buildCramMd5Response(user, 'carol-pass', challenge));
    const account = traceFor('carol');
    const unknown = traceFor('mallory');
    expectSameFailure(account, unknown);
    expect(account.steps).to.deep.equal(['|', 'lookup']);
    expect((account.error?.cause as { code?: unknown } | undefined)?.code).to.equal('MECHANISM_UNAVAILABLE');
    expect(unknown.error?.cause).to.equal(undefined);
  });

  it('DIGEST-MD5: an account without a clear secret fails exactly like an unknown user; only the cause tells', () => {
    const hashed = HashedIdentity.create('carol', 'carol-pass', new Pbkdf2Hasher({ rounds: 1000 }));
    const options: ServerOptions = { lookup: storeOf(hashed), hostname: 'example.org' };
    const traceFor = (user: string): ServerTrace => {
      const client = new SyncClientSession(DIGEST_MD5.client(new ClientCredentials(user, 'carol-pass'), { host: 'example.org', service: 'imap' }));
      client.start();
      return traceServer(DIGEST_MD5.server(options), (challenge) => client.challenge(challenge));
    };
    const account = traceFor('carol');
    const unknown = traceFor('mallory');
    expectSameFailure(account, unknown);
    expect((account.error?.cause as { code?: unknown } | undefined)?.code).to.equal('MECHANISM_UNAVAILABLE');
  });
});
