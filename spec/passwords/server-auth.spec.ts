/**
 * The cap on what a stored secret may cost to check (ServerOptions.maxStoredCost): one limit for
 * every stored kind, applied before any derivation, to accounts and to the unknown-user decoy.
 * A refused account fails like a wrong password, after the steps an unknown user takes; only the
 * error's cause tells the operator why, naming the account and never its secret.
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  DEFAULT_MAX_STORED_COST,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  type Identity,
  LOGIN,
  type LimitExceededError,
  PLAIN,
  Pbkdf2Hasher,
  SCRAM_SHA_256,
  type SaslError,
  ScramIdentity,
  ScramSecret,
  ScryptHasher,
  type ServerOptions,
  SyncClientSession,
  buildPlainResponse,
} from '../../lib/index.js';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { scramCredential, storedCost } from '../../lib/passwords/server-auth.js';
import { type ServerTrace, traceServer } from '../hostile/support.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { b, expectNoSecrets, storeOf } from '../support/helpers.js';

const kdf = new KdfCounter();
const PASSWORD = 'alice-pass';

/** A stored account of each kind whose cost is 4096 (scrypt: N·r·p = 2^9·8·1), with its stored text. */
function accounts(): { name: string; identity: Identity; stored: string }[] {
  const scram = ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4096 });
  const pbkdf2 = new Pbkdf2Hasher({ rounds: 4096 }).hash(PASSWORD);
  const dovecot = new DovecotPbkdf2Hasher({ rounds: 4096 }).hash(PASSWORD);
  const scrypt = new ScryptHasher({ ln: 9, r: 8, p: 1 }).hash(PASSWORD);
  return [
    {
      name: 'a SCRAM secret in RFC 5803 form',
      identity: new ScramIdentity('alice', scram.format('rfc5803')),
      stored: scram.format('rfc5803'),
    },
    {
      name: 'a SCRAM secret in pg_authid form',
      identity: new ScramIdentity('alice', scram.format('postgresql')),
      stored: scram.format('postgresql'),
    },
    {
      name: 'a SCRAM secret in Dovecot form',
      identity: new ScramIdentity('alice', scram.format('dovecot')),
      stored: scram.format('dovecot'),
    },
    { name: 'a PBKDF2 hash string', identity: new HashedIdentity('alice', pbkdf2), stored: pbkdf2 },
    { name: 'a Dovecot {PBKDF2} string', identity: new HashedIdentity('alice', `{PBKDF2}${dovecot}`), stored: dovecot },
    { name: 'a scrypt string', identity: new HashedIdentity('alice', scrypt), stored: scrypt },
  ];
}

function plain(options: ServerOptions, user: string, password = 'wrong-pass'): ServerTrace {
  return traceServer(PLAIN.server(options, buildPlainResponse(user, password)), []);
}

function login(options: ServerOptions, user: string, password = 'wrong-pass'): ServerTrace {
  return traceServer(LOGIN.server(options), [b(user), b(password)]);
}

function scram(options: ServerOptions, user: string, password = 'wrong-pass'): ServerTrace & { iterations: string } {
  const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials(user, password)));
  let iterations = '';
  const trace = traceServer(SCRAM_SHA_256.server(options, client.start()), (challenge) => {
    iterations = /,i=([0-9]+)/.exec(Buffer.from(challenge).toString())?.[1] ?? iterations;
    kdf.active = false;
    try {
      return client.challenge(challenge);
    } finally {
      kdf.active = true;
    }
  });
  return { ...trace, iterations };
}

/** The cause of a refused login: a LimitExceededError naming the account, and nothing secret. */
function expectRefusal(error: SaslError | undefined, secrets: readonly string[]): LimitExceededError {
  expect(error?.code).to.equal('AUTHENTICATION_FAILED');
  expect(error?.party).to.equal('client');
  const cause = error?.cause as LimitExceededError | undefined;
  expect(cause?.code).to.equal('LIMIT_EXCEEDED');
  expect(cause?.limit).to.equal('maxStoredCost');
  expect(cause?.party).to.equal('local');
  expect(cause?.message).to.include('"alice"');
  expectNoSecrets(error, [PASSWORD, ...secrets]);
  return cause as LimitExceededError;
}

/** The parts of a stored string worth hiding: everything but the scheme and the count. */
function secretParts(stored: string): string[] {
  return stored
    .split(/[$:,{}]/)
    .filter((part) => part.length >= 8 && !/^[0-9]+$/.test(part) && !/^SCRAM-|^pbkdf2|^ln=/.test(part));
}

