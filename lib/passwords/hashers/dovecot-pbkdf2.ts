/**
 * Dovecot's PBKDF2 scheme (`{PBKDF2}$1$<salt>$<rounds>$<hex>`, `doveadm pw -s PBKDF2`).
 * @module
 */
import { constantTimeEqual, isWellFormed, toHex, utf8 } from '../../core/bytes.js';
import { UsageError } from '../../core/errors.js';
import { randomBytes } from '../../crypto/ops.js';
import { Redacting, describe } from '../../core/redact.js';
import { SyncPasswordHasher, checkInteger, checkSecret, isText, pbkdf2Async, pbkdf2Sync } from './hasher.js';
import { DEFAULT_MAX_PBKDF2_ROUNDS } from './pbkdf2.js';

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

export function parseDovecotPbkdf2(hashed: unknown, maxRounds: number): DovecotPbkdf2Parts | undefined {
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
