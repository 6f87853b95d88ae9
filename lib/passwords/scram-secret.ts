/**
 * SCRAM stored secrets: the server keeps StoredKey and ServerKey (RFC 5802
 * section 3), never the password. This module reads and writes the three common text forms:
 *
 * - RFC 5803 (LDAP `authPassword`): `SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>`
 * - PostgreSQL `pg_authid.rolpassword`: the same layout (PostgreSQL only uses SCRAM-SHA-256);
 * - Dovecot passwd-file: `{SCRAM-SHA-256}<iter>,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>`.
 *
 * How a SCRAM server gets keys: it asks the `lookup` option (the `lookup` effect) for the
 * authcid's identity, then calls `identity.getScramSecret(hash)` when the identity has that
 * method ({@link ScramIdentity} does; any custom identity may). Otherwise, when
 * `identity.getClearSecret()` returns a password ({@link ClearIdentity}), it derives the keys
 * with a `derive` effect and caches them. Identities with neither fail at the proof step,
 * exactly like a wrong password.
 * @module
 */
import { constantTimeEqual, fromBase64, isWellFormed, toBase64 } from '../core/bytes.js';
import { type CryptoSteps, randomBytes, settle } from '../crypto/ops.js';
import { UsageError } from '../core/errors.js';
import type { Identity, IdentityOptions, Preparation } from './identity.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import { saslprep, trySaslprep } from './saslprep.js';
import {
  SCRAM_MAX_STORED_ITERATIONS,
  SCRAM_SALT_LENGTH,
  type ScramHash,
  checkIterations,
  deriveEffect,
  info,
  scramClientKey,
  scramHStep,
  scramHmacStep,
  scramNormalizePassword,
  scramSaltedPassword,
  scramServerKey,
  scramStoredKey,
} from './scram-keys.js';

/** The text forms {@link ScramSecret.format} writes. `rfc5803` and `postgresql` are the same layout. */
export type ScramSecretFormat = 'rfc5803' | 'postgresql' | 'dovecot';

/** Options for deriving a new secret from a password. */
export interface ScramSecretOptions {
  /** Iteration count. Default: {@link ScramHashInfo.defaultIterations} for the hash. */
  readonly iterations?: number;
  /** The salt. Default: {@link SCRAM_SALT_LENGTH} random bytes. Give one only to reproduce a known secret. */
  readonly salt?: Uint8Array;
}

const SCHEME = /^SCRAM-(SHA-1|SHA-256|SHA-512)$/;

function parseHash(scheme: string): ScramHash | undefined {
  const match = SCHEME.exec(scheme);
  return match ? (match[1] as ScramHash) : undefined;
}

function parseIterations(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= SCRAM_MAX_STORED_ITERATIONS ? value : undefined;
}

