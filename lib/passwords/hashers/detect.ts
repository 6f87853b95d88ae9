/**
 * Which hasher a stored string needs: the first extra hasher that claims it, else a built-in one configured like the string.
 * @module
 */
import { DovecotPbkdf2Hasher, parseDovecotPbkdf2 } from './dovecot-pbkdf2.js';
import { PasswordHasher } from './hasher.js';
import { DEFAULT_MAX_PBKDF2_ROUNDS, Pbkdf2Hasher, parsePbkdf2 } from './pbkdf2.js';
import { DEFAULT_MAX_SCRYPT_MEMORY, ScryptHasher, parseScrypt } from './scrypt.js';

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
