/**
 * The Node edge of the LDAP profile on the server side: {@link serveLdapSocket} serves one
 * accepted socket (plain, or TLS for `ldaps://`) with {@link LdapServerConnection}, starting TLS
 * in place for StartTLS, with the connection's channel-binding data for SCRAM-*-PLUS and, when
 * the host says how, EXTERNAL from a verified client certificate.
 * @module
 */
import type { Socket } from 'node:net';
import { type SecureContextOptions, TLSSocket, createServer as createTlsServer } from 'node:tls';
import { tlsChannelBinding } from '../channel-binding/tls-socket.js';
import { ExchangeAbortedError, MalformedMessageError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { ServerOptions } from '../core/options.js';
import { socketWriter } from '../transport/socket-chunks.js';
import { ldapSocketChunks } from './ldap-connection.js';
import { type LdapServerAuthOptions, LdapServerConnection, type LdapServerTransport } from './ldap-server.js';

/** Options of {@link serveLdapSocket}. */
export interface LdapSocketOptions extends Omit<LdapServerAuthOptions, 'messages' | 'write' | 'startTls' | 'tls'> {
  /** The certificate and key (and `ca` for client certificates) for StartTLS; without it StartTLS is refused. */
  readonly tls?: SecureContextOptions;
  /** Ask StartTLS clients for a certificate, verified against `tls.ca`; an unverified one is ignored. Default false. */
  readonly requestCert?: boolean;
  /**
   * The EXTERNAL identity of a TLS connection whose client certificate verified (`socket.authorized`),
   * e.g. the subject's CN. Without it, EXTERNAL is never offered.
   */
  readonly certificateIdentity?: (socket: TLSSocket) => string | undefined;
  /** Closes a connection on which nothing was received for this long, in milliseconds. Default 120000 (two minutes); 0 for none. */
  readonly idleTimeoutMs?: number;
}

// Default of LdapSocketOptions.idleTimeoutMs.
const DEFAULT_LDAP_IDLE_TIMEOUT_MS = 120_000;

function closeWhenIdle(socket: Socket, ms: number): void {
  if (ms > 0) {
    socket.setTimeout(ms, () => {
      socket.destroy();
    });
  }
}

function tlsOptions(
  base: ServerOptions | undefined,
  socket: TLSSocket,
  identity: LdapSocketOptions['certificateIdentity'],
): ServerOptions {
  const external = identity !== undefined && socket.authorized ? identity(socket) : undefined;
  return {
    ...base,
    channelBindingData: tlsChannelBinding(socket, 'server'),
    ...(external === undefined ? {} : { externalIdentity: external }),
  };
}

// A failed write is the client's connection failing.
const LDAP_CLIENT_WRITES = { failure: 'LDAP', peer: 'client' } as const;

/**
 * Starts TLS on an accepted plain socket through a tls.Server of its own: a bare TLSSocket never
 * sets `authorized` for a client certificate (only tls.Server's connection handler checks it).
 */
function upgrade(plain: Socket, tls: SecureContextOptions, requestCert: boolean): Promise<TLSSocket> {
  const upgrader = createTlsServer({
    ...tls,
    ...(requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  return new Promise<TLSSocket>((resolve, reject) => {
    const failed = (error?: unknown): void => {
      reject(new ExchangeAbortedError('the TLS handshake failed', { party: 'client', cause: error }));
    };
    upgrader.once('secureConnection', resolve);
    upgrader.once('tlsClientError', failed);
    plain.once('close', failed);
    upgrader.emit('connection', plain);
  });
}

/**
 * The address the client connected to, beside the configured host aliases: a client that
 * connects by address names it as DIGEST-MD5's digest-uri host, which the server checks.
 */
function withLocalAddress(options: ServerOptions | undefined, socket: Socket): ServerOptions {
  const address = socket.localAddress;
  if (address === undefined) return options ?? {};
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return { ...options, hostAliases: [...(options?.hostAliases ?? []), plain] };
}

/**
 * Serves one accepted socket until the client unbinds or hangs up (see
 * {@link LdapServerConnection.serve}), then closes it. A `TLSSocket` (from `tls.createServer`)
 * is served as `ldaps://`. Resolves when the connection ended normally; rejects with the typed
 * error that ended it otherwise (a malformed message, too many failed binds, a failed handshake).
 */
export async function serveLdapSocket(
  socket: Socket,
  options: LdapSocketOptions,
  onBind?: (authenticated: Authenticated) => void | Promise<void>,
): Promise<void> {
  // Errors end the reads (ABORTED); a socket without a listener would crash the process.
  socket.on('error', () => undefined);
  const idle = options.idleTimeoutMs ?? DEFAULT_LDAP_IDLE_TIMEOUT_MS;
  closeWhenIdle(socket, idle);
  let current: Socket = socket;
  let chunks = ldapSocketChunks(socket);
  const secure = socket instanceof TLSSocket;
  const context = options.tls;
  const startTls =
    context === undefined || secure
      ? undefined
      : async (): Promise<LdapServerTransport> => {
          chunks.detach();
          // Bytes that reached us in the clear after StartTLS would be injected into the TLS session.
          if (chunks.pending)
            throw new MalformedMessageError('the LDAP client sent data after StartTLS before its answer', {
              party: 'client',
            });
          const tls = await upgrade(socket, context, options.requestCert === true);
          tls.on('error', () => undefined);
          closeWhenIdle(tls, idle);
          current = tls;
          chunks = ldapSocketChunks(tls);
          return {
            messages: chunks,
            write: socketWriter(tls, LDAP_CLIENT_WRITES),
            options: tlsOptions(base, tls, options.certificateIdentity),
          };
        };
  const base = withLocalAddress(options.options, socket);
  const connection = new LdapServerConnection({
    ...options,
    messages: chunks,
    write: socketWriter(socket, LDAP_CLIENT_WRITES),
    options: secure ? tlsOptions(base, socket, options.certificateIdentity) : base,
    tls: secure,
    ...(startTls === undefined ? {} : { startTls }),
  });
  try {
    await connection.serve(onBind);
  } finally {
    chunks.detach();
    current.end();
    current.destroy();
  }
}
