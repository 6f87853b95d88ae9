/**
 * The LDAP store against a fake directory connection: the search it sends (the name as an
 * equality value, never filter text), the reader account's bind, identities from `authPassword`
 * and `userPassword`, malformed values as typed errors without the value, two entries for a name,
 * `verifyPassword` as a simple bind (the unknown-user DN, no empty password), and a failed
 * connection replaced. The real directory is in spec/interop/store-ldap.spec.ts.
 */
import { expect } from 'chai';
import { ClearIdentity, HashedIdentity, ScramIdentity, ScramSecret } from '../../lib/index.js';
import type { LdapSearchRequest, LdapSearchResult } from '../../lib/protocols/ldap-connection.js';
import type { LdapAttribute, LdapMessage, LdapProtocolOp } from '../../lib/protocols/ldap-messages.js';
import {
  type LdapStoreConnection,
  type LdapStoreOptions,
  ShaPasswordHasher,
  ldapStore,
} from '../../lib/stores/ldap.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';

const BASE = 'ou=people,dc=example,dc=test';
const enc = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const DAVE_256 = ScramSecret.fromPassword('SHA-256', 'dave-pass', { iterations: 4096 });

/** A directory: entries by uid, passwords by DN; records what it is sent. */
class FakeDirectory {
  readonly searches: LdapSearchRequest[] = [];
  readonly binds: { name: string; password: string }[] = [];
  opened = 0;
  closed = 0;
  failNextSearch = false;
  encrypted = true;
  constructor(
    readonly entries: Map<string, { dn: string; attributes: LdapAttribute[] }[]>,
    readonly passwords: Map<string, string>,
  ) {}

  connect = (): Promise<LdapStoreConnection> => {
    this.opened += 1;
    return Promise.resolve({
      requester: {
        search: (request: LdapSearchRequest): Promise<LdapSearchResult> => {
          this.searches.push(request);
          if (this.failNextSearch) {
            this.failNextSearch = false;
            return Promise.reject(new Error('connection reset'));
          }
          const filter = request.filter as { equality?: { attribute: string; value: string } };
          const found = this.entries.get(String(filter.equality?.value).toLowerCase()) ?? [];
          // Like a directory, the uid is matched without case and returned as stored (the DN's).
          const stored = (dn: string): LdapAttribute => ({
            type: 'uid',
            values: [enc(/^uid=([^,]*)/.exec(dn)?.[1] ?? '')],
          });
          const entries = found.map((e) => ({ objectName: e.dn, attributes: [stored(e.dn), ...e.attributes] }));
          return Promise.resolve({
            entries,
            references: [],
            result: { resultCode: 0, matchedDN: '', diagnosticMessage: '' },
          });
        },
        request: (op: LdapProtocolOp): Promise<LdapMessage> => {
          if (op.type !== 'bindRequest' || !('simple' in op.authentication))
            return Promise.reject(new Error('unexpected request'));
          const password = Buffer.from(op.authentication.simple).toString('utf8');
          this.binds.push({ name: op.name, password });
          const ok = this.passwords.get(op.name) === password;
          return Promise.resolve({
            messageId: 1,
            op: { type: 'bindResponse', result: { resultCode: ok ? 0 : 49, matchedDN: '', diagnosticMessage: '' } },
          });
        },
      },
      encrypted: this.encrypted,
      close: () => {
        this.closed += 1;
      },
    });
  };
}

function directory(): FakeDirectory {
  return new FakeDirectory(
    new Map([
      ['dave', [{ dn: `uid=dave,${BASE}`, attributes: [{ type: 'authPassword', values: [enc(DAVE_256.format())] }] }]],
      ['alice', [{ dn: `uid=alice,${BASE}`, attributes: [{ type: 'userPassword', values: [enc('alice-pass')] }] }]],
      [
        'erin',
        [
          {
            dn: `uid=erin,${BASE}`,
            attributes: [{ type: 'userPassword', values: [enc(new ShaPasswordHasher().hash('erin-pass'))] }],
          },
        ],
      ],
      ['nopass', [{ dn: `uid=nopass,${BASE}`, attributes: [] }]],
      [
        'twin',
        [
          { dn: `uid=twin,ou=a,${BASE}`, attributes: [] },
          { dn: `uid=twin,ou=b,${BASE}`, attributes: [] },
        ],
      ],
    ]),
    new Map([
      [`cn=reader,dc=example,dc=test`, 'reader-pass'],
      [`uid=alice,${BASE}`, 'alice-pass'],
    ]),
  );
}

function storeOver(
  fake: FakeDirectory,
  extra: Partial<LdapStoreOptions> = {},
  reader = true,
): ReturnType<typeof ldapStore> {
  const account = reader ? { bindDN: 'cn=reader,dc=example,dc=test', bindPassword: 'reader-pass' } : {};
  return ldapStore({ url: 'ldap://127.0.0.1:1', base: BASE, ...account, connect: fake.connect, ...extra });
}

