// server-auth.ts checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md): what
// the store and the password backend are asked, and the blame of the policy's refusal.
import { expect } from 'chai';
import {
  ClearIdentity,
  HashedIdentity,
  type Identity,
  PLAIN,
  SCRAM_SHA_256,
  type SaslError,
  ScramIdentity,
  type ServerOptions,
  SyncServerSession,
} from '../../lib/index.js';
import { traceServer } from '../hostile/support.js';
import { storedCostError } from '../../lib/passwords/server-auth.js';
import { b, expectSaslError, s } from '../support/helpers.js';

function plain(options: ServerOptions, message: string): void {
  new SyncServerSession(PLAIN.server(options, b(message))).start();
}

describe('server-auth checks (each pinned on its own)', () => {
  it('PLAIN asks the store (with the mechanism) only for names SASLprep accepts, unassigned code points included', () => {
    const asked: unknown[] = [];
    const lookup = (name: string, context: unknown): Identity | undefined => {
      asked.push([name, context]);
      return undefined;
    };
    for (const user of ['\u00ad', '\ue000', 'd\u0221'])
      expectSaslError(() => {
        plain({ lookup }, `\0${user}\0pw`);
      }, 'AUTHENTICATION_FAILED');
    expect(asked).to.deep.equal([['d\u0221', { mechanism: 'PLAIN' }]]);
  });

  it('PLAIN asks verifyPassword only for usable names and passwords, prepared, unassigned code points allowed', () => {
    const asked: unknown[] = [];
    const verifyPassword = (name: string, password: string, context: unknown): boolean => {
      asked.push([name, password, context]);
      return true;
    };
    for (const [user, pw] of [
      ['\u00ad', 'pw'],
      ['bob', '\u00ad'],
      ['\ue000', 'pw'],
      ['bob', '\ue000'],
    ]) {
      expectSaslError(() => {
        plain({ verifyPassword }, `\0${user}\0${pw}`);
      }, 'AUTHENTICATION_FAILED');
    }
    plain({ verifyPassword }, '\0d\u0221\u00a0x\0p\u00a0\u0221');
    expect(asked).to.deep.equal([['d\u0221 x', 'p \u0221', { mechanism: 'PLAIN' }]]);
  });

  it('a refused authzid is AUTHORIZATION_FAILED blamed on the client, with the mechanism', () => {
    const options: ServerOptions = {
      lookup: (name) => (name === 'alice' ? new ClearIdentity('alice', 'pw') : undefined),
    };
    const error: SaslError = expectSaslError(() => {
      plain(options, 'bob\0alice\0pw');
    }, 'AUTHORIZATION_FAILED');
    expect({ mechanism: error.mechanism, party: error.party }).to.deep.equal({ mechanism: 'PLAIN', party: 'client' });
  });

  it('a missing lookup is a USAGE error of the mechanism; maxStoredCost 1 is allowed', () => {
    const error = expectSaslError(() => {
      plain({}, '\0alice\0pw');
    }, 'USAGE');
    expect(error.mechanism).to.equal('PLAIN');
    const accepted = new SyncServerSession(
      PLAIN.server({ lookup: () => new ClearIdentity('alice', 'pw'), maxStoredCost: 1 }, b('\0alice\0pw')),
    ).start();
    expect(accepted.done).to.equal(true);
  });

  it('storedCostError names the mechanism and blames the local side; a bad cap is a USAGE error of the mechanism', () => {
    const costly = new HashedIdentity('alice', 'opaque', {
      hash: (secret: string) => secret,
      verify: () => false,
      cost: () => 10,
    });
    const error = storedCostError({ maxStoredCost: 9 }, costly, 'PLAIN');
    expect({ code: error?.code, limit: error?.limit, mechanism: error?.mechanism, party: error?.party }).to.deep.equal({
      code: 'LIMIT_EXCEEDED',
      limit: 'maxStoredCost',
      mechanism: 'PLAIN',
      party: 'local',
    });
    expect(storedCostError({ maxStoredCost: 10 }, costly, 'PLAIN')).to.equal(undefined);
    const usage = expectSaslError(() => storedCostError({ maxStoredCost: 0 }, costly, 'PLAIN'), 'USAGE');
    expect(usage.mechanism).to.equal('PLAIN');
  });
});

