/**
 * The unknown-user decoys and the cost cap on stored secrets: what an unknown (or refused) user's
 * password is checked against, learned from the identities a store returns, and what checking a
 * stored secret costs ({@link ServerOptions.maxStoredCost}). Split from server-auth.ts (issue 12);
 * PLAIN/LOGIN (server-auth.ts) and SCRAM (scram-credential.ts) both read it.
 * @module
 */
import { LimitExceededError, UsageError } from '../core/errors.js';
import { ClearIdentity, HashedIdentity, type Identity, isHashedIdentity } from './identity.js';
import { type CredentialLookup, DEFAULT_MAX_STORED_COST, type ServerOptions } from '../core/options.js';
import { ScramIdentity, ScramSecret, isScramKeySource } from './scram-secret.js';
import type { ScramHash } from './scram-keys.js';

// The authcid of decoys: a NUL cannot come out of SASLprep, so no presented name matches it.
const DECOY_AUTHCID = '\u0000nobody';
// The decoy until the store has returned an identity: a clear-text comparison. Built on first
// use: its constructor runs SASLprep, which is no work for module load.
let nobodyIdentity: ClearIdentity | undefined;
/** The clear-text decoy of nobody. @internal */
export const nobody = (): ClearIdentity =>
  (nobodyIdentity ??= new ClearIdentity(DECOY_AUTHCID, 'saslkit-unknown-user-placeholder'));
/**
 * What an unknown user's SCRAM answer copies from the store's accounts: per hash, the salt size
 * and count of a stored secret; else whether an account of this kind derives (it has a clear
 * secret) or not. Read from the account itself, never through a decoy identity.
 */
interface ScramShape {
  readonly secrets: ReadonlyMap<ScramHash, { readonly saltLength: number; readonly iterations: number }>;
  readonly derives: boolean;
}

/** What is learned from a store: the PLAIN/LOGIN decoy, the SCRAM shape, and their cost. */
export interface Learned {
  readonly kind: unknown;
  readonly decoy: Identity;
  readonly scram: ScramShape;
  readonly cost: number;
}

const CLEAR_SHAPE: ScramShape = { secrets: new Map(), derives: true };
let nobodyLearned: Learned | undefined;
const learnedOfNobody = (): Learned =>
  (nobodyLearned ??= { kind: ClearIdentity, decoy: nobody(), scram: CLEAR_SHAPE, cost: 0 });

// Decoys learned per lookup function, and the latest one learned from any (a host that builds a
// new lookup closure per connection still gets a decoy of its store's kind).
const DECOYS = new WeakMap<CredentialLookup, Learned>();
let latest: Learned | undefined;

// The keys of SCRAM_HASHES, written out: an Object.keys call at load would keep that table in every bundle.
const HASHES: readonly ScramHash[] = ['SHA-1', 'SHA-256', 'SHA-512'];

const NO_SECRETS: readonly Partial<ScramSecret>[] = Object.freeze([]);

/**
 * The SCRAM secrets an identity hands out, as it hands them out (they may come from another copy
 * of saslkit or straight from a database row): only those with the hash they are asked for and a
 * numeric iteration count; empty for identities without `getScramSecret`.
 */
function scramSecretsOf(identity: Identity): readonly Partial<ScramSecret>[] {
  // Shared, not a new array: every PLAIN and LOGIN login asks this of a ClearIdentity.
  if (!isScramKeySource(identity)) return NO_SECRETS;
  const out: Partial<ScramSecret>[] = [];
  for (const hash of HASHES) {
    try {
      const found = identity.getScramSecret(hash) as Partial<ScramSecret> | undefined;
      if (found?.hash === hash && typeof found.iterations === 'number') out.push(found);
    } catch {
      // A secret the identity cannot hand out is one SCRAM cannot use either.
    }
  }
  return out;
}

/** The secrets as saslkit's own {@link ScramSecret}s; malformed ones (SCRAM refuses them too) are left out. */
function asScramSecrets(secrets: readonly Partial<ScramSecret>[]): ScramSecret[] {
  const out: ScramSecret[] = [];
  for (const found of secrets) {
    if (found instanceof ScramSecret) out.push(found);
    else {
      try {
        out.push(
          new ScramSecret(
            found.hash as ScramHash,
            found.salt as Uint8Array,
            found.iterations as number,
            found.storedKey as Uint8Array,
            found.serverKey as Uint8Array,
          ),
        );
      } catch {
        // Not usable.
      }
    }
  }
  return out;
}

/**
 * An identity of the same kind and cost as `identity` that belongs to nobody, or undefined when
 * saslkit cannot tell its cost. A hashed decoy reuses the stored hash string, so checking a
 * password against it runs the same algorithm with the same cost parameters; a SCRAM decoy the
 * same secrets. An identity class of your own is copied by what it hands out (its SCRAM secrets,
 * else its clear secret), never by calling its checks: those may have side effects, such as a
 * lockout counter. Its authcid matches no presented name.
 */
function decoyOf(identity: Identity): Identity | undefined {
  if (isHashedIdentity(identity)) return new HashedIdentity(DECOY_AUTHCID, identity.digest, identity.hasher);
  if (identity instanceof ClearIdentity) return nobody();
  // A class that hands out its clear secret is checked as clear text (as ClearIdentity is), even
  // when it also hands out SCRAM keys for some hashes: those serve SCRAM only (see scramShapeOf).
  if (clearSecretOf(identity) !== undefined) return nobody();
  const secrets = asScramSecrets(scramSecretsOf(identity));
  if (secrets.length > 0) return new ScramIdentity(DECOY_AUTHCID, secrets);
  return undefined;
}

