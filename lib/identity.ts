/**
 * Server-side stored identities: what a credential store returns for an authcid, and what
 * mechanisms verify presented credentials against.
 * @module
 */
import { constantTimeEqual, utf8 } from './bytes.js';
import type { PasswordHasher } from './hashing.js';
import { INSPECT, REDACTED, describe } from './redact.js';
import { saslprep, trySaslprep } from './saslprep.js';

/** How strings are prepared before comparison; SASLprep by default, as RFC 4616 recommends. */
export type Preparation = (text: string) => string;

/** The identity function, for stores whose strings must be compared exactly as given. */
export const noprep: Preparation = (text) => text;

/**
 * A stored account. Comparison methods fail closed: any input they cannot prepare or parse
 * compares unequal instead of throwing.
 */
export interface Identity {
  /** The authentication identity (user name) of this account. */
  readonly authcid: string;
  /** True when `authcid` names this account. */
  compareAuthcid(authcid: string): boolean;
  /** True when `secret` is this account's password. May be slow (password hashing). */
  compareSecret(secret: string): boolean;
  /** The same check off the event loop, when the identity can do that; async drivers prefer it. */
  compareSecretAsync?(secret: string): Promise<boolean>;
  /** The clear-text secret, for mechanisms that need it (CRAM-MD5, DIGEST-MD5); else undefined. */
  getClearSecret(): string | undefined;
}

/** Options shared by the built-in identities. */
export interface IdentityOptions {
  /** How both the stored and the presented strings are prepared. Default: SASLprep. */
  readonly prepare?: Preparation;
}

// Stored strings reject unassigned code points; presented ones (queries) allow them. RFC 4013 2.5.
const storedPrep: Preparation = (text) => saslprep(text);
const queryPrep = (prepare: Preparation | undefined, text: string): string | undefined =>
  prepare ? tryPrepare(prepare, text) : trySaslprep(text, { allowUnassigned: true });

function tryPrepare(prepare: Preparation, text: string): string | undefined {
  try {
    return prepare(text);
  } catch {
    return undefined;
  }
}

function compareAuthcid(stored: string | undefined, prepare: Preparation | undefined, presented: string): boolean {
  const other = queryPrep(prepare, presented);
  return stored !== undefined && other !== undefined && constantTimeEqual(stored, other);
}

/** An account whose password is stored in clear text. Supports every password mechanism. */
export class ClearIdentity implements Identity {
  readonly authcid: string;
  readonly #secret: string;
  readonly #prepare: Preparation | undefined;
  readonly #preparedAuthcid: string | undefined;
  readonly #preparedSecret: string | undefined;

  constructor(authcid: string, secret: string, options: IdentityOptions = {}) {
    this.authcid = authcid;
    this.#secret = secret;
    this.#prepare = options.prepare;
    const prepare = options.prepare ?? storedPrep;
    this.#preparedAuthcid = tryPrepare(prepare, authcid);
    this.#preparedSecret = tryPrepare(prepare, secret);
  }

  compareAuthcid(authcid: string): boolean {
    return compareAuthcid(this.#preparedAuthcid, this.#prepare, authcid);
  }

  compareSecret(secret: string): boolean {
    const presented = queryPrep(this.#prepare, secret);
    // An empty prepared password never matches (RFC 4616 section 2 and RFC 4013).
    if (presented === undefined || presented === '' || this.#preparedSecret === undefined) return false;
    return constantTimeEqual(utf8(this.#preparedSecret), utf8(presented));
  }

  getClearSecret(): string {
    return this.#secret;
  }

  toJSON(): Record<string, string> {
    return { type: 'ClearIdentity', authcid: this.authcid };
  }

  [INSPECT](): string {
    return describe('ClearIdentity', { authcid: this.authcid, secret: REDACTED });
  }
}

/**
 * An account whose password is stored hashed: pysasl's and passlib's PBKDF2 strings, scrypt, or
 * any {@link PasswordHasher} (argon2, bcrypt) plugged in. Mechanisms that need the clear secret
 * (CRAM-MD5) cannot use it.
 */
export class HashedIdentity implements Identity {
  readonly authcid: string;
  /** The stored hash string. Not a secret in the password sense, but still kept out of logs. */
  readonly #digest: string;
  /** The hasher that verifies the digest. */
  readonly hasher: PasswordHasher;
  readonly #prepare: Preparation | undefined;
  readonly #preparedAuthcid: string | undefined;

  constructor(authcid: string, digest: string, hasher: PasswordHasher, options: IdentityOptions = {}) {
    this.authcid = authcid;
    this.#digest = digest;
    this.hasher = hasher;
    this.#prepare = options.prepare;
    this.#preparedAuthcid = tryPrepare(options.prepare ?? storedPrep, authcid);
  }

  /** Hashes `secret` (prepared) with `hasher` and returns the identity: pysasl's `HashedIdentity.create`. */
  static create(authcid: string, secret: string, hasher: PasswordHasher, options: IdentityOptions = {}): HashedIdentity {
    const prepared = (options.prepare ?? storedPrep)(secret);
    return new HashedIdentity(authcid, hasher.hash(prepared), hasher, options);
  }

  /** Async {@link HashedIdentity.create}: hashes off the event loop when the hasher can. */
  static async createAsync(authcid: string, secret: string, hasher: PasswordHasher, options: IdentityOptions = {}): Promise<HashedIdentity> {
    const prepared = (options.prepare ?? storedPrep)(secret);
    const digest = hasher.hashAsync ? await hasher.hashAsync(prepared) : hasher.hash(prepared);
    return new HashedIdentity(authcid, digest, hasher, options);
  }

  /** The stored hash string. */
  get digest(): string {
    return this.#digest;
  }

  compareAuthcid(authcid: string): boolean {
    return compareAuthcid(this.#preparedAuthcid, this.#prepare, authcid);
  }

  compareSecret(secret: string): boolean {
    const presented = queryPrep(this.#prepare, secret);
    if (presented === undefined || presented === '') return false;
    try {
      return this.hasher.verify(presented, this.#digest);
    } catch {
      return false;
    }
  }

  async compareSecretAsync(secret: string): Promise<boolean> {
    const presented = queryPrep(this.#prepare, secret);
    if (presented === undefined || presented === '') return false;
    try {
      return this.hasher.verifyAsync ? await this.hasher.verifyAsync(presented, this.#digest) : this.hasher.verify(presented, this.#digest);
    } catch {
      return false;
    }
  }

  getClearSecret(): string | undefined {
    return this.hasher.clearSecret?.(this.#digest);
  }

  toJSON(): Record<string, string> {
    return { type: 'HashedIdentity', authcid: this.authcid };
  }

  [INSPECT](): string {
    return describe('HashedIdentity', { authcid: this.authcid, digest: REDACTED });
  }
}
