/**
 * A test server that speaks SMTP, IMAP, POP3, ManageSieve, XMPP, PostgreSQL, IRC or LDAP only as far as
 * authentication needs. It is what `saslkit serve` and `saslkit demo` run. This module listens
 * and hands each connection to its protocol's module in `serve/`: the line protocols share one
 * command loop (`serve/lines.ts`), and every protocol shares one session (`serve/session.ts`):
 * the mechanisms on offer, the switch to TLS, the log of each attempt.
 *
 * When TLS is configured, SCRAM-*-PLUS is offered once TLS is up (with the connection's
 * channel-binding data), and PLAIN, LOGIN, IMAP LOGIN and POP3 USER are held back until then
 * unless `plaintextAuth` is set (as Dovecot's `disable_plaintext_auth`).
 *
 * STARTTLS (STLS) is refused once the client is authenticated, and when TLS starts the server
 * forgets what the client said before it: SMTP's EHLO (AUTH waits for a new one, RFC 3207 section
 * 4.2), a login, POP3's pending USER. Otherwise a man in the middle could log in, or name the
 * user, in the clear and hand the session over to TLS.
 * @module
 */
import { type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, createSecureContext, createServer as createTlsServer } from 'node:tls';
import { SASLAuth } from '../index.js';
import { imapCommands } from './serve/imap.js';
import { serveIrc } from './serve/irc.js';
import { serveLdap } from './serve/ldap.js';
import { type LineConnection, type LineProtocol, runLines } from './serve/lines.js';
import { pop3Commands } from './serve/pop3.js';
import { POSTGRES_MECHANISMS, servePostgres } from './serve/postgres.js';
import { type ServerHost, Session, clientCertificateOptions, offeredMechanisms } from './serve/session.js';
import { sieveCommands } from './serve/sieve.js';
import { smtpCommands } from './serve/smtp.js';
import type { AuthServerOptions, RunningAuthServer } from './serve/types.js';
import { serveXmpp } from './serve/xmpp.js';
import type { ServeProtocol } from './url.js';

export { parseImapStrings } from './serve/imap.js';
export type { AuthAttempt, AuthServerOptions, RunningAuthServer, ServerTls } from './serve/types.js';

const lines =
  (commands: (connection: LineConnection) => LineProtocol) =>
  (session: Session): Promise<void> =>
    runLines(session, commands);

/** How each protocol serves one connection. */
const PROTOCOLS: Readonly<Record<ServeProtocol, (session: Session) => Promise<void>>> = {
  smtp: lines(smtpCommands),
  imap: lines(imapCommands),
  pop3: lines(pop3Commands),
  sieve: lines(sieveCommands),
  xmpp: serveXmpp,
  postgres: servePostgres,
  irc: serveIrc,
  ldap: serveLdap,
};

/** Starts a test server. Resolves once it listens. */
export async function startAuthServer(settings: AuthServerOptions): Promise<RunningAuthServer> {
  const auth = settings.auth ?? SASLAuth.all();
  const clientCa = settings.tls?.clientCa;
  const context =
    settings.tls === undefined
      ? undefined
      : createSecureContext({
          cert: settings.tls.cert,
          key: settings.tls.key,
          ...(clientCa === undefined ? {} : { ca: clientCa }),
        });
  if (settings.implicitTls === true && context === undefined)
    throw new Error('implicit TLS needs a certificate and key');
  const host = settings.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
    });
  };
  const shared: ServerHost = { settings, auth, context, track };
  const serve = PROTOCOLS[settings.protocol];
  const accept = (socket: Socket, tls: TLSSocket | undefined): void => {
    track(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const session = new Session(shared, socket, tls);
    serve(session).catch(() => {
      session.socket.destroy();
    });
  };
  const server: Server =
    settings.implicitTls === true && settings.tls !== undefined
      ? createTlsServer(
          { cert: settings.tls.cert, key: settings.tls.key, ...clientCertificateOptions(clientCa) },
          (socket) => {
            accept(socket, socket);
          },
        )
      : createServer((socket) => {
          accept(socket, undefined);
        });
  // A failed implicit-TLS handshake never reaches the handler; nothing to log or keep.
  server.on('tlsClientError', () => undefined);
  server.on('connection', (socket: Socket) => {
    track(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  const offered = (tls: boolean): string[] =>
    offeredMechanisms(auth, settings, tls, tls).filter(
      (name) => settings.protocol !== 'postgres' || POSTGRES_MECHANISMS.has(name),
    );
  const mechanisms = offered(settings.implicitTls === true);
  // LDAP's StartTLS adds only -PLUS and EXTERNAL to what the rootDSE listed before it (serve/ldap.ts).
  const ldapStartTls = settings.protocol === 'ldap' && settings.implicitTls !== true;
  return {
    protocol: settings.protocol,
    host,
    port: address.port,
    mechanisms,
    mechanismsWithTls:
      context === undefined
        ? []
        : offered(true).filter(
            (name) => !ldapStartTls || mechanisms.includes(name) || name.endsWith('-PLUS') || name === 'EXTERNAL',
          ),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