describe('server-auth checks: what counts towards maxStoredCost (fourth mutation run)', () => {
  /** An account of a class of one's own whose SCRAM secrets are plain objects (as from a database row). */
  function rowAccount(getScramSecret: (hash: string) => unknown): Identity {
    return {
      authcid: 'alice',
      compareAuthcid: (name) => name === 'alice',
      compareSecret: (secret) => secret === 'pw',
      getClearSecret: () => undefined,
      getScramSecret,
    } as Identity;
  }
  const secretOf = (hash: string, iterations: unknown): unknown => ({
    hash,
    salt: new Uint8Array(16),
    iterations,
    storedKey: new Uint8Array(32),
    serverKey: new Uint8Array(32),
  });
  const login = (account: Identity): SaslError | undefined => {
    try {
      plain({ lookup: () => account, maxStoredCost: 5000 }, '\0alice\0pw');
      return undefined;
    } catch (error) {
      return error as SaslError;
    }
  };

  it('a secret within the cap logs in, one above it is refused (the cases below change one thing)', () => {
    expect(login(rowAccount((hash) => (hash === 'SHA-256' ? secretOf('SHA-256', 5000) : undefined)))).to.equal(
      undefined,
    );
    const refused = login(rowAccount((hash) => (hash === 'SHA-256' ? secretOf('SHA-256', 5001) : undefined)));
    expect((refused?.cause as SaslError | undefined)?.code).to.equal('LIMIT_EXCEEDED');
  });

  it('a secret handed out under another hash than the one asked for does not count', () => {
    expect(login(rowAccount((hash) => (hash === 'SHA-1' ? secretOf('SHA-512', 9000) : undefined)))).to.equal(undefined);
  });

  it('a secret whose iteration count is not a number does not count', () => {
    expect(login(rowAccount((hash) => (hash === 'SHA-256' ? secretOf('SHA-256', '9000') : undefined)))).to.equal(
      undefined,
    );
  });

  it('a hash the account cannot hand out (it throws) does not hide the others', () => {
    const account = rowAccount((hash) => {
      if (hash === 'SHA-1') throw new Error('no SHA-1 here');
      return hash === 'SHA-512' ? secretOf('SHA-512', 9000) : undefined;
    });
    expect((login(account)?.cause as SaslError | undefined)?.code).to.equal('LIMIT_EXCEEDED');
  });
});

describe('server-auth checks: the decoy is learned once per store and identity class (fourth mutation run)', () => {
  // learnDecoy's contract: the first identity of a new kind a store returns is copied (its SCRAM
  // secrets read); later logins only read them for the cost cap, one call per hash. With
  // unknownUserIdentity set nothing is learned at all.
  function counted(calls: string[]): Identity {
    return {
      authcid: 'alice',
      compareAuthcid: (name) => name === 'alice',
      compareSecret: (secret) => secret === 'pw',
      getClearSecret: () => {
        calls.push('clear');
        return 'pw';
      },
      getScramSecret: (hash: string) => {
        calls.push(hash);
        return undefined;
      },
    } as Identity;
  }
  const callsPerLogin = (options: (account: Identity) => ServerOptions): string[][] => {
    const calls: string[] = [];
    const account = counted(calls);
    const lookup = options(account);
    const perLogin: string[][] = [];
    for (let i = 0; i < 3; i++) {
      plain(lookup, '\0alice\0pw');
      perLogin.push(calls.splice(0));
    }
    return perLogin;
  };
  const COST_CHECK = ['SHA-1', 'SHA-256', 'SHA-512'];

  it('learned on the first login only; later logins read the secrets once per hash for the cost cap', () => {
    const [first, second, third] = callsPerLogin((account) => ({ lookup: () => account }));
    expect(first?.length).to.be.greaterThan(COST_CHECK.length);
    expect(second).to.deep.equal(COST_CHECK);
    expect(third).to.deep.equal(COST_CHECK);
  });

  it('nothing is learned with unknownUserIdentity set: every login reads only what the cost cap needs', () => {
    const perLogin = callsPerLogin((account) => ({
      lookup: () => account,
      unknownUserIdentity: new ClearIdentity('nobody', 'decoy'),
    }));
    expect(perLogin).to.deep.equal([COST_CHECK, COST_CHECK, COST_CHECK]);
  });
});

