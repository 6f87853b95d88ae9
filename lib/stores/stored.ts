/**
 * What the stores share: turning the values read for one account (database columns, LDAP
 * attributes) into the {@link Identity} saslkit's mechanisms use.
 *
 * Each value says what it is: a SCRAM secret (RFC 5803 / PostgreSQL `SCRAM-SHA-256$...`, Dovecot
 * `{SCRAM-SHA-256}...`), a password hash that a hasher recognises (pysasl's and passlib's PBKDF2,
 * Dovecot's `{PBKDF2}`, passlib's scrypt, OpenLDAP's `{SSHA}` family, your own hashers),
 * `{PLAIN}`/`{CLEARTEXT}` clear text, or (only where the store says so, as LDAP's `userPassword`
 * does) a clear-text password without a scheme. Values are hostile input: bounded in size and
 * count, parsed strictly; one that claims a scheme it does not follow is a typed error that
 * names the account and the column, never the value.
 * @module
 */
import {
  ClearIdentity,
  HashedIdentity,
  type Identity,
  LimitExceededError,
  type PasswordHasher,
  ScramIdentity,
  ScramSecret,
  UsageError,
  decodeUtf8,
  detectHasher,
  isSaslError,
} from '../index.js';
import { ShaPasswordHasher } from './ssha.js';

/** Default of {@link StoredValueOptions.maxValueLength}. */
export const DEFAULT_MAX_STORED_VALUE_LENGTH = 4096;
/** Default of {@link StoredValueOptions.maxValues}. */
export const DEFAULT_MAX_STORED_VALUES = 16;

/** How a store reads its values. */
export interface StoredValueOptions {
  /** Hashers for hash formats saslkit does not know (argon2, bcrypt ...), asked first through their `identify`. */
  readonly hashers?: readonly PasswordHasher[];
  /**
   * Whether a value without a recognised scheme is a clear-text password. Default false (such a
   * value is a typed error); the LDAP store turns it on for `userPassword`, as slapd stores
   * passwords without a scheme in clear.
   */
  readonly clearText?: boolean;
  /** The longest value read, in characters (a SCRAM-SHA-512 secret is under 300). Default {@link DEFAULT_MAX_STORED_VALUE_LENGTH}. */
  readonly maxValueLength?: number;
  /** The most values one account may have. Default {@link DEFAULT_MAX_STORED_VALUES}. */
  readonly maxValues?: number;
}

/** One value read for an account, with where it came from (a column or attribute name). */
export interface StoredValue {
  /** The column or attribute, for error messages. */
  readonly source: string;
  /** As the client library returned it: a string, bytes, an array of either, or null. */
  readonly value: unknown;
  /** {@link StoredValueOptions.clearText} for this source only (LDAP's `userPassword` but not its `authPassword`). */
  readonly clearText?: boolean;
}