function tryBase64(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/**
 * One stored SCRAM secret: hash, salt, iteration count, StoredKey and ServerKey. The keys are
 * kept private and never appear in `util.inspect` or `JSON.stringify` output.
 */
export class ScramSecret extends Redacting {
  /** The hash this secret is for. */
  readonly hash: ScramHash;
  /** The salt (not a secret). */
  readonly salt: Uint8Array;
  /** The iteration count. */
  readonly iterations: number;
  readonly #storedKey: Uint8Array;
  readonly #serverKey: Uint8Array;

  /** Builds a secret from its parts. Throws {@link UsageError} for wrong key lengths or counts. */
  constructor(hash: ScramHash, salt: Uint8Array, iterations: number, storedKey: Uint8Array, serverKey: Uint8Array) {
    super();
    const { length } = info(hash);
    checkIterations(iterations);
    if (salt.length === 0) throw new UsageError('SCRAM salt must not be empty');
    if (storedKey.length !== length || serverKey.length !== length)
      throw new UsageError(`SCRAM-${hash} keys must be ${length} bytes`);
    this.hash = hash;
    this.salt = Uint8Array.from(salt);
    this.iterations = iterations;
    this.#storedKey = Uint8Array.from(storedKey);
    this.#serverKey = Uint8Array.from(serverKey);
  }

  /** The secret for a SaltedPassword (already derived). */
  static fromSaltedPassword(
    hash: ScramHash,
    salt: Uint8Array,
    iterations: number,
    saltedPassword: Uint8Array,
  ): ScramSecret {
    return new ScramSecret(
      hash,
      salt,
      iterations,
      scramStoredKey(hash, scramClientKey(hash, saltedPassword)),
      scramServerKey(hash, saltedPassword),
    );
  }

  /** {@link ScramSecret.fromSaltedPassword} as crypto steps, for generators (see {@link scramHmacStep}). */
  static *fromSaltedPasswordSteps(
    hash: ScramHash,
    salt: Uint8Array,
    iterations: number,
    saltedPassword: Uint8Array,
    mechanism?: string,
  ): CryptoSteps<ScramSecret> {
    const clientKey = yield* scramHmacStep(hash, saltedPassword, 'Client Key', mechanism);
    const storedKey = yield* scramHStep(hash, clientKey, mechanism);
    const serverKey = yield* scramHmacStep(hash, saltedPassword, 'Server Key', mechanism);
    return new ScramSecret(hash, salt, iterations, storedKey, serverKey);
  }

  /** Derives a new secret from a password (SASLprep'd here), synchronously. */
  static fromPassword(hash: ScramHash, password: string, options: ScramSecretOptions = {}): ScramSecret {
    const { salt, iterations } = newParameters(hash, options);
    return ScramSecret.fromSaltedPassword(
      hash,
      salt,
      iterations,
      scramSaltedPassword(hash, scramNormalizePassword(password), salt, iterations),
    );
  }

  /** Derives a new secret from a password on libuv's thread pool. */
  static async fromPasswordAsync(
    hash: ScramHash,
    password: string,
    options: ScramSecretOptions = {},
  ): Promise<ScramSecret> {
    const { salt, iterations } = newParameters(hash, options);
    const salted = await deriveEffect(hash, scramNormalizePassword(password), salt, iterations).runAsync();
    return settle(ScramSecret.fromSaltedPasswordSteps(hash, salt, iterations, salted));
  }

  /**
   * Parses a stored secret in RFC 5803 / PostgreSQL form or Dovecot form. Throws
   * {@link UsageError} (without echoing the text) when it is neither.
   */
  static parse(text: string): ScramSecret {
    const secret = ScramSecret.tryParse(text);
    if (secret === undefined) throw new UsageError('not a SCRAM stored secret in RFC 5803, PostgreSQL or Dovecot form');
    return secret;
  }

  /** {@link ScramSecret.parse} that returns undefined instead of throwing. */
  static tryParse(text: string): ScramSecret | undefined {
    let hash: ScramHash | undefined;
    let fields: string[];
    const dovecot = /^\{(SCRAM-[A-Z0-9-]+)\}(.*)$/.exec(text);
    if (dovecot) {
      hash = parseHash(dovecot[1] as string);
      fields = (dovecot[2] as string).split(',');
    } else {
      const parts = text.split('$');
      if (parts.length !== 3) return undefined;
      hash = parseHash(parts[0] as string);
      fields = [...(parts[1] as string).split(':'), ...(parts[2] as string).split(':')];
    }
    if (hash === undefined || fields.length !== 4) return undefined;
    const [iterText, saltText, storedText, serverText] = fields as [string, string, string, string];
    const iterations = parseIterations(iterText);
    const salt = tryBase64(saltText);
    const storedKey = tryBase64(storedText);
    const serverKey = tryBase64(serverText);
    const { length } = info(hash);
    if (
      iterations === undefined ||
      salt === undefined ||
      salt.length === 0 ||
      storedKey?.length !== length ||
      serverKey?.length !== length
    )
      return undefined;
    return new ScramSecret(hash, salt, iterations, storedKey, serverKey);
  }

  /** StoredKey. Treat as a secret: it lets anyone who also sees an exchange impersonate the user. */
  get storedKey(): Uint8Array {
    return this.#storedKey;
  }

  /** ServerKey. Treat as a secret: it lets anyone impersonate the server. */
  get serverKey(): Uint8Array {
    return this.#serverKey;
  }

  /** The text form for a password database (default RFC 5803, which PostgreSQL also uses). */
  format(style: ScramSecretFormat = 'rfc5803'): string {
    const salt = toBase64(this.salt);
    const stored = toBase64(this.#storedKey);
    const server = toBase64(this.#serverKey);
    if (style === 'dovecot') return `{SCRAM-${this.hash}}${this.iterations},${salt},${stored},${server}`;
    return `SCRAM-${this.hash}$${this.iterations}:${salt}$${stored}:${server}`;
  }

  /**
   * True when `normalizedPassword` derives this StoredKey (constant-time comparison). The
   * password must already be normalized; see {@link scramNormalizePassword}.
   */
  verifyNormalized(normalizedPassword: string): boolean {
    return this.#matches(scramSaltedPassword(this.hash, normalizedPassword, this.salt, this.iterations));
  }

  /** {@link ScramSecret.verifyNormalized} with PBKDF2 on libuv's thread pool. */
  async verifyNormalizedAsync(normalizedPassword: string): Promise<boolean> {
    const salted = await deriveEffect(this.hash, normalizedPassword, this.salt, this.iterations).runAsync();
    const derived = await settle(ScramSecret.fromSaltedPasswordSteps(this.hash, this.salt, this.iterations, salted));
    return constantTimeEqual(derived.storedKey, this.#storedKey);
  }

  #matches(saltedPassword: Uint8Array): boolean {
    return constantTimeEqual(scramStoredKey(this.hash, scramClientKey(this.hash, saltedPassword)), this.#storedKey);
  }

  toJSON(): Record<string, string | number> {
    return { type: 'ScramSecret', hash: this.hash, iterations: this.iterations };
  }

  protected describeRedacted(): string {
    return describe('ScramSecret', { hash: this.hash, iterations: this.iterations, keys: REDACTED });
  }
}

function newParameters(hash: ScramHash, options: ScramSecretOptions): { salt: Uint8Array; iterations: number } {
  const iterations = options.iterations ?? info(hash).defaultIterations;
  checkIterations(iterations);
  const salt = options.salt ?? randomBytes(SCRAM_SALT_LENGTH);
  if (salt.length === 0) throw new UsageError('SCRAM salt must not be empty');
  return { salt, iterations };
}

/**
 * An identity that can hand a SCRAM server its stored keys. {@link ScramIdentity} implements it;
 * implement it on your own identity class to serve keys straight from a database row.
 */
export interface ScramKeySource {
  /** The stored secret for `hash`, or undefined when the account has none for it. */
  getScramSecret(hash: ScramHash): ScramSecret | undefined;
}

/** True when `identity` has a {@link ScramKeySource.getScramSecret} method. */
export function isScramKeySource(identity: unknown): identity is ScramKeySource {
  return (
    typeof identity === 'object' &&
    identity !== null &&
    typeof (identity as Partial<ScramKeySource>).getScramSecret === 'function'
  );
}

/** Options for {@link ScramIdentity.create}. */
export interface ScramIdentityCreateOptions extends IdentityOptions, ScramSecretOptions {
  /** The hashes to store secrets for. Default: SHA-1, SHA-256 and SHA-512. */
  readonly hashes?: readonly ScramHash[];
}

const ALL_HASHES: readonly ScramHash[] = ['SHA-1', 'SHA-256', 'SHA-512'];
const STRENGTH: readonly ScramHash[] = ['SHA-512', 'SHA-256', 'SHA-1'];

function tryPrepare(prepare: Preparation, text: string): string | undefined {
  try {
    return prepare(text);
  } catch {
    return undefined;
  }
}

/**
 * An account stored as SCRAM secrets (one per hash): the server can run SCRAM without the
 * password, and PLAIN and LOGIN still work (the presented password is derived and compared with
 * StoredKey in constant time). Mechanisms that need the clear secret (CRAM-MD5) cannot use it.
 */
export class ScramIdentity extends Redacting implements Identity, ScramKeySource {
  readonly authcid: string;
  readonly #secrets: ReadonlyMap<ScramHash, ScramSecret>;
  readonly #prepare: Preparation | undefined;
  readonly #preparedAuthcid: string | undefined;

  /**
   * `secrets` are {@link ScramSecret}s or their text forms (RFC 5803, PostgreSQL, Dovecot).
   * Throws {@link UsageError} for text that does not parse or two secrets for the same hash.
   */
  constructor(
    authcid: string,
    secrets: ScramSecret | string | readonly (ScramSecret | string)[],
    options: IdentityOptions = {},
  ) {
    super();
    const list = Array.isArray(secrets)
      ? (secrets as readonly (ScramSecret | string)[])
      : [secrets as ScramSecret | string];
    const map = new Map<ScramHash, ScramSecret>();
    for (const item of list) {
      const secret = typeof item === 'string' ? ScramSecret.parse(item) : item;
      if (map.has(secret.hash)) throw new UsageError(`two SCRAM-${secret.hash} secrets for one identity`);
      map.set(secret.hash, secret);
    }
    if (map.size === 0) throw new UsageError('a ScramIdentity needs at least one secret');
    this.authcid = authcid;
    this.#secrets = map;
    this.#prepare = options.prepare;
    this.#preparedAuthcid = tryPrepare(options.prepare ?? ((text) => saslprep(text)), authcid);
  }

  /** Derives secrets for `password` (one PBKDF2 per hash), synchronously. */
  static create(authcid: string, password: string, options: ScramIdentityCreateOptions = {}): ScramIdentity {
    const hashes = options.hashes ?? ALL_HASHES;
    return new ScramIdentity(
      authcid,
      hashes.map((hash) =>
        ScramSecret.fromPassword(hash, password, {
          ...options,
          iterations: options.iterations ?? info(hash).defaultIterations,
        }),
      ),
      options,
    );
  }

  /** {@link ScramIdentity.create} with PBKDF2 on libuv's thread pool. */
  static async createAsync(
    authcid: string,
    password: string,
    options: ScramIdentityCreateOptions = {},
  ): Promise<ScramIdentity> {
    const hashes = options.hashes ?? ALL_HASHES;
    const secrets = await Promise.all(
      hashes.map((hash) =>
        ScramSecret.fromPasswordAsync(hash, password, {
          ...options,
          iterations: options.iterations ?? info(hash).defaultIterations,
        }),
      ),
    );
    return new ScramIdentity(authcid, secrets, options);
  }

  /** The hashes this identity has secrets for. */
  get hashes(): ScramHash[] {
    return [...this.#secrets.keys()];
  }

  getScramSecret(hash: ScramHash): ScramSecret | undefined {
    return this.#secrets.get(hash);
  }

  /** The stored secrets in a text form, one per hash. */
  format(style: ScramSecretFormat = 'rfc5803'): string[] {
    return [...this.#secrets.values()].map((secret) => secret.format(style));
  }

  compareAuthcid(authcid: string): boolean {
    const presented = this.#prepare
      ? tryPrepare(this.#prepare, authcid)
      : trySaslprep(authcid, { allowUnassigned: true });
    return (
      this.#preparedAuthcid !== undefined &&
      presented !== undefined &&
      constantTimeEqual(this.#preparedAuthcid, presented)
    );
  }

  // Passwords go through SASLprep as SCRAM clients apply it (stored profile), whatever `prepare` says.
  #presented(secret: string): { secret: ScramSecret; password: string } | undefined {
    const password = trySaslprep(secret, { allowUnassigned: false });
    if (password === undefined || !isWellFormed(password)) return undefined;
    const strongest = STRENGTH.map((hash) => this.#secrets.get(hash)).find((s): s is ScramSecret => s !== undefined);
    if (password === '' || strongest === undefined) return undefined;
    return { secret: strongest, password };
  }

  compareSecret(secret: string): boolean {
    const presented = this.#presented(secret);
    return presented !== undefined && presented.secret.verifyNormalized(presented.password);
  }

  async compareSecretAsync(secret: string): Promise<boolean> {
    const presented = this.#presented(secret);
    return presented !== undefined && presented.secret.verifyNormalizedAsync(presented.password);
  }

  getClearSecret(): string | undefined {
    return undefined;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ScramIdentity', authcid: this.authcid, hashes: this.hashes };
  }

  protected describeRedacted(): string {
    return describe('ScramIdentity', { authcid: this.authcid, hashes: this.hashes.join(' '), secrets: REDACTED });
  }
}
