/**
 * Server-side stored identities: what a credential store returns for an authcid, and what
 * mechanisms verify presented credentials against.
 *
 * Both sides of every comparison are prepared with SASLprep: the stored strings with the
 * "stored" profile (unassigned code points refused), the presented ones with the "query"
 * profile (allowed), as RFC 4013 section 2.5 says. Comparisons fail closed: a string that cannot
 * be prepared, or that prepares to nothing, never matches.
 * @module
 */
import { constantTimeEqual, isWellFormed } from '../core/bytes.js';
import { UsageError, isSaslError } from '../core/errors.js';
import { detectHasher } from './hashers/detect.js';
import type { PasswordHasher, PasswordHasherBase } from './hashers/hasher.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import { saslprep } from './saslprep.js';

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
  /**
   * True when `secret` is this account's password. May be slow (password hashing). Throws a
   * {@link UsageError} when the identity can only check asynchronously (an async-only hasher).
   */
  compareSecret(secret: string): boolean;
  /** The same check off the event loop, when the identity can do that; async drivers prefer it. */
  compareSecretAsync?(secret: string): Promise<boolean>;
  /** The clear-text secret, for mechanisms that need it (CRAM-MD5, DIGEST-MD5); else undefined. */
  getClearSecret(): string | undefined;
}

/** Options shared by the built-in identities. */
export interface IdentityOptions {
  /**
   * How both the stored and the presented strings are prepared. Default: SASLprep (stored
   * profile for stored strings, query profile for presented ones). A custom function is used
   * for both; if it throws, the comparison is false.
   */
  readonly prepare?: Preparation;
}

const storedPrep: Preparation = (text) => saslprep(text);
// One options object for every presented string, not one per call.
const QUERY_PROFILE = Object.freeze({ allowUnassigned: true });
const queryPrep: Preparation = (text) => saslprep(text, QUERY_PROFILE);

function tryPrepare(prepare: Preparation, text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const prepared = prepare(text);
    // An empty result never matches (RFC 4616 section 2), and a lone surrogate would compare
    // equal to U+FFFD once encoded.
    return typeof prepared === 'string' && prepared !== '' && isWellFormed(prepared) ? prepared : undefined;
  } catch {
    return undefined;
  }
}

/** Prepares a stored string: the custom preparation, or SASLprep's stored profile. */
function prepareStored(prepare: Preparation | undefined, text: unknown): string | undefined {
  return tryPrepare(prepare ?? storedPrep, text);
}

/** Prepares a presented string: the custom preparation, or SASLprep's query profile. */
function preparePresented(prepare: Preparation | undefined, text: unknown): string | undefined {
  return tryPrepare(prepare ?? queryPrep, text);
}

function compareAuthcid(stored: string | undefined, prepare: Preparation | undefined, presented: unknown): boolean {
  const other = preparePresented(prepare, presented);
  return stored !== undefined && other !== undefined && constantTimeEqual(stored, other);
}

/**
 * An account whose password is stored in clear text (pysasl's `ClearIdentity`). Supports every
 * password mechanism. A stored name or password that SASLprep refuses never matches.
 */
export class ClearIdentity extends Redacting implements Identity {
  readonly authcid: string;
  readonly #secret: string;
  readonly #prepare: Preparation | undefined;
  readonly #preparedAuthcid: string | undefined;
  readonly #preparedSecret: string | undefined;

  constructor(authcid: string, secret: string, options: IdentityOptions = {}) {
    super();
    this.authcid = authcid;
    this.#secret = secret;
    this.#prepare = options.prepare;
    this.#preparedAuthcid = prepareStored(options.prepare, authcid);
    this.#preparedSecret = prepareStored(options.prepare, secret);
  }

