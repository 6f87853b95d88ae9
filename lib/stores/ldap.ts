/**
 * `saslkit/stores/ldap`: a credential store over an LDAP directory. A search (as a reader account
 * that may see the secrets) finds the user's entry and reads RFC 5803 `authPassword` values
 * (SCRAM secrets: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`) and `userPassword`
 * values (`{SSHA}` and the other OpenLDAP SHA schemes, `{SCRAM-...}`, PBKDF2 strings, clear
 * text), which become the identity saslkit's mechanisms use (`lookup`). A simple bind as the
 * user's DN is the password-check backend (`verifyPassword`) for directories that do not show
 * their secrets: PLAIN and LOGIN then ask the directory itself.
 *
 * The filter is sent as BER (an equality match on the user attribute), never built as a string,
 * so no name can change it. saslkit's own LDAP codec and connection are used; no other LDAP
 * library. Searches go through a bounded cache with a time limit ({@link StoreCache}), found or
 * not; an unknown user costs what a known one does: one search (or one cache hit), then
 * saslkit's decoy check, or, for `verifyPassword`, one bind (as a DN that does not exist).
 * @module
 */
import type { ConnectionOptions } from 'node:tls';
import {
  type CredentialLookup,
  type Identity,
  LDAP_RESULT,
  type LdapAttribute,
  LdapConnection,
  type LdapFilter,
  type LdapSearchRequest,
  type PasswordVerifier,
  StoreCache,
  type StoreCacheOptions,
  type StoreCacheStats,
  UsageError,
} from '../index.js';
import { ConnectionPool, type LdapStoreConnection, simpleBind } from './ldap-pool.js';
import { type StoredValueOptions, identityFromValues } from './stored.js';

// What every store entry exports besides its store: reading stored values, the SHA hasher.
export * from './common.js';
export type { LdapStoreConnection } from './ldap-pool.js';

/** Options of {@link ldapStore}. */
export interface LdapStoreOptions extends StoredValueOptions {
  /** `ldap://host:port` or `ldaps://host:port`. */
  readonly url: string;
  /** TLS options for `ldaps://` and StartTLS (`ca`, `servername` ...). */
  readonly tls?: ConnectionOptions;
  /** StartTLS after connecting to an `ldap://` URL. Default false. */
  readonly startTls?: boolean;
  /** The reader account's DN: a simple bind on each search connection. Without it, searches are anonymous (most directories then hide the secrets). */
  readonly bindDN?: string;
  /** The reader account's password. */
  readonly bindPassword?: string;
  /** Where users are searched (the whole subtree). */
  readonly base: string;
  /** The attribute that holds the user name. Default `uid`. */
  readonly userAttribute?: string;
  /** Only entries of this object class (e.g. `inetOrgPerson`). Default: any. */
  readonly objectClass?: string;
  /** The attributes read for secrets. Default `authPassword` and `userPassword`. */
  readonly secretAttributes?: readonly string[];
  /** Of those, the ones whose values without a scheme are clear-text passwords. Default `userPassword`. */
  readonly clearTextAttributes?: readonly string[];
  /** Connections for searches and, separately, for binds. Default 2 each. */
  readonly connections?: number;
  /** Time limit for connecting and for each response, in ms. Default 10000. */
  readonly timeoutMs?: number;
  /** The DN `verifyPassword` binds as for a user the search did not find. Default `cn=saslkit-unknown-user,<base>`; it must not exist. */
  readonly unknownUserDN?: string;
  /** The result cache: its options, a {@link StoreCache} of your own, or false for none. */
  readonly cache?: StoreCacheOptions | StoreCache<LdapAccount> | false;
  /** Opens a connection (default: {@link LdapConnection.connect} with the options above). */
  readonly connect?: () => Promise<LdapStoreConnection>;
  /**
   * Allow simple binds (the reader account's, `verifyPassword`'s) on a connection without TLS,
   * where the password crosses the wire in clear: only for a directory on the same host or a
   * network you trust. Default false: such a bind is a {@link UsageError} and nothing is sent.
   */
  readonly plaintextBinds?: boolean;
}