const SSHA = new ShaPasswordHasher();
const CLEAR_PREFIX = /^\{(?:PLAIN|CLEARTEXT|CLEAR)\}/i;
const SCHEME_PREFIX = /^\{([A-Za-z0-9._-]{1,32})\}/;

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer`);
  return value;
}

/** A typed error about a stored value: names the account and column, never the value. */
function badValue(authcid: string, source: string, what: string): UsageError {
  return new UsageError(
    `the stored value in ${JSON.stringify(source)} of account ${JSON.stringify(authcid)} ${what}; fix the store`,
  );
}

/** The value as text: strings as they are, bytes as strict UTF-8. */
function asText(authcid: string, source: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return decodeUtf8(value, 'stored value');
    } catch {
      throw badValue(authcid, source, 'is not valid UTF-8');
    }
  }
  throw badValue(authcid, source, `is of an unexpected type (${value === null ? 'null' : typeof value})`);
}

/** What one value is. */
type Parsed =
  | { readonly kind: 'scram'; readonly secret: ScramSecret }
  | { readonly kind: 'hash'; readonly digest: string; readonly hasher: PasswordHasher }
  | { readonly kind: 'clear'; readonly password: string };

function parseValue(
  authcid: string,
  source: string,
  text: string,
  hashers: readonly PasswordHasher[],
  clearText: boolean,
): Parsed {
  const direct = ScramSecret.tryParse(text);
  if (direct !== undefined) return { kind: 'scram', secret: direct };
  // `{SCRAM-SHA-256}SCRAM-SHA-256$...`: the RFC 5803 form behind a userPassword-style scheme.
  const scheme = SCHEME_PREFIX.exec(text)?.[1];
  if (scheme !== undefined && /^SCRAM-/i.test(scheme)) {
    const inner = ScramSecret.tryParse(text.slice(scheme.length + 2));
    if (inner !== undefined) return { kind: 'scram', secret: inner };
    throw badValue(authcid, source, `claims ${scheme} but is not a well-formed SCRAM secret`);
  }
  if (/^SCRAM-[A-Za-z0-9-]+\$/.test(text))
    throw badValue(authcid, source, 'looks like a SCRAM secret but is not a well-formed one');
  if (CLEAR_PREFIX.test(text)) {
    const password = text.slice(text.indexOf('}') + 1);
    if (password === '') throw badValue(authcid, source, 'is an empty clear-text password');
    return { kind: 'clear', password };
  }
  const hasher = detectHasher(text, [...hashers, SSHA]);
  if (hasher !== undefined) return { kind: 'hash', digest: text, hasher };
  if (scheme !== undefined)
    throw badValue(authcid, source, `uses the scheme {${scheme}}, which saslkit cannot check (or it is malformed)`);
  if (text.startsWith('$'))
    throw badValue(authcid, source, 'is a hash in a format saslkit does not recognise (pass a hasher for it)');
  if (clearText && text !== '') return { kind: 'clear', password: text };
  throw badValue(authcid, source, 'is in no recognised format');
}

/** The values of one column or attribute as a flat list of texts; null and undefined read as none. */
function textsOf(authcid: string, item: StoredValue, maxLength: number): string[] {
  const raw = item.value;
  if (raw === null || raw === undefined) return [];
  const list: readonly unknown[] = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const out: string[] = [];
  for (const entry of list) {
    if (entry === null || entry === undefined) continue;
    // Checked before decoding, so an oversized value costs no more than its length test.
    const length = typeof entry === 'string' || entry instanceof Uint8Array ? entry.length : 0;
    if (length > maxLength)
      throw new LimitExceededError(
        'maxValueLength',
        `the stored value in ${JSON.stringify(item.source)} of account ${JSON.stringify(authcid)} is longer than ${maxLength}`,
        { party: 'local' },
      );
    out.push(asText(authcid, item.source, entry));
  }
  return out;
}

/**
 * The identity for `authcid` from its stored values, or undefined when none of them holds a
 * password (the account is then treated as unknown: it fails like an unknown user, at the same
 * cost). SCRAM secrets make a {@link ScramIdentity} (SCRAM with the stored keys; PLAIN derives
 * and compares); else the first password hash a {@link HashedIdentity}; else a clear-text
 * password a {@link ClearIdentity}. Throws a {@link UsageError} or {@link LimitExceededError}
 * (naming account and column, never the value) for a value it cannot read.
 */
export function identityFromValues(
  authcid: string,
  values: readonly StoredValue[],
  options: StoredValueOptions = {},
): Identity | undefined {
  const maxLength = positive('maxValueLength', options.maxValueLength ?? DEFAULT_MAX_STORED_VALUE_LENGTH);
  const maxValues = positive('maxValues', options.maxValues ?? DEFAULT_MAX_STORED_VALUES);
  const scram: ScramSecret[] = [];
  let hash: Extract<Parsed, { kind: 'hash' }> | undefined;
  let clear: string | undefined;
  // Counted and measured before any is parsed, so the limits do not depend on what the values hold.
  const texts = values.map((item) => ({
    source: item.source,
    clearText: item.clearText ?? options.clearText,
    texts: textsOf(authcid, item, maxLength),
  }));
  if (texts.reduce((sum, item) => sum + item.texts.length, 0) > maxValues) {
    throw new LimitExceededError(
      'maxValues',
      `account ${JSON.stringify(authcid)} has more than ${maxValues} stored values`,
      { party: 'local' },
    );
  }
  for (const item of texts) {
    for (const text of item.texts) {
      const parsed = parseValue(authcid, item.source, text, options.hashers ?? [], item.clearText === true);
      if (parsed.kind === 'scram') {
        if (scram.some((secret) => secret.hash === parsed.secret.hash))
          throw badValue(authcid, item.source, `is a second SCRAM-${parsed.secret.hash} secret`);
        scram.push(parsed.secret);
      } else if (parsed.kind === 'hash') hash ??= parsed;
      else clear ??= parsed.password;
    }
  }
  try {
    if (scram.length > 0) return new ScramIdentity(authcid, scram);
    if (hash !== undefined) return new HashedIdentity(authcid, hash.digest, hash.hasher);
    if (clear !== undefined) return new ClearIdentity(authcid, clear);
  } catch (error) {
    // The constructors' own messages hold no secret, but say less than this one.
    if (isSaslError(error)) throw badValue(authcid, values.map((v) => v.source).join(', '), 'cannot be used');
    throw error;
  }
  return undefined;
}
