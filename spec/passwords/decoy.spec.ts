/**
 * lib/passwords/decoy.ts on its own: the clear-text decoy every unknown user is checked against
 * before a store has answered, and the fallback a server uses before it has learned any decoy.
 * The unknown-user matrix (spec/hostile/unknown-user.spec.ts) counts the work of each path; these
 * pin the decoy objects that work runs on.
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  HashedIdentity,
  type Identity,
  PLAIN,
  type PasswordHasher,
  SCRAM_SHA_256,
  ScramIdentity,
  ScramSecret,
  type ServerOptions,
  SyncClientSession,
  saslprep,
} from '../../lib/index.js';
import * as decoys from '../../lib/passwords/decoy.js';
import { traceServer } from '../hostile/support.js';
import { b } from '../support/helpers.js';
import { freshModule } from '../support/fresh-module.js';
import { KdfCounter } from '../support/kdf-counter.js';

// A copy of the module that has learned nothing yet (the rest of the suite teaches this one).
function freshDecoyModule(): typeof decoys {
  return freshModule(__filename, '../../lib/passwords/decoy.js') as typeof decoys;
}

describe('passwords/decoy', () => {
  it('nobody() is one clear-text identity whose name no presented name can match', () => {
    const nobody = decoys.nobody();
    expect(nobody).to.equal(decoys.nobody());
    expect(nobody.authcid).to.equal('\u0000nobody');
    expect(nobody.compareAuthcid('nobody')).to.equal(false);
    expect(nobody.compareSecret('')).to.equal(false);
    expect(nobody.getClearSecret()).to.be.a('string').and.not.equal('');
  });

  it('before any store has answered, a server falls back to nobody: clear text, derives for SCRAM, no stored cost', () => {
    const fresh = freshDecoyModule();
    const learned = fresh.learnedFor({});
    expect(learned.decoy).to.equal(fresh.nobody());
    expect(learned.cost).to.equal(0);
    expect(learned.scram.derives).to.equal(true);
    expect(learned.scram.secrets.size).to.equal(0);
    expect(fresh.learnedFor({ lookup: () => undefined })).to.equal(learned);
    // Its password survives SASLprep, so checking one against it runs the same comparison as a
    // wrong password against a clear-text account (an unusable stored secret returns early).
    expect(saslprep(fresh.nobody().getClearSecret())).to.not.equal('');
    // And its name is one no presented name can be (a NUL never comes out of SASLprep).
    expect(fresh.nobody().authcid).to.equal('\u0000nobody');
  });

  it('a store of SCRAM accounts teaches the salt size and count of each of the three hashes (a fresh module)', () => {
    const fresh = freshDecoyModule();
    const salt = new Uint8Array(20).fill(1);
    const secrets = (['SHA-1', 'SHA-256', 'SHA-512'] as const).map((hash, i) =>
      ScramSecret.fromPassword(hash, 'pw', { iterations: 4096 + i, salt: salt.subarray(i) }),
    );
    const lookup = (): undefined => undefined;
    fresh.learnDecoy({ lookup }, new ScramIdentity('alice', secrets));
    expect([...fresh.learnedFor({ lookup }).scram.secrets]).to.deep.equal([
      ['SHA-1', { saltLength: 20, iterations: 4096 }],
      ['SHA-256', { saltLength: 19, iterations: 4097 }],
      ['SHA-512', { saltLength: 18, iterations: 4098 }],
    ]);
    // Each hash counts towards the cost on its own: the costliest is the last one read.
    expect(fresh.storedCost(new ScramIdentity('bob', secrets))).to.equal(4098);
  });
});

// ---------------------------------------------------------------------------------------------
// Which decoy an unknown user meets, and what counts towards maxStoredCost, for identities that
// do not keep to the common shapes (the sixth mutation pass, issue 11). Each case is seen from
// outside: the hasher calls and key derivations a login costs, or whether it logs in at all.

/** A hasher whose verify calls are counted; its stored strings are the passwords themselves. */
function countingHasher(counter: { calls: number }, cost?: () => unknown): PasswordHasher {
  const hasher: PasswordHasher = {
    hash: (secret) => secret,
    verify: (secret, hashed) => {
      counter.calls++;
      return secret === hashed;
    },
  };
  // A JavaScript hasher may report anything: the types say number | undefined.
  if (cost !== undefined) hasher.cost = cost as (hashed: string) => number;
  return hasher;
}

