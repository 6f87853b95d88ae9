/**
 * scrypt in passlib's format (`$scrypt$ln=..,r=..,p=..$<salt>$<hash>`), with its memory capped.
 * @module
 */
import { constantTimeEqual, utf8 } from '../../core/bytes.js';
import { UsageError } from '../../core/errors.js';
import { Redacting, describe } from '../../core/redact.js';
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
  scryptAsync,
  scryptSync,
} from './hasher.js';

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

export function parseScrypt(hashed: unknown, maxMemory: number): ScryptParts | undefined {
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
