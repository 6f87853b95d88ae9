/**
 * The LDAP store against CI's OpenLDAP slapd: a search as the rootdn reads dave's RFC 5803
 * `authPassword` (SCRAM-SHA-256 and SCRAM-SHA-1 secrets slapd's start script made) and alice's
 * and bob's clear `userPassword`; SCRAM-SHA-256 and PLAIN log in through saslkit's server
 * exchanges with the store; a simple bind as the user's DN is the `verifyPassword` backend;
 * wrong passwords fail; an unknown user costs the same searches, binds and PBKDF2 runs.
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  PLAIN,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  ScramIdentity,
  type ServerOptions,
} from '../../lib/index.js';
import { type LdapStore, ldapStore } from '../../lib/stores/ldap.js';
import { expectSaslRejection, loginWith } from '../support/helpers.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { ACCOUNTS, HOST, LDAP_BASE, PORTS, TLS_FILES, requirePeer } from './peers.js';
import { readFileSync } from 'node:fs';

const READER = { bindDN: `cn=admin,${LDAP_BASE}`, bindPassword: ACCOUNTS.admin.pass };

describe('interop: the LDAP store (saslkit/stores/ldap)', function () {
  this.timeout(30_000);
  const stores: LdapStore[] = [];
  const kdf = new KdfCounter();
  const open = (extra: Partial<Parameters<typeof ldapStore>[0]> = {}): LdapStore => {
    // ldap:// on loopback: the passwords may cross it in clear (plaintextBinds); one suite runs over StartTLS.
    const store = ldapStore({
      url: `ldap://${HOST}:${PORTS.ldap}`,
      base: `ou=people,${LDAP_BASE}`,
      plaintextBinds: true,
      ...READER,
      ...extra,
    });
    stores.push(store);
    return store;
  };

  before(async function () {
    await requirePeer(this, 'slapd');
    kdf.install();
  });

  after(() => {
    kdf.uninstall();
    for (const store of stores) store.close();
  });

  it("reads dave's authPassword as SCRAM secrets and alice's userPassword as clear text", async () => {
    const store = open();
    const dave = await store.lookup(ACCOUNTS.dave.user, { mechanism: 'SCRAM-SHA-256' });
    expect(dave).to.be.instanceOf(ScramIdentity);
    expect((dave as ScramIdentity).hashes.sort()).to.deep.equal(['SHA-1', 'SHA-256']);
    const alice = await store.lookup(ACCOUNTS.alice.user, { mechanism: 'PLAIN' });
    expect(alice).to.be.instanceOf(ClearIdentity);
    expect(await store.lookup('mallory', { mechanism: 'PLAIN' })).to.equal(undefined);
    expect(store.stats().searches).to.equal(3);
  });

  it('logs dave in with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN from his authPassword, and refuses a wrong password', async () => {
    const store = open();
    const options: ServerOptions = {
      lookup: store.lookup,
      scram: { saltSecret: 'interop-salt-secret-of-32-bytes-at-least' },
    };
    const scram = await loginWith(SCRAM_SHA_256, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass);
    expect(scram.server.authcid).to.equal('dave');
    expect(scram.client.serverVerified).to.equal(true);
    expect((await loginWith(SCRAM_SHA_1, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass)).server.authcid).to.equal(
      'dave',
    );
    expect((await loginWith(PLAIN, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass)).server.authcid).to.equal('dave');
    await expectSaslRejection(
      loginWith(SCRAM_SHA_256, options, ACCOUNTS.dave.user, 'not-daves'),
      'AUTHENTICATION_FAILED',
    );
    await expectSaslRejection(loginWith(PLAIN, options, ACCOUNTS.dave.user, 'not-daves'), 'AUTHENTICATION_FAILED');
    // One search for dave, the rest from the cache.
    expect(store.stats().searches).to.equal(1);
  });

  it('logs alice and bob in with SCRAM-SHA-256 and PLAIN from their clear userPassword, over StartTLS too', async () => {
    const store = open({
      startTls: true,
      tls: { ca: readFileSync(TLS_FILES.ldapCa), servername: 'localhost' },
      plaintextBinds: false,
    });
    const options: ServerOptions = {
      lookup: store.lookup,
      scram: { saltSecret: 'interop-salt-secret-of-32-bytes-at-least' },
    };
    expect((await loginWith(SCRAM_SHA_256, options, ACCOUNTS.alice.user, ACCOUNTS.alice.pass)).server.authcid).to.equal(
      'alice',
    );
    expect((await loginWith(PLAIN, options, ACCOUNTS.bob.user, ACCOUNTS.bob.pass)).server.authcid).to.equal('bob');
    await expectSaslRejection(loginWith(PLAIN, options, ACCOUNTS.bob.user, 'not-bobs'), 'AUTHENTICATION_FAILED');
  });

  it('checks PLAIN passwords with a simple bind as the user (verifyPassword): right, wrong, unknown', async () => {
    const store = open();
    const options: ServerOptions = { verifyPassword: store.verifyPassword };
    expect((await loginWith(PLAIN, options, ACCOUNTS.alice.user, ACCOUNTS.alice.pass)).server.authcid).to.equal(
      'alice',
    );
    // slapd's simple bind checks userPassword only: dave, who has only authPassword, cannot bind.
    await expectSaslRejection(
      loginWith(PLAIN, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass),
      'AUTHENTICATION_FAILED',
    );
    const counted = async (user: string): Promise<{ searches: number; binds: number }> => {
      store.invalidate();
      const before = store.stats();
      await expectSaslRejection(loginWith(PLAIN, options, user, 'not-the-password'), 'AUTHENTICATION_FAILED');
      const after = store.stats();
      return { searches: after.searches - before.searches, binds: after.binds - before.binds };
    };
    // The same steps: one search for the DN, one bind (an unknown user binds as a DN that does not exist).
    const wrong = await counted(ACCOUNTS.alice.user);
    expect(wrong).to.deep.equal({ searches: 1, binds: 1 });
    expect(await counted('mallory')).to.deep.equal(wrong);
  });

  it("an unknown user costs what a wrong password costs with the directory's SCRAM secrets: one search, one PBKDF2 of the same count", async () => {
    const store = open();
    const options: ServerOptions = { lookup: store.lookup };
    expect((await loginWith(PLAIN, options, ACCOUNTS.dave.user, ACCOUNTS.dave.pass)).server.authcid).to.equal('dave');
    const counted = async (user: string): Promise<{ searches: number; runs: string[] }> => {
      store.invalidate();
      const before = store.stats().searches;
      kdf.runs.length = 0;
      kdf.active = true;
      try {
        await expectSaslRejection(loginWith(PLAIN, options, user, 'wrong-password'), 'AUTHENTICATION_FAILED');
        return { searches: store.stats().searches - before, runs: [...kdf.runs] };
      } finally {
        kdf.active = false;
      }
    };
    const wrong = await counted(ACCOUNTS.dave.user);
    const unknown = await counted('mallory');
    expect(wrong).to.deep.equal({ searches: 1, runs: ['pbkdf2:4096:sha256'] });
    expect(unknown).to.deep.equal(wrong);
  });

  it('sends names with filter characters as values, not filter text, and takes only the stored spelling of a name', async () => {
    const store = open();
    for (const name of ['*', 'alice)(uid=*', 'a*', '(uid=alice)', 'alice\\2a']) {
      expect(await store.lookup(name, { mechanism: 'PLAIN' })).to.equal(undefined);
    }
    // slapd finds uid=alice for ALICE (uid matches without case); the store takes only the stored spelling.
    expect(await store.lookup('ALICE', { mechanism: 'PLAIN' })).to.equal(undefined);
    expect(await store.verifyPassword('ALICE', ACCOUNTS.alice.pass, { mechanism: 'PLAIN' })).to.equal(false);
    expect(store.stats().searches).to.equal(6);
  });

  it('fails with a typed error when the reader account cannot bind', async () => {
    const store = open({ bindPassword: 'not-the-admin-password' });
    const error = await expectSaslRejection(
      Promise.resolve(store.lookup(ACCOUNTS.alice.user, { mechanism: 'PLAIN' })),
      'USAGE',
    );
    expect(error.message).to.include('result code 49').and.not.include('not-the-admin-password');
  });
});