/**
 * What checking a password against `identity` costs, in PBKDF2 iterations (scrypt: N·r·p): the
 * most of its hash string (through the hasher's `cost`) and of every SCRAM secret it hands out.
 * 0 for clear text and for identities that do not tell. @internal
 */
export function storedCost(identity: Identity): number {
  let cost = 0;
  if (isHashedIdentity(identity)) {
    try {
      const reported = identity.hasher.cost?.(identity.digest);
      if (typeof reported === 'number' && reported > cost) cost = reported;
    } catch {
      // A hasher that cannot read the string refuses it at verification anyway.
    }
  }
  for (const secret of scramSecretsOf(identity))
    if ((secret.iterations as number) > cost) cost = secret.iterations as number;
  return cost;
}

/** The configured {@link ServerOptions.maxStoredCost}, checked. */
function maxStoredCost(options: ServerOptions, mechanism: string): number {
  const max = options.maxStoredCost ?? DEFAULT_MAX_STORED_COST;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new UsageError('maxStoredCost must be a positive integer', { mechanism });
  return max;
}

/**
 * The reason an account's stored secret may not be used: a cost above
 * {@link ServerOptions.maxStoredCost}. A {@link LimitExceededError} (`limit: 'maxStoredCost'`,
 * party `local`) that names the account, never its secret; undefined when the cost is within the
 * cap. `decoy` names the unknown-user decoy instead of an account. @internal
 */
export function storedCostError(
  options: ServerOptions,
  identity: Identity,
  mechanism: string,
  decoy = false,
): LimitExceededError | undefined {
  return costError(options, storedCost(identity), decoy ? undefined : identity.authcid, mechanism);
}

/** {@link storedCostError} for a known cost; `authcid` undefined names the decoy. */
export function costError(
  options: ServerOptions,
  cost: number,
  authcid: string | undefined,
  mechanism: string,
): LimitExceededError | undefined {
  const max = maxStoredCost(options, mechanism);
  if (cost <= max) return undefined;
  const entry =
    authcid === undefined ? 'the unknown-user decoy (unknownUserIdentity)' : `account ${JSON.stringify(authcid)}`;
  return new LimitExceededError(
    'maxStoredCost',
    `the stored secret of ${entry} costs ${cost} iterations, above maxStoredCost (${max}); it is refused`,
    { mechanism, party: 'local' },
  );
}

/**
 * Remembers a decoy for the store the first time it returns an identity of a new kind (one
 * comparison per login otherwise). Mechanisms call it after every successful lookup of an
 * account within {@link ServerOptions.maxStoredCost}. @internal
 */
export function learnDecoy(options: ServerOptions, identity: Identity): void {
  const { lookup } = options;
  // A configured decoy is always the one used: nothing to learn, no call on the identity.
  if (lookup === undefined || options.unknownUserIdentity !== undefined) return;
  const kind: unknown = identity.constructor;
  if (DECOYS.get(lookup)?.kind === kind) return;
  const decoy = decoyOf(identity);
  if (decoy === undefined) return;
  const learned: Learned = {
    kind,
    decoy,
    scram: identity instanceof ClearIdentity ? CLEAR_SHAPE : scramShapeOf(identity),
    cost: storedCost(decoy),
  };
  DECOYS.set(lookup, learned);
  latest = learned;
}

/** The {@link ScramShape} of an account, from what it hands out (as {@link decoyOf} reads it). */
function scramShapeOf(identity: Identity): ScramShape {
  const secrets = new Map<ScramHash, { saltLength: number; iterations: number }>();
  for (const secret of asScramSecrets(scramSecretsOf(identity)))
    secrets.set(secret.hash, { saltLength: secret.salt.length, iterations: secret.iterations });
  // A hash without a secret derives from the clear password when there is one, even if other
  // hashes have secrets (SCRAM-SHA-1 against an account with SHA-256 keys and a clear password).
  return { secrets, derives: clearSecretOf(identity) !== undefined };
}

/** The identity's clear secret, or undefined when it has none or cannot tell. */
export function clearSecretOf(identity: Identity): string | undefined {
  // Only the identity's own method is inside the try: one that throws has no clear secret.
  let clear: unknown;
  try {
    clear = identity.getClearSecret();
  } catch {
    // Nothing to read: `clear` stays undefined.
  }
  return typeof clear === 'string' ? clear : undefined;
}

/** The decoy learned for the store of `options`, else the latest learned, else nobody. @internal */
export function learnedFor(options: ServerOptions): Learned {
  const learned = options.lookup === undefined ? undefined : DECOYS.get(options.lookup);
  return learned ?? latest ?? learnedOfNobody();
}

/**
 * The identity an unknown user's password is checked against, so that the failure runs the same
 * steps at about the same cost as a wrong password: `options.unknownUserIdentity` when set,
 * else a decoy of the kind the store returns (see {@link ServerOptions.unknownUserIdentity}).
 */
export function unknownUserIdentity(options: ServerOptions): Identity {
  return options.unknownUserIdentity ?? learnedFor(options).decoy;
}