describe('server-auth: the cap on stored secrets (maxStoredCost)', () => {
  before(() => {
    kdf.install();
  });
  after(() => {
    kdf.uninstall();
  });

  it("defaults to 5,000,000 (the PBKDF2 strings' former cap, above every legitimate default)", () => {
    expect(DEFAULT_MAX_STORED_COST).to.equal(5_000_000);
    expect(DEFAULT_MAX_STORED_COST).to.be.at.least(new Pbkdf2Hasher().rounds);
  });

  it('reads the cost of every stored kind: SCRAM counts, PBKDF2 rounds, scrypt N·r·p', () => {
    for (const { name, identity } of accounts()) expect(storedCost(identity), name).to.equal(4096);
    expect(storedCost(new ClearIdentity('alice', PASSWORD))).to.equal(0);
  });

  for (const [mechanism, run] of [
    ['PLAIN', plain],
    ['LOGIN', login],
  ] as const) {
    for (const { name, identity, stored } of accounts()) {
      it(`${mechanism}: ${name} above the cap is refused before any derivation at its cost, like an unknown user`, () => {
        const options: ServerOptions = { lookup: storeOf(identity), maxStoredCost: 4095 };
        const refused = kdf.during(() => run(options, 'alice', PASSWORD));
        const unknown = kdf.during(() => run(options, 'mallory'));
        expectRefusal(refused.value.error, secretParts(stored));
        expect(refused.value.error?.message).to.equal(unknown.value.error?.message);
        expect(refused.value.steps).to.deep.equal(unknown.value.steps);
        expect(refused.runs).to.deep.equal(unknown.runs);
        expect(refused.runs.join()).to.not.match(/:4096:|^scrypt:512/);
        // At the cap it is used.
        expect(run({ lookup: storeOf(identity), maxStoredCost: 4096 }, 'alice', PASSWORD).error).to.equal(undefined);
      });
    }
  }

  it('SCRAM: a stored secret above the cap is never offered: the server answers like for an unknown user', () => {
    const secret = ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4500 });
    const options: ServerOptions = {
      lookup: storeOf(new ScramIdentity('alice', secret)),
      maxStoredCost: 4096,
      scram: { saltSecret: 'cap-secret' },
    };
    const refused = kdf.during(() => scram(options, 'alice', PASSWORD));
    const unknown = kdf.during(() => scram(options, 'mallory', PASSWORD));
    expectRefusal(refused.value.error, [secret.format()]);
    expect(refused.value.iterations).to.equal('4096');
    expect(refused.value.steps).to.deep.equal(unknown.value.steps);
    expect(refused.runs).to.deep.equal(unknown.runs);
    expect(scram({ ...options, maxStoredCost: 4500 }, 'alice', PASSWORD).error).to.equal(undefined);
  });

  it('with the default cap, 2^31-1 SCRAM iterations and 9,999,999 PBKDF2 rounds are refused without deriving', () => {
    const huge = new ScramSecret(
      'SHA-256',
      new Uint8Array(16).fill(1),
      0x7fffffff,
      new Uint8Array(32).fill(2),
      new Uint8Array(32).fill(3),
    );
    const digest = `$pbkdf2-sha256$9999999$${Buffer.alloc(16, 4).toString('base64')}$${Buffer.alloc(32, 5).toString('base64')}`;
    const stores: [string, Identity][] = [
      ['SCRAM', new ScramIdentity('alice', huge)],
      ['PBKDF2', new HashedIdentity('alice', digest, new Pbkdf2Hasher())],
    ];
    for (const [name, identity] of stores) {
      const options: ServerOptions = { lookup: storeOf(identity) };
      for (const run of [plain, login, scram]) {
        const { value, runs } = kdf.during(() => run(options, 'alice', PASSWORD));
        const cause = expectRefusal(value.error, [digest, huge.format()]);
        expect(cause.message, name).to.include(name === 'SCRAM' ? '2147483647' : '9999999');
        expect(runs.join(), name).to.not.match(/:(2147483647|9999999):/);
      }
    }
  });

  it('an account above the cap never becomes the decoy of unknown users', () => {
    const big = ScramIdentity.create('alice', PASSWORD, { hashes: ['SHA-256'], iterations: 4500 });
    const options: ServerOptions = { lookup: storeOf(big), maxStoredCost: 4096 };
    plain(options, 'alice');
    const { runs } = kdf.during(() => plain(options, 'mallory'));
    expect(runs.join()).to.not.include(':4500:');
  });

  it('an unknownUserIdentity above the cap is not checked at its cost; the cause names the decoy', () => {
    const decoy = ScramIdentity.create('nobody', 'decoy-pass', { hashes: ['SHA-256'], iterations: 4500 });
    const options: ServerOptions = { lookup: storeOf(), unknownUserIdentity: decoy, maxStoredCost: 4096 };
    for (const run of [plain, scram]) {
      const { value, runs } = kdf.during(() => run(options, 'mallory'));
      expect(value.error?.code).to.equal('AUTHENTICATION_FAILED');
      const cause = value.error?.cause as LimitExceededError | undefined;
      expect(cause?.limit).to.equal('maxStoredCost');
      expect(cause?.message).to.include('unknownUserIdentity');
      expect(runs.join()).to.not.include(':4500:');
    }
  });

  it('refuses a maxStoredCost that is not a positive integer', () => {
    for (const maxStoredCost of [0, -1, 1.5, Number.NaN]) {
      expect(
        plain({ lookup: storeOf(new ClearIdentity('alice', PASSWORD)), maxStoredCost }, 'alice', PASSWORD).error?.code,
      ).to.equal('USAGE');
    }
  });
});

