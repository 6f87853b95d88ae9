/**
 * Password hashers for {@link HashedIdentity}: PBKDF2 in pysasl's, passlib's and Dovecot's
 * formats, scrypt in passlib's format, clear text, and the {@link PasswordHasher} interface that
 * adapters for argon2, bcrypt or any other scheme implement.
 *
 * Stored hash strings are treated as hostile input: `verify` parses them strictly, caps their
 * cost parameters, and answers `false` for anything it does not understand; it never throws.
 * @module
 */
import { constantTimeEqual, fromBase64, isWellFormed, toBase64, toHex, utf8 } from '../core/bytes.js';
import { UsageError } from '../core/errors.js';
import { randomBytes } from '../crypto/ops.js';
import { type DigestName, type ScryptParams, cryptoProvider, syncCrypto } from '../crypto/provider.js';
import { Redacting, describe } from '../core/redact.js';
import { trySaslprep } from './saslprep.js';

/** Members every hasher may have. A hasher needs at least one complete pair: sync or async. */
export interface PasswordHasherBase {
  /** Hashes a (prepared) secret into the stored string form. */
  hash?(secret: string): string;
  /**
   * True when `secret` matches the stored `hashed` string. False, never a throw, for a malformed
   * hash. `unprepared` is the password as the client sent it, passed by an identity that prepared
   * `secret` with saslkit's default SASLprep: a hasher whose strings another implementation wrote
   * may try that implementation's preparation of it too (see {@link Pbkdf2Hasher.verify}).
   */
  verify?(secret: string, hashed: string, unprepared?: string): boolean;
  /** {@link PasswordHasherBase.hash} off the event loop. */
  hashAsync?(secret: string): Promise<string>;
  /** {@link PasswordHasherBase.verify} off the event loop. Async drivers prefer it. */
  verifyAsync?(secret: string, hashed: string, unprepared?: string): Promise<boolean>;
  /** The clear secret inside `hashed`, for a hasher that stores it (cleartext); else absent. */
  clearSecret?(hashed: string): string | undefined;
  /** True when `hashed` is in this hasher's format; used by {@link detectHasher}. */
  identify?(hashed: string): boolean;
  /**
   * What verifying against `hashed` costs, in PBKDF2-iteration units (the built-ins: PBKDF2
   * rounds, scrypt N·r·p), read from the string without a cap; undefined when it cannot tell.
   * Servers refuse accounts above `ServerOptions.maxStoredCost` with it.
   */
  cost?(hashed: string): number | undefined;
}

/** A hasher that works on the calling thread; it may add the async pair too. All built-ins are this. */
export interface SyncPasswordHasher extends PasswordHasherBase {
  hash(secret: string): string;
  verify(secret: string, hashed: string, unprepared?: string): boolean;
}

/**
 * A hasher that only works asynchronously, as argon2 and bcrypt bindings usually do. Under the
 * sync driver an identity with such a hasher throws a {@link UsageError}; it never answers false.
 */
export interface AsyncPasswordHasher extends PasswordHasherBase {
  hashAsync(secret: string): Promise<string>;
  verifyAsync(secret: string, hashed: string, unprepared?: string): Promise<boolean>;
}

/**
 * A password hasher: sync, async, or both. `verify`/`verifyAsync` must answer false (not throw
 * or reject) for a hash string they do not recognise; identities also catch, to fail closed.
 */
export type PasswordHasher = SyncPasswordHasher | AsyncPasswordHasher;

const DIGEST_NAMES: Readonly<Record<'sha1' | 'sha256' | 'sha512', DigestName>> = {
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
};

// Through the crypto provider. On Node the async forms go through the KDF pool, which bounds how
// many run on libuv's threads at once; the sync forms are a UsageError where the provider has none.
function pbkdf2Sync(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
  length: number,
  digest: 'sha1' | 'sha256' | 'sha512',
): Uint8Array {
  return syncCrypto('PBKDF2').pbkdf2(DIGEST_NAMES[digest], password, salt, rounds, length);
}

function pbkdf2Async(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
  length: number,
  digest: 'sha1' | 'sha256' | 'sha512',
): Promise<Uint8Array> {
  return cryptoProvider().pbkdf2(DIGEST_NAMES[digest], password, salt, rounds, length);
}

