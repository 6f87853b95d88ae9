/**
 * SCRAM's state between exchanges as one object (ScramCache), and the `scram` option groups with
 * their deprecated flat aliases (issue 12).
 */
import { inspect } from 'node:util';
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  SCRAM_SHA_256,
  type ClientOptions,
  type ServerOptions,
  SyncClientSession,
  clearScramClientCache,
} from '../../lib/index.js';
import { DEFAULT_SCRAM_CACHE, ScramCache } from '../../lib/mechanisms/scram-cache.js';
import { type ServerTrace, traceServer } from '../hostile/support.js';
import { expectSaslError, s, storeOf } from '../support/helpers.js';

const alice = new ClearIdentity('alice', 'alice-pass');
const bob = new ClearIdentity('bob', 'bob-pass');

/** One SCRAM-SHA-256 login; the trace counts the server's derivations. */
function login(
  options: ServerOptions,
  user = 'alice',
  password = `${user}-pass`,
  client: ClientOptions = { scram: { cache: false } },
): ServerTrace & { serverFirst: string } {
  const session = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials(user, password), client));
  let serverFirst = '';
  const trace = traceServer(SCRAM_SHA_256.server(options, session.start()), (challenge) => {
    if (serverFirst === '') serverFirst = s(challenge);
    return session.challenge(challenge);
  });
  return { ...trace, serverFirst };
}

const derives = (trace: ServerTrace): number => trace.steps.filter((step) => step === 'derive').length;

describe('ScramCache: SCRAM state in one bounded object', () => {
  it('a server given its own cache keeps its entries there, not in the shared one', () => {
    const cache = new ScramCache();
    const before = DEFAULT_SCRAM_CACHE.size.server;
    const options: ServerOptions = { lookup: storeOf(alice), scram: { cache } };
    expect(derives(login(options))).to.equal(1);
    expect(derives(login(options)), 'the second login is served from the cache').to.equal(0);
    expect(cache.size.server).to.equal(1);
    expect(DEFAULT_SCRAM_CACHE.size.server).to.equal(before);
    // A failed login still derives, cache or not (issue 11's rule stays the mechanism's).
    expect(derives(login(options, 'alice', 'wrong-pass'))).to.equal(1);
  });

  it('keeps at most serverEntries keys, least recently used out first; 0 keeps none', () => {
    const one = new ScramCache({ serverEntries: 1 });
    const options: ServerOptions = { lookup: storeOf(alice, bob), scram: { cache: one } };
    expect([login(options, 'alice'), login(options, 'bob'), login(options, 'alice')].map(derives)).to.deep.equal([
      1, 1, 1,
    ]);
    expect(one.size.server).to.equal(1);
    const none: ServerOptions = { lookup: storeOf(alice), scram: { cache: new ScramCache({ serverEntries: 0 }) } };
    expect([login(none), login(none)].map(derives)).to.deep.equal([1, 1]);
  });

  it('a cache of its own has its own default salt secret; an explicit saltSecret is the same everywhere', () => {
    const salt = (options: ServerOptions): string => /s=([^,]+)/.exec(login(options).serverFirst)?.[1] ?? '';
    const lookup = storeOf(alice);
    expect(salt({ lookup, scram: { cache: new ScramCache() } })).to.not.equal(
      salt({ lookup, scram: { cache: new ScramCache() } }),
    );
    expect(salt({ lookup })).to.equal(salt({ lookup }));
    expect(salt({ lookup, scram: { cache: new ScramCache(), saltSecret: 'shared' } })).to.equal(
      salt({ lookup, scram: { saltSecret: 'shared' } }),
    );
  });

  it('the client keeps salted passwords in the cache it is given; false keeps none; clearScramClientCache empties the shared one', () => {
    const options: ServerOptions = { lookup: storeOf(alice), scram: { cache: new ScramCache() } };
    const mine = new ScramCache({ clientEntries: 2 });
    login(options, 'alice', 'alice-pass', { scram: { cache: mine } });
    expect(mine.size.client).to.equal(1);
    login(options, 'alice', 'alice-pass', {});
    expect(DEFAULT_SCRAM_CACHE.size.client).to.be.greaterThan(0);
    clearScramClientCache();
    expect(DEFAULT_SCRAM_CACHE.size.client).to.equal(0);
    login(options, 'alice', 'alice-pass', { scram: { cache: false } });

    login(options, 'alice', 'alice-pass', { scramCache: false });
    expect(DEFAULT_SCRAM_CACHE.size.client).to.equal(0);
  });

  it('refuses bounds that are not non-negative integers', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      expectSaslError(() => new ScramCache({ serverEntries: bad }), 'USAGE');
      expectSaslError(() => new ScramCache({ clientEntries: bad }), 'USAGE');
    }
  });

  it('shows no secret in inspect or JSON output', () => {
    const cache = new ScramCache();
    const secret = Buffer.from(cache.saltSecret).toString('hex');
    for (const text of [inspect(cache, { showHidden: true, depth: 5 }), JSON.stringify(cache)]) {
      expect(text).to.include('ScramCache');
      expect(text).to.not.include(secret);
      expect(text).to.not.match(/[0-9a-f]{64}/);
    }
  });
});

