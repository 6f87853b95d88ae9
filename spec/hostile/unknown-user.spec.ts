/**
 * An unknown user must fail like a wrong password: the same error, the same effects, and the
 * same identity and hasher work (so about the same time), whatever the store holds. Counts, not
 * clocks: no wall-clock assertion here.
 */
import { expect } from 'chai';
import {
  CRAM_MD5,
  CleartextHasher,
  ClearIdentity,
  DIGEST_MD5,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  type Identity,
  LOGIN,
  type Mechanism,
  PLAIN,
  type PasswordHasher,
  Pbkdf2Hasher,
  SCRAM_SHA_1,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  SCRAM_SHA_512_PLUS,
  ScramIdentity,
  ScramSecret,
  ScryptHasher,
  type ServerOptions,
  SyncClientSession,
  ClientCredentials,
  buildCramMd5Response,
  buildPlainResponse,
  staticChannelBinding,
} from '../../lib/index.js';
import { unknownUserIdentity } from '../../lib/passwords/server-auth.js';
import { b, s, storeOf } from '../support/helpers.js';
import { KdfCounter } from '../support/kdf-counter.js';
import { type ServerTrace, countingIdentity, traceServer } from './support.js';

/** A hasher that records the cost part of every stored string it verifies against. */
function countingHasher(
  inner: PasswordHasher & { verify(secret: string, hashed: string): boolean; hash(secret: string): string },
  costs: string[],
): PasswordHasher {
  return {
    hash: (secret) => inner.hash(secret),
    verify: (secret, hashed) => {
      // `$pbkdf2-sha256$<rounds>$...` or `$scrypt$ln=..,r=..,p=..$...`: the cost field is the third.
      costs.push(hashed.split('$')[2] ?? '?');
      return inner.verify(secret, hashed);
    },
  };
}

function plainTrace(options: ServerOptions, user: string, password: string): ServerTrace {
  return traceServer(PLAIN.server(options, buildPlainResponse(user, password)), []);
}

function expectSameFailure(wrong: ServerTrace, unknown: ServerTrace): void {
  expect(wrong.error?.code).to.equal('AUTHENTICATION_FAILED');
  expect(unknown.error?.code).to.equal('AUTHENTICATION_FAILED');
  expect(unknown.error?.message).to.equal(wrong.error?.message);
  expect(unknown.error?.party).to.equal(wrong.error?.party);
  expect(unknown.steps).to.deep.equal(wrong.steps);
}

