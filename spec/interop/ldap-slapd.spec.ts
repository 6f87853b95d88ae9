/**
 * saslkit's LDAP client (ldapBind over LdapConnection) binding to OpenLDAP slapd 2.5 with Cyrus
 * SASL 2.1.28: the rootDSE's mechanism list, SCRAM-SHA-256 and SCRAM-SHA-512 (the strongest it
 * offers), SCRAM-SHA-256-PLUS over ldaps:// and after StartTLS (tls-server-end-point, sent the
 * way OpenLDAP takes it), DIGEST-MD5, PLAIN, EXTERNAL with alice's client certificate, and wrong
 * passwords refused with typed errors. "Who am I?" confirms each identity.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  ClientCredentials,
  type LdapBindOptions,
  LdapConnection,
  ldapBind,
  ldapSupportedMechanisms,
  ldapWhoAmI,
} from '../../lib/index.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';
import { ACCOUNTS, HOST, LDAP_BASE, PORTS, TLS_FILES, requirePeer } from './peers.js';

const { alice, bob } = ACCOUNTS;
const PLAIN_URL = `ldap://${HOST}:${PORTS.ldap}`;
const TLS_URL = `ldaps://${HOST}:${PORTS.ldaps}`;
const dn = (user: string): string => `dn:uid=${user},ou=people,${LDAP_BASE}`;

describe('interop: saslkit LDAP client against OpenLDAP slapd', function () {
  this.timeout(30_000);
  const open: LdapConnection[] = [];
  let tls: ConnectionOptions = {};

  before(async function () {
    await requirePeer(this, 'slapd');
    // slapd's certificate names localhost; the connection goes to 127.0.0.1.
    tls = { ca: readFileSync(TLS_FILES.ldapCa), servername: 'localhost' };
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((connection) => connection.unbind().catch(() => undefined)));
  });

  async function connect(url: string, startTls = false, extra: ConnectionOptions = {}): Promise<LdapConnection> {
    const connection = await LdapConnection.connect({ url, startTls, tls: { ...tls, ...extra }, timeoutMs: 10_000 });
    open.push(connection);
    return connection;
  }

  async function bindAs(connection: LdapConnection, options: LdapBindOptions): Promise<string> {
    const bound = await ldapBind(connection, { client: { host: 'localhost' }, ...options });
    expect(bound.mechanism).to.equal(options.mechanism ?? bound.mechanism);
    return ldapWhoAmI(connection.requester);
  }

  it('reads supportedSASLMechanisms: SCRAM up to SHA-512 in the clear, the -PLUS variants once TLS is up', async () => {
    const clear = await ldapSupportedMechanisms((await connect(PLAIN_URL)).requester);
    expect(clear).to.include.members(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'DIGEST-MD5', 'PLAIN']);
    expect(clear.filter((name) => name.endsWith('-PLUS'))).to.deep.equal([]);
    const started = await ldapSupportedMechanisms((await connect(PLAIN_URL, true)).requester);
    expect(started).to.include.members(['SCRAM-SHA-512-PLUS', 'SCRAM-SHA-256-PLUS']);
  });

  it('SCRAM-SHA-256 in the clear: server verified, Who am I? names alice', async () => {
    const connection = await connect(PLAIN_URL);
    const bound = await ldapBind(connection, {
      credentials: new ClientCredentials(alice.user, alice.pass),
      mechanism: 'SCRAM-SHA-256',
    });
    expect(bound).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true, roundTrips: 2 });
    expect(await ldapWhoAmI(connection.requester)).to.equal(dn(alice.user));
  });

  it('choosing from the rootDSE picks the strongest SCRAM slapd offers: SCRAM-SHA-512', async () => {
    const connection = await connect(PLAIN_URL);
    const bound = await ldapBind(connection, { credentials: new ClientCredentials(alice.user, alice.pass) });
    expect(bound).to.include({ mechanism: 'SCRAM-SHA-512', serverVerified: true });
    expect(await ldapWhoAmI(connection.requester)).to.equal(dn(alice.user));
  });

  it('SCRAM-SHA-256-PLUS over ldaps:// (tls-server-end-point)', async () => {
    const connection = await connect(TLS_URL);
    expect(
      await bindAs(connection, {
        credentials: new ClientCredentials(bob.user, bob.pass),
        mechanism: 'SCRAM-SHA-256-PLUS',
        client: { channelBinding: 'require' },
      }),
    ).to.equal(dn(bob.user));
  });

  it('SCRAM-SHA-256-PLUS after StartTLS, chosen from the list with the binding required', async () => {
    const connection = await connect(PLAIN_URL, true);
    const bound = await ldapBind(connection, {
      credentials: new ClientCredentials(bob.user, bob.pass),
      client: { channelBinding: 'require' },
      offered: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
    expect(bound).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true });
    expect(await ldapWhoAmI(connection.requester)).to.equal(dn(bob.user));
  });

  it("-PLUS with RFC 5802's cb-name is refused by slapd (it takes only OpenLDAP's 'ldap'): a typed error", async () => {
    const connection = await connect(TLS_URL);
    const error = await expectSaslRejection(
      ldapBind(connection, {
        credentials: new ClientCredentials(bob.user, bob.pass),
        mechanism: 'SCRAM-SHA-256-PLUS',
        channelBindingStyle: 'rfc5802',
      }),
      'AUTHENTICATION_FAILED',
    );
    expect(error.party).to.equal('server');
  });

  it('DIGEST-MD5: rspauth checked', async () => {
    const connection = await connect(PLAIN_URL);
    const bound = await ldapBind(connection, {
      credentials: new ClientCredentials(alice.user, alice.pass),
      mechanism: 'DIGEST-MD5',
      client: { host: 'localhost' },
    });
    expect(bound.serverVerified).to.equal(true);
    expect(await ldapWhoAmI(connection.requester)).to.equal(dn(alice.user));
  });

  it('PLAIN over ldaps://', async () => {
    expect(
      await bindAs(await connect(TLS_URL), {
        credentials: new ClientCredentials(alice.user, alice.pass),
        mechanism: 'PLAIN',
      }),
    ).to.equal(dn(alice.user));
  });

  it("EXTERNAL over ldaps:// with alice's client certificate", async () => {
    const connection = await connect(TLS_URL, false, {
      cert: readFileSync(TLS_FILES.ldapAliceCert),
      key: readFileSync(TLS_FILES.ldapAliceKey),
    });
    expect(await ldapSupportedMechanisms(connection.requester)).to.include('EXTERNAL');
    expect(await bindAs(connection, { credentials: new ClientCredentials('', ''), mechanism: 'EXTERNAL' })).to.equal(
      dn(alice.user),
    );
  });

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'DIGEST-MD5', 'PLAIN']) {
    it(`a wrong password with ${mechanism}: AUTHENTICATION_FAILED (invalidCredentials), without the password`, async () => {
      const wrong = 'not-alice-pass';
      const connection = await connect(TLS_URL);
      const error = await expectSaslRejection(
        ldapBind(connection, {
          credentials: new ClientCredentials(alice.user, wrong),
          mechanism,
          client: { host: 'localhost' },
        }),
        'AUTHENTICATION_FAILED',
      );
      expect((error as { serverError?: string }).serverError).to.equal('invalidCredentials');
      expectNoSecrets(error, [wrong]);
      // The connection is anonymous again and still usable.
      expect(await ldapWhoAmI(connection.requester)).to.equal('');
    });
  }
});