describe('server-auth: the SCRAM credential path goes down once (issue 12)', () => {
  /** Runs scramCredential's effects synchronously. */
  const credential = (
    options: ServerOptions,
    authcid: string,
  ): ReturnType<typeof scramCredential> extends Generator<unknown, infer R, unknown> ? R : never => {
    const run = scramCredential(options, 'SCRAM-SHA-256', authcid, 'SHA-256');
    let step = run.next();
    while (step.done !== true) step = run.next(step.value.runSync());
    return step.value;
  };

  it('one call answers lookup, stored secret, clear password and the decoy shape', () => {
    const secret = ScramIdentity.create('alice', PASSWORD, { hashes: ['SHA-256'], iterations: 4321 });
    const scramStore: ServerOptions = { lookup: storeOf(secret) };
    expect(credential(scramStore, 'alice').stored?.iterations).to.equal(4321);
    expect(credential(scramStore, 'mallory')).to.deep.include({
      identity: undefined,
      stored: undefined,
      password: undefined,
      name: 'mallory',
    });
    expect(credential(scramStore, 'mallory').decoy).to.deep.equal({ saltLength: 16, iterations: 4321, derives: false });
    const clearStore: ServerOptions = { lookup: storeOf(new ClearIdentity('bob', 'bob-pass')) };
    expect(credential(clearStore, 'b\u00ADob')).to.deep.include({ name: 'bob', password: 'bob-pass' });
    expect(credential(clearStore, 'mallory').decoy).to.deep.equal({
      saltLength: undefined,
      iterations: undefined,
      derives: true,
    });
  });

  it('an unknown user over a hashed store costs SCRAM no hasher call: its decoy is no HashedIdentity', () => {
    const calls: string[] = [];
    const inner = new Pbkdf2Hasher({ rounds: 1000 });
    const digest = inner.hash(PASSWORD);
    const hasher = {
      hash: (secret: string) => inner.hash(secret),
      verify: (secret: string, hashed: string) => (calls.push('verify'), inner.verify(secret, hashed)),
      identify: (hashed: string) => (calls.push('identify'), inner.identify(hashed)),
      cost: (hashed: string) => (calls.push('cost'), inner.cost(hashed)),
    };
    const options: ServerOptions = { lookup: storeOf(new HashedIdentity('carol', digest, hasher)) };
    expect(credential(options, 'carol').identity?.authcid).to.equal('carol');
    calls.length = 0;
    for (let i = 0; i < 3; i++)
      expect(credential(options, `mallory${i}`).decoy).to.deep.equal({
        saltLength: undefined,
        iterations: undefined,
        derives: false,
      });
    expect(calls).to.deep.equal([]);
  });

  /** The lib/ modules `file` (a path under lib/ without `.ts`) imports, as paths under lib/. */
  const importsOf = (file: string): string[] => {
    const lib = join(__dirname, '..', '..', 'lib');
    const source = readFileSync(join(lib, `${file}.ts`), 'utf8');
    return [...source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((match) =>
      relative(lib, join(lib, dirname(file), match[1] ?? '')).replace(/\\/g, '/'),
    );
  };

  it('identities, hashers and stored SCRAM secrets never import the layers above them', () => {
    for (const file of [
      'passwords/identity',
      'passwords/hashers/hasher',
      'passwords/hashers/pbkdf2',
      'passwords/hashers/dovecot-pbkdf2',
      'passwords/hashers/scrypt',
      'passwords/hashers/cleartext',
      'passwords/hashers/detect',
      'passwords/scram-keys',
      'passwords/scram-secret',
      'mechanisms/scram-cache',
    ]) {
      const imports = importsOf(file);
      // One by one: chai's not.include.members passes when any one of them is missing.
      const above = ['passwords/server-auth', 'core/options', 'core/mechanism'];
      expect(
        imports.filter((name) => above.includes(name) || name.startsWith('mechanisms/')),
        file,
      ).to.deep.equal([]);
    }
  });

  it('server-auth.ts and the files split from it go down: server-auth, scram-credential, decoy and store-effects', () => {
    // Each file may import only the ones after it in this order, and no mechanism.
    const order = ['passwords/server-auth', 'passwords/scram-credential', 'passwords/decoy', 'passwords/store-effects'];
    order.forEach((file, at) => {
      const imports = importsOf(file);
      const above = [...order.slice(0, at + 1), 'core/mechanism'];
      expect(
        imports.filter((name) => above.includes(name) || name.startsWith('mechanisms/')),
        file,
      ).to.deep.equal([]);
    });
    expect(importsOf('passwords/scram-credential'), 'scram-credential').to.include.members([
      'passwords/decoy',
      'passwords/store-effects',
    ]);
  });
});
