/**
 * `saslkit/stores/postgres`: a credential store that reads SCRAM secrets and password hashes from
 * a PostgreSQL table of your choosing, through the `pg` pool or client you already have, and
 * hands saslkit's servers a `lookup` (`ServerOptions.lookup`). Several server processes can share
 * one table: SASL state lives in each connection, the accounts live here.
 *
 * One query per lookup (`SELECT <user>, <columns> FROM <table> WHERE <user> = $1 LIMIT 2`), the
 * identifiers quoted, the name a query parameter; results (found or not) kept in a bounded cache
 * with a time limit ({@link StoreCache}); concurrent lookups of one name share one query. `pg` is
 * never imported here: any object with pg's `query({ text, values })` works, and users of
 * saslkit's main entry never load it.
 * @module
 */
import {
  type CredentialLookup,
  type Identity,
  StoreCache,
  type StoreCacheOptions,
  type StoreCacheStats,
  UsageError,
  isWellFormed,
} from '../index.js';
import { type StoredValueOptions, identityFromValues } from './stored.js';

// What every store entry exports besides its store: reading stored values, the SHA hasher.
export * from './common.js';

/** A query as `pg` takes it: `pool.query({ text, values })`. */
export interface PgQuery {
  /** The SQL text with `$1` placeholders. */
  readonly text: string;
  /** The parameters. */
  readonly values: readonly unknown[];
}

/** What this store reads of `pg`'s result. */
export interface PgQueryResult {
  /** The rows, as objects keyed by column (alias) name. */
  readonly rows: readonly Readonly<Record<string, unknown>>[];
}

