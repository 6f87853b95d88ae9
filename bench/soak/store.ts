/**
 * The soak test's shared credential store (`--store postgres`): the parent creates a table of
 * SCRAM-SHA-256 secrets in the CI PostgreSQL (spec/interop/peers/postgres, reached as its
 * superuser on 127.0.0.1) and drops it at the end; each server process reads it through its own
 * `pg.Pool` and saslkit's PostgreSQL store, and reports the store's query and cache counters.
 */
import pg from 'pg';
import { type ServerOptions, ScramSecret } from '../../lib/index.js';
import { postgresStore } from '../../lib/stores/postgres.js';
import { type StoreFigures, type StoreSettings, passwordOf, userName } from './shared.js';

/** Where the CI PostgreSQL listens, and its superuser (the same defaults as spec/interop/lib/env.sh). */
export function postgresConnection(): StoreSettings['connection'] {
  const port = Number(process.env['PG_PORT'] ?? 15432);
  return {
    host: '127.0.0.1',
    port: Number.isInteger(port) && port > 0 ? port : 15432,
    user: process.env['PG_SUPERUSER'] ?? 'postgres',
    password: process.env['PG_SUPERUSER_PASS'] ?? 'postgres-superuser-pass',
    database: process.env['PG_DATABASE'] ?? 'postgres',
  };
}

/** Creates the soak's table with `users` accounts (SCRAM-SHA-256, 4096 iterations) and returns the settings for the servers. */
export async function createSoakTable(users: number, cacheTtlMs: number, poolSize: number): Promise<StoreSettings> {
  const settings: StoreSettings = {
    kind: 'postgres',
    connection: postgresConnection(),
    table: `saslkit_soak_${process.pid}`,
    users,
    cacheTtlMs,
    poolSize,
  };
  const client = new pg.Client(settings.connection);
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${settings.table}`);
    await client.query(`CREATE TABLE ${settings.table} (name text PRIMARY KEY, secret text NOT NULL)`);
    const names: string[] = [];
    const secrets: string[] = [];
    for (let i = 0; i < users; i++) {
      names.push(userName(i));
      secrets.push((await ScramSecret.fromPasswordAsync('SHA-256', passwordOf(i), { iterations: 4096 })).format());
    }
    await client.query(`INSERT INTO ${settings.table} SELECT * FROM unnest($1::text[], $2::text[])`, [names, secrets]);
  } finally {
    await client.end();
  }
  return settings;
}

/** Drops the soak's table (best effort: the run's result does not depend on it). */
export async function dropSoakTable(settings: StoreSettings): Promise<void> {
  const client = new pg.Client(settings.connection);
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${settings.table}`);
  } finally {
    await client.end();
  }
}

/** A server process's view of the store: its lookup, its counters, and how to close its pool. */
export interface OpenStore {
  readonly lookup: NonNullable<ServerOptions['lookup']>;
  figures(): StoreFigures;
  close(): Promise<void>;
}

/** Opens the store in a server process: a pool of its own over the shared table. */
export function openStore(settings: StoreSettings): OpenStore {
  const pool = new pg.Pool({ ...settings.connection, max: settings.poolSize });
  // A dropped idle connection must not take the server down.
  pool.on('error', () => undefined);
  const store = postgresStore({
    pool,
    table: settings.table,
    userColumn: 'name',
    secretColumns: ['secret'],
    cache: { ttlMs: settings.cacheTtlMs },
  });
  return {
    lookup: store.lookup,
    figures: () => {
      const { queries, lookups, cache } = store.stats();
      return { queries, lookups, hits: cache.hits, misses: cache.misses, joined: cache.joined };
    },
    close: () => pool.end(),
  };
}
