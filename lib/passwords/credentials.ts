/**
 * Credentials: what a client presents, and what a server parsed out of a client's messages
 * (claimed, not yet verified).
 * @module
 */
import { UsageError } from '../core/errors.js';
import type { Identity } from './identity.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';

// JavaScript callers can pass anything; a non-string would otherwise fail later, far from the cause.
function checkStrings(fields: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string') throw new UsageError(`${name} must be a string`);
  }
}

/**
 * What a client's secret is, and so which mechanisms an automatic choice may use it with: a
 * `password` (SCRAM, DIGEST-MD5, CRAM-MD5, PLAIN, LOGIN), a bearer `token` (OAUTHBEARER,
 * XOAUTH2), or `none` (EXTERNAL, ANONYMOUS).
 */
export type SecretKind = 'password' | 'token' | 'none';

const SECRET_KINDS: readonly SecretKind[] = ['password', 'token', 'none'];

/** Options of {@link ClientCredentials}. */
export interface ClientCredentialsOptions {
  /**
   * What the secret is. Default `password`, or `none` when the secret is empty. A bearer token
   * must say so (`kind: 'token'`): otherwise an automatic choice would use it as a password.
   */
  readonly kind?: SecretKind;
}

/** What a client authenticates with. The secret is a password, or a bearer token for OAuth mechanisms ({@link ClientCredentialsOptions.kind}). */
export class ClientCredentials extends Redacting {
  /** The authentication identity (user name). */
  readonly authcid: string;
  /** The authorization identity to act as; `''` means the authcid itself. */
  readonly authzid: string;
  /** What the secret is: the mechanisms an automatic choice (`SASLAuth.chooseClient`, the client profiles) considers. */
  readonly kind: SecretKind;
  readonly #secret: string;

  constructor(authcid: string, secret: string, authzid?: string, options: ClientCredentialsOptions = {}) {
    super();
    checkStrings({ authcid, secret, authzid: authzid ?? '' });
    const kind: unknown = options.kind ?? (secret === '' ? 'none' : 'password');
    if (!SECRET_KINDS.includes(kind as SecretKind))
      throw new UsageError(`kind must be one of: ${SECRET_KINDS.join(', ')}`);
    this.authcid = authcid;
    this.#secret = secret;
    this.authzid = authzid ?? '';
    this.kind = kind as SecretKind;
  }

  /** The password or token. Not shown by `util.inspect` or `JSON.stringify`. */
  get secret(): string {
    return this.#secret;
  }

  toJSON(): Record<string, string> {
    return { authcid: this.authcid, authzid: this.authzid };
  }

  protected describeRedacted(): string {
    return describe('ClientCredentials', { authcid: this.authcid, authzid: this.authzid, secret: REDACTED });
  }
}

/**
 * Credentials a client claimed, parsed from its messages but not verified. This is pysasl's
 * `ServerCredentials`: call `verify(identity)` with the stored account. saslkit's server
 * exchanges verify by themselves and return {@link Authenticated}; these classes are for
 * callers who parse messages directly (`parsePlainResponse`).
 */
export interface ServerCredentials {
  /** The authentication identity the client claimed. */
  readonly authcid: string;
  /** The authorization identity; the authcid when the client sent none. */
  readonly authzid: string;
  /** True when the claim matches `identity`. Fails closed: never throws for bad input. */
  verify(identity: Identity | undefined): boolean;
}

/** A claimed user name and password, from PLAIN or LOGIN. */
export class PlainCredentials extends Redacting implements ServerCredentials {
  readonly authcid: string;
  readonly authzid: string;
  readonly #secret: string;

  constructor(authcid: string, secret: string, authzid = '') {
    super();
    checkStrings({ authcid, secret, authzid });
    this.authcid = authcid;
    this.#secret = secret;
    this.authzid = authzid === '' ? authcid : authzid;
  }

  /** The presented password. */
  get secret(): string {
    return this.#secret;
  }

  verify(identity: Identity | undefined): boolean {
    if (identity === undefined) return false;
    // Both checks always run, so a wrong user name costs the same as a wrong password.
    const user = identity.compareAuthcid(this.authcid);
    const secret = identity.compareSecret(this.#secret);
    return user && secret;
  }

  /**
   * {@link PlainCredentials.verify} for identities that check asynchronously (an async-only or
   * thread-pool hasher). Use it when parsing messages directly with an async store.
   */
  async verifyAsync(identity: Identity | undefined): Promise<boolean> {
    if (identity === undefined) return false;
    const user = identity.compareAuthcid(this.authcid);
    const secret = identity.compareSecretAsync
      ? await identity.compareSecretAsync(this.#secret)
      : identity.compareSecret(this.#secret);
    return user && secret;
  }

  toJSON(): Record<string, string> {
    return { authcid: this.authcid, authzid: this.authzid };
  }

  protected describeRedacted(): string {
    return describe('PlainCredentials', { authcid: this.authcid, authzid: this.authzid, secret: REDACTED });
  }
}

/**
 * Throws a {@link UsageError} when `credentials` ask for an authzid that `mechanism` cannot
 * carry (LOGIN, CRAM-MD5, ANONYMOUS): dropping it silently would log the user in as someone else.
 */
export function rejectAuthzid(credentials: ClientCredentials, mechanism: string): void {
  if (credentials.authzid !== '')
    throw new UsageError(`${mechanism} cannot carry an authorization identity`, { mechanism });
}
