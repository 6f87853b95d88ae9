/**
 * SASLprep (RFC 4013): the stringprep (RFC 3454) profile for user names and passwords, over
 * RFC 3454's own tables (Unicode 3.2, in lib/passwords/saslprep-tables.ts, decoded on first use), with an
 * ASCII fast path and typed errors. No dependency, no Node built-in.
 *
 * Unicode 3.2, not today's Unicode: `String.prototype.normalize` follows the runtime's Unicode,
 * so two things are done around it to get RFC 3454's NFKC:
 * - code points unassigned in Unicode 3.2 (table A.1) are kept out of normalization: Unicode 3.2
 *   gives them no decomposition and combining class 0, so they pass through unchanged and split
 *   the string into runs that are normalized separately. Only query strings
 *   (`allowUnassigned: true`) can hold them; stored strings refuse them either way.
 * - the five CJK compatibility ideographs that Corrigendum #4 (Unicode 4.0) remapped
 *   (U+2F868, U+2F874, U+2F91F, U+2F95F, U+2F9BF) are mapped to their Unicode 3.2 targets.
 *
 * Two more behaviours are worth knowing:
 * - The bidi rule (RFC 3454 section 6) is checked on the prepared string, as the RFC says, so
 *   `"\u00AD\u0627\u0628"` prepares to `"\u0627\u0628"` (pysasl checks the raw input and rejects it).
 * - U+200B ZERO WIDTH SPACE is in both table C.1.2 (non-ASCII spaces, mapped to SPACE) and table
 *   B.1 (mapped to nothing): RFC 3454 lists it twice and RFC 4013 does not say which wins. saslkit
 *   maps it to SPACE, as @mongodb-js/saslprep, libidn and PostgreSQL's SCRAM do: a SCRAM key or
 *   a password hash computed by those matches ours, and changing it now would silently change
 *   the stored secrets saslkit itself made. pysasl and passlib (and so pysasl's stored hashes)
 *   drop it: `zeroWidthSpace: 'nothing'` prepares their way, and {@link Pbkdf2Hasher}, whose
 *   string formats are theirs, tries that reading too when a presented password holds U+200B.
 * @module
 */
import { LimitExceededError, MalformedMessageError, type SaslErrorOptions } from '../core/errors.js';
import {
  CORRIGENDUM_4,
  L_CAT,
  MAPPED_TO_NOTHING,
  MAPPED_TO_SPACE,
  PROHIBITED,
  RAND_AL_CAT,
  UNASSIGNED,
} from './saslprep-tables.js';

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
 * Longest non-ASCII string {@link saslprep} accepts, in UTF-16 code units: a bound on the work
 * and memory one call may cost (no name or password needs more).
 */
export const MAX_SASLPREP_LENGTH = 8192;

// Printable ASCII and the ASCII space are left unchanged by every SASLprep step.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Ranges as [start0, end0, start1, end1, ...], sorted and disjoint. */
type Table = readonly number[];

interface Tables {
  readonly unassigned: Table;
  readonly mappedToNothing: Table;
  readonly mappedToSpace: Table;
  readonly prohibited: Table;
  readonly randAlCat: Table;
  readonly lCat: Table;
  /** Corrigendum #4 code point -> its Unicode 3.2 decomposition. */
  readonly corrigendum: ReadonlyMap<number, number>;
}

let decoded: Tables | undefined;

// See lib/passwords/saslprep-tables.ts for the format: base-36 (gap, length - 1) pairs.
function decodeTable(encoded: string): Table {
  const numbers = encoded.split(',').map((digits) => parseInt(digits, 36));
  const table: number[] = [];
  let end = -1;
  for (let i = 0; i < numbers.length; i += 2) {
    const start = end + 1 + (numbers[i] ?? 0);
    end = start + (numbers[i + 1] ?? 0);
    table.push(start, end);
  }
  return table;
}

// Decoded on first use, so importing saslkit costs nothing for those who never prepare a string.
function tables(): Tables {
  if (decoded === undefined) {
    const pairs = CORRIGENDUM_4.split(',').map((digits) => parseInt(digits, 36));
    const corrigendum = new Map<number, number>();
    for (let i = 0; i < pairs.length; i += 2) corrigendum.set(pairs[i] ?? 0, pairs[i + 1] ?? 0);
    decoded = {
      unassigned: decodeTable(UNASSIGNED),
      mappedToNothing: decodeTable(MAPPED_TO_NOTHING),
      mappedToSpace: decodeTable(MAPPED_TO_SPACE),
      prohibited: decodeTable(PROHIBITED),
      randAlCat: decodeTable(RAND_AL_CAT),
      lCat: decodeTable(L_CAT),
      corrigendum,
    };
  }
  return decoded;
}

