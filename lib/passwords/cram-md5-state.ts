/**
 * Dovecot's `{CRAM-MD5}` stored secret: 64 hex digits holding the HMAC-MD5 outer and inner
 * states of the password (MD5's four state words each, little-endian, after absorbing key XOR
 * opad and key XOR ipad), as `doveadm pw -s CRAM-MD5` writes them. Those states answer CRAM-MD5
 * without the clear password, through the resumable MD5 of lib/crypto/md5.ts (platform MD5s
 * cannot start from a saved state), and check a password sent in clear (PLAIN, LOGIN) by
 * deriving the states from it.
 *
 * The states are as good as the password for CRAM-MD5 (whoever holds them can answer any
 * challenge): they keep the password itself from being read, nothing more.
 * @module
 */
import { constantTimeEqual, toHex, utf8 } from '../core/bytes.js';
import { UsageError } from '../core/errors.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import { type HmacMd5States, hmacMd5FromStates, hmacMd5States } from '../crypto/md5.js';
import type { Identity } from './identity.js';

const PREFIX = '{CRAM-MD5}';
const HEX = /^[0-9a-fA-F]{64}$/;

/** One state's four words as Dovecot writes them: each little-endian, 8 hex digits. */
function wordsHex(words: readonly number[]): string {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  words.forEach((word, index) => {
    view.setUint32(index * 4, word, true);
  });
  return toHex(bytes);
}

/** The four little-endian words of 32 hex digits (checked by the caller). */
function hexWords(hex: string): number[] {
  const bytes = Uint8Array.from({ length: 16 }, (_, index) => Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16));
  const view = new DataView(bytes.buffer);
  return [0, 4, 8, 12].map((offset) => view.getUint32(offset, true));
}

function statesHex(states: HmacMd5States): string {
  return wordsHex(states.outer) + wordsHex(states.inner);
}

/**
 * The `{CRAM-MD5}` secret of `password` as `doveadm pw -s CRAM-MD5` prints it: the prefix and
 * 64 hex digits. The HMAC key is the password's UTF-8 as given (Dovecot applies no SASLprep).
 */
export function dovecotCramMd5(password: string): string {
  return PREFIX + statesHex(hmacMd5States(utf8(password)));
}

/**
 * An account stored as Dovecot's `{CRAM-MD5}` states. It checks a clear password
 * ({@link CramMd5StateIdentity.compareSecret}, for PLAIN and LOGIN) and computes CRAM-MD5
 * digests ({@link CramMd5StateIdentity.cramMd5Digest}); it has no clear secret, so a mechanism
 * that needs one treats it as unusable. `util.inspect` and `JSON.stringify` never show the states.
 */
export class CramMd5StateIdentity extends Redacting implements Identity {
  readonly authcid: string;
  readonly #hex: string;
  readonly #states: HmacMd5States;

  /**
   * `secret` is 64 hex digits, with or without the `{CRAM-MD5}` prefix. Throws a
   * {@link UsageError} otherwise (without the secret in its message).
   */
  constructor(authcid: string, secret: string) {
    super();
    const hex = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
    if (!HEX.test(hex)) throw new UsageError('a {CRAM-MD5} secret is 64 hex digits');
    this.authcid = authcid;
    this.#hex = hex.toLowerCase();
    this.#states = { outer: hexWords(this.#hex.slice(0, 32)), inner: hexWords(this.#hex.slice(32)) };
  }

  /** Names compared exactly, as Dovecot's passwd-file does by default. */
  compareAuthcid(authcid: string): boolean {
    return authcid === this.authcid;
  }

  /**
   * True when `secret` derives these states, compared in constant time. The key is the
   * password's UTF-8 as given, as in Dovecot.
   */
  compareSecret(secret: string): boolean {
    return constantTimeEqual(statesHex(hmacMd5States(utf8(secret))), this.#hex);
  }

  /** The clear password is not known. */
  getClearSecret(): string | undefined {
    return undefined;
  }

  /** The CRAM-MD5 digest, lower-case hex of HMAC-MD5(password, challenge), from the stored states. */
  cramMd5Digest(challenge: Uint8Array): string {
    return toHex(hmacMd5FromStates(this.#states, challenge));
  }

  /** The account's name only. */
  toJSON(): Record<string, string> {
    return { type: 'CramMd5StateIdentity', authcid: this.authcid };
  }

  protected describeRedacted(): string {
    return describe('CramMd5StateIdentity', { authcid: this.authcid, states: REDACTED });
  }
}
