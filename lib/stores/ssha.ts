/**
 * OpenLDAP's SHA-family `userPassword` schemes as a {@link PasswordHasher}: `{SSHA}` (RFC 2307
 * style, salted SHA-1, slapd's default `password-hash`), `{SHA}`, and the SHA-2 forms of
 * OpenLDAP's `pw-sha2` module (`{SSHA256}`, `{SSHA384}`, `{SSHA512}`, `{SHA256}` ...). The value
 * is base64 of the digest, followed by the salt for the salted forms: digest(password ‖ salt) ‖ salt.
 *
 * These are single-round hashes: far cheaper to attack offline than PBKDF2 or SCRAM secrets. They
 * are read so that an existing directory works as it is; store new passwords as SCRAM secrets.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { type SyncPasswordHasher, UsageError, constantTimeEqual, fromBase64, toBase64, utf8 } from '../index.js';

/** The schemes {@link ShaPasswordHasher} reads and writes. */
export type ShaScheme = 'SHA' | 'SSHA' | 'SHA256' | 'SSHA256' | 'SHA384' | 'SSHA384' | 'SHA512' | 'SSHA512';

const SCHEMES: Readonly<
  Record<ShaScheme, { readonly digest: string; readonly length: number; readonly salted: boolean }>
> = {
  SHA: { digest: 'sha1', length: 20, salted: false },
  SSHA: { digest: 'sha1', length: 20, salted: true },
  SHA256: { digest: 'sha256', length: 32, salted: false },
  SSHA256: { digest: 'sha256', length: 32, salted: true },
  SHA384: { digest: 'sha384', length: 48, salted: false },
  SSHA384: { digest: 'sha384', length: 48, salted: true },
  SHA512: { digest: 'sha512', length: 64, salted: false },
  SSHA512: { digest: 'sha512', length: 64, salted: true },
};

/** The most salt bytes a stored value may carry (slapd writes 4 or 8). */
const MAX_SALT = 64;

interface Parsed {
  readonly scheme: ShaScheme;
  readonly digest: Uint8Array;
  readonly salt: Uint8Array;
}

/** Splits `{SCHEME}base64` into its parts; undefined for anything else (never throws). */
function parse(hashed: string): Parsed | undefined {
  const match = /^\{([A-Z0-9]+)\}([A-Za-z0-9+/=]+)$/i.exec(hashed);
  if (!match) return undefined;
  const scheme = (match[1] as string).toUpperCase();
  if (!Object.hasOwn(SCHEMES, scheme)) return undefined;
  const info = SCHEMES[scheme as ShaScheme];
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(match[2] as string);
  } catch {
    return undefined;
  }
  const saltLength = bytes.length - info.length;
  if (info.salted ? saltLength < 1 || saltLength > MAX_SALT : saltLength !== 0) return undefined;
  return { scheme: scheme as ShaScheme, digest: bytes.subarray(0, info.length), salt: bytes.subarray(info.length) };
}

function compute(scheme: ShaScheme, secret: string, salt: Uint8Array): Uint8Array {
  return createHash(SCHEMES[scheme].digest).update(utf8(secret)).update(salt).digest();
}

/**
 * Verifies (and writes) OpenLDAP's `{SSHA}`-family values. `identify` accepts every scheme above;
 * `hash` writes `scheme` (default `SSHA`) with a random salt of 8 bytes.
 */
export class ShaPasswordHasher implements SyncPasswordHasher {
  /** The scheme {@link ShaPasswordHasher.hash} writes. */
  readonly scheme: ShaScheme;

  constructor(scheme: ShaScheme = 'SSHA') {
    if (!Object.hasOwn(SCHEMES, scheme)) throw new UsageError('unknown SHA password scheme');
    this.scheme = scheme;
  }

  /** True when `hashed` is one of the `{SHA}`-family schemes above. */
  identify(hashed: string): boolean {
    return typeof hashed === 'string' && parse(hashed) !== undefined;
  }

  hash(secret: string): string {
    if (typeof secret !== 'string' || secret === '') throw new UsageError('the secret must be a non-empty string');
    const salt = SCHEMES[this.scheme].salted ? randomBytes(8) : new Uint8Array(0);
    const digest = compute(this.scheme, secret, salt);
    const value = new Uint8Array(digest.length + salt.length);
    value.set(digest);
    value.set(salt, digest.length);
    return `{${this.scheme}}${toBase64(value)}`;
  }

  /** True when `secret` hashes to `hashed` under its scheme and salt, compared in constant time; false for any other value. */
  verify(secret: string, hashed: string): boolean {
    if (typeof secret !== 'string' || typeof hashed !== 'string') return false;
    const parsed = parse(hashed);
    if (parsed === undefined) return false;
    return constantTimeEqual(compute(parsed.scheme, secret, parsed.salt), parsed.digest);
  }

  /** One hash: the cheapest there is. */
  cost(hashed: string): number | undefined {
    return parse(hashed) === undefined ? undefined : 1;
  }

  toJSON(): Record<string, string> {
    return { type: 'ShaPasswordHasher', scheme: this.scheme };
  }
}