/** A PLAIN login: the error code (undefined: logged in) and the hasher calls and KDF runs it cost. */
function plainProbe(
  options: ServerOptions,
  user: string,
  password: string,
  counter: { calls: number } = { calls: 0 },
): { code: string | undefined; hasherCalls: number; kdfRuns: string[] } {
  counter.calls = 0;
  const { value, runs } = kdf.during(() => traceServer(PLAIN.server(options, b(`\0${user}\0${password}`)), []));
  return { code: value.error?.code, hasherCalls: counter.calls, kdfRuns: runs };
}

/** A whole SCRAM-SHA-256 login: the server's error code and the derivations the server ran. */
function scramProbe(
  options: ServerOptions,
  user: string,
  password: string,
): { code: string | undefined; kdfRuns: string[] } {
  const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials(user, password)));
  const first = client.start() as Uint8Array;
  const { value, runs } = kdf.during(() =>
    traceServer(SCRAM_SHA_256.server(options, first), (challenge) => {
      // The client's own PBKDF2 is not the server's work.
      kdf.active = false;
      try {
        return client.challenge(challenge);
      } finally {
        kdf.active = true;
      }
    }),
  );
  return { code: value.error?.code, kdfRuns: runs };
}

const kdf = new KdfCounter();

/** ClearIdentity for a store that hands no clear text to CRAM-MD5 or DIGEST-MD5 (its own policy). */
class WithheldClearIdentity extends ClearIdentity {
  override getClearSecret(): string {
    throw new Error('this store hands out no clear text');
  }
}

describe('passwords/decoy: the decoy of unusual identities, and what a hasher reports as cost', () => {
  before(() => {
    kdf.install();
  });
  after(() => {
    kdf.uninstall();
  });

  it('a ClearIdentity that withholds its clear secret is still compared in clear text: its unknown users meet nobody', () => {
    // Another store teaches a hashed decoy first: the latest learned, which a store of a kind
    // saslkit cannot copy would get.
    const hashed = { calls: 0 };
    const carol = new HashedIdentity('carol', 'carol-pass', countingHasher(hashed));
    expect(
      plainProbe({ lookup: (name) => (name === 'carol' ? carol : undefined) }, 'carol', 'wrong', hashed),
    ).to.include({ code: 'AUTHENTICATION_FAILED', hasherCalls: 1 });
    const alice = new WithheldClearIdentity('alice', 'alice-pass');
    const store: ServerOptions = { lookup: (name) => (name === 'alice' ? alice : undefined) };
    expect(plainProbe(store, 'alice', 'alice-pass').code).to.equal(undefined);
    expect(plainProbe(store, 'alice', 'wrong', hashed)).to.deep.equal({
      code: 'AUTHENTICATION_FAILED',
      hasherCalls: 0,
      kdfRuns: [],
    });
    expect(plainProbe(store, 'mallory', 'wrong', hashed)).to.deep.equal({
      code: 'AUTHENTICATION_FAILED',
      hasherCalls: 0,
      kdfRuns: [],
    });
  });

  it('SCRAM against an account whose getClearSecret throws: no crash, it fails like an unknown user, at the same cost', () => {
    const alice = new WithheldClearIdentity('alice', 'alice-pass');
    const store: ServerOptions = {
      lookup: (name) => (name === 'alice' ? alice : undefined),
      scram: { saltSecret: 'k' },
    };
    const known = scramProbe(store, 'alice', 'alice-pass');
    const unknown = scramProbe(store, 'mallory', 'alice-pass');
    expect(known.code).to.equal('AUTHENTICATION_FAILED');
    expect(unknown).to.deep.equal(known);
    // Accounts of the class compare clear text, so an unknown user derives once as for one that can.
    expect(known.kdfRuns).to.have.length(1);
  });

  it('an identity whose getClearSecret answers null (a NULL column) has none: its SCRAM keys make the decoy', () => {
    const secret = ScramSecret.fromPassword('SHA-256', 'alice-pass', { iterations: 4321 });
    const row = {
      authcid: 'alice',
      compareAuthcid: (name: string) => name === 'alice',
      compareSecret: (password: string) => secret.verifyNormalized(password),
      getClearSecret: () => null,
      getScramSecret: (hash: string) => (hash === 'SHA-256' ? secret : undefined),
    } as unknown as Identity;
    const store: ServerOptions = { lookup: (name) => (name === 'alice' ? row : undefined) };
    expect(plainProbe(store, 'alice', 'alice-pass').code).to.equal(undefined);
    const known = plainProbe(store, 'alice', 'wrong');
    expect(known).to.deep.equal({ code: 'AUTHENTICATION_FAILED', hasherCalls: 0, kdfRuns: ['pbkdf2:4321:sha256'] });
    expect(plainProbe(store, 'mallory', 'wrong')).to.deep.equal(known);
  });

  it("a hasher's cost that is not a positive number tells nothing: a numeric string, NaN, a negative, none, a throw", () => {
    const reports: [string, (() => unknown) | undefined][] = [
      ['a numeric string', () => '9999999999'],
      ['NaN', () => Number.NaN],
      ['a negative number', () => -5],
      ['undefined', () => undefined],
      [
        'a throw',
        () => {
          throw new Error('unreadable');
        },
      ],
      ['no cost method', undefined],
    ];
    for (const [what, cost] of reports) {
      const alice = new HashedIdentity('alice', 'alice-pass', countingHasher({ calls: 0 }, cost));
      expect(decoys.storedCost(alice), what).to.equal(0);
      expect(plainProbe({ lookup: () => alice }, 'alice', 'alice-pass').code, what).to.equal(undefined);
    }
    // The same account whose hasher reports a number above the cap is refused: the cases above change only the report.
    const costly = new HashedIdentity(
      'alice',
      'alice-pass',
      countingHasher({ calls: 0 }, () => 5_000_001),
    );
    expect(decoys.storedCost(costly)).to.equal(5_000_001);
    expect(plainProbe({ lookup: () => costly }, 'alice', 'alice-pass').code).to.equal('AUTHENTICATION_FAILED');
  });

  it('learnDecoy without a lookup learns nothing and does not throw (decoys are kept per lookup function)', () => {
    const fresh = freshDecoyModule();
    for (const identity of [new ClearIdentity('alice', 'pw'), ScramIdentity.create('bob', 'pw', { iterations: 4096 })])
      expect(() => {
        fresh.learnDecoy({}, identity);
      }).to.not.throw();
    expect(fresh.learnedFor({}).decoy).to.equal(fresh.nobody());
  });
});