describe('ScramCache checks (fifth mutation pass, issue 11)', () => {
  const salt = new Uint8Array(16).fill(5);
  const run = <T>(steps: Generator<unknown, T, unknown>): T => {
    const step = steps.next();
    if (step.done !== true) throw new Error('node:crypto takes the step synchronously');
    return step.value;
  };

  it('a lookup that misses adds nothing, so a cache of 0 entries stays empty', () => {
    const cache = new ScramCache();
    expect([cache.serverKeys('missing'), cache.saltedPassword('missing')]).to.deep.equal([undefined, undefined]);
    expect(cache.size).to.deep.equal({ server: 0, client: 0 });
    const none = new ScramCache({ serverEntries: 0, clientEntries: 0 });
    login({ lookup: storeOf(alice), scram: { cache: none } }, 'alice', 'alice-pass', { scram: { cache: none } });
    expect(none.size).to.deep.equal({ server: 0, client: 0 });
  });

  it('entryKey is the synchronous form of entryKeyStep: one name per (side, hash, count, salt, password)', () => {
    const cache = new ScramCache();
    const key = cache.entryKey('server', 'SHA-256', 'pw', salt, 4096);
    expect(key).to.have.length(32);
    expect(run(cache.entryKeyStep('server', 'SHA-256', 'pw', salt, 4096))).to.equal(key);
    const others = [
      cache.entryKey('client', 'SHA-256', 'pw', salt, 4096),
      cache.entryKey('server', 'SHA-1', 'pw', salt, 4096),
      cache.entryKey('server', 'SHA-256', 'pw', salt, 4097),
      cache.entryKey('server', 'SHA-256', 'pw', new Uint8Array(16), 4096),
      cache.entryKey('server', 'SHA-256', 'px', salt, 4096),
      new ScramCache().entryKey('server', 'SHA-256', 'pw', salt, 4096),
    ];
    expect(new Set([key, ...others]).size).to.equal(7);
  });

  it('clear() empties both sides and keeps the salt secret, so answers stay the same', () => {
    const cache = new ScramCache();
    const secret = Buffer.from(cache.saltSecret).toString('hex');
    login({ lookup: storeOf(alice), scram: { cache } }, 'alice', 'alice-pass', { scram: { cache } });
    expect(cache.size).to.deep.equal({ server: 1, client: 1 });
    cache.clear();
    expect(cache.size).to.deep.equal({ server: 0, client: 0 });
    expect(Buffer.from(cache.saltSecret).toString('hex')).to.equal(secret);
  });

  it('inspect shows the bounds and sizes, and the secrets only as redacted', () => {
    const cache = new ScramCache({ serverEntries: 3, clientEntries: 2 });
    cache.keepSaltedPassword('k', new Uint8Array(4));
    expect(inspect(cache)).to.equal(
      'ScramCache { serverEntries: 3, clientEntries: 2, server: 0, client: 1, secrets: "[redacted]" }',
    );
  });
});

// The aliases are what these specs check.

describe('the scram option groups and their deprecated flat aliases', () => {
  const lookup = storeOf(alice);
  const count = (options: ServerOptions): string =>
    /i=([0-9]+)/.exec(login({ lookup, ...options }).serverFirst)?.[1] ?? '';

  it('scram.iterations, else scramIterations, else the hash default', () => {
    expect(count({ scram: { iterations: 5000 } })).to.equal('5000');
    expect(count({ scramIterations: 6000 })).to.equal('6000');
    expect(count({ scram: { iterations: 5000 }, scramIterations: 6000 }), 'the group wins').to.equal('5000');
    expect(count({})).to.equal('4096');
  });

  it('scram.nonceForTesting and scram.sendErrors, and their flat aliases', () => {
    expect(login({ lookup, scram: { nonceForTesting: 'fixed' } }).serverFirst).to.match(/^r=[^,]+fixed,/);
    expect(login({ lookup, scramNonceForTesting: 'flat' }).serverFirst).to.match(/^r=[^,]+flat,/);
    for (const options of [{ scram: { sendErrors: true } }, { scramSendErrors: true }]) {
      const trace = login({ lookup, ...options }, 'alice', 'wrong-pass');
      expect(trace.error?.code).to.equal('AUTHENTICATION_FAILED');
      expect(trace.steps.filter((step) => step === '|')).to.have.length(2);
    }
    expect(login({ lookup }, 'alice', 'wrong-pass').steps.filter((step) => step === '|')).to.have.length(1);
  });

  it('client: scram.maxIterations, else scramMaxIterations', () => {
    const options: ServerOptions = { lookup, scram: { iterations: 5000 } };
    expect(
      login(options, 'alice', 'alice-pass', { scram: { cache: false, maxIterations: 4999 } }).error?.code,
    ).to.equal('LIMIT_EXCEEDED');
    expect(login(options, 'alice', 'alice-pass', { scramCache: false, scramMaxIterations: 4999 }).error?.code).to.equal(
      'LIMIT_EXCEEDED',
    );
    expect(
      login(options, 'alice', 'alice-pass', { scram: { cache: false, maxIterations: 5000 }, scramMaxIterations: 4999 })
        .error,
    ).to.equal(undefined);
  });
});
