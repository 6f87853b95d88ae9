/**
 * Property-based fuzzing of every mechanism, parser and protocol profile, with a small budget
 * (`npm run fuzz` runs the same properties with a large one). Seeded: the same cases run every
 * time unless FUZZ_SEED is set, and a failure prints the seed and the shrunk input. Reproduce
 * one target with `FUZZ_SEED=<seed> npx mocha spec/fuzz/fuzz.spec.ts --grep '<target name>'`.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { EMPTY, MalformedMessageError, type ServerMechanism, UsageError, challenge } from '../../lib/index.js';
import { discoveryProblems, fuzzTargets, serverTarget, targetSeed } from './properties.js';

/** The base seed of `npm test`: fixed, so CI runs the same cases every time. */
const DEFAULT_SEED = 4422;
const base = process.env['FUZZ_SEED'] === undefined ? DEFAULT_SEED : Number(process.env['FUZZ_SEED']);
/** Cases per target per unit of cost: a cheap parser gets this many, a SCRAM exchange a fortieth. */
const RUNS_PER_UNIT = Number(process.env['FUZZ_RUNS'] ?? 250);

describe('fuzz', () => {
  it('finds a fuzzer input for every exported parser and profile', () => {
    expect(discoveryProblems()).to.deep.equal([]);
  });

  const targets = fuzzTargets();

  it('covers every registered mechanism and the known parsers', () => {
    const names = targets.map((t) => t.name);
    for (const expected of [
      'server PLAIN',
      'client SCRAM-SHA-256',
      'in-flight DIGEST-MD5',
      'parser fromBase64',
      'parser decodeUtf8',
      'parser saslprep',
      'parser parseXmppSaslElement',
    ]) {
      expect(names).to.include(expected);
    }
  });

  for (const target of targets) {
    it(target.name, async () => {
      const seed = targetSeed(base, target.name);
      const numRuns = Math.max(10, Math.round(RUNS_PER_UNIT / target.cost));
      try {
        await fc.assert(target.property(), { seed, numRuns });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${target.name} failed (base seed FUZZ_SEED=${base}, target seed ${seed}):\n${message}`, {
          cause: error,
        });
      }
    });
  }
});

describe('fuzz properties catch planted bugs', () => {
  const base = { clientFirst: true, priority: 0 } as const;
  const failsWith = (mechanism: ServerMechanism, pattern: RegExp): void => {
    const details = fc.check(serverTarget(mechanism).property(), {
      seed: DEFAULT_SEED,
      numRuns: 300,
    }) as fc.RunDetails<unknown>;
    expect(details.failed, `the property missed the planted bug in ${mechanism.name}`).to.equal(true);
    expect((details.errorInstance as Error).message).to.match(pattern);
  };

  it('an untyped crash on some input', () => {
    failsWith(
      {
        ...base,
        name: 'X-CRASHY',
        *server(_options, initial) {
          const message = initial ?? (yield* challenge(EMPTY));
          if (message.includes(0x2c)) throw new TypeError('planted crash');
          throw new MalformedMessageError('refused', { party: 'client' });
        },
      },
      /untyped error TypeError: planted crash/,
    );
  });

  it('a success without the credential', () => {
    failsWith(
      {
        ...base,
        name: 'X-LAX',
        *server(_options, initial) {
          const message = initial ?? (yield* challenge(EMPTY));
          if (message.length < 3) throw new MalformedMessageError('too short', { party: 'client' });
          return { mechanism: 'X-LAX', authcid: 'user', authzid: 'user' };
        },
      },
      /authenticated "user" without its credential/,
    );
  });

  it('an error message that echoes the peer', () => {
    failsWith(
      {
        ...base,
        name: 'X-ECHO',
        *server(_options, initial) {
          const message = initial ?? (yield* challenge(EMPTY));
          throw new MalformedMessageError(`bad message ${Buffer.from(message).toString('latin1')}`, {
            party: 'client',
          });
        },
      },
      /echoes the peer's bytes/,
    );
  });

  it('a UsageError for peer input', () => {
    failsWith(
      {
        ...base,
        name: 'X-BLAME',
        *server(_options, initial) {
          yield* challenge(initial ?? EMPTY);
          throw new UsageError('blames the host');
        },
      },
      /UsageError/,
    );
  });
});
