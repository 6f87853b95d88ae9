/**
 * The PostgreSQL store against a fake pool: the query text and the quoting of identifiers, the
 * identities made from rows, one query per lookup (and per name, with the cache), malformed
 * stored values as typed errors that name no secret, and logins through saslkit's mechanisms.
 * The real database is in spec/interop/store-postgres.spec.ts.
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  HashedIdentity,
  PLAIN,
  Pbkdf2Hasher,
  SCRAM_SHA_256,
  ScramIdentity,
  ScramSecret,
  type ServerOptions,
  StoreCache,
} from '../../lib/index.js';
import {
  type PgQuery,
  type PgQueryResult,
  type PgQueryable,
  ShaPasswordHasher,
  postgresStore,
  postgresStoreQuery,
  quoteIdentifier,
} from '../../lib/stores/postgres.js';
import { expectNoSecrets, expectSaslError, expectSaslRejection, runPairAsync } from '../support/helpers.js';
import { KdfCounter } from '../support/kdf-counter.js';

/** A pool over rows keyed by user name; records every query it is sent. */
class FakePool {
  readonly queries: PgQuery[] = [];
  constructor(readonly rows: Map<string, Record<string, unknown>[]>) {}
  query(query: PgQuery): Promise<PgQueryResult> {
    this.queries.push(query);
    return new Promise((resolve) =>
      setImmediate(() => {
        resolve({
          rows: (this.rows.get(query.values[0] as string) ?? []).map((row) => ({ u: query.values[0], ...row })),
        });
      }),
    );
  }
}

const ALICE_SCRAM = ScramSecret.fromPassword('SHA-256', 'alice-pass', { iterations: 4096 });
const BOB_HASH = new Pbkdf2Hasher({ rounds: 1000 }).hash('bob-pass');

function fakeRows(): Map<string, Record<string, unknown>[]> {
  return new Map<string, Record<string, unknown>[]>([
    ['alice', [{ s0: ALICE_SCRAM.format(), s1: null }]],
    ['bob', [{ s0: null, s1: BOB_HASH }]],
    ['carol', [{ s0: null, s1: '{PLAIN}carol-pass' }]],
    ['nopass', [{ s0: null, s1: null }]],
  ]);
}