describe('hostile: unknown users cost what wrong passwords cost', () => {
  const hashers: [
    string,
    () => PasswordHasher & { verify(secret: string, hashed: string): boolean; hash(secret: string): string },
  ][] = [
    ['PBKDF2', () => new Pbkdf2Hasher({ rounds: 2000 })],
    ['scrypt', () => new ScryptHasher({ ln: 4, r: 8, p: 1 })],
  ];
  for (const [name, makeHasher] of hashers) {
    it(`PLAIN over a ${name} store: same effects, one hash of the same cost for both`, () => {
      const costs: string[] = [];
      const alice = HashedIdentity.create('alice', 'alice-pass', countingHasher(makeHasher(), costs));
      const options: ServerOptions = { lookup: storeOf(alice) };
      expect(plainTrace(options, 'alice', 'alice-pass').error).to.equal(undefined);
      costs.length = 0;
      const wrong = plainTrace(options, 'alice', 'wrong-pass');
      const wrongCosts = costs.splice(0);
      const unknown = plainTrace(options, 'mallory', 'wrong-pass');
      expectSameFailure(wrong, unknown);
      expect(wrong.steps).to.deep.equal(['lookup', 'verify']);
      expect(wrongCosts).to.have.length(1);
      expect(costs).to.deep.equal(wrongCosts);
    });
  }

  it('LOGIN over a PBKDF2 store: same effects and the same hash work', () => {
    const costs: string[] = [];
    const alice = HashedIdentity.create(
      'alice',
      'alice-pass',
      countingHasher(new Pbkdf2Hasher({ rounds: 1500 }), costs),
    );
    const options: ServerOptions = { lookup: storeOf(alice) };
    const login = (user: string): ServerTrace => traceServer(LOGIN.server(options), [b(user), b('wrong-pass')]);
    const wrong = login('alice');
    const wrongCosts = costs.splice(0);
    const unknown = login('mallory');
    expectSameFailure(wrong, unknown);
    expect(costs).to.deep.equal(wrongCosts).and.to.deep.equal(['1500']);
  });

  it('a store of SCRAM secrets gets a SCRAM decoy with the same iteration count', () => {
    const alice = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'], iterations: 4321 });
    const options: ServerOptions = { lookup: storeOf(alice) };
    const wrong = plainTrace(options, 'alice', 'wrong-pass');
    const unknown = plainTrace(options, 'mallory', 'wrong-pass');
    expectSameFailure(wrong, unknown);
    const decoy = unknownUserIdentity(options);
    expect(decoy).to.be.instanceOf(ScramIdentity);
    expect(decoy.authcid).to.not.equal('alice');
    expect(decoy instanceof ScramIdentity ? decoy.getScramSecret('SHA-256')?.iterations : undefined).to.equal(4321);
  });

  it('SCRAM over stored secrets: an unknown user gets the same iteration count and salt size, and the same effects', () => {
    const alice = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'], iterations: 5005 });
    const options: ServerOptions = { lookup: storeOf(alice) };
    const serverFirstOf = (user: string): { trace: ServerTrace; fields: Map<string, string> } => {
      const client = new SyncClientSession(SCRAM_SHA_256.client(new ClientCredentials(user, 'wrong-pass')));
      let serverFirst = '';
      const trace = traceServer(SCRAM_SHA_256.server(options, client.start()), (challenge) => {
        serverFirst = s(challenge);
        return client.challenge(challenge);
      });
      return {
        trace,
        fields: new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as [string, string])),
      };
    };
    const known = serverFirstOf('alice');
    const unknown = serverFirstOf('mallory');
    expect(known.fields.get('i')).to.equal('5005');
    expect(unknown.fields.get('i')).to.equal('5005');
    expect(Buffer.from(unknown.fields.get('s')!, 'base64').length).to.equal(
      Buffer.from(known.fields.get('s')!, 'base64').length,
    );
    expect(unknown.trace.steps).to.deep.equal(known.trace.steps);
    expect(unknown.trace.error?.code).to.equal(known.trace.error?.code);
  });

  it('unknownUserIdentity, when set, gets exactly the calls the real identity gets for a wrong password', () => {
    const realCalls: string[] = [];
    const decoyCalls: string[] = [];
    const alice = countingIdentity(new ClearIdentity('alice', 'alice-pass'), realCalls);
    const decoy = countingIdentity(new ClearIdentity('nobody', 'decoy-pass'), decoyCalls);
    const options: ServerOptions = { lookup: storeOf(alice), unknownUserIdentity: decoy };
    const wrong = plainTrace(options, 'alice', 'wrong-pass');
    const unknown = plainTrace(options, 'mallory', 'wrong-pass');
    expectSameFailure(wrong, unknown);
    expect(realCalls).to.deep.equal(['compareSecret', 'compareAuthcid']);
    expect(decoyCalls).to.deep.equal(realCalls);
  });

  it("the decoy never lets anyone in: an unknown user with the decoy's own password and name fails", () => {
    const decoy: Identity = new ClearIdentity('nobody', 'decoy-pass');
    const options: ServerOptions = { lookup: storeOf(), unknownUserIdentity: decoy };
    expect(plainTrace(options, 'nobody', 'decoy-pass').error?.code).to.equal('AUTHENTICATION_FAILED');
  });

  it('CRAM-MD5: an account without a clear secret fails exactly like an unknown user; only the cause tells', () => {
    const hashed = HashedIdentity.create('carol', 'carol-pass', new Pbkdf2Hasher({ rounds: 1000 }));
    const options: ServerOptions = { lookup: storeOf(hashed) };
    const traceFor = (user: string): ServerTrace =>
      traceServer(CRAM_MD5.server(options), (challenge) => buildCramMd5Response(user, 'carol-pass', challenge));
    const account = traceFor('carol');
    const unknown = traceFor('mallory');
    expectSameFailure(account, unknown);
    expect(account.steps).to.deep.equal(['|', 'lookup']);
    expect((account.error?.cause as { code?: unknown } | undefined)?.code).to.equal('MECHANISM_UNAVAILABLE');
    expect(unknown.error?.cause).to.equal(undefined);
  });

  it('DIGEST-MD5: an account without a clear secret fails exactly like an unknown user; only the cause tells', () => {
    const hashed = HashedIdentity.create('carol', 'carol-pass', new Pbkdf2Hasher({ rounds: 1000 }));
    const options: ServerOptions = { lookup: storeOf(hashed), hostname: 'example.org' };
    const traceFor = (user: string): ServerTrace => {
      const client = new SyncClientSession(
        DIGEST_MD5.client(new ClientCredentials(user, 'carol-pass'), { host: 'example.org', service: 'imap' }),
      );
      client.start();
      return traceServer(DIGEST_MD5.server(options), (challenge) => client.challenge(challenge));
    };
    const account = traceFor('carol');
    const unknown = traceFor('mallory');
    expectSameFailure(account, unknown);
    expect((account.error?.cause as { code?: unknown } | undefined)?.code).to.equal('MECHANISM_UNAVAILABLE');
  });
});

