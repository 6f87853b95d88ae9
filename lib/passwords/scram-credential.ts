/**
 * The SCRAM server's one way down to the store (issue 12): the lookup, the cost cap, the
 * account's stored secret or clear password, and the decoy shape an unknown or refused user's
 * answer copies, gathered by {@link scramCredential}. Nothing here calls back into a mechanism.
 * @module
 */
import { type Effect, perform } from '../core/exchange.js';
import type { Identity } from './identity.js';
import type { ServerOptions } from '../core/options.js';
import { trySaslprep } from './saslprep.js';
import { type ScramSecret, isScramKeySource } from './scram-secret.js';
import { SCRAM_HASHES, type ScramHash } from './scram-keys.js';
import { clearSecretOf, costError, learnDecoy, learnedFor, storedCostError } from './decoy.js';
import { QUERY, lookupEffect } from './store-effects.js';

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
