/**
 * Users files for `saslkit serve`, in Dovecot's passwd-file format, so that one file serves
 * both saslkit and Dovecot (`passdb { driver = passwd-file }`):
 *
 *     user:{SCHEME}secret[:uid:gid:gecos:home:shell:extra]
 *
 * Schemes read: `{PLAIN}` (also `{CLEAR}`, `{CLEARTEXT}`), `{SCRAM-SHA-1}`, `{SCRAM-SHA-256}`,
 * `{SCRAM-SHA-512}` (Dovecot's `<iter>,<salt>,<StoredKey>,<ServerKey>`), `{PBKDF2}` (Dovecot's
 * `$1$<salt>$<rounds>$<hex PBKDF2-HMAC-SHA1>`), `{CRAM-MD5}` (Dovecot's HMAC-MD5 states, the library's
 * CramMd5StateIdentity), and, as a saslkit extension that Dovecot does not
 * read, pysasl's `$pbkdf2-sha256$...` strings without a scheme prefix. Blank lines and lines
 * starting with `#` are skipped. Errors name the line, never its secret.
 *
 * Token files (`--tokens`) use the same layout with a bearer token as the secret: `user:token`.
 * @module
 */
import { readFile } from 'node:fs/promises';
import {
  ClearIdentity,
  CramMd5StateIdentity,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  type Identity,
  type ServerOptions,
  ScramIdentity,
  type TokenResult,
  UsageError,
  constantTimeEqual,
  detectHasher,
  isWellFormed,
  noprep,
} from '../index.js';

/** Largest users or tokens file read. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** One account of a users file. */
export interface PasswdEntry {
  readonly user: string;
  /** The scheme, upper case: `PLAIN`, `SCRAM-SHA-256`, `PBKDF2`, or `PYSASL` for `$pbkdf2-...$`. */
  readonly scheme: string;
  readonly identity: Identity;
}

/** The schemes {@link parsePasswdFile} reads. */
export const PASSWD_SCHEMES: readonly string[] = [
  'PLAIN',
  'CLEAR',
  'CLEARTEXT',
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
  'PBKDF2',
  'CRAM-MD5',
];

function entryLines(text: string, what: string): { number: number; user: string; secret: string }[] {
  const out: { number: number; user: string; secret: string }[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const number = index + 1;
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const fields = raw.split(':');
    const user = fields[0] ?? '';
    const secret = fields[1] ?? '';
    if (user === '' || !isWellFormed(user) || /\p{Cc}/u.test(user))
      throw new UsageError(`${what} line ${number}: no valid user name`);
    if (secret === '')
      throw new UsageError(`${what} line ${number}: no ${what === 'tokens file' ? 'token' : 'password'} for this user`);
    if (seen.has(user)) throw new UsageError(`${what} line ${number}: the user is listed twice`);
    seen.add(user);
    out.push({ number, user, secret });
  });
  return out;
}

/** A well-formed line whose `{SCHEME}` saslkit cannot serve (crypt hashes, salted SHA). */
export interface UnsupportedEntry {
  readonly line: number;
  readonly user: string;
  readonly scheme: string;
}

class UnsupportedScheme extends UsageError {
  constructor(
    message: string,
    readonly scheme: string,
  ) {
    super(message);
  }
}

function identityFor(user: string, secret: string, number: number): PasswdEntry {
  const where = `users file line ${number}`;
  const scheme = /^\{([A-Za-z0-9._-]+)\}/.exec(secret);
  if (scheme === null) {
    const hasher = secret.startsWith('$pbkdf2') ? detectHasher(secret) : undefined;
    if (hasher === undefined)
      throw new UsageError(
        `${where}: the password has no {SCHEME} prefix; use ${PASSWD_SCHEMES.map((s) => `{${s}}`).join(' ')} or pysasl's $pbkdf2-sha256$ form`,
      );
    return { user, scheme: 'PYSASL', identity: new HashedIdentity(user, secret, hasher) };
  }
  const name = (scheme[1] ?? '').toUpperCase();
  const rest = secret.slice(scheme[0].length);
  try {
    switch (name) {
      case 'PLAIN':
      case 'CLEAR':
      case 'CLEARTEXT':
        return { user, scheme: 'PLAIN', identity: new ClearIdentity(user, rest) };
      case 'SCRAM-SHA-1':
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-512':
        return { user, scheme: name, identity: new ScramIdentity(user, `{${name}}${rest}`) };
      case 'CRAM-MD5':
        return { user, scheme: name, identity: new CramMd5StateIdentity(user, rest) };
      case 'PBKDF2': {
        const hasher = new DovecotPbkdf2Hasher();
        // The hasher also reads a `{PBKDF2}` prefix; here it was the scheme already, so a second one is an error.
        if (rest.startsWith('{') || !hasher.identify(rest)) throw new UsageError('not in Dovecot PBKDF2 form');
        // Dovecot hashes the password as typed, without SASLprep.
        return { user, scheme: name, identity: new HashedIdentity(user, rest, hasher, { prepare: noprep }) };
      }
      default:
        throw new UnsupportedScheme(
          `${where}: unsupported scheme {${name}}; saslkit reads ${PASSWD_SCHEMES.map((s) => `{${s}}`).join(' ')}`,
          name,
        );
    }
  } catch (error) {
    if (error instanceof UnsupportedScheme) throw error;
    throw new UsageError(`${where}: the {${name}} secret does not parse`);
  }
}

/**
 * Parses a users file. Throws {@link UsageError} naming the first bad line. A line with a
 * scheme saslkit does not serve is an error too, unless `onUnsupported` is given: then the
 * account is left out and reported, so that a Dovecot file with crypt or salted SHA hashes
 * still serves its other accounts.
 */
export function parsePasswdFile(
  text: string,
  options: { readonly onUnsupported?: (entry: UnsupportedEntry) => void } = {},
): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const { number, user, secret } of entryLines(text, 'users file')) {
    try {
      entries.push(identityFor(user, secret, number));
    } catch (error) {
      if (!(error instanceof UnsupportedScheme) || options.onUnsupported === undefined) throw error;
      options.onUnsupported({ line: number, user, scheme: error.scheme });
    }
  }
  return entries;
}

/** A credential lookup over entries (user names compared exactly, as Dovecot does by default). */
export function passwdLookup(entries: readonly PasswdEntry[]): (authcid: string) => Identity | undefined {
  const byUser = new Map(entries.map((entry) => [entry.user, entry.identity]));
  return (authcid) => byUser.get(authcid);
}

/** Parses a tokens file (`user:token` lines) into a token validator for OAUTHBEARER and XOAUTH2. */
export function parseTokensFile(text: string): NonNullable<ServerOptions['validateToken']> {
  const tokens = entryLines(text, 'tokens file');
  return ({ token, user }) => {
    // Every entry is compared, so the time does not depend on which one matches.
    let found: string | undefined;
    for (const entry of tokens) if (constantTimeEqual(entry.secret, token) && found === undefined) found = entry.user;
    if (found !== undefined && (user === '' || user === found)) return { authcid: found } satisfies TokenResult;
    return { error: { status: 'invalid_token', schemes: 'bearer', scope: 'mail' } };
  };
}

/** Reads a file of at most 16 MiB as UTF-8; a usage error (without the path's content) otherwise. */
export async function readConfigFile(path: string, what: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read the ${what}: ${typeof code === 'string' ? code : 'error'}`);
  }
  if (data.length > MAX_FILE_BYTES) throw new UsageError(`the ${what} is larger than ${MAX_FILE_BYTES} bytes`);
  return data.toString('utf8');
}
