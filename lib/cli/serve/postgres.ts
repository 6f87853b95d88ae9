/**
 * `serve --protocol postgres`: one PostgreSQL connection: SSLRequest answered `S` (TLS, when
 * configured) or `N`, the startup message, SASL through {@link postgresServerAuth}
 * (SCRAM-SHA-256, and -PLUS with tls-server-end-point over TLS), then ParameterStatus,
 * BackendKeyData and ReadyForQuery; the connection is kept until the client's Terminate or
 * hang-up. A second SSLRequest, or one after TLS started, is refused by the profile like any
 * out-of-place packet.
 * @module
 */
import {
  PgMessageReader,
  SocketChunks,
  UnexpectedMessageError,
  buildPostgresReady,
  postgresServerAuth,
} from '../../index.js';
import type { Session } from './session.js';

/** What PostgreSQL clients (libpq, saslkit's) speak. */
export const POSTGRES_MECHANISMS: ReadonlySet<string> = new Set(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']);

/** Serves one PostgreSQL connection up to ReadyForQuery, then waits for the goodbye. */
export async function servePostgres(session: Session): Promise<void> {
  // Only what PostgreSQL clients speak, and -PLUS only with the one binding type PostgreSQL has.
  session.restrict(POSTGRES_MECHANISMS, 'tls-server-end-point');
  const tracer = session.tracer;
  let source = new SocketChunks(session.socket);
  let reader = new PgMessageReader(source, { peer: 'client' });
  let packet = await reader.readStartup();
  if (packet.kind === 'ssl' && session.canStartTls) {
    source.detach();
    // Bytes after SSLRequest, before the handshake, were sent in the clear: an injection attempt.
    if (source.pending) throw new UnexpectedMessageError('data after SSLRequest', { party: 'client' });
    tracer?.note('SSLRequest: S');
    const plain = session.socket;
    if (
      !(await session.startTls(
        () => true,
        () => plain.write('S'),
      ))
    )
      return;
    source = new SocketChunks(session.socket);
    reader = new PgMessageReader(source, { peer: 'client' });
    packet = await reader.readStartup();
  } else if (packet.kind === 'ssl') {
    tracer?.note('SSLRequest: N (no TLS configured)');
    session.socket.write('N');
    packet = await reader.readStartup();
  }
  if (packet.kind !== 'startup') throw new UnexpectedMessageError('expected a StartupMessage', { party: 'client' });
  const user = packet.parameters['user'];
  tracer?.note(`StartupMessage user=${JSON.stringify(user ?? '')}`);
  const socket = session.socket;
  const write = (data: Uint8Array): void => {
    socket.write(data);
  };
  session.noteUser(user);
  try {
    const result = await postgresServerAuth({
      auth: session.offeredAuth(),
      options: session.serverOptions('SCRAM-SHA-256'),
      messages: reader,
      write,
      startup: packet.parameters,
    });
    const mechanism = result.authenticated.mechanism;
    session.report(mechanism, { outcome: result.authenticated });
    write(buildPostgresReady());
    tracer?.note(`authenticated with ${mechanism}; ReadyForQuery`);
  } catch (error) {
    session.report('SASL', { error });
    socket.end();
    return;
  }
  // No queries here: wait for Terminate (or anything else, answered by hanging up).
  await reader.read().catch(() => undefined);
  socket.end();
}