// ---------------------------------------------------------------------------------------------
// The matrix: every server mechanism that looks a user up, every kind of stored identity, stores
// that keep one object per account and stores that build a new one per lookup, first and
// repeated probes. Counted per probe: effects (kind and order, `|` for a message to the client),
// every PBKDF2 and scrypt run by the server (with its cost) and every hasher call.

const kdf = new KdfCounter();

/** What one probe cost the server. */
interface ProbeCost {
  readonly steps: string[];
  readonly error: string | undefined;
  readonly kdfRuns: string[];
  readonly hasherCalls: number;
}

/** A user-defined identity class: clear text behind its own methods (as a database row might be). */
class RowIdentity implements Identity {
  constructor(
    readonly authcid: string,
    readonly password: string,
  ) {}
  compareAuthcid(authcid: string): boolean {
    return authcid === this.authcid;
  }
  compareSecret(secret: string): boolean {
    return new ClearIdentity(this.authcid, this.password).compareSecret(secret);
  }
  getClearSecret(): string {
    return this.password;
  }
}

/** A user-defined identity class that serves SCRAM keys from a row (plain objects, as another copy of saslkit would). */
class KeyRowIdentity implements Identity {
  readonly #secret: ScramSecret;
  constructor(
    readonly authcid: string,
    secret: ScramSecret,
  ) {
    this.#secret = secret;
  }
  compareAuthcid(authcid: string): boolean {
    return authcid === this.authcid;
  }
  compareSecret(secret: string): boolean {
    return this.#secret.verifyNormalized(secret);
  }
  getClearSecret(): undefined {
    return undefined;
  }
  getScramSecret(hash: string): ScramSecret | undefined {
    const s = this.#secret;
    return hash === s.hash
      ? ({
          hash: s.hash,
          salt: s.salt,
          iterations: s.iterations,
          storedKey: s.storedKey,
          serverKey: s.serverKey,
        } as unknown as ScramSecret)
      : undefined;
  }
}

/** A row with SCRAM keys for one hash and the clear password as well (a store migrating to SCRAM). */
class KeyAndClearRowIdentity implements Identity {
  readonly #keys: KeyRowIdentity;
  constructor(
    readonly authcid: string,
    secret: ScramSecret,
    private readonly password: string,
  ) {
    this.#keys = new KeyRowIdentity(authcid, secret);
  }
  compareAuthcid(authcid: string): boolean {
    return authcid === this.authcid;
  }
  compareSecret(secret: string): boolean {
    return new ClearIdentity(this.authcid, this.password).compareSecret(secret);
  }
  getClearSecret(): string {
    return this.password;
  }
  getScramSecret(hash: string): ScramSecret | undefined {
    return this.#keys.getScramSecret(hash);
  }
}

type HasherCounter = { calls: number };

/** Wraps a hasher so that every verify counts; the wrapped hasher is shared by all accounts of a store. */
function callCounting(
  inner: PasswordHasher & { verify(secret: string, hashed: string): boolean; hash(secret: string): string },
  counter: HasherCounter,
): PasswordHasher {
  return {
    hash: (secret) => inner.hash(secret),
    verify: (secret, hashed) => {
      counter.calls++;
      return inner.verify(secret, hashed);
    },
    ...(inner.clearSecret
      ? { clearSecret: (hashed: string) => (inner.clearSecret as (h: string) => string)(hashed) }
      : {}),
  };
}

interface Kind {
  readonly name: string;
  /** Builds alice's account; a store calls it once (same object) or per lookup (fresh objects). */
  readonly account: (counter: HasherCounter) => () => Identity;
  /** Extra server options (a decoy for a class saslkit cannot copy). */
  readonly options?: ServerOptions;
}

