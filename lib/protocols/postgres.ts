/**
 * The PostgreSQL SASL profile (frontend/backend protocol 3.0, "SASL Authentication"): builders
 * and strict parsers for the startup and authentication messages, a message reader over any
 * byte source, and a client and a server that run SCRAM-SHA-256(-PLUS), or any other saslkit
 * mechanism, over them. Neither side owns a socket: each reads from a byte source (a socket is
 * one) and writes through a `write` function; TLS (`SSLRequest`, then a handshake) is the host's.
 *
 * Framing, as PostgreSQL 15 speaks it:
 * - the server asks with `R` Int32(10) and NUL-terminated mechanism names, closed by an empty one;
 * - the client answers `p`: mechanism NUL, Int32 length (-1: no initial response), raw data;
 * - challenges are `R` Int32(11) (SASLContinue), responses `p` with the raw data;
 * - server-final data comes in `R` Int32(12) (SASLFinal), success is `R` Int32(0) (AuthenticationOk);
 * - failures are `E` (ErrorResponse) with a SQLSTATE such as 28P01.
 * Payloads are raw bytes, never base64. PostgreSQL ignores SCRAM's `n=` user name and takes the
 * startup packet's `user`; libpq sends `n=`, and so does {@link postgresClientAuth}.
 * @module
 */
// The messages (postgres-messages.ts), the server (postgres-server.ts) and the client
// (postgres-client.ts), re-exported together: the package index imports them from this module.
export * from './postgres-messages.js';
export * from './postgres-server.js';
export * from './postgres-client.js';

// The message framing moved to lib/transport/pg.ts; re-exported for the package index.
export {
  DEFAULT_PG_MAX_MESSAGE_BYTES,
  PG_MAX_STARTUP_BYTES,
  type PgMessage,
  type PgReaderOptions,
} from '../transport/pg.js';
