/**
 * The PostgreSQL store against CI's PostgreSQL 15: a table this spec creates (SCRAM secrets made
 * by saslkit, password hashes) and PostgreSQL's own `pg_authid` (SCRAM-SHA-256 secrets made by
 * the server for its roles alice and bob), read through a real `pg.Pool`; SCRAM-SHA-256 and PLAIN
 * logins through saslkit's server exchanges with the store; wrong passwords; unknown users
 * counted as the same work (queries, PBKDF2 runs); hostile names as parameters. The table is
 * dropped afterwards.
 */
import { expect } from 'chai';
import pg from 'pg';
import { PLAIN, Pbkdf2Hasher, SCRAM_SHA_256, ScramIdentity, ScramSecret, type ServerOptions } from '../../lib/index.js';
import { type PostgresStore, postgresStore } from '../../lib/stores/postgres.js';
import { expectSaslRejection, loginWith } from '../support/helpers.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { ACCOUNTS, HOST, PORTS, requirePeer } from './peers.js';

const TABLE = `saslkit_store_spec_${process.pid}`;

describe('interop: the PostgreSQL store (saslkit/stores/postgres)', function () {
  this.timeout(30_000);
  let pool: pg.Pool | undefined;
  const kdf = new KdfCounter();

  before(async function () {
    await requirePeer(this, 'postgres');
    pool = new pg.Pool({
      host: HOST,
      port: PORTS.postgres,
      user: ACCOUNTS.postgresSuperuser.user,
      password: ACCOUNTS.postgresSuperuser.pass,
      database: 'postgres',
      max: 4,
    });
    await pool.query(`CREATE TABLE ${TABLE} (name text PRIMARY KEY, scram text[], hash text)`);
    const carol = ScramSecret.fromPassword('SHA-256', ACCOUNTS.carol.pass, { iterations: 4096 });
    const dave = ScramIdentity.create(ACCOUNTS.dave.user, ACCOUNTS.dave.pass, {
      hashes: ['SHA-256', 'SHA-1'],
      iterations: 4096,
    });
    await pool.query(`INSERT INTO ${TABLE} VALUES ($1, $2, NULL), ($3, $4, NULL), ($5, NULL, $6), ($7, NULL, NULL)`, [
      ACCOUNTS.carol.user,
      [carol.format()],
      ACCOUNTS.dave.user,
      dave.format('dovecot'),
      'erin',
      new Pbkdf2Hasher({ rounds: 4096 }).hash('erin-pass'),
      'nopass',
    ]);
    kdf.install();
  });

  after(async () => {
    kdf.uninstall();
    await pool?.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await pool?.end();
  });

  describe("over PostgreSQL's own pg_authid (secrets the server made)", () => {
    let store: PostgresStore;
    let options: ServerOptions;
    before(() => {
      store = postgresStore({
        pool: pool!,
        table: ['pg_catalog', 'pg_authid'],
        userColumn: 'rolname',
        secretColumns: ['rolpassword'],
      });
      options = { lookup: store.lookup, scram: { saltSecret: 'interop-salt-secret-of-32-bytes-at-least' } };
    });

    it('SCRAM-SHA-256 logs alice in with the secret PostgreSQL stored, and the client verifies the server', async () => {
      const result = await loginWith(SCRAM_SHA_256, options, ACCOUNTS.alice.user, ACCOUNTS.alice.pass);
      expect(result.server.authcid).to.equal('alice');
      expect(result.client.serverVerified).to.equal(true);
    });

    it('PLAIN logs bob in against his pg_authid secret; a wrong password fails', async () => {
      expect((await loginWith(PLAIN, options, ACCOUNTS.bob.user, ACCOUNTS.bob.pass)).server.authcid).to.equal('bob');
      await expectSaslRejection(loginWith(PLAIN, options, ACCOUNTS.bob.user, 'not-bobs'), 'AUTHENTICATION_FAILED');
      await expectSaslRejection(
        loginWith(SCRAM_SHA_256, options, ACCOUNTS.alice.user, 'not-alices'),
        'AUTHENTICATION_FAILED',
      );
    });
  });

  describe('over a table of the spec (saslkit secrets, Dovecot-form secrets in text[], PBKDF2 hashes)', () => {
    let store: PostgresStore;
    let options: ServerOptions;
    beforeEach(() => {
      store = postgresStore({ pool: pool!, table: TABLE, userColumn: 'name', secretColumns: ['scram', 'hash'] });
      options = { lookup: store.lookup, scram: { saltSecret: 'interop-salt-secret-of-32-bytes-at-least' } };
    });

    it('logs in with SCRAM-SHA-256 and PLAIN from SCRAM secrets and with PLAIN from a PBKDF2 hash, one query per account', async () => {
      expect(
        (await loginWith(SCRAM_SHA_256, options, ACCOUNTS.carol.user, ACCOUNTS.carol.pass)).server.authcid,
      ).to.equal('carol');
      expect((await loginWith(SCRAM_SHA_256, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass)).server.authcid).to.equal(
        'dave',
      );
      expect((await loginWith(PLAIN, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass)).server.authcid).to.equal('dave');
      expect((await loginWith(PLAIN, options, 'erin', 'erin-pass')).server.authcid).to.equal('erin');
      expect(store.queries).to.equal(3);
      expect(store.stats().cache.hits).to.equal(1);
    });

    it('an unknown user costs what a wrong password costs: one query, one PBKDF2 of the same count, the same error', async () => {
      // The decoy is learned from the first account the store returns.
      expect((await loginWith(PLAIN, options, ACCOUNTS.carol.user, ACCOUNTS.carol.pass)).server.authcid).to.equal(
        'carol',
      );
      const counted = async (user: string): Promise<{ queries: number; runs: string[]; code: string }> => {
        store.invalidate();
        const before = store.queries;
        kdf.runs.length = 0;
        kdf.active = true;
        try {
          const error = await expectSaslRejection(
            loginWith(PLAIN, options, user, 'wrong-password'),
            'AUTHENTICATION_FAILED',
          );
          return { queries: store.queries - before, runs: [...kdf.runs], code: error.code };
        } finally {
          kdf.active = false;
        }
      };
      const wrong = await counted(ACCOUNTS.carol.user);
      const unknown = await counted('mallory');
      const noSecret = await counted('nopass');
      expect(wrong).to.deep.equal({ queries: 1, runs: ['pbkdf2:4096:sha256'], code: 'AUTHENTICATION_FAILED' });
      expect(unknown).to.deep.equal(wrong);
      expect(noSecret).to.deep.equal(wrong);
    });

    it('sends hostile names as parameters: no row, no SQL error, the table intact', async () => {
      for (const name of ["x' OR '1'='1", `carol'; DROP TABLE ${TABLE}; --`, 'carol"', '\\']) {
        expect(await store.lookup(name, { mechanism: 'PLAIN' })).to.equal(undefined);
      }
      const { rows } = await pool!.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`);
      expect(rows[0]?.n).to.equal('4');
    });

    it('takes only the stored spelling when a case-insensitive collation matches another (ALICE for alice)', async () => {
      const collation = `saslkit_spec_ci_${process.pid}`;
      const table = `${TABLE}_ci`;
      await pool!.query(
        `CREATE COLLATION ${collation} (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`,
      );
      try {
        await pool!.query(`CREATE TABLE ${table} (name text COLLATE ${collation}, secret text)`);
        await pool!.query(`INSERT INTO ${table} VALUES ('carol', '{PLAIN}carol-pass')`);
        const ci = postgresStore({ pool: pool!, table, userColumn: 'name', secretColumns: ['secret'] });
        // The database matches both spellings; the store keeps the account to its stored one.
        const { rows } = await pool!.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE name = 'CAROL'`);
        expect(rows[0]?.n).to.equal('1');
        expect(await ci.lookup('CAROL', { mechanism: 'PLAIN' })).to.equal(undefined);
        expect(await ci.lookup('carol', { mechanism: 'PLAIN' })).to.not.equal(undefined);
        await expectSaslRejection(
          loginWith(PLAIN, { lookup: ci.lookup }, 'CAROL', 'carol-pass'),
          'AUTHENTICATION_FAILED',
        );
      } finally {
        await pool!.query(`DROP TABLE IF EXISTS ${table}`);
        await pool!.query(`DROP COLLATION IF EXISTS ${collation}`);
      }
    });

    it('refuses a malformed stored secret with a USAGE error that does not contain it', async () => {
      const bad = 'SCRAM-SHA-256$4096:c2FsdA==$notakey:notakey';
      await pool!.query(`INSERT INTO ${TABLE} VALUES ($1, $2, NULL)`, ['broken', [bad]]);
      try {
        const error = await expectSaslRejection(
          Promise.resolve(store.lookup('broken', { mechanism: 'PLAIN' })),
          'USAGE',
        );
        expect(error.message).to.include('"broken"').and.not.include('notakey');
      } finally {
        await pool!.query(`DELETE FROM ${TABLE} WHERE name = $1`, ['broken']);
      }
    });
  });
});