  compareAuthcid(authcid: string): boolean {
    return compareAuthcid(this.#preparedAuthcid, this.#prepare, authcid);
  }

  compareSecret(secret: string): boolean {
    const presented = preparePresented(this.#prepare, secret);
    const stored = this.#preparedSecret;
    if (presented === undefined || stored === undefined) return false;
    // Code unit by code unit, the stored secret first (the loop runs over its length): no
    // encoding per login, and two different lone surrogates (a custom `prepare` may keep them),
    // which UTF-8 would both turn into U+FFFD, do not match.
    return constantTimeEqual(stored, presented);
  }

  /** The stored secret as given, not prepared (as pysasl does); mechanisms prepare it themselves. */
  getClearSecret(): string {
    return this.#secret;
  }

  toJSON(): Record<string, string> {
    return { type: 'ClearIdentity', authcid: this.authcid };
  }

  protected describeRedacted(): string {
    return describe('ClearIdentity', { authcid: this.authcid, secret: REDACTED });
  }
}

// Checked at run time too: JavaScript callers and configuration files bypass the types.
function checkHasher(hasher: unknown): PasswordHasher {
  const candidate = hasher as PasswordHasherBase | null;
  if (typeof candidate?.verify !== 'function' && typeof candidate?.verifyAsync !== 'function') {
    throw new UsageError('a password hasher needs verify or verifyAsync');
  }
  return hasher as PasswordHasher;
}

function prepareNewSecret(prepare: Preparation | undefined, secret: string): string {
  const prepared = prepareStored(prepare, secret);
  if (prepared === undefined)
    throw new UsageError('the secret cannot be stored: it is empty after preparation or refused by SASLprep');
  return prepared;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

const ASYNC_ONLY =
  'the password hasher of this identity is async-only; use an async driver (or compareSecretAsync / createAsync)';

// Marks a HashedIdentity of any copy of saslkit in the process (the CommonJS and the ESM build
// each define the class): the cost cap and the decoys must see one from the other copy as hashed.
const HASHED = Symbol.for('saslkit.HashedIdentity');

/** True for a {@link HashedIdentity} of this or another copy of saslkit (CommonJS or ESM). @internal */
export function isHashedIdentity(value: unknown): value is HashedIdentity {
  return (
    value instanceof HashedIdentity ||
    (typeof value === 'object' && value !== null && (value as { [HASHED]?: unknown })[HASHED] === true)
  );
}

/**
 * An account whose password is stored hashed (pysasl's `HashedIdentity`): pysasl's and
 * passlib's PBKDF2 strings, passlib's scrypt, or any {@link PasswordHasher} plugged in (argon2,
 * bcrypt). Mechanisms that need the clear secret (CRAM-MD5) cannot use it, unless the hasher is
 * {@link CleartextHasher}.
 */
export class HashedIdentity extends Redacting implements Identity {
  readonly authcid: string;
  /** The stored hash string. Not a password, but an offline-attack target, so kept out of logs. */
  readonly #digest: string;
  /** The hasher that verifies the digest. */
  readonly hasher: PasswordHasher;
  readonly #prepare: Preparation | undefined;
  readonly #preparedAuthcid: string | undefined;

  /**
   * `hasher` defaults to {@link detectHasher}`(digest)`; a digest no built-in hasher recognises
   * then throws a {@link UsageError}, so a misconfigured store shows up instead of refusing everyone.
   */
  constructor(authcid: string, digest: string, hasher?: PasswordHasher, options: IdentityOptions = {}) {
    super();
    // The brand isHashedIdentity reads (as errors.ts brands SaslError): not enumerable, not in JSON.
    Object.defineProperty(this, HASHED, { value: true });
    const chosen = hasher ?? detectHasher(digest);
    if (chosen === undefined) throw new UsageError('no password hasher recognises the stored hash of this identity');
    this.authcid = authcid;
    this.#digest = digest;
    this.hasher = checkHasher(chosen);
    this.#prepare = options.prepare;
    this.#preparedAuthcid = prepareStored(options.prepare, authcid);
  }

  /**
   * Prepares and hashes `secret` with `hasher` (pysasl's `HashedIdentity.create`). Throws a
   * {@link UsageError} for a secret that cannot be stored, or for an async-only hasher (use
   * {@link HashedIdentity.createAsync}).
   */
  static create(
    authcid: string,
    secret: string,
    hasher: PasswordHasher,
    options: IdentityOptions = {},
  ): HashedIdentity {
    const prepared = prepareNewSecret(options.prepare, secret);
    if (!hasher.hash) throw new UsageError(ASYNC_ONLY);
    return new HashedIdentity(authcid, hasher.hash(prepared), hasher, options);
  }

  /** {@link HashedIdentity.create} that hashes off the event loop when the hasher can. */
  static async createAsync(
    authcid: string,
    secret: string,
    hasher: PasswordHasher,
    options: IdentityOptions = {},
  ): Promise<HashedIdentity> {
    const prepared = prepareNewSecret(options.prepare, secret);
    let digest: string;
    if (hasher.hashAsync) digest = await hasher.hashAsync(prepared);
    else if (hasher.hash) digest = hasher.hash(prepared);
    else throw new UsageError('a password hasher needs hash or hashAsync');
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
    const hasher = this.hasher;
    if (!hasher.verify) throw new UsageError(ASYNC_ONLY);
    const presented = preparePresented(this.#prepare, secret);
    if (presented === undefined) return false;
    let result: unknown;
    try {
      result = hasher.verify(presented, this.#digest, this.#unprepared(secret));
    } catch {
      return false;
    }
    // An async function passed as `verify` returns a promise, which is truthy: never a match.
    if (isThenable(result)) {
      Promise.resolve(result).catch(() => undefined);
      throw new UsageError("the password hasher's verify returned a promise; provide it as verifyAsync");
    }
    return result === true;
  }

  async compareSecretAsync(secret: string): Promise<boolean> {
    const presented = preparePresented(this.#prepare, secret);
    if (presented === undefined) return false;
    try {
      const hasher = this.hasher;
      const unprepared = this.#unprepared(secret);
      const result: unknown = hasher.verifyAsync
        ? hasher.verifyAsync(presented, this.#digest, unprepared)
        : hasher.verify?.(presented, this.#digest, unprepared);
      return (await result) === true;
    } catch (error) {
      // A full KDF pool is the server's overload, not a wrong password: report it as such.
      if (isSaslError(error) && error.code === 'LIMIT_EXCEEDED') throw error;
      return false;
    }
  }

  getClearSecret(): string | undefined {
    return this.hasher.clearSecret?.(this.#digest);
  }

  // The password as sent, for a hasher that knows another SASLprep reading of it (pysasl's
  // U+200B); only under the default preparation, since a custom one says how strings compare.
  #unprepared(secret: string): string | undefined {
    return this.#prepare === undefined ? secret : undefined;
  }

  toJSON(): Record<string, string> {
    return { type: 'HashedIdentity', authcid: this.authcid };
  }

  protected describeRedacted(): string {
    return describe('HashedIdentity', { authcid: this.authcid, digest: REDACTED });
  }
}
