/**
 * SASLprep (RFC 4013) through `@mongodb-js/saslprep`, with an ASCII fast path and typed errors.
 * @module
 */
import saslprepImpl from '@mongodb-js/saslprep';
import { MalformedMessageError, type SaslErrorOptions } from './errors.js';

/** Options for {@link saslprep}. */
export interface SaslprepOptions {
  /**
   * Allow unassigned code points: true for "query" strings (what a user typed), false for
   * "stored" strings (what goes into a credential database). RFC 4013 section 2.5.
   */
  readonly allowUnassigned?: boolean;
}

// Printable ASCII and the ASCII space are left unchanged by every SASLprep step.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Prepares a user name or password with SASLprep. Throws {@link MalformedMessageError} for a
 * prohibited character or a bidi violation. The message names the rule, never the input.
 * A string that maps to nothing (e.g. only U+00AD) prepares to `''`.
 */
export function saslprep(text: string, options: SaslprepOptions & SaslErrorOptions = {}): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  let prepared: string;
  try {
    // The library indexes the first character of the mapped string; an input that maps to
    // nothing would crash it, so map-to-empty is detected first.
    if (text.replace(MAPPED_TO_NOTHING, '') === '') return '';
    prepared = saslprepImpl(text, { allowUnassigned: options.allowUnassigned ?? false });
  } catch (cause) {
    const rule = cause instanceof Error && /RandALCat|bidi/i.test(cause.message) ? 'violates the bidi rule' : 'contains a prohibited character';
    throw new MalformedMessageError(`string ${rule} (RFC 4013)`, { ...options, cause: undefined });
  }
  return prepared;
}

// RFC 3454 table B.1: commonly mapped to nothing.
const MAPPED_TO_NOTHING = /\u00AD|\u034F|\u1806|\u180B|\u180C|\u180D|\u200B|\u200C|\u200D|\u2060|[\uFE00-\uFE0F]|\uFEFF/g;

/** SASLprep that returns `undefined` instead of throwing: for comparisons that must fail closed. */
export function trySaslprep(text: string, options: SaslprepOptions = {}): string | undefined {
  try {
    return saslprep(text, options);
  } catch {
    return undefined;
  }
}