// ---------------------------------------------------------------------------------------------
// A HashedIdentity from the other copy of saslkit in the process (the package ships CommonJS and
// ESM builds; a store module may require one while the host imports the other).

/** HashedIdentity as another copy of saslkit defines it: identity.ts loaded again. */
function otherCopysHashedIdentity(): typeof HashedIdentity {
  return (freshModule(__filename, '../../lib/passwords/identity.js') as { HashedIdentity: typeof HashedIdentity })
    .HashedIdentity;
}

describe('passwords/decoy: a HashedIdentity of the other copy of saslkit', () => {
  const Other = otherCopysHashedIdentity();
  before(() => {
    kdf.install();
  });
  after(() => {
    kdf.uninstall();
  });

  it('is another class, and its cost counts towards maxStoredCost as this copy’s does', () => {
    const alice = new Other(
      'alice',
      'alice-pass',
      countingHasher({ calls: 0 }, () => 5_000_001),
    );
    expect(alice).to.not.be.instanceOf(HashedIdentity);
    expect(decoys.storedCost(alice)).to.equal(5_000_001);
    expect(plainProbe({ lookup: () => alice }, 'alice', 'alice-pass').code).to.equal('AUTHENTICATION_FAILED');
  });

  it('its store teaches a hashed decoy: an unknown user costs the hasher call a wrong password costs', () => {
    const counter = { calls: 0 };
    const alice = new Other(
      'alice',
      'alice-pass',
      countingHasher(counter, () => 1000),
    );
    const store: ServerOptions = { lookup: (name) => (name === 'alice' ? alice : undefined) };
    const wrong = plainProbe(store, 'alice', 'wrong', counter);
    expect(wrong).to.deep.equal({ code: 'AUTHENTICATION_FAILED', hasherCalls: 1, kdfRuns: [] });
    expect(plainProbe(store, 'mallory', 'wrong', counter)).to.deep.equal(wrong);
  });
});
