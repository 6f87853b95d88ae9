/**
 * The effects that reach the store and the identity (lookup, verify), and SASLprep's query
 * profile for presented names and passwords: shared by the PLAIN/LOGIN path (server-auth.ts) and
 * the SCRAM path (scram-credential.ts), and by the mechanisms that look a user up themselves.
 * @module
 */
import { UsageError } from '../core/errors.js';
import { type Effect, callEffect } from '../core/exchange.js';
import type { Identity } from './identity.js';
import type { ServerOptions } from '../core/options.js';
import type { SaslprepOptions } from './saslprep.js';

/** SASLprep's query profile (presented names and passwords), one object for every call. @internal */
export const QUERY: SaslprepOptions = Object.freeze({ allowUnassigned: true });

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
  return callEffect('lookup', undefined, lookup, undefined, authcid, { mechanism });
}

/** The effect that checks a password against an identity, off the event loop where possible. */
export function verifyEffect(identity: Identity, secret: string): Effect<boolean> {
  // The methods are called with `identity` as their receiver (callEffect), not unbound.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  return callEffect('verify', identity, identity.compareSecret, identity.compareSecretAsync, secret, undefined);
}
