/**
 * A saslkit server whose accounts live in PostgreSQL: the store reads SCRAM secrets (and
 * password hashes) from a table of your choosing, here PostgreSQL's own `pg_catalog.pg_authid`,
 * so the roles' passwords log in without saslkit ever seeing them. The client and server halves
 * run in one process over an in-memory channel, as they would over any transport:
 *
 *   SASLKIT_PASSWORD=alice-pass SASLKIT_PG_PASSWORD=... npx ts-node examples/stores.ts host port dbuser [login-user] [mechanism]
 *
 * `dbuser` must be allowed to read the table (pg_authid needs a superuser; your own table needs
 * only SELECT). Prints the outcome and how many queries the store ran.
 */
import pg from 'pg';
import {
  ClientCredentials,
  PromiseClientSession,
  SASLAuth,
  authenticate,
  isSaslError,
  type ServerOptions,
} from 'saslkit';
import { postgresStore } from 'saslkit/stores/postgres';

const [host = '127.0.0.1', port = '5432', dbUser = 'postgres', user = 'alice', mechanismName = 'SCRAM-SHA-256'] =
  process.argv.slice(2);
const password = process.env['SASLKIT_PASSWORD'] ?? '';

async function main(): Promise<number> {
  const pool = new pg.Pool({
    host,
    port: Number(port),
    user: dbUser,
    password: process.env['SASLKIT_PG_PASSWORD'],
    database: 'postgres',
    max: 2,
  });
  try {
    const store = postgresStore({
      pool,
      table: ['pg_catalog', 'pg_authid'],
      userColumn: 'rolname',
      secretColumns: ['rolpassword'],
    });
    const options: ServerOptions = { lookup: store.lookup };
    const auth = SASLAuth.named([mechanismName]);
    const server = auth.getServer(mechanismName);
    const clientMechanism = auth.getClient(mechanismName);
    if (server === undefined || clientMechanism === undefined) throw new Error(`unknown mechanism ${mechanismName}`);

    // The client half: its initial response and its answer to each challenge.
    const client = new PromiseClientSession(clientMechanism.client(new ClientCredentials(user, password)));
    const initial = await client.start();
    try {
      const outcome = await authenticate(server.server(options, initial), (challenge) => client.challenge(challenge));
      await client.success(outcome.additionalData);
      console.log(`logged in as ${outcome.authcid} with ${server.name}; store queries: ${store.queries}`);
      return 0;
    } catch (error) {
      // A SaslError names what went wrong and never carries the password.
      console.log(`refused: ${isSaslError(error) ? error.code : String(error)}; store queries: ${store.queries}`);
      return 1;
    }
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  },
);