function scryptSync(password: Uint8Array, salt: Uint8Array, length: number, params: ScryptParams): Uint8Array {
  const sync = syncCrypto('scrypt');
  if (sync.scrypt === undefined) throw new UsageError('scrypt is not available from this crypto provider');
  return sync.scrypt(password, salt, length, params);
}

async function scryptAsync(
  password: Uint8Array,
  salt: Uint8Array,
  length: number,
  params: ScryptParams,
): Promise<Uint8Array> {
  const provider = cryptoProvider();
  if (provider.scrypt === undefined) throw new UsageError(`scrypt is not available from ${provider.name}`);
  return provider.scrypt(password, salt, length, params);
}

/** Largest salt a stored string may carry, in bytes (passlib's limit). */
const MAX_SALT_BYTES = 1024;

// A lone surrogate becomes U+FFFD in UTF-8, so two different secrets would share a hash.
// Parameters are `unknown` because JavaScript callers and stores can pass anything.
function isText(value: unknown): value is string {
  return typeof value === 'string' && isWellFormed(value);
}

function checkSecret(secret: unknown): Uint8Array {
  if (!isText(secret)) throw new UsageError('the secret must be a well-formed string');
  return utf8(secret);
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function makeSalt(saltLength: number, salt: unknown): Uint8Array {
  if (salt === undefined) return randomBytes(saltLength);
  if (!(salt instanceof Uint8Array) || salt.length > MAX_SALT_BYTES)
    throw new UsageError(`the salt must be a Uint8Array of at most ${MAX_SALT_BYTES} bytes`);
  return salt;
}

// Decimal without sign, leading zeros or more digits than any cap allows; passlib rejects
// zero-padded numbers too.
function parseCount(text: string): number | undefined {
  return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined;
}

function tryBase64(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/** Unpadded base64, standard alphabet (`+`) or passlib's adapted one (`.` instead of `+`). */
function decodeUnpadded(text: string, adapted: boolean): Uint8Array | undefined {
  // The strict decoder below rejects `.` and bad lengths; padding and `+` must be refused here.
  if (text.includes('=') || (adapted && text.includes('+'))) return undefined;
  const standard = adapted ? text.replace(/\./g, '+') : text;
  // Padding it back and decoding strictly rejects stray characters and non-zero trailing bits.
  return tryBase64(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}

function encodeUnpadded(bytes: Uint8Array, adapted: boolean): string {
  const text = toBase64(bytes).replace(/=+$/, '');
  return adapted ? text.replace(/\+/g, '.') : text;
}

// ---------------------------------------------------------------------------------------------
// PBKDF2

/** The HMAC digests {@link Pbkdf2Hasher} supports, with their output sizes. */
export type Pbkdf2Digest = 'sha1' | 'sha256' | 'sha512';
/** The PBKDF2 string flavours: pysasl's padded standard base64, or passlib's adapted base64. */
export type Pbkdf2Format = 'pysasl' | 'passlib';

const PBKDF2_DIGESTS: Readonly<Record<Pbkdf2Digest, { readonly ident: string; readonly size: number }>> = {
  sha1: { ident: 'pbkdf2', size: 20 },
  sha256: { ident: 'pbkdf2-sha256', size: 32 },
  sha512: { ident: 'pbkdf2-sha512', size: 64 },
};

const PBKDF2_FORMATS: readonly string[] = ['pysasl', 'passlib'];

/** Default cap on the rounds of a stored PBKDF2 string: ten times pysasl's default. */
export const DEFAULT_MAX_PBKDF2_ROUNDS = 5_000_000;

/** Options of {@link Pbkdf2Hasher}. */
export interface Pbkdf2Options {
  /** HMAC digest for new hashes. Default `sha256`. Verification takes it from the string. */
  readonly digest?: Pbkdf2Digest;
  /** Iterations for new hashes. Default 500,000 (pysasl's default). */
  readonly rounds?: number;
  /** Random salt bytes for new hashes, 8 to 1024. Default 16. */
  readonly saltLength?: number;
  /** String flavour of new hashes. Default `pysasl`. Verification reads both. */
  readonly format?: Pbkdf2Format;
  /** Stored strings with more rounds are refused (they would tie up a CPU). Default {@link DEFAULT_MAX_PBKDF2_ROUNDS}. */
  readonly maxRounds?: number;
}

/** A parsed PBKDF2 string. */
interface Pbkdf2Parts {
  readonly digest: Pbkdf2Digest;
  readonly rounds: number;
  readonly salt: Uint8Array;
  readonly dk: Uint8Array;
  readonly format: Pbkdf2Format;
}

function pbkdf2DigestOf(ident: string | undefined): Pbkdf2Digest | undefined {
  return (Object.keys(PBKDF2_DIGESTS) as Pbkdf2Digest[]).find((digest) => PBKDF2_DIGESTS[digest].ident === ident);
}

function parsePbkdf2(hashed: unknown, maxRounds: number): Pbkdf2Parts | undefined {
  if (typeof hashed !== 'string') return undefined;
  const fields = hashed.split('$');
  if (fields.length !== 5 || fields[0] !== '') return undefined;
  const [, ident, roundsText = '', saltText = '', dkText = ''] = fields;
  const digest = pbkdf2DigestOf(ident);
  const rounds = parseCount(roundsText);
  if (digest === undefined || rounds === undefined || rounds > maxRounds) return undefined;
  // Both fields must be in one flavour: padded standard base64 (pysasl) or adapted base64 (passlib).
  let format: Pbkdf2Format = 'pysasl';
  let salt = tryBase64(saltText);
  let dk = tryBase64(dkText);
  if (salt === undefined || dk === undefined) {
    format = 'passlib';
    salt = decodeUnpadded(saltText, true);
    dk = decodeUnpadded(dkText, true);
  }
  if (
    salt === undefined ||
    dk === undefined ||
    salt.length > MAX_SALT_BYTES ||
    dk.length !== PBKDF2_DIGESTS[digest].size
  )
    return undefined;
  return { digest, rounds, salt, dk, format };
}

/**
 * The password as pysasl and passlib prepare it (U+200B mapped to nothing), when it holds U+200B
 * and so differs from saslkit's reading; else undefined.
 */
function pysaslReading(unprepared: unknown): string | undefined {
  if (typeof unprepared !== 'string' || !unprepared.includes('\u200B')) return undefined;
  const prepared = trySaslprep(unprepared, { allowUnassigned: true, zeroWidthSpace: 'nothing' });
  return prepared === undefined || prepared === '' || !isText(prepared) ? undefined : prepared;
}

function formatPbkdf2(parts: Pbkdf2Parts): string {
  const encode = parts.format === 'pysasl' ? toBase64 : (bytes: Uint8Array) => encodeUnpadded(bytes, true);
  return `$${PBKDF2_DIGESTS[parts.digest].ident}$${parts.rounds}$${encode(parts.salt)}$${encode(parts.dk)}`;
}

/**
 * PBKDF2-HMAC, writing pysasl's `$pbkdf2-sha256$<rounds>$<b64 salt>$<b64 dk>` strings (or
 * passlib's adapted-base64 flavour) and reading both. The digest, rounds and salt of a stored
 * string come from the string, so one hasher verifies every digest and flavour.
 */
export class Pbkdf2Hasher extends Redacting implements SyncPasswordHasher {
  /** Digest of new hashes. */
  readonly digest: Pbkdf2Digest;
  /** Rounds of new hashes. */
  readonly rounds: number;
  /** Salt bytes of new hashes. */
  readonly saltLength: number;
  /** String flavour of new hashes. */
  readonly format: Pbkdf2Format;
  /** Cap on the rounds of stored strings. */
  readonly maxRounds: number;

  constructor(options: Pbkdf2Options = {}) {
    super();
    const digest = options.digest ?? 'sha256';
    if (!Object.hasOwn(PBKDF2_DIGESTS, digest)) throw new UsageError('digest must be sha1, sha256 or sha512');
    const format = options.format ?? 'pysasl';
    if (!PBKDF2_FORMATS.includes(format)) throw new UsageError('format must be pysasl or passlib');
    this.digest = digest;
    this.format = format;
    this.maxRounds = checkInteger('maxRounds', options.maxRounds ?? DEFAULT_MAX_PBKDF2_ROUNDS, 1, 0xffffffff);
    this.rounds = checkInteger('rounds', options.rounds ?? 500_000, 1, this.maxRounds);
    this.saltLength = checkInteger('saltLength', options.saltLength ?? 16, 8, MAX_SALT_BYTES);
  }

  /** A new hasher with some options changed (pysasl's `copy`). */
  copy(options: Pbkdf2Options = {}): Pbkdf2Hasher {
    return new Pbkdf2Hasher({ ...this.options, ...options });
  }

  /** The options this hasher was built with. */
  get options(): Required<Pbkdf2Options> {
    return {
      digest: this.digest,
      rounds: this.rounds,
      saltLength: this.saltLength,
      format: this.format,
      maxRounds: this.maxRounds,
    };
  }

  /** Hashes `secret`. `salt` is for tests and migrations; leave it out to get a random one. */
  hash(secret: string, salt?: Uint8Array): string {
    const password = checkSecret(secret);
    const bytes = makeSalt(this.saltLength, salt);
    const dk = pbkdf2Sync(password, bytes, this.rounds, PBKDF2_DIGESTS[this.digest].size, this.digest);
    return formatPbkdf2({ digest: this.digest, rounds: this.rounds, salt: bytes, dk, format: this.format });
  }

  /** {@link Pbkdf2Hasher.hash} on the libuv thread pool. */
  async hashAsync(secret: string, salt?: Uint8Array): Promise<string> {
    const password = checkSecret(secret);
    const bytes = makeSalt(this.saltLength, salt);
    const dk = await pbkdf2Async(password, bytes, this.rounds, PBKDF2_DIGESTS[this.digest].size, this.digest);
    return formatPbkdf2({ digest: this.digest, rounds: this.rounds, salt: bytes, dk, format: this.format });
  }

  /**
   * True when the prepared `secret` matches `hashed`. These string formats are pysasl's and
   * passlib's, whose SASLprep maps U+200B to nothing where saslkit's maps it to SPACE; so when
   * `unprepared` (the password as sent) holds U+200B and `secret` does not match, their reading
   * is tried too. That second PBKDF2 run happens only then: its cost depends on the presented
   * password and the outcome, never on whether the account exists (an unknown user's decoy has
   * the same hasher and string), and a saslkit-made hash still matches at the first run.
   */
  verify(secret: string, hashed: string, unprepared?: string): boolean {
    const parts = parsePbkdf2(hashed, this.maxRounds);
    if (parts === undefined || !isText(secret)) return false;
    if (constantTimeEqual(pbkdf2Sync(utf8(secret), parts.salt, parts.rounds, parts.dk.length, parts.digest), parts.dk))
      return true;
    const other = pysaslReading(unprepared);
    return (
      other !== undefined &&
      constantTimeEqual(pbkdf2Sync(utf8(other), parts.salt, parts.rounds, parts.dk.length, parts.digest), parts.dk)
    );
  }

  /** {@link Pbkdf2Hasher.verify} on the libuv thread pool. */
  async verifyAsync(secret: string, hashed: string, unprepared?: string): Promise<boolean> {
    const parts = parsePbkdf2(hashed, this.maxRounds);
    if (parts === undefined || !isText(secret)) return false;
    if (
      constantTimeEqual(
        await pbkdf2Async(utf8(secret), parts.salt, parts.rounds, parts.dk.length, parts.digest),
        parts.dk,
      )
    )
      return true;
    const other = pysaslReading(unprepared);
    return (
      other !== undefined &&
      constantTimeEqual(
        await pbkdf2Async(utf8(other), parts.salt, parts.rounds, parts.dk.length, parts.digest),
        parts.dk,
      )
    );
  }

  identify(hashed: string): boolean {
    return parsePbkdf2(hashed, this.maxRounds) !== undefined;
  }

  /** The rounds of `hashed`, above `maxRounds` too (so that a server can say why it refuses it). */
  cost(hashed: string): number | undefined {
    return parsePbkdf2(hashed, Number.MAX_SAFE_INTEGER)?.rounds;
  }

  /** True when `hashed` is not what this hasher would write now (other digest, rounds, salt size or flavour). */
  needsRehash(hashed: string): boolean {
    const parts = parsePbkdf2(hashed, this.maxRounds);
    return (
      parts === undefined ||
      parts.digest !== this.digest ||
      parts.rounds !== this.rounds ||
      parts.salt.length !== this.saltLength ||
      parts.format !== this.format
    );
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Pbkdf2Hasher', ...this.options };
  }

  protected describeRedacted(): string {
    return describe('Pbkdf2Hasher', this.options);
  }
}

// ---------------------------------------------------------------------------------------------
// Dovecot's PBKDF2

/** Dovecot's default PBKDF2 rounds (`doveadm pw -s PBKDF2`). */
export const DOVECOT_PBKDF2_ROUNDS = 5000;

/** Options of {@link DovecotPbkdf2Hasher}. */
export interface DovecotPbkdf2Options {
  /** Iterations for new hashes. Default {@link DOVECOT_PBKDF2_ROUNDS}. */
  readonly rounds?: number;
  /** Stored strings with more rounds are refused. Default {@link DEFAULT_MAX_PBKDF2_ROUNDS}. */
  readonly maxRounds?: number;
}

const DOVECOT_PBKDF2 = /^\$1\$([^$]{1,1024})\$([1-9][0-9]{0,9})\$([0-9a-f]{40})$/;
const DOVECOT_PBKDF2_PREFIX = /^\{PBKDF2\}/i;
const DOVECOT_SALT = /^[^$]{1,1024}$/;
const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

interface DovecotPbkdf2Parts {
  readonly salt: string;
  readonly rounds: number;
  readonly hex: string;
}

function parseDovecotPbkdf2(hashed: unknown, maxRounds: number): DovecotPbkdf2Parts | undefined {
  if (typeof hashed !== 'string') return undefined;
  // Dovecot's scheme names are case-insensitive; the prefix is optional, as passwd-file readers strip it.
  const body = hashed.replace(DOVECOT_PBKDF2_PREFIX, '');
  const match = DOVECOT_PBKDF2.exec(body);
  if (!match) return undefined;
  const [, salt = '', roundsText = '', hex = ''] = match;
  const rounds = Number(roundsText);
  if (!isWellFormed(salt) || rounds > maxRounds) return undefined;
  return { salt, rounds, hex };
}

function dovecotSalt(salt: unknown): string {
  // Dovecot's salt is 16 characters of the crypt alphabet; the characters themselves are hashed.
  if (salt === undefined)
    return [...randomBytes(16)].map((byte) => CRYPT_ALPHABET[byte % CRYPT_ALPHABET.length] ?? '.').join('');
  if (!isText(salt) || !DOVECOT_SALT.test(salt))
    throw new UsageError('the salt must be 1 to 1024 characters without $');
  return salt;
}

/**
 * Dovecot's `{PBKDF2}` scheme (`doveadm pw -s PBKDF2`), stored as
 * `{PBKDF2}$1$<salt>$<rounds>$<hex PBKDF2-HMAC-SHA1>`: a 20-byte PBKDF2-HMAC-SHA1 key over the
 * password, salted with the salt text's own bytes. `hash` writes the string without the
 * `{PBKDF2}` scheme prefix (Dovecot's passwd-file puts it in front); `verify`, `identify` and
 * {@link detectHasher} read it with or without. Dovecot hashes the password as typed, so give
 * a {@link HashedIdentity} of these strings `{ prepare: noprep }`.
 */
export class DovecotPbkdf2Hasher extends Redacting implements SyncPasswordHasher {
  /** Rounds of new hashes. */
  readonly rounds: number;
  /** Cap on the rounds of stored strings. */
  readonly maxRounds: number;

  constructor(options: DovecotPbkdf2Options = {}) {
    super();
    this.maxRounds = checkInteger('maxRounds', options.maxRounds ?? DEFAULT_MAX_PBKDF2_ROUNDS, 1, 0xffffffff);
    this.rounds = checkInteger('rounds', options.rounds ?? DOVECOT_PBKDF2_ROUNDS, 1, this.maxRounds);
  }

  /** A new hasher with some options changed (pysasl's `copy`). */
  copy(options: DovecotPbkdf2Options = {}): DovecotPbkdf2Hasher {
    return new DovecotPbkdf2Hasher({ ...this.options, ...options });
  }

  /** The options this hasher was built with. */
  get options(): Required<DovecotPbkdf2Options> {
    return { rounds: this.rounds, maxRounds: this.maxRounds };
  }

  /** Hashes `secret`. `salt` (text without `$`) is for tests and migrations; leave it out to get a random one. */
  hash(secret: string, salt?: string): string {
    const password = checkSecret(secret);
    const text = dovecotSalt(salt);
    return `$1$${text}$${this.rounds}$${toHex(pbkdf2Sync(password, utf8(text), this.rounds, 20, 'sha1'))}`;
  }

  /** {@link DovecotPbkdf2Hasher.hash} on the libuv thread pool. */
  async hashAsync(secret: string, salt?: string): Promise<string> {
    const password = checkSecret(secret);
    const text = dovecotSalt(salt);
    return `$1$${text}$${this.rounds}$${toHex(await pbkdf2Async(password, utf8(text), this.rounds, 20, 'sha1'))}`;
  }

  verify(secret: string, hashed: string): boolean {
    const parts = parseDovecotPbkdf2(hashed, this.maxRounds);
    if (parts === undefined || !isText(secret)) return false;
    return constantTimeEqual(toHex(pbkdf2Sync(utf8(secret), utf8(parts.salt), parts.rounds, 20, 'sha1')), parts.hex);
  }

  async verifyAsync(secret: string, hashed: string): Promise<boolean> {
    const parts = parseDovecotPbkdf2(hashed, this.maxRounds);
    if (parts === undefined || !isText(secret)) return false;
    return constantTimeEqual(
      toHex(await pbkdf2Async(utf8(secret), utf8(parts.salt), parts.rounds, 20, 'sha1')),
      parts.hex,
    );
  }

  identify(hashed: string): boolean {
    return parseDovecotPbkdf2(hashed, this.maxRounds) !== undefined;
  }

  /** The rounds of `hashed`, above `maxRounds` too. */
  cost(hashed: string): number | undefined {
    return parseDovecotPbkdf2(hashed, Number.MAX_SAFE_INTEGER)?.rounds;
  }

  /** True when `hashed` is not what this hasher would write now (other rounds). */
  needsRehash(hashed: string): boolean {
    return parseDovecotPbkdf2(hashed, this.maxRounds)?.rounds !== this.rounds;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'DovecotPbkdf2Hasher', ...this.options };
  }

  protected describeRedacted(): string {
    return describe('DovecotPbkdf2Hasher', this.options);
  }
}

// ---------------------------------------------------------------------------------------------
// scrypt

interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Default cap on the memory a stored scrypt string may ask for: 256 MiB. */
export const DEFAULT_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
/** Cap on N·r·p, the CPU cost of a stored scrypt string: 64 times the default parameters'. */
const MAX_SCRYPT_WORK = 2 ** 24;
const SCRYPT_DK_BYTES = 32;

/** Options of {@link ScryptHasher}. */
export interface ScryptOptions {
  /** log2 of the CPU/memory cost N for new hashes. Default 15 (N = 32768, 32 MiB with r = 8). */
  readonly ln?: number;
  /** Block size for new hashes. Default 8. */
  readonly r?: number;
  /** Parallelism for new hashes. Default 1. */
  readonly p?: number;
  /** Random salt bytes for new hashes, 8 to 1024. Default 16. */
  readonly saltLength?: number;
  /** Stored strings needing more memory are refused. Default {@link DEFAULT_MAX_SCRYPT_MEMORY}. */
  readonly maxMemory?: number;
}

interface ScryptParts {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array;
  readonly dk: Uint8Array;
}

/** Memory node:crypto (OpenSSL) needs for these parameters; passed as `maxmem`. */
function scryptMemory(ln: number, r: number, p: number): number {
  return 128 * r * (2 ** ln + 2 + p);
}

function scryptCostError(ln: number, r: number, p: number, maxMemory: number): string | undefined {
  if (ln < 1 || ln > 31 || r < 1 || p < 1) return 'scrypt parameters out of range';
  if (2 ** ln * r * p > MAX_SCRYPT_WORK) return 'scrypt parameters exceed the work cap';
  if (scryptMemory(ln, r, p) > maxMemory) return 'scrypt parameters exceed maxMemory';
  return undefined;
}

function parseScrypt(hashed: unknown, maxMemory: number): ScryptParts | undefined {
  if (typeof hashed !== 'string') return undefined;
  const fields = hashed.split('$');
  if (fields.length !== 5 || fields[0] !== '' || fields[1] !== 'scrypt') return undefined;
  const [, , params = '', saltText = '', dkText = ''] = fields;
  const match = /^ln=([0-9]+),r=([0-9]+),p=([0-9]+)$/.exec(params);
  if (!match) return undefined;
  const ln = parseCount(match[1] ?? '');
  const r = parseCount(match[2] ?? '');
  const p = parseCount(match[3] ?? '');
  if (ln === undefined || r === undefined || p === undefined || scryptCostError(ln, r, p, maxMemory) !== undefined)
    return undefined;
  const salt = decodeUnpadded(saltText, false);
  const dk = decodeUnpadded(dkText, false);
  if (salt === undefined || dk === undefined || salt.length > MAX_SALT_BYTES || dk.length !== SCRYPT_DK_BYTES)
    return undefined;
  return { ln, r, p, salt, dk };
}

function scryptOptions(parts: { ln: number; r: number; p: number }): ScryptCost & { maxmem: number } {
  return { N: 2 ** parts.ln, r: parts.r, p: parts.p, maxmem: scryptMemory(parts.ln, parts.r, parts.p) };
}

function formatScrypt(parts: ScryptParts): string {
  return `$scrypt$ln=${parts.ln},r=${parts.r},p=${parts.p}$${encodeUnpadded(parts.salt, false)}$${encodeUnpadded(parts.dk, false)}`;
}

/**
 * scrypt (RFC 7914) in passlib's format, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` with unpadded
 * standard base64 and a 32-byte hash. Parameters come from the stored string, within caps on
 * memory and work so that a hostile string cannot exhaust the host.
 */
export class ScryptHasher extends Redacting implements SyncPasswordHasher {
  /** log2(N) of new hashes. */
  readonly ln: number;
  /** Block size of new hashes. */
  readonly r: number;
  /** Parallelism of new hashes. */
  readonly p: number;
  /** Salt bytes of new hashes. */
  readonly saltLength: number;
  /** Cap on the memory of stored strings, in bytes. */
  readonly maxMemory: number;

  constructor(options: ScryptOptions = {}) {
    super();
    this.ln = checkInteger('ln', options.ln ?? 15, 1, 31);
    this.r = checkInteger('r', options.r ?? 8, 1, MAX_SCRYPT_WORK);
    this.p = checkInteger('p', options.p ?? 1, 1, MAX_SCRYPT_WORK);
    this.saltLength = checkInteger('saltLength', options.saltLength ?? 16, 8, MAX_SALT_BYTES);
    this.maxMemory = checkInteger(
      'maxMemory',
      options.maxMemory ?? DEFAULT_MAX_SCRYPT_MEMORY,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    const error = scryptCostError(this.ln, this.r, this.p, this.maxMemory);
    if (error !== undefined) throw new UsageError(error);
  }

  /** A new hasher with some options changed. */
  copy(options: ScryptOptions = {}): ScryptHasher {
    return new ScryptHasher({ ...this.options, ...options });
  }

  /** The options this hasher was built with. */
  get options(): Required<ScryptOptions> {
    return { ln: this.ln, r: this.r, p: this.p, saltLength: this.saltLength, maxMemory: this.maxMemory };
  }

  /** Hashes `secret`. `salt` is for tests and migrations; leave it out to get a random one. */
  hash(secret: string, salt?: Uint8Array): string {
    const password = checkSecret(secret);
    const bytes = makeSalt(this.saltLength, salt);
    const dk = scryptSync(password, bytes, SCRYPT_DK_BYTES, scryptOptions(this));
    return formatScrypt({ ln: this.ln, r: this.r, p: this.p, salt: bytes, dk });
  }

  /** {@link ScryptHasher.hash} on the libuv thread pool. */
  async hashAsync(secret: string, salt?: Uint8Array): Promise<string> {
    const password = checkSecret(secret);
    const bytes = makeSalt(this.saltLength, salt);
    const dk = await scryptAsync(password, bytes, SCRYPT_DK_BYTES, scryptOptions(this));
    return formatScrypt({ ln: this.ln, r: this.r, p: this.p, salt: bytes, dk });
  }

  verify(secret: string, hashed: string): boolean {
    const parts = parseScrypt(hashed, this.maxMemory);
    if (parts === undefined || !isText(secret)) return false;
    return constantTimeEqual(scryptSync(utf8(secret), parts.salt, SCRYPT_DK_BYTES, scryptOptions(parts)), parts.dk);
  }

  async verifyAsync(secret: string, hashed: string): Promise<boolean> {
    const parts = parseScrypt(hashed, this.maxMemory);
    if (parts === undefined || !isText(secret)) return false;
    return constantTimeEqual(
      await scryptAsync(utf8(secret), parts.salt, SCRYPT_DK_BYTES, scryptOptions(parts)),
      parts.dk,
    );
  }

  identify(hashed: string): boolean {
    return parseScrypt(hashed, this.maxMemory) !== undefined;
  }

  /** N·r·p of `hashed`, above the caps too (one unit costs about one PBKDF2-HMAC-SHA256 iteration). */
  cost(hashed: string): number | undefined {
    const match =
      typeof hashed === 'string'
        ? /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})\$/.exec(hashed)
        : null;
    return match === null ? undefined : 2 ** Number(match[1]) * Number(match[2]) * Number(match[3]);
  }

  /** True when `hashed` is not what this hasher would write now (other parameters or salt size). */
  needsRehash(hashed: string): boolean {
    const parts = parseScrypt(hashed, this.maxMemory);
    return (
      parts === undefined ||
      parts.ln !== this.ln ||
      parts.r !== this.r ||
      parts.p !== this.p ||
      parts.salt.length !== this.saltLength
    );
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ScryptHasher', ...this.options };
  }

  protected describeRedacted(): string {
    return describe('ScryptHasher', this.options);
  }
}

// ---------------------------------------------------------------------------------------------
// clear text

/**
 * Stores the secret as it is (pysasl's `Cleartext`): for mechanisms that need the clear secret
 * (CRAM-MD5, DIGEST-MD5) and for tests. Comparison is constant-time over UTF-8 bytes, so
 * non-ASCII secrets work (pysasl's raises TypeError).
 */
export class CleartextHasher extends Redacting implements SyncPasswordHasher {
  /** A new hasher (pysasl's `copy`); clear text has no options to change. */
  copy(): CleartextHasher {
    return new CleartextHasher();
  }

  hash(secret: string): string {
    checkSecret(secret);
    return secret;
  }

  verify(secret: string, hashed: string): boolean {
    if (!isText(secret) || !isText(hashed)) return false;
    return constantTimeEqual(utf8(secret), utf8(hashed));
  }

  clearSecret(hashed: string): string {
    return hashed;
  }

  toJSON(): Record<string, string> {
    return { type: 'CleartextHasher' };
  }

  protected describeRedacted(): string {
    return 'CleartextHasher {}';
  }
}

// ---------------------------------------------------------------------------------------------
// detection

/**
 * The hasher for a stored string: the first of `extra` whose `identify` accepts it, else a
 * built-in PBKDF2 (pysasl or passlib flavour), Dovecot PBKDF2 (`$1$<salt>$<rounds>$<hex>`, with
 * or without `{PBKDF2}`) or scrypt hasher configured like the string.
 * `undefined` when nothing recognises it. Clear text has no marker and is never detected.
 */
export function detectHasher(hashed: string, extra: readonly PasswordHasher[] = []): PasswordHasher | undefined {
  for (const hasher of extra) if (hasher.identify?.(hashed) === true) return hasher;
  const pbkdf2Parts = parsePbkdf2(hashed, DEFAULT_MAX_PBKDF2_ROUNDS);
  if (pbkdf2Parts)
    return new Pbkdf2Hasher({ digest: pbkdf2Parts.digest, rounds: pbkdf2Parts.rounds, format: pbkdf2Parts.format });
  const dovecotParts = parseDovecotPbkdf2(hashed, DEFAULT_MAX_PBKDF2_ROUNDS);
  if (dovecotParts) return new DovecotPbkdf2Hasher({ rounds: dovecotParts.rounds });
  const scryptParts = parseScrypt(hashed, DEFAULT_MAX_SCRYPT_MEMORY);
  if (scryptParts) return new ScryptHasher({ ln: scryptParts.ln, r: scryptParts.r, p: scryptParts.p });
  return undefined;
}
