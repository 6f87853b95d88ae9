/**
 * SASLprep (RFC 4013) through `@mongodb-js/saslprep`, with an ASCII fast path and typed errors.
 *
 * Two behaviours are worth knowing:
 * - The bidi rule (RFC 3454 section 6) is checked on the prepared string, as the RFC says, so
 *   `"\u00AD\u0627\u0628"` prepares to `"\u0627\u0628"` (pysasl checks the raw input and rejects it).
 * - U+200B ZERO WIDTH SPACE is in both table C.1.2 (non-ASCII spaces, mapped to SPACE) and table
 *   B.1 (mapped to nothing): RFC 3454 lists it twice and RFC 4013 does not say which wins. saslkit
 *   maps it to SPACE, as the library it wraps, libidn and PostgreSQL's SCRAM do: a SCRAM key or
 *   a password hash computed by those matches ours, and changing it now would silently change
 *   the stored secrets saslkit itself made. pysasl and passlib (and so pysasl's stored hashes)
 *   drop it: `zeroWidthSpace: 'nothing'` prepares their way, and {@link Pbkdf2Hasher}, whose
 *   string formats are theirs, tries that reading too when a presented password holds U+200B.
 * @module
 */
import saslprepImpl from '@mongodb-js/saslprep';
import { LimitExceededError, MalformedMessageError, type SaslErrorOptions } from './errors.js';

/** Options for {@link saslprep}. */
export interface SaslprepOptions {
  /**
   * Allow unassigned code points: true for "query" strings (what a user typed), false for
   * "stored" strings (what goes into a credential database). RFC 4013 section 2.5.
   */
  readonly allowUnassigned?: boolean;
  /**
   * What U+200B ZERO WIDTH SPACE maps to: `space` (the default, as libidn and PostgreSQL map
   * it) or `nothing` (as pysasl and passlib do). See the module notes.
   */
  readonly zeroWidthSpace?: 'space' | 'nothing';
}

/**
 * Longest non-ASCII string {@link saslprep} accepts, in UTF-16 code units. The library spreads
 * the string into one function call, which overflows the stack somewhere above 30,000 characters.
 */
export const MAX_SASLPREP_LENGTH = 8192;

// Printable ASCII and the ASCII space are left unchanged by every SASLprep step.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

// RFC 3454 table B.1 (commonly mapped to nothing) without U+200B, which the library maps to SPACE.
const MAPPED_TO_NOTHING = /\u00AD|\u034F|\u1806|\u180B|\u180C|\u180D|\u200C|\u200D|\u2060|[\uFE00-\uFE0F]|\uFEFF/g;

function describeRule(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : '';
  if (/RandALCat/.test(message)) return 'violates the bidi rule';
  if (/Unassigned/i.test(message)) return 'contains an unassigned code point';
  return 'contains a prohibited character';
}

/**
 * Prepares a user name or password with SASLprep. Throws {@link MalformedMessageError} for a
 * prohibited character, an unassigned code point (unless allowed) or a bidi violation, and
 * {@link LimitExceededError} for a non-ASCII string over {@link MAX_SASLPREP_LENGTH}. Messages
 * name the rule, never the input. A string that maps to nothing (e.g. only U+00AD) prepares to
 * `''`; callers comparing passwords must treat that as a failure (RFC 4616 section 2).
 */
export function saslprep(input: string, options: SaslprepOptions & SaslErrorOptions = {}): string {
  const text = options.zeroWidthSpace === 'nothing' && input.includes('\u200B') ? input.replace(/\u200B/g, '') : input;
  if (PRINTABLE_ASCII.test(text)) return text;
  const errorOptions = { mechanism: options.mechanism, party: options.party };
  if (text.length > MAX_SASLPREP_LENGTH) {
    throw new LimitExceededError('saslprepLength', `string to prepare is longer than ${MAX_SASLPREP_LENGTH} characters`, errorOptions);
  }
  // The library reads the first character of the mapped string, so an input that maps to
  // nothing would crash it with a TypeError.
  if (text.replace(MAPPED_TO_NOTHING, '') === '') return '';
  try {
    return saslprepImpl(text, { allowUnassigned: options.allowUnassigned ?? false });
  } catch (cause) {
    // A RangeError means the call stack was too shallow for this input; still a limit.
    if (cause instanceof RangeError) throw new LimitExceededError('saslprepLength', 'string to prepare is too long', errorOptions);
    throw new MalformedMessageError(`string ${describeRule(cause)} (RFC 4013)`, errorOptions);
  }
}

/** SASLprep that returns `undefined` instead of throwing: for comparisons that must fail closed. */
export function trySaslprep(text: string, options: SaslprepOptions = {}): string | undefined {
  try {
    return saslprep(text, options);
  } catch {
    return undefined;
  }
}