describe('server-auth checks: cost cap, SCRAM lookups and decoys, trace labels (fourth mutation run, batch 7)', () => {
  const secretOf = (hash: string, iterations: number): unknown => ({
    hash,
    salt: new Uint8Array(16),
    iterations,
    storedKey: new Uint8Array(32),
    serverKey: new Uint8Array(32),
  });
  const row = (secrets: Record<string, unknown>): Identity =>
    ({
      authcid: 'alice',
      compareAuthcid: (name: string) => name === 'alice',
      compareSecret: (secret: string) => secret === 'pw',
      getClearSecret: () => undefined,
      getScramSecret: (hash: string) => secrets[hash],
    }) as Identity;

  it('the cost of an account is its most expensive secret, not its last', () => {
    const error = expectSaslError(() => {
      plain(
        {
          lookup: () => row({ 'SHA-1': secretOf('SHA-1', 9000), 'SHA-256': secretOf('SHA-256', 1000) }),
          maxStoredCost: 5000,
        },
        '\0alice\0pw',
      );
    }, 'AUTHENTICATION_FAILED');
    expect((error.cause as SaslError | undefined)?.code).to.equal('LIMIT_EXCEEDED');
  });

  /** The server-first message a SCRAM-SHA-256 server answers `n,,n=<user>,r=...` with, or its error. */
  function serverFirst(options: ServerOptions, user: string): string {
    const step = new SyncServerSession(
      SCRAM_SHA_256.server(options, b(`n,,n=${user},r=abcdefghijklmnopqrstuvwx`)),
    ).start();
    return step.done ? '' : s(step.challenge);
  }

  it('SCRAM asks the store only for names SASLprep accepts (unassigned code points allowed), prepared', () => {
    const asked: string[] = [];
    const lookup = (name: string): Identity | undefined => {
      asked.push(name);
      return undefined;
    };
    for (const user of ['\u00ad', '\ue000', 'd\u0221', 'al\u00adice']) serverFirst({ lookup }, user);
    expect(asked).to.deep.equal(['d\u0221', 'alice']);
  });

  it('SCRAM answers an unknown user with the shape of a configured SCRAM decoy, unless it is above the cost cap', () => {
    const decoy = ScramIdentity.create('nobody', 'decoy-pass', { hashes: ['SHA-256'], iterations: 3333 });
    const fields = (options: ServerOptions): Map<string, string> =>
      new Map(
        serverFirst(options, 'mallory')
          .split(',')
          .map((kv) => [kv.slice(0, 1), kv.slice(2)] as [string, string]),
      );
    const within = fields({ lookup: () => undefined, unknownUserIdentity: decoy, scram: { saltSecret: 'k' } });
    expect(within.get('i')).to.equal('3333');
    expect(Buffer.from(within.get('s') ?? '', 'base64').length).to.equal(decoy.getScramSecret('SHA-256')?.salt.length);
    const above = fields({
      lookup: () => undefined,
      unknownUserIdentity: decoy,
      maxStoredCost: 3000,
      scram: { saltSecret: 'k' },
    });
    expect(above.get('i')).to.not.equal('3333');
  });

  it('the authorization policy runs as a "hook" effect', () => {
    const options: ServerOptions = { lookup: () => new ClearIdentity('alice', 'pw'), authorize: () => true };
    expect(traceServer(PLAIN.server(options, b('bob\0alice\0pw')), []).steps).to.deep.equal([
      'lookup',
      'verify',
      'hook',
    ]);
  });
});

describe('server-auth checks: which decoy a store of an identity class of its own gets (fourth mutation run, batch 7)', () => {
  // A store whose accounts have a clear secret gets the clear-text decoy; one whose accounts
  // hand out nothing saslkit can copy gets the latest decoy learned from any store (as a host
  // that builds a lookup per connection would). Seen by a counting hasher behind the other store.
  const counter = { calls: 0 };
  const hashedStore = (): ServerOptions => {
    const alice = new HashedIdentity('alice', 'stored', {
      hash: (secret: string) => secret,
      verify: () => {
        counter.calls++;
        return false;
      },
    });
    return { lookup: (name) => (name === 'alice' ? alice : undefined) };
  };
  const own = (clear: string | undefined): Identity => ({
    authcid: 'alice',
    compareAuthcid: (name) => name === 'alice',
    compareSecret: () => false,
    getClearSecret: () => clear,
  });
  const probe = (options: ServerOptions, user: string): { code: string | undefined; hasherCalls: number } => {
    counter.calls = 0;
    const { error } = traceServer(PLAIN.server(options, b(`\0${user}\0wrong`)), []);
    return { code: error?.code, hasherCalls: counter.calls };
  };

  it("accounts with a clear secret: an unknown user is compared in clear text, not against another store's decoy", () => {
    probe(hashedStore(), 'alice');
    const store: ServerOptions = { lookup: (name) => (name === 'alice' ? own('pw') : undefined) };
    expect(probe(store, 'alice')).to.deep.equal({ code: 'AUTHENTICATION_FAILED', hasherCalls: 0 });
    expect(probe(store, 'mallory')).to.deep.equal({ code: 'AUTHENTICATION_FAILED', hasherCalls: 0 });
  });

  it('accounts that hand out nothing: an unknown user is checked against the latest decoy learned, and fails', () => {
    const store: ServerOptions = { lookup: (name) => (name === 'alice' ? own(undefined) : undefined) };
    probe(store, 'alice');
    probe(hashedStore(), 'alice');
    expect(probe(store, 'mallory')).to.deep.equal({ code: 'AUTHENTICATION_FAILED', hasherCalls: 1 });
  });
});