/** A `pg.Pool`, `pg.Client` or `pg.PoolClient`, as far as this store uses it. */
export interface PgQueryable {
  /** Runs one query. */
  query(query: PgQuery): Promise<PgQueryResult>;
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions extends StoredValueOptions {
  /** Your pool (or client). The store never connects, ends or releases it. */
  readonly pool: PgQueryable;
  /** The table: a name, or `[schema, name]`. Quoted as given: `'Users'` is not `'users'`. */
  readonly table: string | readonly [string, string];
  /** The column holding the user name; compared for equality with the SASLprep-ed name. */
  readonly userColumn: string;
  /**
   * The columns holding the account's secrets: SCRAM secrets (text, or text[] for several) and/or
   * password hashes. Each value says what it is (see {@link identityFromValues}); NULL is none.
   */
  readonly secretColumns: readonly string[];
  /** The result cache: its options, a {@link StoreCache} of your own, or false for none. Default: a cache with the default bounds. */
  readonly cache?: StoreCacheOptions | StoreCache<Identity> | false;
}

/** The longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones it would truncate. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * `name` as a quoted SQL identifier (`"my ""odd"" table"`). Refuses what PostgreSQL would not
 * take as given: an empty name, a NUL, a lone surrogate, more than 63 bytes (it would truncate).
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name === '') throw new UsageError('an SQL identifier must be a non-empty string');
  if (name.includes('\u0000')) throw new UsageError('an SQL identifier must not contain NUL');
  if (!isWellFormed(name)) throw new UsageError('an SQL identifier must be well-formed Unicode');
  if (new TextEncoder().encode(name).length > MAX_IDENTIFIER_BYTES)
    throw new UsageError(`an SQL identifier must be at most ${MAX_IDENTIFIER_BYTES} bytes`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** The lookup query for `options`: the user column aliased `u`, the secret columns `s0`, `s1` ..., the user name `$1`. */
export function postgresStoreQuery(
  options: Pick<PostgresStoreOptions, 'table' | 'userColumn' | 'secretColumns'>,
): string {
  // Checked at run time too: JavaScript callers and configuration files bypass the types.
  const given: unknown = options.table;
  if (typeof given !== 'string' && (!Array.isArray(given) || given.length !== 2))
    throw new UsageError('table must be a name or [schema, name]');
  const table =
    typeof given === 'string' ? quoteIdentifier(given) : (given as readonly string[]).map(quoteIdentifier).join('.');
  const secretColumns: unknown = options.secretColumns;
  if (!Array.isArray(secretColumns) || secretColumns.length === 0)
    throw new UsageError('secretColumns must name at least one column');
  const columns = (secretColumns as readonly string[])
    .map((column, i) => `${quoteIdentifier(column)} AS "s${i}"`)
    .join(', ');
  const user = quoteIdentifier(options.userColumn);
  return `SELECT ${user} AS "u", ${columns} FROM ${table} WHERE ${user} = $1 LIMIT 2`;
}

/** What a {@link PostgresStore} has done. */
export interface PostgresStoreStats {
  /** Queries sent to the database. */
  readonly queries: number;
  /** Lookups asked of the store (answered from the cache or by a query). */
  readonly lookups: number;
  /** The cache's counters (all zero without a cache). */
  readonly cache: StoreCacheStats;
}

/** A PostgreSQL-backed credential store; pass {@link PostgresStore.lookup} as `ServerOptions.lookup`. */
export interface PostgresStore {
  /** `ServerOptions.lookup`: the account's identity, undefined for an unknown user (or one without a secret). */
  readonly lookup: CredentialLookup;
  /** The SQL text each lookup runs. */
  readonly query: string;
  /** Queries sent so far. */
  readonly queries: number;
  /** Queries, lookups and cache counters. */
  stats(): PostgresStoreStats;
  /** Forgets a cached result (after changing that account's password), or every one. */
  invalidate(authcid?: string): void;
}

const NO_CACHE_STATS: StoreCacheStats = { hits: 0, misses: 0, joined: 0, evictions: 0, expired: 0, size: 0 };

/**
 * A store over `options.table`. Each lookup of a name not in the cache runs one query; a row
 * makes an identity from its secret columns, no row (or only NULLs, or a user column that holds
 * another spelling of the name) is an unknown user, and two
 * rows for one name are a {@link UsageError} (the user column must be unique). A value that
 * cannot be read is a typed error naming the account and column, never the value; errors are
 * not cached. Unknown users cost what known ones do: one query (or one cache hit), then saslkit's
 * decoy check (`ServerOptions.unknownUserIdentity`).
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const pool = options.pool as Partial<PgQueryable> | null | undefined;
  if (typeof pool?.query !== 'function')
    throw new UsageError('pool must be a pg Pool or Client (an object with query())');
  const text = postgresStoreQuery(options);
  const columns = [...options.secretColumns];
  const valueOptions: StoredValueOptions = options;
  const cache =
    options.cache === false
      ? undefined
      : options.cache instanceof StoreCache
        ? options.cache
        : new StoreCache<Identity>(options.cache ?? {});
  let queries = 0;
  let lookups = 0;

  async function load(authcid: string): Promise<Identity | undefined> {
    queries += 1;
    const result = await (pool as PgQueryable).query({ text, values: [authcid] });
    const raw: unknown = (result as Partial<PgQueryResult> | undefined)?.rows;
    const rows = Array.isArray(raw) ? (raw as readonly Readonly<Record<string, unknown>>[]) : [];
    if (rows.length > 1)
      throw new UsageError(
        `more than one row in the store names account ${JSON.stringify(authcid)}; the user column must be unique`,
      );
    const row = rows[0];
    // A case-insensitive column (citext, a collation) matches other spellings of the name: only
    // the stored spelling is the account, so that one account is not logged in under many names.
    if (row === undefined || row['u'] !== authcid) return undefined;
    return identityFromValues(
      authcid,
      columns.map((source, i) => ({ source, value: row[`s${i}`] })),
      valueOptions,
    );
  }

  const lookup = (authcid: string): Identity | undefined | Promise<Identity | undefined> => {
    lookups += 1;
    return cache === undefined ? load(authcid) : cache.load(authcid, load);
  };

  return {
    lookup,
    query: text,
    get queries() {
      return queries;
    },
    stats: () => ({ queries, lookups, cache: cache?.stats() ?? NO_CACHE_STATS }),
    invalidate(authcid?: string) {
      if (authcid === undefined) cache?.clear();
      else cache?.delete(authcid);
    },
  };
}
