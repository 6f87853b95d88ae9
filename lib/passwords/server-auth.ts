/**
 * The verification steps every password-based server mechanism shares: look the user up,
 * check the secret, check the authorization identity. Each step is an effect, so the store,
 * the hasher and the policy may all be asynchronous.
 * @module
 */
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  LimitExceededError,
  MechanismUnavailableError,
  UsageError,
} from '../core/errors.js';
import { type Authenticated, type Effect, effect, perform } from '../core/exchange.js';
import { ClearIdentity, HashedIdentity, type Identity } from './identity.js';
import {
  type CredentialLookup,
  DEFAULT_MAX_FIELD_BYTES,
  DEFAULT_MAX_STORED_COST,
  type PasswordVerifier,
  type ServerOptions,
} from '../core/options.js';
import { type SaslprepOptions, trySaslprep } from './saslprep.js';
import { ScramIdentity, ScramSecret, isScramKeySource } from './scram-secret.js';
import { SCRAM_HASHES, type ScramHash } from './scram-keys.js';

// SASLprep's query profile (presented names and passwords), one object for every call.
const QUERY: SaslprepOptions = Object.freeze({ allowUnassigned: true });
// The authcid of decoys: a NUL cannot come out of SASLprep, so no presented name matches it.
const DECOY_AUTHCID = '\u0000nobody';
// The decoy until the store has returned an identity: a clear-text comparison. Built on first
// use: its constructor runs SASLprep, which is no work for module load.
let nobodyIdentity: ClearIdentity | undefined;
const nobody = (): ClearIdentity =>
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
interface Learned {
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

/**
 * The SCRAM secrets an identity hands out, as it hands them out (they may come from another copy
 * of saslkit or straight from a database row): only those with the hash they are asked for and a
 * numeric iteration count; empty for identities without `getScramSecret`.
 */
function scramSecretsOf(identity: Identity): Partial<ScramSecret>[] {
  if (!isScramKeySource(identity)) return [];
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
  if (identity instanceof HashedIdentity) return new HashedIdentity(DECOY_AUTHCID, identity.digest, identity.hasher);
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
  if (identity instanceof HashedIdentity) {
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
function costError(
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
 * The failure for a login that could not be checked because of a server-side reason (an account
 * the mechanism cannot use, a stored secret above the cost cap): to the peer an ordinary
 * authentication failure, the real reason in `cause`. @internal
 */
export function failedBecause(mechanism: string, cause: Error | undefined): AuthenticationFailedError {
  return new AuthenticationFailedError(undefined, {
    mechanism,
    party: 'client',
    ...(cause === undefined ? {} : { cause }),
  });
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
function clearSecretOf(identity: Identity): string | undefined {
  try {
    const clear = identity.getClearSecret();
    return typeof clear === 'string' ? clear : undefined;
  } catch {
    return undefined;
  }
}

function learnedFor(options: ServerOptions): Learned {
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

/** How a SCRAM server answers an unknown (or refused) user: the shape of the store's accounts for one hash. */
export interface ScramDecoy {
  /** The salt size of a stored secret of the store's kind; undefined: the default size. */
  readonly saltLength: number | undefined;
  /** Its iteration count; undefined: the server's count for derived keys. */
  readonly iterations: number | undefined;
  /** True when the store's accounts derive their keys (clear text): the answer derives once too. */
  readonly derives: boolean;
}

/**
 * What a SCRAM server needs from the store for one login, gathered in one place: the lookup
 * (of the SASLprep-ed name), the cost cap, the account's stored secret for `hash` or its clear
 * password (SASLprep-ed, stored profile), and the decoy shape that an unknown or refused user's
 * answer copies. Nothing here calls back into a mechanism.
 */
export interface ScramCredential {
  /** The name derived salts are bound to: the SASLprep-ed authcid, or the authcid as sent when SASLprep refuses it. */
  readonly name: string;
  /** The account within the cost cap, or undefined (unknown user, or refused). */
  readonly identity: Identity | undefined;
  /** The account's usable stored secret for the hash. */
  readonly stored: ScramSecret | undefined;
  /** The account's prepared clear password, when it has no stored secret. */
  readonly password: string | undefined;
  /** The shape of the answer when neither is there. */
  readonly decoy: ScramDecoy;
  /** Why a stored account (or the decoy) was not used: the failure's `cause`. */
  readonly refused: Error | undefined;
}

/** Looks up `authcid` for a SCRAM server and returns what the mechanism derives its keys from. */
export function* scramCredential(
  options: ServerOptions,
  mechanism: string,
  authcid: string,
  hash: ScramHash,
): Generator<Effect<Identity | undefined>, ScramCredential, unknown> {
  // The store is asked for the prepared name, as for PLAIN.
  const prepared = trySaslprep(authcid, QUERY);
  const found =
    prepared === undefined || prepared === '' ? undefined : yield* perform(lookupEffect(options, mechanism, prepared));
  // An account above the cost cap is answered like an unknown user; the reason is the cause.
  const refused = found === undefined ? undefined : storedCostError(options, found, mechanism);
  const identity = refused === undefined ? found : undefined;
  const name = prepared ?? authcid;
  if (identity !== undefined) {
    learnDecoy(options, identity);
    const stored: unknown = isScramKeySource(identity) ? identity.getScramSecret(hash) : undefined;
    if (usableScramSecret(stored, hash))
      return { name, identity, stored, password: undefined, decoy: NO_DECOY, refused };
    const clear = clearSecretOf(identity);
    const password = clear === undefined ? undefined : trySaslprep(clear, { allowUnassigned: false });
    if (password !== undefined && password !== '')
      return { name, identity, stored: undefined, password, decoy: NO_DECOY, refused };
  }
  const { decoy, decoyRefused } = scramDecoy(options, hash, mechanism);
  return { name, identity, stored: undefined, password: undefined, decoy, refused: refused ?? decoyRefused };
}

const NO_DECOY: ScramDecoy = { saltLength: undefined, iterations: undefined, derives: false };

/** The decoy shape for `hash`: from `unknownUserIdentity` when set, else learned from the store; none above the cost cap. */
function scramDecoy(
  options: ServerOptions,
  hash: ScramHash,
  mechanism: string,
): { decoy: ScramDecoy; decoyRefused: Error | undefined } {
  const configured = options.unknownUserIdentity;
  if (configured !== undefined) {
    const decoyRefused = storedCostError(options, configured, mechanism, true);
    if (decoyRefused !== undefined) return { decoy: NO_DECOY, decoyRefused };
    const model: unknown = isScramKeySource(configured) ? configured.getScramSecret(hash) : undefined;
    if (usableScramSecret(model, hash))
      return { decoy: { saltLength: model.salt.length, iterations: model.iterations, derives: false }, decoyRefused };
    return {
      decoy: { saltLength: undefined, iterations: undefined, derives: clearSecretOf(configured) !== undefined },
      decoyRefused,
    };
  }
  const learned = learnedFor(options);
  const decoyRefused = costError(options, learned.cost, undefined, mechanism);
  if (decoyRefused !== undefined) return { decoy: NO_DECOY, decoyRefused };
  const secret = learned.scram.secrets.get(hash);
  if (secret !== undefined)
    return { decoy: { saltLength: secret.saltLength, iterations: secret.iterations, derives: false }, decoyRefused };
  return { decoy: { saltLength: undefined, iterations: undefined, derives: learned.scram.derives }, decoyRefused };
}

/**
 * True when `value` is a SCRAM secret for `hash` that a server can use. Checked by shape, not
 * instanceof: the secret may come from the other (ESM or CommonJS) copy of saslkit, and a failed
 * check would refuse every login silently.
 */
function usableScramSecret(value: unknown, hash: ScramHash): value is ScramSecret {
  const secret = value as Partial<ScramSecret> | null | undefined;
  const { length } = SCRAM_HASHES[hash];
  return (
    secret?.hash === hash &&
    secret.salt instanceof Uint8Array &&
    secret.salt.length > 0 &&
    Number.isSafeInteger(secret.iterations) &&
    (secret.iterations ?? 0) > 0 &&
    secret.storedKey instanceof Uint8Array &&
    secret.storedKey.length === length &&
    secret.serverKey instanceof Uint8Array &&
    secret.serverKey.length === length
  );
}

/**
 * The failure for a stored account the mechanism cannot use (CRAM-MD5 or DIGEST-MD5 and a hashed
 * password). The peer sees an ordinary authentication failure, as for an unknown user, so that
 * the answer does not tell that the account exists; the operator finds the real reason, a
 * {@link MechanismUnavailableError}, as the error's `cause`.
 */
export function unusableAccountError(mechanism: string, reason: string): AuthenticationFailedError {
  return new AuthenticationFailedError(undefined, {
    mechanism,
    party: 'client',
    cause: new MechanismUnavailableError(reason, { mechanism, party: 'local' }),
  });
}

/** The effect that looks an authcid up in the configured store. */
export function lookupEffect(options: ServerOptions, mechanism: string, authcid: string): Effect<Identity | undefined> {
  const { lookup } = options;
  if (!lookup) {
    const why =
      options.verifyPassword === undefined
        ? ''
        : ' (verifyPassword serves only PLAIN and LOGIN, which receive the password itself)';
    throw new UsageError(`${mechanism} needs a lookup option to find stored identities${why}`, { mechanism });
  }
  return effect('lookup', () => lookup(authcid, { mechanism }));
}

/** The effect that checks a password against an identity, off the event loop where possible. */
export function verifyEffect(identity: Identity, secret: string): Effect<boolean> {
  return effect(
    'verify',
    () => identity.compareSecret(secret),
    identity.compareSecretAsync
      ? () => (identity.compareSecretAsync as (s: string) => Promise<boolean>).call(identity, secret)
      : undefined,
  );
}

/** Rejects a field longer than the configured limit. Lengths are counted in UTF-8 bytes. */
export function checkFieldLength(options: ServerOptions, mechanism: string, field: string, byteLength: number): void {
  const max = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  if (byteLength > max)
    throw new LimitExceededError('maxFieldBytes', `${field} is longer than ${max} bytes`, {
      mechanism,
      party: 'client',
    });
}

/** Applies the authorization policy and returns the effective authzid. */
export function* authorize(
  options: ServerOptions,
  mechanism: string,
  authcid: string,
  authzid: string,
): Generator<Effect<boolean>, string, unknown> {
  if (authzid === '' || authzid === authcid) return authcid;
  const policy = options.authorize;
  const allowed = policy ? yield* perform(effect('hook', () => policy({ mechanism, authcid, authzid }))) : false;
  if (!allowed) throw new AuthorizationFailedError(undefined, { mechanism, party: 'client' });
  return authzid;
}

/**
 * The password check of {@link ServerOptions.verifyPassword}: one `verify` effect, the same for
 * every name, so saslkit adds no difference between an unknown user and a wrong password (the
 * backend's own cost is the backend's to keep level). SASLprep's verdict depends only on what
 * the client sent, so a name or password it refuses fails without the call.
 */
function* verifyWithBackend(
  verifyPassword: PasswordVerifier,
  options: ServerOptions,
  mechanism: string,
  authcid: string,
  secret: string,
  authzid: string,
): Generator<Effect<unknown>, Authenticated, unknown> {
  const name = trySaslprep(authcid, QUERY);
  const password = trySaslprep(secret, QUERY);
  const usable = name !== undefined && name !== '' && password !== undefined && password !== '';
  // Typed boolean, but JavaScript backends return what they like.
  const answer: unknown = usable
    ? yield* perform(effect('verify', () => verifyPassword(name, password, { mechanism })))
    : false;
  // Only `true`: a backend that forgot to return, or returned a truthy object, lets no one in.
  if (!usable || answer !== true) throw new AuthenticationFailedError(undefined, { mechanism, party: 'client' });
  const effective = yield* authorize(options, mechanism, name, authzid);
  return { mechanism, authcid: name, authzid: effective };
}

/**
 * Looks the user up, checks the password, applies the authorization policy. An unknown user's
 * password is checked against a decoy ({@link ServerOptions.unknownUserIdentity}): the same effects and identity calls
 * as a wrong password, and the same {@link AuthenticationFailedError}. With
 * {@link ServerOptions.verifyPassword} set, the backend checks the password instead and the
 * store is not asked.
 */
export function* authenticatePassword(
  options: ServerOptions,
  mechanism: string,
  authcid: string,
  secret: string,
  authzid: string,
): Generator<Effect<unknown>, Authenticated, unknown> {
  if (options.verifyPassword !== undefined)
    return yield* verifyWithBackend(options.verifyPassword, options, mechanism, authcid, secret, authzid);
  // The store is asked for the prepared name, so `al\u00ADice` finds alice (RFC 4616 section 2).
  const prepared = trySaslprep(authcid, QUERY);
  // The effects are yielded directly rather than through `perform`: one generator less per
  // effect, on the path every PLAIN and LOGIN login takes (`npm run bench -- smtp`).
  const found =
    prepared === undefined || prepared === ''
      ? undefined
      : ((yield lookupEffect(options, mechanism, prepared)) as Identity | undefined);
  // An account whose secret costs more than the cap is checked like an unknown user (the same
  // steps, the decoy's cost), and fails with the reason as the cause.
  let refused = found === undefined ? undefined : storedCostError(options, found, mechanism);
  const identity = refused === undefined ? found : undefined;
  if (identity !== undefined) learnDecoy(options, identity);
  let candidate = identity ?? unknownUserIdentity(options);
  if (identity === undefined) {
    const decoyRefused = storedCostError(options, candidate, mechanism, true);
    if (decoyRefused !== undefined) {
      refused ??= decoyRefused;
      candidate = nobody();
    }
  }
  const secretOk = (yield verifyEffect(candidate, secret)) as boolean;
  const authcidOk = candidate.compareAuthcid(authcid);
  if (identity === undefined || !secretOk || !authcidOk) throw failedBecause(mechanism, refused);
  // No authzid, or the authcid itself: no policy to ask (what `authorize` returns first), no generator.
  const effective =
    authzid === '' || authzid === identity.authcid
      ? identity.authcid
      : yield* authorize(options, mechanism, identity.authcid, authzid);
  return { mechanism, authcid: identity.authcid, authzid: effective, identity };
}
