/**
 * The verification steps every password-based server mechanism shares: look the user up,
 * check the secret, check the authorization identity. Each step is an effect, so the store,
 * the hasher and the policy may all be asynchronous.
 * @module
 */
import { AuthenticationFailedError, AuthorizationFailedError, LimitExceededError, UsageError } from './errors.js';
import { type Authenticated, type Effect, effect, perform } from './exchange.js';
import { ClearIdentity, type Identity } from './identity.js';
import { DEFAULT_MAX_FIELD_BYTES, type ServerOptions } from './options.js';
import { trySaslprep } from './saslprep.js';

// Verified against when the user does not exist, so that an unknown user costs the same
// steps as a wrong password and the reply cannot tell them apart.
const NOBODY = new ClearIdentity('\u0000nobody', 'saslkit-unknown-user-placeholder');

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

/** Looks the user up, checks the password, applies the authorization policy. */
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
  const candidate = identity ?? NOBODY;
  const secretOk = yield* perform(verifyEffect(candidate, secret));
  const authcidOk = candidate.compareAuthcid(authcid);
  if (identity === undefined || !secretOk || !authcidOk) throw new AuthenticationFailedError(undefined, { mechanism, party: 'client' });
  const effective = yield* authorize(options, mechanism, identity.authcid, authzid);
  return { mechanism, authcid: identity.authcid, authzid: effective, identity };
}
