/**
 * Dovecot's `{CRAM-MD5}` passwd-file scheme for `saslkit serve`: 64 hex digits holding the
 * HMAC-MD5 outer and inner states of the password (MD5 state words, little-endian, after
 * absorbing key XOR opad and key XOR ipad), as `doveadm pw -s CRAM-MD5` writes them. The server
 * answers CRAM-MD5 from those states with the resumable MD5 of lib/crypto/md5.ts (node:crypto cannot
 * resume MD5), and PLAIN and LOGIN by deriving the states from the password sent.
 * @module
 */
import { inspect } from 'node:util';
import {
  AuthenticationFailedError,
  CRAM_MD5,
  type Identity,
  type Mechanism,
  MechanismUnavailableError,
  UnexpectedMessageError,
  authorize,
  challenge,
  constantTimeEqual,
  cramMd5Challenge,
  lookupEffect,
  parseCramMd5Response,
  perform,
} from '../index.js';
import { type HmacMd5States, hmacMd5FromStates, hmacMd5States } from '../crypto/md5.js';

const NAME = 'CRAM-MD5';

function wordsHex(words: readonly number[]): string {
  return words.map((word) => Buffer.from(Uint32Array.of(word).buffer).toString('hex')).join('');
}

function hexWords(hex: string): number[] {
  const bytes = Buffer.from(hex, 'hex');
  return [0, 4, 8, 12].map((offset) => bytes.readUInt32LE(offset));
}

/** Dovecot's hex form of HMAC-MD5 states: outer state, then inner state. */
export function dovecotCramMd5Hex(states: HmacMd5States): string {
  return wordsHex(states.outer) + wordsHex(states.inner);
}

/** An account stored as Dovecot's `{CRAM-MD5}` states. Never shows them. */
export class CramMd5StateIdentity implements Identity {
  readonly authcid: string;
  readonly #hex: string;
  readonly #states: HmacMd5States;

  /** Throws a RangeError unless `hex` is 64 hex digits. */
  constructor(authcid: string, hex: string) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('a {CRAM-MD5} secret is 64 hex digits');
    this.authcid = authcid;
    this.#hex = hex.toLowerCase();
    this.#states = { outer: hexWords(this.#hex.slice(0, 32)), inner: hexWords(this.#hex.slice(32)) };
  }

  /** Names compared exactly, as Dovecot's passwd-file does by default. */
  compareAuthcid(authcid: string): boolean {
    return authcid === this.authcid;
  }

  /** PLAIN and LOGIN: the password's states, compared in constant time. The key is the password's UTF-8, as in Dovecot. */
  compareSecret(secret: string): boolean {
    return constantTimeEqual(dovecotCramMd5Hex(hmacMd5States(Buffer.from(secret, 'utf8'))), this.#hex);
  }

  /** The clear password is not known. */
  getClearSecret(): undefined {
    return undefined;
  }

  /** hex(HMAC-MD5(password, challenge)), the CRAM-MD5 digest, from the stored states. */
  digest(challengeBytes: Uint8Array): string {
    return Buffer.from(hmacMd5FromStates(this.#states, challengeBytes)).toString('hex');
  }

  toJSON(): Record<string, string> {
    return { authcid: this.authcid };
  }

  [inspect.custom](): string {
    return `CramMd5StateIdentity { authcid: ${JSON.stringify(this.authcid)}, states: [redacted] }`;
  }
}

/**
 * CRAM-MD5 whose server also checks accounts stored as {@link CramMd5StateIdentity}; other
 * accounts go through the library's check ({@link CramMD5Credentials.verify}), an unknown user
 * costs the same HMAC as a wrong password. The client is the library's.
 */
export const CRAM_MD5_WITH_STATES: Mechanism = {
  ...CRAM_MD5,
  *server(options, initial) {
    if (initial !== undefined)
      throw new UnexpectedMessageError('CRAM-MD5 is server-first: an initial response is not allowed', {
        mechanism: NAME,
        party: 'client',
      });
    const bytes = cramMd5Challenge(options.hostname);
    const claimed = parseCramMd5Response(yield* challenge(bytes), bytes, options);
    const identity = yield* perform(lookupEffect(options, NAME, claimed.authcid));
    let ok: boolean;
    if (identity instanceof CramMd5StateIdentity) {
      ok = constantTimeEqual(identity.digest(bytes), claimed.digest);
    } else {
      const unusable = identity !== undefined && identity.getClearSecret() === undefined;
      ok = claimed.verify(unusable ? undefined : identity);
      if (unusable)
        throw new MechanismUnavailableError(
          'CRAM-MD5 needs the clear-text secret or Dovecot CRAM-MD5 states of this account',
          { mechanism: NAME, party: 'local' },
        );
    }
    if (!ok || identity === undefined)
      throw new AuthenticationFailedError(undefined, { mechanism: NAME, party: 'client' });
    const authzid = yield* authorize(options, NAME, identity.authcid, '');
    return { mechanism: NAME, authcid: identity.authcid, authzid, identity };
  },
};
