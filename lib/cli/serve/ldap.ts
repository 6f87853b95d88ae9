/**
 * `serve --protocol ldap`: one LDAP connection through {@link LdapServerConnection} (the rootDSE's
 * supportedSASLMechanisms, SASL binds with saslBindInProgress, "Who am I?", StartTLS with the
 * session's switch to TLS), each bind logged, until the client unbinds or hangs up. The rootDSE
 * lists the same mechanisms before and after StartTLS, as slapd does, except -PLUS and EXTERNAL,
 * which need TLS: with TLS configured, PLAIN and LOGIN are therefore offered only over ldaps
 * (`--implicit-tls`) or with `--plaintext-auth`.
 * @module
 */
import {
  ExchangeAbortedError,
  LdapServerConnection,
  MalformedMessageError,
  SocketChunks,
  isSaslError,
  socketWriter,
} from '../../index.js';
import type { Session } from './session.js';

/** Failed binds allowed on one connection. */
const MAX_FAILED_BINDS = 10;

/** A failed write is "the LDAP connection failed", blaming the client (the peer). */
const WRITER = { failure: 'LDAP', peer: 'client' } as const;

/** Serves one LDAP connection (ldaps when the session starts with TLS). */
export async function serveLdap(session: Session): Promise<void> {
  let chunks = new SocketChunks(session.socket);
  const connection = new LdapServerConnection({
    auth: session.offeredAuth(session.offeredEver()),
    options: session.serverOptions(),
    messages: chunks,
    write: socketWriter(session.socket, WRITER),
    tls: session.tls !== undefined,
    ...(session.canStartTls
      ? {
          startTls: async () => {
            chunks.detach();
            // Bytes that reached us in the clear after StartTLS would be injected into the TLS session.
            if (chunks.pending)
              throw new MalformedMessageError('the LDAP client sent data after StartTLS before its answer', {
                party: 'client',
              });
            // The connection wrote the go-ahead (success) already.
            if (
              !(await session.startTls(
                () => true,
                () => undefined,
              ))
            )
              throw new ExchangeAbortedError('the TLS handshake failed', { party: 'client' });
            chunks = new SocketChunks(session.socket);
            return { messages: chunks, write: socketWriter(session.socket, WRITER), options: session.serverOptions() };
          },
        }
      : {}),
  });
  try {
    for (let failed = 0; failed < MAX_FAILED_BINDS;) {
      try {
        const outcome = await connection.authenticate();
        session.authenticated = true;
        session.report(outcome.mechanism, { outcome });
      } catch (error) {
        // An unbind or a hang-up ends the connection; anything else was a refused bind, answered already.
        if (isSaslError(error) && error.code === 'ABORTED') return;
        if (
          isSaslError(error) &&
          error.code === 'MALFORMED_MESSAGE' &&
          error.party === 'client' &&
          error.mechanism === undefined
        )
          throw error;
        session.report((isSaslError(error) ? error.mechanism : undefined) ?? 'SASL', { error });
        failed += 1;
      }
    }
  } finally {
    chunks.detach();
    session.socket.end();
  }
}