/** What a search found for a name: the entry's DN, its identity, or why the values could not be read. */
export interface LdapAccount {
  /** The entry's DN (a simple bind's name). */
  readonly dn: string;
  /** The identity from its secrets; undefined when it has none that saslkit can read. */
  readonly identity: Identity | undefined;
  /** A typed error about its stored values (the lookup throws it; a bind does not need them). */
  readonly error?: unknown;
}

/** What an {@link LdapStore} has done. */
export interface LdapStoreStats {
  /** Searches sent. */
  readonly searches: number;
  /** Simple binds sent for `verifyPassword` (the reader account's binds are not counted). */
  readonly binds: number;
  /** Lookups and password checks asked of the store. */
  readonly lookups: number;
  /** The cache's counters. */
  readonly cache: StoreCacheStats;
}

/** An LDAP-backed store: pass `lookup` and/or `verifyPassword` in `ServerOptions`. */
export interface LdapStore {
  /** `ServerOptions.lookup`: the identity from the entry's `authPassword`/`userPassword`. */
  readonly lookup: CredentialLookup;
  /** `ServerOptions.verifyPassword`: a simple bind as the user's DN (PLAIN, LOGIN). */
  readonly verifyPassword: PasswordVerifier;
  /** Counters. */
  stats(): LdapStoreStats;
  /** Forgets a cached result, or every one. */
  invalidate(authcid?: string): void;
  /** Closes every connection (unbinding is not needed). */
  close(): void;
}

/** sizeLimitExceeded (RFC 4511 appendix A.1): more entries matched than the two asked for. */
const SIZE_LIMIT_EXCEEDED = 4;

function count(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > 64)
    throw new UsageError(`${name} must be an integer from 1 to 64`);
  return value;
}

/** The values of one attribute (its options, such as `;binary`, ignored), as bytes. */
function valuesOf(attributes: readonly LdapAttribute[], name: string): Uint8Array[] {
  const wanted = name.toLowerCase();
  return attributes
    .filter((attribute) => (attribute.type.split(';')[0] ?? '').toLowerCase() === wanted)
    .flatMap((attribute) => [...attribute.values]);
}

/** True when `bytes` are the UTF-8 encoding of `text`. */
function sameText(bytes: Uint8Array, text: string): boolean {
  const expected = new TextEncoder().encode(text);
  return bytes.length === expected.length && bytes.every((byte, i) => byte === expected[i]);
}

/**
 * A store over the directory at `options.url`. Connections are opened on first use. Names are
 * looked up with `(&(<userAttribute>=<name>)(objectClass=<objectClass>))` under `base`, at most
 * two entries asked for: two entries for one name are a {@link UsageError}. An entry whose user
 * attribute holds the name only in another spelling (`ALICE` for `alice`) is an unknown user,
 * for `lookup` and `verifyPassword` alike.
 */
