import { expect } from 'chai';
import { StoreCache } from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';

/** A clock the spec moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('stores/cache: StoreCache', () => {
  it('keeps at most maxEntries, least recently used out first', () => {
    const cache = new StoreCache<string>({ maxEntries: 2 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.peek('a')).to.deep.equal({ value: 'A' }); // a is now the most recent
    cache.set('c', 'C');
    expect(cache.size).to.equal(2);
    expect(cache.peek('b')).to.equal(undefined);
    expect(cache.peek('a')).to.deep.equal({ value: 'A' });
    expect(cache.peek('c')).to.deep.equal({ value: 'C' });
    expect(cache.stats().evictions).to.equal(1);
  });

  it('drops an entry when its time is up (injected clock), counted from the load, not from the last hit', () => {
    const { now, advance } = clock();
    const cache = new StoreCache<string>({ ttlMs: 100, now });
    cache.set('a', 'A');
    advance(60);
    expect(cache.peek('a')).to.deep.equal({ value: 'A' });
    advance(39);
    expect(cache.peek('a')).to.deep.equal({ value: 'A' });
    advance(1);
    expect(cache.peek('a')).to.equal(undefined);
    expect(cache.stats()).to.include({ hits: 2, expired: 1, size: 0 });
  });

  it('caches "not found" in the same map, with the same time limit and eviction as a found name', async () => {
    const { now, advance } = clock();
    const cache = new StoreCache<string>({ maxEntries: 2, ttlMs: 100, now });
    const loads: string[] = [];
    const loader = (key: string): Promise<string | undefined> => {
      loads.push(key);
      return Promise.resolve(key === 'known' ? 'K' : undefined);
    };
    expect(await cache.load('known', loader)).to.equal('K');
    expect(await cache.load('unknown', loader)).to.equal(undefined);
    // Both answered from the cache now: the same work for either.
    expect(cache.load('known', loader)).to.equal('K');
    expect(cache.load('unknown', loader)).to.equal(undefined);
    expect(loads).to.deep.equal(['known', 'unknown']);
    // Both expire together.
    advance(100);
    await cache.load('known', loader);
    await cache.load('unknown', loader);
    expect(loads).to.deep.equal(['known', 'unknown', 'known', 'unknown']);
    // A flood of other names evicts both alike, in LRU order: no sign of which one exists.
    await cache.load('x1', loader);
    await cache.load('x2', loader);
    expect(cache.peek('known')).to.equal(undefined);
    expect(cache.peek('unknown')).to.equal(undefined);
    expect(cache.stats()).to.include({ hits: 2, misses: 6, evictions: 2 });
  });

  it('runs one load for concurrent lookups of a name, and answers hits synchronously', async () => {
    const cache = new StoreCache<string>();
    let calls = 0;
    let release: (value: string) => void = () => undefined;
    const loader = (): Promise<string> => {
      calls += 1;
      return new Promise((resolve) => {
        release = resolve;
      });
    };
    const waiting = [cache.load('a', loader), cache.load('a', loader), cache.load('a', loader)];
    release('A');
    expect(await Promise.all(waiting.map((w) => Promise.resolve(w)))).to.deep.equal(['A', 'A', 'A']);
    expect(calls).to.equal(1);
    expect(cache.stats()).to.include({ misses: 1, joined: 2 });
    expect(cache.load('a', loader)).to.equal('A');
  });

  it('does not cache a failed load, and passes its error to every waiting caller', async () => {
    const cache = new StoreCache<string>();
    let calls = 0;
    const failing = (): Promise<string> => {
      calls += 1;
      return Promise.reject(new Error('database down'));
    };
    const results = await Promise.allSettled([cache.load('a', failing), cache.load('a', failing)]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect(calls).to.equal(1);
    expect(cache.size).to.equal(0);
    expect(await cache.load('a', () => Promise.resolve('A'))).to.equal('A');
    expect(() =>
      cache.load('b', () => {
        throw new Error('sync failure');
      }),
    ).to.throw('sync failure');
    expect(cache.size).to.equal(1);
  });

  it('does not keep the result of a load that was running when the name was deleted or the cache cleared', async () => {
    const cache = new StoreCache<string>();
    let release: (value: string) => void = () => undefined;
    const pending = cache.load(
      'a',
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    );
    cache.delete('a');
    release('old');
    expect(await pending).to.equal('old');
    expect(cache.peek('a')).to.equal(undefined);
    const again = cache.load(
      'b',
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    );
    cache.clear();
    release('old');
    await again;
    expect(cache.size).to.equal(0);
  });

  it('caches nothing with maxEntries 0, and never keeps names longer than maxKeyLength', async () => {
    const none = new StoreCache<string>({ maxEntries: 0 });
    await none.load('a', () => Promise.resolve('A'));
    expect(none.size).to.equal(0);
    const short = new StoreCache<string>({ maxKeyLength: 4 });
    short.set('abcde', 'X');
    short.set('abcd', 'Y');
    expect(short.size).to.equal(1);
    expect(short.peek('abcd')).to.deep.equal({ value: 'Y' });
  });

  it('resets its counters on request, keeping the entries', () => {
    const cache = new StoreCache<string>();
    cache.set('a', 'A');
    cache.peek('a');
    cache.resetStats();
    expect(cache.stats()).to.deep.equal({ hits: 0, misses: 0, joined: 0, evictions: 0, expired: 0, size: 1 });
  });

  it('refuses bad bounds with a USAGE error', () => {
    expectSaslError(() => new StoreCache({ maxEntries: -1 }), 'USAGE');
    expectSaslError(() => new StoreCache({ maxEntries: 1.5 }), 'USAGE');
    expectSaslError(() => new StoreCache({ ttlMs: Number.NaN }), 'USAGE');
    expectSaslError(() => new StoreCache({ ttlMs: -1 }), 'USAGE');
    expectSaslError(() => new StoreCache({ maxKeyLength: -2 }), 'USAGE');
    expectSaslError(() => new StoreCache({ now: 5 as unknown as () => number }), 'USAGE');
  });
});