const PASSWORD = 'alice-pass';
const KINDS: readonly Kind[] = [
  { name: 'ClearIdentity', account: () => () => new ClearIdentity('alice', PASSWORD) },
  ...(
    [
      ['PBKDF2', () => new Pbkdf2Hasher({ rounds: 1000 })],
      ['Dovecot PBKDF2', () => new DovecotPbkdf2Hasher({ rounds: 1100 })],
      ['scrypt', () => new ScryptHasher({ ln: 4, r: 8, p: 1 })],
      ['clear text', () => new CleartextHasher()],
    ] as const
  ).map(([name, make]): Kind => ({
    name: `HashedIdentity (${name})`,
    account: (counter) => {
      const digest = HashedIdentity.create('alice', PASSWORD, make()).digest;
      const hasher = callCounting(make(), counter);
      return () => new HashedIdentity('alice', digest, hasher);
    },
  })),
  {
    name: 'ScramIdentity',
    account: () => {
      const secrets = ScramIdentity.create('alice', PASSWORD, { iterations: 4200 }).format();
      return () => new ScramIdentity('alice', secrets);
    },
  },
  {
    name: 'a user-defined Identity (with unknownUserIdentity of its class)',
    account: () => () => new RowIdentity('alice', PASSWORD),
    options: { unknownUserIdentity: new RowIdentity('nobody', 'nobody-pass') },
  },
  // Without unknownUserIdentity saslkit copies what the class hands out (its clear secret or its
  // SCRAM keys), never calling its checks; PLAIN then compares like the class does only because
  // these classes compare clear text or derive with their SCRAM secret.
  { name: 'a user-defined Identity with a clear secret', account: () => () => new RowIdentity('alice', PASSWORD) },
  {
    name: 'a user-defined Identity with SCRAM keys',
    account: () => {
      const secret = ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4300 });
      return () => new KeyRowIdentity('alice', secret);
    },
  },
  // SCRAM-SHA-1 and -512 derive from the clear password (one PBKDF2), SCRAM-SHA-256 uses the keys:
  // an unknown user must derive for the first two as well.
  {
    name: 'a user-defined Identity with SHA-256 SCRAM keys and a clear secret',
    account: () => {
      const secret = ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4300 });
      return () => new KeyAndClearRowIdentity('alice', secret, PASSWORD);
    },
  },
];

const BINDING = staticChannelBinding({ 'tls-server-end-point': new Uint8Array(32).fill(7) });

type Prober = (options: ServerOptions, user: string, password: string) => ServerTrace;

function scramProber(mechanism: Mechanism): Prober {
  return (options, user, password) => {
    const plus = mechanism.name.endsWith('-PLUS');
    const client = new SyncClientSession(
      mechanism.client(new ClientCredentials(user, password), plus ? { channelBindingData: BINDING } : {}),
    );
    const first = client.start() as Uint8Array;
    // The client's own PBKDF2 is not the server's work: counting pauses while the client runs.
    return traceServer(
      mechanism.server({ ...options, ...(plus ? { channelBindingData: BINDING } : {}) }, first),
      (challenge) => {
        kdf.active = false;
        try {
          return client.challenge(challenge);
        } finally {
          kdf.active = true;
        }
      },
    );
  };
}

const MECHANISMS: readonly [string, Prober][] = [
  ['PLAIN', (options, user, password) => traceServer(PLAIN.server(options, buildPlainResponse(user, password)), [])],
  ['LOGIN', (options, user, password) => traceServer(LOGIN.server(options), [b(user), b(password)])],
  [
    'CRAM-MD5',
    (options, user, password) =>
      traceServer(CRAM_MD5.server(options), (challenge) => buildCramMd5Response(user, password, challenge)),
  ],
  [
    'DIGEST-MD5',
    (options, user, password) => {
      const client = new SyncClientSession(
        DIGEST_MD5.client(new ClientCredentials(user, password), { host: 'example.org', service: 'imap' }),
      );
      client.start();
      return traceServer(DIGEST_MD5.server({ ...options, hostname: 'example.org' }), (challenge) =>
        client.challenge(challenge),
      );
    },
  ],
  ...[SCRAM_SHA_1, SCRAM_SHA_256, SCRAM_SHA_512, SCRAM_SHA_1_PLUS, SCRAM_SHA_256_PLUS, SCRAM_SHA_512_PLUS].map(
    (m): [string, Prober] => [m.name, scramProber(m)],
  ),
];