describe('stores/ldap: ldapStore', () => {
  it('searches the subtree for the name as an equality value, asking for two entries and the secret attributes', async () => {
    const fake = directory();
    const store = storeOver(fake, { objectClass: 'inetOrgPerson' });
    await store.lookup('al*ice)(uid=*', { mechanism: 'PLAIN' });
    expect(fake.searches).to.deep.equal([
      {
        baseObject: BASE,
        scope: 2,
        derefAliases: 0,
        sizeLimit: 2,
        timeLimit: 10,
        typesOnly: false,
        filter: {
          and: [
            { equality: { attribute: 'uid', value: 'al*ice)(uid=*' } },
            { equality: { attribute: 'objectClass', value: 'inetOrgPerson' } },
          ],
        },
        attributes: ['uid', 'authPassword', 'userPassword'],
      },
    ]);
    // The reader account bound first on the search connection.
    expect(fake.binds).to.deep.equal([{ name: 'cn=reader,dc=example,dc=test', password: 'reader-pass' }]);
  });

  it('makes identities: authPassword SCRAM secrets, userPassword clear text and {SSHA}; none without a password', async () => {
    const store = storeOver(directory());
    const dave = await store.lookup('dave', { mechanism: 'SCRAM-SHA-256' });
    expect(dave).to.be.instanceOf(ScramIdentity);
    expect(dave?.compareSecret('dave-pass')).to.equal(true);
    expect(await store.lookup('alice', { mechanism: 'PLAIN' })).to.be.instanceOf(ClearIdentity);
    const erin = await store.lookup('erin', { mechanism: 'PLAIN' });
    expect(erin).to.be.instanceOf(HashedIdentity);
    expect(erin?.compareSecret('erin-pass')).to.equal(true);
    expect(await store.lookup('nopass', { mechanism: 'PLAIN' })).to.equal(undefined);
    expect(await store.lookup('mallory', { mechanism: 'PLAIN' })).to.equal(undefined);
    // Cached, found or not.
    await store.lookup('mallory', { mechanism: 'PLAIN' });
    await store.lookup('dave', { mechanism: 'PLAIN' });
    expect(store.stats()).to.deep.include({ searches: 5, lookups: 7 });
    store.close();
  });

  it('does not take an authPassword value without a scheme as clear text', async () => {
    const fake = new FakeDirectory(
      new Map([['x', [{ dn: 'uid=x', attributes: [{ type: 'authPassword', values: [enc('hunter2-secret')] }] }]]]),
      new Map(),
    );
    const error = await expectSaslRejection(
      Promise.resolve(storeOver(fake, {}, false).lookup('x', { mechanism: 'PLAIN' })),
      'USAGE',
    );
    expectNoSecrets(error, ['hunter2-secret']);
  });

  const malformed: [string, LdapAttribute, string][] = [
    [
      'a broken authPassword SCRAM secret',
      { type: 'authPassword', values: [enc('SCRAM-SHA-256$4096:c2FsdA==$hunter2-secret:hunter2-secret')] },
      'USAGE',
    ],
    ['a {CRYPT} userPassword', { type: 'userPassword', values: [enc('{CRYPT}hunter2-secret')] }, 'USAGE'],
    [
      'a userPassword that is not UTF-8',
      { type: 'userPassword', values: [Uint8Array.from([0xff, 0x68, 0x75, 0x6e, 0x74, 0x65, 0x72, 0x32])] },
      'USAGE',
    ],
    [
      'an oversized userPassword',
      { type: 'userPassword', values: [enc(`hunter2-secret${'x'.repeat(5000)}`)] },
      'LIMIT_EXCEEDED',
    ],
  ];
  for (const [what, attribute, code] of malformed) {
    it(`refuses ${what} with ${code}, without the value; the bind still works for verifyPassword`, async () => {
      const fake = new FakeDirectory(
        new Map([['mallory', [{ dn: 'uid=mallory', attributes: [attribute] }]]]),
        new Map([['uid=mallory', 'right']]),
      );
      const store = storeOver(fake, {}, false);
      const error = await expectSaslRejection(
        Promise.resolve(store.lookup('mallory', { mechanism: 'PLAIN' })),
        code as 'USAGE',
      );
      expect(error.message).to.include('"mallory"');
      expectNoSecrets(error, ['hunter2']);
      expect(await store.verifyPassword('mallory', 'right', { mechanism: 'PLAIN' })).to.equal(true);
    });
  }

  it('treats an entry found under another spelling of the name (ALICE for alice) as unknown, for lookup and verifyPassword', async () => {
    const fake = directory();
    const store = storeOver(fake);
    expect(await store.lookup('ALICE', { mechanism: 'PLAIN' })).to.equal(undefined);
    expect(await store.verifyPassword('ALICE', 'alice-pass', { mechanism: 'PLAIN' })).to.equal(false);
    expect(fake.binds.at(-1)).to.deep.equal({ name: `cn=saslkit-unknown-user,${BASE}`, password: 'alice-pass' });
  });

  it('refuses two entries for one name with a USAGE error', async () => {
    const error = await expectSaslRejection(
      Promise.resolve(storeOver(directory()).lookup('twin', { mechanism: 'PLAIN' })),
      'USAGE',
    );
    expect(error.message).to.include('more than one LDAP entry');
  });

  it('verifyPassword binds as the entry DN; an unknown user binds as the unknown-user DN; an empty password never binds', async () => {
    const fake = directory();
    const store = storeOver(fake);
    expect(await store.verifyPassword('alice', 'alice-pass', { mechanism: 'PLAIN' })).to.equal(true);
    expect(await store.verifyPassword('alice', 'wrong', { mechanism: 'PLAIN' })).to.equal(false);
    expect(await store.verifyPassword('mallory', 'wrong', { mechanism: 'PLAIN' })).to.equal(false);
    expect(await store.verifyPassword('alice', '', { mechanism: 'PLAIN' })).to.equal(false);
    // (The reader account's binds on the search connections left out.)
    expect(fake.binds.filter((bind) => !bind.name.startsWith('cn=reader'))).to.deep.equal([
      { name: `uid=alice,${BASE}`, password: 'alice-pass' },
      { name: `uid=alice,${BASE}`, password: 'wrong' },
      { name: `cn=saslkit-unknown-user,${BASE}`, password: 'wrong' },
    ]);
    expect(store.stats().binds).to.equal(3);
    // Even if the unknown-user DN accepted the password, no unknown user gets in.
    fake.passwords.set(`cn=saslkit-unknown-user,${BASE}`, 'guess');
    expect(await store.verifyPassword('mallory', 'guess', { mechanism: 'PLAIN' })).to.equal(false);
  });

  it('replaces a connection whose request failed, and does not cache the failure', async () => {
    const fake = directory();
    const store = storeOver(fake, { connections: 1 });
    fake.failNextSearch = true;
    try {
      await store.lookup('alice', { mechanism: 'PLAIN' });
      expect.fail('the lookup resolved');
    } catch (error) {
      expect((error as Error).message).to.equal('connection reset');
    }
    expect(fake.closed).to.equal(1);
    expect(await store.lookup('alice', { mechanism: 'PLAIN' })).to.be.instanceOf(ClearIdentity);
    expect(fake.opened).to.equal(2);
    store.close();
    await expectSaslRejection(Promise.resolve(store.lookup('dave', { mechanism: 'PLAIN' })), 'USAGE');
  });

  it('runs a search once more on a new connection when a connection that had served fails (closed while idle)', async () => {
    const fake = directory();
    const store = storeOver(fake, { connections: 1, cache: false });
    expect(await store.lookup('alice', { mechanism: 'PLAIN' })).to.be.instanceOf(ClearIdentity);
    fake.failNextSearch = true;
    expect(await store.lookup('alice', { mechanism: 'PLAIN' })).to.be.instanceOf(ClearIdentity);
    expect({ opened: fake.opened, closed: fake.closed, searches: fake.searches.length }).to.deep.equal({
      opened: 2,
      closed: 1,
      searches: 3,
    });
    store.close();
  });

  it('sends no password over a connection without TLS unless plaintextBinds is set', async () => {
    const fake = directory();
    fake.encrypted = false;
    const store = storeOver(fake);
    const error = await expectSaslRejection(Promise.resolve(store.lookup('alice', { mechanism: 'PLAIN' })), 'USAGE');
    expect(error.message).to.include('without TLS');
    await expectSaslRejection(
      Promise.resolve(store.verifyPassword('alice', 'alice-pass', { mechanism: 'PLAIN' })),
      'USAGE',
    );
    expect(fake.binds).to.deep.equal([]);
    expect(fake.closed).to.equal(fake.opened);
    // Anonymous searches send no password: allowed in the clear.
    expect(await storeOver(fake, {}, false).lookup('alice', { mechanism: 'PLAIN' })).to.be.instanceOf(ClearIdentity);
    expect(
      await storeOver(fake, { plaintextBinds: true }).verifyPassword('alice', 'alice-pass', { mechanism: 'PLAIN' }),
    ).to.equal(true);
  });

  it('refuses bad options with USAGE errors', () => {
    for (const bad of [
      { connections: 0 },
      { connections: 65 },
      { timeoutMs: 0 },
      { secretAttributes: [] },
      { base: 5 as unknown as string },
    ]) {
      expect(() => storeOver(directory(), bad))
        .to.throw()
        .with.property('code', 'USAGE');
    }
  });
});