/** Binary search over the ranges of a table. */
function inTable(table: Table, codePoint: number): boolean {
  let low = 0;
  let high = table.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (codePoint < (table[2 * middle] ?? 0)) high = middle - 1;
    else if (codePoint > (table[2 * middle + 1] ?? 0)) low = middle + 1;
    else return true;
  }
  return false;
}

/** The code point at `index`; a lone surrogate is returned as itself. */
function codePointAt(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return (unit - 0xd800) * 0x400 + (next - 0xdc00) + 0x10000;
  }
  return unit;
}

/**
 * RFC 4013 sections 2.1 and 2.2 (and RFC 3454 section 4, NFKC) under Unicode 3.2: maps C.1.2 to
 * SPACE and B.1 to nothing, then normalizes the runs between code points that Unicode 3.2 did not
 * assign, which it leaves unchanged. A lone surrogate makes the string prohibited (C.5) whatever
 * normalization does next to it.
 */
function mapAndNormalize(text: string, t: Tables): string {
  let prepared = '';
  let run = ''; // mapped text waiting for NFKC
  let copyFrom = 0; // text[copyFrom, i) goes into the run unchanged
  for (let i = 0; i < text.length;) {
    const codePoint = codePointAt(text, i);
    const next = i + (codePoint > 0xffff ? 2 : 1);
    // Below U+00A0 no code point is mapped, corrected or unassigned.
    if (codePoint >= 0xa0) {
      const corrected = t.corrigendum.get(codePoint);
      // C.1.2 before B.1: U+200B is in both (see the module notes).
      const replacement =
        corrected !== undefined
          ? String.fromCodePoint(corrected)
          : inTable(t.mappedToSpace, codePoint)
            ? ' '
            : inTable(t.mappedToNothing, codePoint)
              ? ''
              : undefined;
      if (replacement !== undefined) {
        run += text.slice(copyFrom, i) + replacement;
        copyFrom = next;
      } else if (inTable(t.unassigned, codePoint)) {
        prepared += (run + text.slice(copyFrom, i)).normalize('NFKC') + text.slice(i, next);
        run = '';
        copyFrom = next;
      }
    }
    i = next;
  }
  return prepared + (run + text.slice(copyFrom)).normalize('NFKC');
}

type Rule = 'contains a prohibited character' | 'contains an unassigned code point' | 'violates the bidi rule';

/** RFC 4013 sections 2.3 to 2.5 on the prepared string: the rule it breaks, if any. */
function brokenRule(prepared: string, allowUnassigned: boolean, t: Tables): Rule | undefined {
  let unassigned = false;
  let randAlCat = false;
  let lCat = false;
  for (let i = 0; i < prepared.length;) {
    const codePoint = codePointAt(prepared, i);
    i += codePoint > 0xffff ? 2 : 1;
    if (inTable(t.prohibited, codePoint)) return 'contains a prohibited character';
    if (inTable(t.unassigned, codePoint)) unassigned = true;
    if (inTable(t.randAlCat, codePoint)) randAlCat = true;
    else if (inTable(t.lCat, codePoint)) lCat = true;
  }
  if (unassigned && !allowUnassigned) return 'contains an unassigned code point';
  // RFC 3454 section 6: no LCat next to RandALCat, which must then open and close the string.
  // No RandALCat is outside the BMP, so the last UTF-16 unit is enough for the last character.
  if (
    randAlCat &&
    (lCat ||
      !inTable(t.randAlCat, prepared.charCodeAt(0)) ||
      !inTable(t.randAlCat, prepared.charCodeAt(prepared.length - 1)))
  ) {
    return 'violates the bidi rule';
  }
  return undefined;
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
    throw new LimitExceededError(
      'saslprepLength',
      `string to prepare is longer than ${MAX_SASLPREP_LENGTH} characters`,
      errorOptions,
    );
  }
  const t = tables();
  const prepared = mapAndNormalize(text, t);
  const rule = brokenRule(prepared, options.allowUnassigned ?? false, t);
  if (rule !== undefined) throw new MalformedMessageError(`string ${rule} (RFC 4013)`, errorOptions);
  return prepared;
}

/** SASLprep that returns `undefined` instead of throwing: for comparisons that must fail closed. */
export function trySaslprep(text: string, options: SaslprepOptions = {}): string | undefined {
  try {
    return saslprep(text, options);
  } catch {
    return undefined;
  }
}
