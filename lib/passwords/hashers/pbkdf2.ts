/**
 * PBKDF2-HMAC in pysasl's format (padded standard base64) and passlib's (`$pbkdf2-sha256$...`, adapted base64).
 * @module
 */
import { constantTimeEqual, toBase64, utf8 } from '../../core/bytes.js';
import { UsageError } from '../../core/errors.js';
import { Redacting, describe } from '../../core/redact.js';
import { trySaslprep } from '../saslprep.js';
import {
  MAX_SALT_BYTES,
  SyncPasswordHasher,
  checkInteger,
  checkSecret,
  decodeUnpadded,
  encodeUnpadded,
  isText,
  makeSalt,
  parseCount,
  pbkdf2Async,
  pbkdf2Sync,
  tryBase64,
} from './hasher.js';

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

export function parsePbkdf2(hashed: unknown, maxRounds: number): Pbkdf2Parts | undefined {
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