describe('stores/postgres: postgresStore', () => {
  describe('the query', () => {
    it('selects the secret columns, aliased, from the quoted table where the quoted user column is $1', () => {
      expect(postgresStoreQuery({ table: 'accounts', userColumn: 'name', secretColumns: ['scram', 'hash'] })).to.equal(
        'SELECT "name" AS "u", "scram" AS "s0", "hash" AS "s1" FROM "accounts" WHERE "name" = $1 LIMIT 2',
      );
      expect(
        postgresStoreQuery({
          table: ['pg_catalog', 'pg_authid'],
          userColumn: 'rolname',
          secretColumns: ['rolpassword'],
        }),
      ).to.equal(
        'SELECT "rolname" AS "u", "rolpassword" AS "s0" FROM "pg_catalog"."pg_authid" WHERE "rolname" = $1 LIMIT 2',
      );
    });

    it('quotes identifiers safely: doubled quotes, case kept, no injection through a name', () => {
      expect(quoteIdentifier('Users')).to.equal('"Users"');
      expect(quoteIdentifier('a"b')).to.equal('"a""b"');
      expect(quoteIdentifier('x"; DROP TABLE users; --')).to.equal('"x""; DROP TABLE users; --"');
      expect(quoteIdentifier('a.b')).to.equal('"a.b"');
      expect(postgresStoreQuery({ table: 't" WHERE true; --', userColumn: 'u', secretColumns: ['s'] })).to.equal(
        'SELECT "u" AS "u", "s" AS "s0" FROM "t"" WHERE true; --" WHERE "u" = $1 LIMIT 2',
      );
    });

    const badIdentifiers: [string, unknown][] = [
      ['empty', ''],
      ['NUL', 'a\u0000b'],
      ['a lone surrogate', 'a\uD800'],
      ['64 bytes (PostgreSQL would truncate it)', 'x'.repeat(64)],
      ['not a string', 42],
    ];
    for (const [what, name] of badIdentifiers) {
      it(`refuses an identifier that is ${what} with a USAGE error`, () => {
        expectSaslError(() => quoteIdentifier(name as string), 'USAGE');
      });
    }

    it('refuses a missing pool, no secret columns, or a table path that is not [schema, name]', () => {
      const pool = new FakePool(new Map());
      expectSaslError(
        () => postgresStore({ pool: {} as unknown as PgQueryable, table: 't', userColumn: 'u', secretColumns: ['s'] }),
        'USAGE',
      );
      expectSaslError(() => postgresStore({ pool, table: 't', userColumn: 'u', secretColumns: [] }), 'USAGE');
      expectSaslError(
        () =>
          postgresStore({
            pool,
            table: ['a', 'b', 'c'] as unknown as [string, string],
            userColumn: 'u',
            secretColumns: ['s'],
          }),
        'USAGE',
      );
    });

    it('sends the name as a query parameter, never inside the SQL text', async () => {
      const pool = new FakePool(new Map());
      const store = postgresStore({ pool, table: 'accounts', userColumn: 'name', secretColumns: ['scram'] });
      const name = "x' OR '1'='1";
      expect(await store.lookup(name, { mechanism: 'PLAIN' })).to.equal(undefined);
      expect(pool.queries).to.deep.equal([{ text: store.query, values: [name] }]);
      expect(store.query).to.not.include(name);
    });
  });

  describe('identities from rows', () => {
    const store = (): ReturnType<typeof postgresStore> =>
      postgresStore({
        pool: new FakePool(fakeRows()),
        table: 'accounts',
        userColumn: 'name',
        secretColumns: ['scram', 'hash'],
        cache: false,
      });

    it('makes a ScramIdentity from a SCRAM secret, a HashedIdentity from a hash, a ClearIdentity from {PLAIN}', async () => {
      const s = store();
      const alice = await s.lookup('alice', { mechanism: 'PLAIN' });
      expect(alice).to.be.instanceOf(ScramIdentity);
      expect((alice as ScramIdentity).getScramSecret('SHA-256')?.format()).to.equal(ALICE_SCRAM.format());
      expect(await s.lookup('bob', { mechanism: 'PLAIN' })).to.be.instanceOf(HashedIdentity);
      const carol = await s.lookup('carol', { mechanism: 'PLAIN' });
      expect(carol).to.be.instanceOf(ClearIdentity);
      expect(carol?.getClearSecret()).to.equal('carol-pass');
    });

    it('answers undefined for no row and for a row whose secret columns are all NULL', async () => {
      const s = store();
      expect(await s.lookup('mallory', { mechanism: 'PLAIN' })).to.equal(undefined);
      expect(await s.lookup('nopass', { mechanism: 'PLAIN' })).to.equal(undefined);
    });

    it('answers undefined for a row whose user column holds another spelling (a case-insensitive column matched)', async () => {
      const rows = new Map<string, Record<string, unknown>[]>([['ALICE', [{ u: 'alice', s0: '{PLAIN}alice-pass' }]]]);
      const s = postgresStore({ pool: new FakePool(rows), table: 't', userColumn: 'u', secretColumns: ['pw'] });
      expect(await s.lookup('ALICE', { mechanism: 'PLAIN' })).to.equal(undefined);
      expect(s.queries).to.equal(1);
    });

    it('reads several SCRAM secrets from a text[] column, and {SSHA} and custom hashes', async () => {
      const sha512 = ScramSecret.fromPassword('SHA-512', 'dan-pass', { iterations: 10000 });
      const sha256 = ScramSecret.fromPassword('SHA-256', 'dan-pass', { iterations: 4096 });
      const custom = {
        identify: (h: string) => h.startsWith('$custom$'),
        verify: (secret: string, h: string) => h === `$custom$${secret}`,
        hash: (secret: string) => `$custom$${secret}`,
      };
      const rows = new Map<string, Record<string, unknown>[]>([
        ['dan', [{ s0: [sha512.format(), sha256.format('dovecot')] }]],
        ['erin', [{ s0: new ShaPasswordHasher().hash('erin-pass') }]],
        ['fay', [{ s0: '$custom$fay-pass' }]],
      ]);
      const s = postgresStore({
        pool: new FakePool(rows),
        table: 't',
        userColumn: 'u',
        secretColumns: ['secrets'],
        hashers: [custom],
      });
      const dan = (await s.lookup('dan', { mechanism: 'PLAIN' })) as ScramIdentity;
      expect(dan.hashes.sort()).to.deep.equal(['SHA-256', 'SHA-512']);
      expect(dan.compareSecret('dan-pass')).to.equal(true);
      const erin = await s.lookup('erin', { mechanism: 'PLAIN' });
      expect(erin?.compareSecret('erin-pass')).to.equal(true);
      expect(erin?.compareSecret('wrong')).to.equal(false);
      expect((await s.lookup('fay', { mechanism: 'PLAIN' }))?.compareSecret('fay-pass')).to.equal(true);
    });

    const secret = 'hunter2-very-secret';
    const malformed: [string, unknown, string][] = [
      ['a SCRAM secret with a bad key', `SCRAM-SHA-256$4096:c2FsdA==$${secret}:${secret}`, 'USAGE'],
      ['a Dovecot SCRAM secret with too few fields', `{SCRAM-SHA-256}4096,${secret}`, 'USAGE'],
      ['an unknown scheme', `{CRYPT}${secret}`, 'USAGE'],
      ['an unrecognised $-hash', `$2b$12$${secret}`, 'USAGE'],
      ['clear text without a scheme (clearText is off)', secret, 'USAGE'],
      ['an empty {PLAIN}', '{PLAIN}', 'USAGE'],
      ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x41]), 'USAGE'],
      ['a number', 12345, 'USAGE'],
      ['an oversized value', `{PLAIN}${secret}${'x'.repeat(5000)}`, 'LIMIT_EXCEEDED'],
      ['too many values', Array.from({ length: 17 }, () => ALICE_SCRAM.format('dovecot')), 'LIMIT_EXCEEDED'],
      [
        'two secrets for one SCRAM hash',
        [ALICE_SCRAM.format(), ScramSecret.fromPassword('SHA-256', secret, { iterations: 4096 }).format()],
        'USAGE',
      ],
    ];
    for (const [what, value, code] of malformed) {
      it(`refuses ${what} with ${code}, naming the account and column but not the value`, async () => {
        const s = postgresStore({
          pool: new FakePool(new Map([['mallory', [{ s0: value }]]])),
          table: 't',
          userColumn: 'u',
          secretColumns: ['pw'],
        });
        const error = await expectSaslRejection(
          Promise.resolve(s.lookup('mallory', { mechanism: 'PLAIN' })),
          code as 'USAGE',
        );
        expect(error.message).to.include('"mallory"');
        expectNoSecrets(error, [secret, 'c2FsdA']);
        // Not cached: the next lookup asks again.
        await expectSaslRejection(Promise.resolve(s.lookup('mallory', { mechanism: 'PLAIN' })), code as 'USAGE');
        expect(s.queries).to.equal(2);
      });
    }

    it('refuses two rows for one name (the user column must be unique)', async () => {
      const s = postgresStore({
        pool: new FakePool(new Map([['twin', [{ s0: '{PLAIN}a' }, { s0: '{PLAIN}b' }]]])),
        table: 't',
        userColumn: 'u',
        secretColumns: ['pw'],
      });
      const error = await expectSaslRejection(Promise.resolve(s.lookup('twin', { mechanism: 'PLAIN' })), 'USAGE');
      expect(error.message).to.include('more than one row');
    });

    it('passes a database error on unchanged and does not cache it', async () => {
      let calls = 0;
      const pool = {
        query: () => {
          calls += 1;
          return Promise.reject(new Error('connection refused'));
        },
      };
      const s = postgresStore({ pool, table: 't', userColumn: 'u', secretColumns: ['pw'] });
      for (let i = 0; i < 2; i++) {
        try {
          await s.lookup('alice', { mechanism: 'PLAIN' });
          expect.fail('the lookup resolved');
        } catch (error) {
          expect((error as Error).message).to.equal('connection refused');
        }
      }
      expect(calls).to.equal(2);
    });
  });

  describe('queries and the cache', () => {
    it('runs one query per name within the time limit, found or not, and one for concurrent lookups', async () => {
      let t = 0;
      const pool = new FakePool(fakeRows());
      const s = postgresStore({
        pool,
        table: 't',
        userColumn: 'u',
        secretColumns: ['scram', 'hash'],
        cache: { ttlMs: 1000, now: () => t },
      });
      await Promise.all([
        s.lookup('alice', { mechanism: 'PLAIN' }),
        s.lookup('alice', { mechanism: 'PLAIN' }),
        s.lookup('mallory', { mechanism: 'PLAIN' }),
        s.lookup('mallory', { mechanism: 'PLAIN' }),
      ]);
      expect(s.queries).to.equal(2);
      await s.lookup('alice', { mechanism: 'PLAIN' });
      await s.lookup('mallory', { mechanism: 'PLAIN' });
      expect(s.queries).to.equal(2);
      expect(s.stats()).to.deep.include({ queries: 2, lookups: 6 });
      expect(s.stats().cache).to.include({ hits: 2, misses: 2, joined: 2 });
      t = 1000;
      await s.lookup('alice', { mechanism: 'PLAIN' });
      await s.lookup('mallory', { mechanism: 'PLAIN' });
      expect(s.queries).to.equal(4);
      s.invalidate('alice');
      await s.lookup('alice', { mechanism: 'PLAIN' });
      expect(s.queries).to.equal(5);
      s.invalidate();
      await s.lookup('mallory', { mechanism: 'PLAIN' });
      expect(s.queries).to.equal(6);
    });

    it('queries every time with cache: false, and takes a StoreCache of your own', async () => {
      const none = postgresStore({
        pool: new FakePool(fakeRows()),
        table: 't',
        userColumn: 'u',
        secretColumns: ['a', 'b'],
        cache: false,
      });
      await none.lookup('alice', { mechanism: 'PLAIN' });
      await none.lookup('alice', { mechanism: 'PLAIN' });
      expect(none.queries).to.equal(2);
      expect(none.stats().cache.hits).to.equal(0);
      const cache = new StoreCache<ClearIdentity>({ maxEntries: 5 });
      const own = postgresStore({
        pool: new FakePool(fakeRows()),
        table: 't',
        userColumn: 'u',
        secretColumns: ['a', 'b'],
        cache,
      });
      await own.lookup('carol', { mechanism: 'PLAIN' });
      expect(cache.size).to.equal(1);
    });
  });

  describe('logins through saslkit', () => {
    const kdf = new KdfCounter();
    before(() => {
      kdf.install();
    });
    after(() => {
      kdf.uninstall();
    });

    it('SCRAM-SHA-256 and PLAIN log in from the stored secret; wrong passwords and unknown users fail alike', async () => {
      const pool = new FakePool(fakeRows());
      const s = postgresStore({ pool, table: 't', userColumn: 'u', secretColumns: ['scram', 'hash'] });
      const options: ServerOptions = {
        lookup: s.lookup,
        scram: { saltSecret: 'spec-salt-secret-of-at-least-32-bytes' },
      };
      const scram = await runPairAsync(
        SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass'), { scram: { cache: false } }),
        (initial) => SCRAM_SHA_256.server(options, initial),
      );
      expect(scram.server.authcid).to.equal('alice');
      const plain = await runPairAsync(PLAIN.client(new ClientCredentials('bob', 'bob-pass')), (initial) =>
        PLAIN.server(options, initial),
      );
      expect(plain.server.authcid).to.equal('bob');

      // PLAIN: a wrong password for alice (SCRAM secret, 4096 iterations) and an unknown user cost
      // the same: one query each, and one PBKDF2 of 4096 iterations against alice's kind of secret.
      await Promise.resolve(s.lookup('alice', { mechanism: 'PLAIN' })); // alice's kind is now the decoy's
      const before = s.queries;
      kdf.runs.length = 0;
      kdf.active = true;
      await expectSaslRejection(
        runPairAsync(PLAIN.client(new ClientCredentials('alice', 'wrong')), (initial) =>
          PLAIN.server(options, initial),
        ),
        'AUTHENTICATION_FAILED',
      );
      const wrongRuns = kdf.runs.splice(0);
      await expectSaslRejection(
        runPairAsync(PLAIN.client(new ClientCredentials('mallory', 'wrong')), (initial) =>
          PLAIN.server(options, initial),
        ),
        'AUTHENTICATION_FAILED',
      );
      const unknownRuns = kdf.runs.splice(0);
      kdf.active = false;
      expect(wrongRuns).to.deep.equal(['pbkdf2:4096:sha256']);
      expect(unknownRuns).to.deep.equal(wrongRuns);
      // alice was cached; mallory took one query (and is cached now, as alice is).
      expect(s.queries - before).to.equal(1);
      await expectSaslRejection(
        runPairAsync(PLAIN.client(new ClientCredentials('mallory', 'wrong')), (initial) =>
          PLAIN.server(options, initial),
        ),
        'AUTHENTICATION_FAILED',
      );
      expect(s.queries - before).to.equal(1);
    });
  });
});
