/**
 * Password hashers for {@link HashedIdentity}.
 * @module
 */

/**
 * A password hasher. Implement this to plug in argon2, bcrypt or any other scheme; the
 * built-in hashers implement it too. `verify` must not throw for a malformed hash string it
 * does not recognise: it returns false (identities also catch, to fail closed).
 */
export interface PasswordHasher {
  /** Hashes a (prepared) secret into the stored string form. */
  hash(secret: string): string;
  /** True when `secret` matches the stored `hashed` string. Constant-time in the comparison. */
  verify(secret: string, hashed: string): boolean;
  /** Async {@link PasswordHasher.hash}, off the event loop. */
  hashAsync?(secret: string): Promise<string>;
  /** Async {@link PasswordHasher.verify}, off the event loop. Async drivers prefer it. */
  verifyAsync?(secret: string, hashed: string): Promise<boolean>;
  /** The clear secret inside `hashed`, for a hasher that stores it (cleartext); else absent. */
  clearSecret?(hashed: string): string | undefined;
}
