/**
 * The verification steps every password-based server mechanism shares: look the user up,
 * check the secret, check the authorization identity. Each step is an effect, so the store,
 * the hasher and the policy may all be asynchronous.
 * @module
 */
import { AuthenticationFailedError, AuthorizationFailedError, LimitExceededError, MechanismUnavailableError, UsageError } from './errors.js';
import { type Authenticated, type Effect, effect, perform } from './exchange.js';
import { ClearIdentity, HashedIdentity, type Identity } from './identity.js';
import { type CredentialLookup, DEFAULT_MAX_FIELD_BYTES, type ServerOptions } from './options.js';
import { trySaslprep } from './saslprep.js';
import { ScramIdentity, type ScramSecret } from './scram-secret.js';

// The authcid of decoys: a NUL cannot come out of SASLprep, so no presented name matches it.
const DECOY_AUTHCID = '\u0000nobody';
// The decoy until the store has returned an identity: a clear-text comparison.
const NOBODY = new ClearIdentity(DECOY_AUTHCID, 'saslkit-unknown-user-placeholder');
// Decoys learned per lookup function, and the latest one learned from any (a host that builds a
// new lookup closure per connection still gets a decoy of its store's kind).
const DECOYS = new WeakMap<CredentialLookup, { readonly kind: unknown; readonly decoy: Identity }>();
let latestDecoy: Identity | undefined;

/**
 * An identity of the same kind and cost as `identity` that belongs to nobody, or undefined for
 * kinds saslkit does not know (their checks may have side effects, such as a lockout counter).
 * A hashed decoy reuses the stored hash string, so checking a password against it runs the same
 * algorithm with the same cost parameters; its authcid matches no presented name.
 */
function decoyOf(identity: Identity): Identity | undefined {
  if (identity instanceof HashedIdentity) return new HashedIdentity(DECOY_AUTHCID, identity.digest, identity.hasher);
  if (identity instanceof ScramIdentity) {
    return new ScramIdentity(DECOY_AUTHCID, identity.hashes.map((hash) => identity.getScramSecret(hash) as ScramSecret));
  }
  if (identity instanceof ClearIdentity) return NOBODY;
  return undefined;
}

/**
 * Remembers a decoy for the store the first time it returns an identity of a new kind (one
 * comparison per login otherwise). Mechanisms call it after every successful lookup. @internal
 */
export function learnDecoy(options: ServerOptions, identity: Identity): void {
  const { lookup } = options;
  if (lookup === undefined) return;
  const kind: unknown = identity.constructor;
  if (DECOYS.get(lookup)?.kind === kind) return;
  const decoy = decoyOf(identity);
  if (decoy === undefined) return;
  DECOYS.set(lookup, { kind, decoy });
  latestDecoy = decoy;
}

/**
 * The identity an unknown user's password is checked against, so that the failure runs the same
 * steps at about the same cost as a wrong password: `options.unknownUserIdentity` when set,
 * else a decoy of the kind the store returns (see {@link ServerOptions.unknownUserIdentity}).
 */
export function unknownUserIdentity(options: ServerOptions): Identity {
  if (options.unknownUserIdentity !== undefined) return options.unknownUserIdentity;
  const learned = options.lookup === undefined ? undefined : DECOYS.get(options.lookup)?.decoy;
  return learned ?? latestDecoy ?? NOBODY;
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
  if (!lookup) throw new UsageError(`${mechanism} needs a lookup option to find stored identities`, { mechanism });
  return effect('lookup', () => lookup(authcid, { mechanism }));
}

/** The effect that checks a password against an identity, off the event loop where possible. */
export function verifyEffect(identity: Identity, secret: string): Effect<boolean> {
  return effect(
    'verify',
    () => identity.compareSecret(secret),
    identity.compareSecretAsync ? () => (identity.compareSecretAsync as (s: string) => Promise<boolean>).call(identity, secret) : undefined,
  );
}

/** Rejects a field longer than the configured limit. Lengths are counted in UTF-8 bytes. */
export function checkFieldLength(options: ServerOptions, mechanism: string, field: string, byteLength: number): void {
  const max = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  if (byteLength > max) throw new LimitExceededError('maxFieldBytes', `${field} is longer than ${max} bytes`, { mechanism, party: 'client' });
}

/** Applies the authorization policy and returns the effective authzid. */
export function* authorize(options: ServerOptions, mechanism: string, authcid: string, authzid: string): Generator<Effect<boolean>, string, unknown> {
  if (authzid === '' || authzid === authcid) return authcid;
  const policy = options.authorize;
  const allowed = policy ? yield* perform(effect('hook', () => policy({ mechanism, authcid, authzid }))) : false;
  if (!allowed) throw new AuthorizationFailedError(undefined, { mechanism, party: 'client' });
  return authzid;
}

/**
 * Looks the user up, checks the password, applies the authorization policy. An unknown user's
 * password is checked against a decoy ({@link ServerOptions.unknownUserIdentity}): the same effects and identity calls
 * as a wrong password, and the same {@link AuthenticationFailedError}.
 */
export function* authenticatePassword(
  options: ServerOptions,
  mechanism: string,
  authcid: string,
  secret: string,
  authzid: string,
): Generator<Effect<unknown>, Authenticated, unknown> {
  // The store is asked for the prepared name, so `al\u00ADice` finds alice (RFC 4616 section 2).
  const prepared = trySaslprep(authcid, { allowUnassigned: true });
  const identity = prepared === undefined || prepared === '' ? undefined : yield* perform(lookupEffect(options, mechanism, prepared));
  if (identity !== undefined) learnDecoy(options, identity);
  const candidate = identity ?? unknownUserIdentity(options);
  const secretOk = yield* perform(verifyEffect(candidate, secret));
  const authcidOk = candidate.compareAuthcid(authcid);
  if (identity === undefined || !secretOk || !authcidOk) throw new AuthenticationFailedError(undefined, { mechanism, party: 'client' });
  const effective = yield* authorize(options, mechanism, identity.authcid, authzid);
  return { mechanism, authcid: identity.authcid, authzid: effective, identity };
}