export function ldapStore(options: LdapStoreOptions): LdapStore {
  if (typeof options.base !== 'string') throw new UsageError('base must be a DN');
  const timeoutMs = options.timeoutMs ?? 10000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('timeoutMs must be a positive number');
  const size = count('connections', options.connections ?? 2);
  const userAttribute = options.userAttribute ?? 'uid';
  const secretAttributes = [...(options.secretAttributes ?? ['authPassword', 'userPassword'])];
  if (secretAttributes.length === 0) throw new UsageError('secretAttributes must name at least one attribute');
  const clearText = new Set((options.clearTextAttributes ?? ['userPassword']).map((name) => name.toLowerCase()));
  const unknownUserDN =
    options.unknownUserDN ?? `cn=saslkit-unknown-user${options.base === '' ? '' : `,${options.base}`}`;
  const valueOptions: StoredValueOptions = options;
  const open = (): Promise<LdapStoreConnection> =>
    LdapConnection.connect({
      url: options.url,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.startTls === undefined ? {} : { startTls: options.startTls }),
      timeoutMs,
      maxEntries: 2,
    });
  const opener = options.connect ?? open;
  // A connection that will carry a password is refused before any is sent, unless TLS protects it.
  const connect = async (binds: boolean): Promise<LdapStoreConnection> => {
    const connection = await opener();
    if (binds && connection.encrypted !== true && options.plaintextBinds !== true) {
      connection.close();
      throw new UsageError(
        'the LDAP store would send a password without TLS: use ldaps:// or startTls (or plaintextBinds for a loopback directory)',
      );
    }
    return connection;
  };
  const searchers = new ConnectionPool(size, async () => {
    const connection = await connect(options.bindDN !== undefined);
    if (options.bindDN !== undefined) {
      try {
        const code = await simpleBind(
          connection,
          options.bindDN,
          options.bindPassword ?? '',
          AbortSignal.timeout(timeoutMs),
        );
        if (code !== LDAP_RESULT.SUCCESS)
          throw new UsageError(`the LDAP store could not bind as its reader account (result code ${code})`);
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return connection;
  });
  const binders = new ConnectionPool(size, () => connect(true));
  const cache =
    options.cache === false
      ? undefined
      : options.cache instanceof StoreCache
        ? options.cache
        : new StoreCache<LdapAccount>(options.cache ?? {});
  let searches = 0;
  let binds = 0;
  let lookups = 0;

  function filterFor(name: string): LdapFilter {
    const match: LdapFilter = { equality: { attribute: userAttribute, value: name } };
    return options.objectClass === undefined
      ? match
      : { and: [match, { equality: { attribute: 'objectClass', value: options.objectClass } }] };
  }

  async function load(name: string): Promise<LdapAccount | undefined> {
    searches += 1;
    const request: LdapSearchRequest = {
      baseObject: options.base,
      scope: 2,
      derefAliases: 0,
      sizeLimit: 2,
      timeLimit: Math.ceil(timeoutMs / 1000),
      typesOnly: false,
      filter: filterFor(name),
      attributes: [userAttribute, ...secretAttributes],
    };
    const found = await searchers.run((connection) =>
      connection.requester.search(request, { signal: AbortSignal.timeout(timeoutMs) }),
    );
    const { resultCode } = found.result;
    if (found.entries.length > 1 || resultCode === SIZE_LIMIT_EXCEEDED) {
      throw new UsageError(
        `more than one LDAP entry names account ${JSON.stringify(name)}; the user attribute must be unique under the base`,
      );
    }
    if (resultCode !== LDAP_RESULT.SUCCESS)
      throw new UsageError(`the LDAP store's search failed (result code ${resultCode})`);
    const entry = found.entries[0];
    // Directories match user names without case (uid is caseIgnoreMatch): only the stored
    // spelling is the account, so that one account is not logged in under many names.
    if (entry === undefined || !valuesOf(entry.attributes, userAttribute).some((value) => sameText(value, name)))
      return undefined;
    const values = secretAttributes.map((source) => ({
      source,
      value: valuesOf(entry.attributes, source),
      clearText: clearText.has(source.toLowerCase()),
    }));
    try {
      return { dn: entry.objectName, identity: identityFromValues(name, values, valueOptions) };
    } catch (error) {
      return { dn: entry.objectName, identity: undefined, error };
    }
  }

  function account(name: string): LdapAccount | undefined | Promise<LdapAccount | undefined> {
    lookups += 1;
    return cache === undefined ? load(name) : cache.load(name, load);
  }

  const lookup: CredentialLookup = async (authcid) => {
    const found = await account(authcid);
    if (found?.error !== undefined) throw found.error as Error;
    return found?.identity;
  };

  const verifyPassword: PasswordVerifier = async (authcid, password) => {
    // An empty password would be an unauthenticated bind, which succeeds (RFC 4513 section
    // 5.1.2); saslkit never passes one, and this store never sends one.
    if (typeof password !== 'string' || password === '') return false;
    const found = await account(authcid);
    binds += 1;
    // An unknown user binds too, as a DN that does not exist: the same steps as a wrong password.
    const code = await binders.run((connection) =>
      simpleBind(connection, found?.dn ?? unknownUserDN, password, AbortSignal.timeout(timeoutMs)),
    );
    return found !== undefined && code === LDAP_RESULT.SUCCESS;
  };

  return {
    lookup,
    verifyPassword,
    stats: () => ({
      searches,
      binds,
      lookups,
      cache: cache?.stats() ?? { hits: 0, misses: 0, joined: 0, evictions: 0, expired: 0, size: 0 },
    }),
    invalidate(authcid?: string) {
      if (authcid === undefined) cache?.clear();
      else cache?.delete(authcid);
    },
    close() {
      searchers.close();
      binders.close();
    },
  };
}
