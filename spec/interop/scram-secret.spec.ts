/**
 * SCRAM stored secrets made by real servers, checked with saslkit: Dovecot's `doveadm pw`
 * output and PostgreSQL's `pg_authid.rolpassword` parse, verify the right password only, format
 * back to the same text, and serve a full saslkit SCRAM exchange. The other way round, a secret
 * saslkit makes logs a role in to PostgreSQL.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { Client } from 'pg';
import { ClientCredentials } from '../../lib/index.js';
import { SCRAM_SHA_1, SCRAM_SHA_256 } from '../../lib/mechanisms/scram.js';
import { ScramIdentity, ScramSecret } from '../../lib/passwords/scram-secret.js';
import { type ScramHash } from '../../lib/passwords/scram-keys.js';
import { runPair, storeOf } from '../support/helpers.js';
import { ACCOUNTS, HOST, PORTS, requirePeer } from './peers.js';

/** Resolves with a command's stdout; rejects with its stderr when it fails. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Runs saslkit's SCRAM client (with the password) against saslkit's SCRAM server (with the stored secret). */
function exchange(hash: ScramHash, user: string, password: string, secret: ScramSecret): void {
  const mechanism = hash === 'SHA-1' ? SCRAM_SHA_1 : SCRAM_SHA_256;
  const lookup = storeOf(new ScramIdentity(user, secret));
  const result = runPair(mechanism.client(new ClientCredentials(user, password)), (initial) =>
    mechanism.server({ lookup }, initial),
  );
  expect(result.server.authcid).to.equal(user);
  expect(result.client.serverVerified).to.equal(true);
}

describe('interop: SCRAM stored secrets', function () {
  describe('from Dovecot (doveadm pw)', function () {
    before(async function () {
      await requirePeer(this, 'dovecot');
    });

    for (const [hash, scheme] of [
      ['SHA-256', 'SCRAM-SHA-256'],
      ['SHA-1', 'SCRAM-SHA-1'],
    ] as const) {
      it(`parses and verifies {${scheme}}, and serves a saslkit ${scheme} exchange with it`, async () => {
        const text = await run('doveadm', ['pw', '-s', scheme, '-p', ACCOUNTS.bob.pass]);
        expect(text.startsWith(`{${scheme}}`)).to.equal(true);
        const secret = ScramSecret.parse(text);
        expect(secret.hash).to.equal(hash);
        expect(secret.iterations).to.equal(4096);
        expect(secret.format('dovecot')).to.equal(text);
        expect(secret.verifyNormalized(ACCOUNTS.bob.pass)).to.equal(true);
        expect(secret.verifyNormalized(ACCOUNTS.alice.pass)).to.equal(false);
        exchange(hash, ACCOUNTS.bob.user, ACCOUNTS.bob.pass, secret);
      });
    }
  });

  describe('from and to PostgreSQL (pg_authid)', function () {
    const role = 'saslkit_made';
    let admin: Client | undefined;

    before(async function () {
      await requirePeer(this, 'postgres');
      admin = new Client({
        host: HOST,
        port: PORTS.postgres,
        user: ACCOUNTS.postgresSuperuser.user,
        password: ACCOUNTS.postgresSuperuser.pass,
        database: 'postgres',
        connectionTimeoutMillis: 10_000,
      });
      await admin.connect();
    });

    after(async () => {
      if (admin === undefined) return;
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });

    it("parses and verifies bob's rolpassword, and serves a saslkit SCRAM-SHA-256 exchange with it", async () => {
      const rows = await admin!.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
        ACCOUNTS.bob.user,
      ]);
      const text = rows.rows[0]!.rolpassword;
      expect(text.startsWith('SCRAM-SHA-256$4096:')).to.equal(true);
      const secret = ScramSecret.parse(text);
      expect(secret.format('postgresql')).to.equal(text);
      expect(secret.verifyNormalized(ACCOUNTS.bob.pass)).to.equal(true);
      expect(secret.verifyNormalized('bob-pass-wrong')).to.equal(false);
      exchange('SHA-256', ACCOUNTS.bob.user, ACCOUNTS.bob.pass, secret);
    });

    it('stores a secret saslkit made, and psql logs in with the password over SCRAM', async () => {
      const password = 'made-by-saslkit';
      const text = ScramSecret.fromPassword('SHA-256', password).format('postgresql');
      // PostgreSQL stores an already-hashed SCRAM secret verbatim; a literal, as DDL takes no parameters.
      await admin!.query(`DROP ROLE IF EXISTS ${role}`);
      await admin!.query(`CREATE ROLE ${role} LOGIN PASSWORD '${text}'`);
      const stored = await admin!.query<{ rolpassword: string }>(
        'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
        [role],
      );
      expect(stored.rows[0]!.rolpassword).to.equal(text);
      const conninfo = `host=${HOST} port=${PORTS.postgres} user=${role} dbname=postgres sslmode=disable`;
      const who = await run('psql', [conninfo, '-XAtc', 'select current_user'], {
        ...process.env,
        PGPASSWORD: password,
        PGCONNECT_TIMEOUT: '10',
      });
      expect(who).to.equal(role);
    });
  });
});