describe('hostile: unknown users cost what wrong passwords cost, for every mechanism and identity kind', () => {
  before(() => {
    kdf.install();
  });
  after(() => {
    kdf.uninstall();
  });

  for (const [mechanism, probe] of MECHANISMS) {
    for (const kind of KINDS) {
      for (const fresh of [false, true]) {
        const store = fresh ? 'a new object per lookup' : 'one object per account';
        it(`${mechanism} x ${kind.name}, ${store}: the same effects, KDF runs and hasher calls, first and repeated`, () => {
          const counter: HasherCounter = { calls: 0 };
          const make = kind.account(counter);
          const one = make();
          const lookup = (name: string): Identity | undefined =>
            name === 'alice' ? (fresh ? make() : one) : undefined;
          const options: ServerOptions = { lookup, scramSaltSecret: 'matrix-secret', ...kind.options };
          const cost = (user: string, password: string): ProbeCost => {
            counter.calls = 0;
            const { value, runs } = kdf.during(() => probe(options, user, password));
            return { steps: value.steps, error: value.error?.code, kdfRuns: runs, hasherCalls: counter.calls };
          };
          // The first probe is the store's first lookup: the decoy is learned from it (or set).
          const probes: [string, ProbeCost, ProbeCost][] = [];
          const pair = (when: string, password: string, unknownName: string): void => {
            const known = cost('alice', password);
            probes.push([when, known, cost(unknownName, password)]);
          };
          pair('first', 'wrong-pass', 'mallory');
          pair('repeated', 'wrong-pass', 'mallory');
          const login = cost('alice', PASSWORD);
          pair('after a login', 'wrong-pass', 'mallory');
          pair('another unknown name', 'other-pass', 'trudy');
          for (const [when, known, unknown] of probes) {
            expect(known.error, `${when}: a wrong password fails`).to.equal('AUTHENTICATION_FAILED');
            expect(unknown, `${when}: an unknown user costs what a wrong password costs`).to.deep.equal(known);
          }
          // The right password passes wherever the mechanism can use the account.
          const keysOnly = kind.name === 'ScramIdentity' || kind.name.endsWith('SCRAM keys');
          const hashed = kind.name.startsWith('HashedIdentity') && !kind.name.includes('clear text');
          const needsClear = /^(CRAM|DIGEST)-/.test(mechanism);
          const onlySha256 =
            kind.name.endsWith('SCRAM keys') && mechanism.startsWith('SCRAM') && !mechanism.startsWith('SCRAM-SHA-256');
          const usable =
            !((hashed || keysOnly) && needsClear) && !(hashed && mechanism.startsWith('SCRAM')) && !onlySha256;
          expect(login.error).to.equal(usable ? undefined : 'AUTHENTICATION_FAILED');
        });
      }
    }
  }
});

describe('hostile: unknown users with a password-check backend (verifyPassword)', () => {
  // With a backend that can only say yes or no, whether a user exists is the backend's secret:
  // saslkit must add no difference of its own. Both failures make the same effects, ask the
  // backend once with the same kind of arguments, and fail with the same error.
  for (const [mechanism, run] of [
    [
      'PLAIN',
      (options: ServerOptions, user: string, password: string): ServerTrace => plainTrace(options, user, password),
    ],
    [
      'LOGIN',
      (options: ServerOptions, user: string, password: string): ServerTrace =>
        traceServer(LOGIN.server(options), [b(user), b(password)]),
    ],
  ] as const) {
    it(`${mechanism}: the same effects, one backend call each, the same error`, () => {
      const calls: string[][] = [];
      let lookups = 0;
      const options: ServerOptions = {
        lookup: () => {
          lookups += 1;
          return undefined;
        },
        verifyPassword: (authcid, password, context) => {
          calls.push([authcid, password, context.mechanism]);
          return authcid === 'alice' && password === 'alice-pass';
        },
      };
      const wrong = run(options, 'alice', 'wrong-pass');
      const unknown = run(options, 'mallory', 'wrong-pass');
      expectSameFailure(wrong, unknown);
      expect(wrong.steps.filter((step) => step !== '|')).to.deep.equal(['verify']);
      expect(calls).to.deep.equal([
        ['alice', 'wrong-pass', mechanism],
        ['mallory', 'wrong-pass', mechanism],
      ]);
      expect(lookups, 'the store is not asked when the backend is set').to.equal(0);
      expect(run(options, 'alice', 'alice-pass').error).to.equal(undefined);
    });
  }
});
