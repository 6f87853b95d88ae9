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
} from '../core/errors.js';
import { type Authenticated, type Effect, effect, perform } from '../core/exchange.js';
import type { Identity } from './identity.js';
import { DEFAULT_MAX_FIELD_BYTES, type PasswordVerifier, type ServerOptions } from '../core/options.js';
import { trySaslprep } from './saslprep.js';
import { QUERY, lookupEffect, verifyEffect } from './store-effects.js';
import { learnDecoy, nobody, storedCostError, unknownUserIdentity } from './decoy.js';

// Split by job (issue 12): the unknown-user decoys and the cost cap in decoy.ts, the SCRAM
// credential path in scram-credential.ts, the store effects in store-effects.ts. Re-exported so
// that the mechanisms keep one import for the shared steps.
export { lookupEffect, verifyEffect } from './store-effects.js';
export { learnDecoy, storedCost, storedCostError, unknownUserIdentity } from './decoy.js';
export { type ScramCredential, type ScramDecoy, scramCredential } from './scram-credential.js';

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
