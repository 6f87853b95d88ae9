/**
 * Clear text (pysasl's `Cleartext`): for mechanisms that need the secret itself.
 * @module
 */
import { constantTimeEqual, utf8 } from '../../core/bytes.js';
import { Redacting } from '../../core/redact.js';
import { SyncPasswordHasher, checkSecret, isText } from './hasher.js';

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
