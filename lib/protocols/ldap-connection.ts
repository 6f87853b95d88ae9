/**
 * The Node edge of the LDAP client: {@link LdapConnection} puts an {@link LdapRequester} on a
 * TCP or TLS socket (`ldap://`, `ldaps://`), with StartTLS in place, channel-binding data and a
 * time limit on every response. The requester and its helpers are re-exported from here.
 * @module
 */
import { type Socket, connect as netConnect } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type ChannelBindingSource, tlsChannelBinding } from '../channel-binding/tls-socket.js';
import { MalformedMessageError, UnexpectedMessageError, UsageError } from '../core/errors.js';
import { raceSignal } from '../transport/signal.js';
import { SocketChunks, socketWriter } from '../transport/socket-chunks.js';
import { LDAP_OID, LDAP_RESULT } from './ldap-messages.js';
import { LdapRequester } from './ldap-requester.js';

// The requester was first published from this module; its names stay importable from here.
export {
  DEFAULT_LDAP_MAX_ENTRIES,
  LdapRequester,
  type LdapRequestOptions,
  type LdapSearchRequest,
  type LdapSearchResult,
  type LdapWriter,
  ldapAttributeValues,
  ldapSupportedMechanisms,
} from './ldap-requester.js';

// ---------------------------------------------------------------------------------------------
// The Node edge

/** The LDAP edge's socket chunks: paused while chunks wait, a socket error a typed error. @internal */
export function ldapSocketChunks(socket: Socket): SocketChunks {
  return new SocketChunks(socket, { failure: 'LDAP' });
}

/** Options of {@link LdapConnection.connect}. */
export interface LdapConnectOptions {
  /** `ldap://host:port` (default port 389) or `ldaps://host:port` (default 636). */
  readonly url: string;
  /** TLS options for `ldaps://` and StartTLS: `ca`, `cert` and `key` (EXTERNAL), `servername`, `rejectUnauthorized`. */
  readonly tls?: ConnectionOptions;
  /** Send StartTLS after connecting to an `ldap://` URL. Default false. */
  readonly startTls?: boolean;
  /** Time limit for connecting and for each response, in milliseconds. Default 30000. */
  readonly timeoutMs?: number;
  /** Largest LDAP message accepted from the server. */
  readonly maxMessageBytes?: number;
  /** Most entries accepted in one search. Default {@link DEFAULT_LDAP_MAX_ENTRIES}. */
  readonly maxEntries?: number;
}

/** Host and port of an `ldap://` or `ldaps://` URL, and whether TLS starts at once. */
export function ldapUrlTarget(url: string): {
  readonly host: string;
  readonly port: number;
  readonly implicitTls: boolean;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('not a URL: expected ldap://host[:port] or ldaps://host[:port]');
  }
  const implicitTls = parsed.protocol === 'ldaps:';
  if (!implicitTls && parsed.protocol !== 'ldap:') throw new UsageError('an LDAP URL starts with ldap:// or ldaps://');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError('the LDAP URL has no host');
  return { host, port: parsed.port === '' ? (implicitTls ? 636 : 389) : Number(parsed.port), implicitTls };
}

function connected(socket: Socket, secure: boolean, signal: AbortSignal): Promise<void> {
  return raceSignal(
    new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    }),
    signal,
    { party: 'server' },
  );
}

/**
 * An LDAP connection over a Node socket: requests through an {@link LdapRequester}, StartTLS in
 * place, channel-binding data for SCRAM-*-PLUS once TLS is up. Close it with {@link close}.
 */
export class LdapConnection {
  /** The requester; replaced by a new one after StartTLS. */
  requester: LdapRequester;
  #socket: Socket;
  #chunks: SocketChunks;
  #binding: ChannelBindingSource | undefined;
  readonly #options: Omit<LdapConnectOptions, 'url'>;

  /** Wraps a connected socket (a `TLSSocket` for `ldaps://`); {@link connect} is the usual way in. */
  constructor(socket: Socket, options: Omit<LdapConnectOptions, 'url'> = {}) {
    this.#socket = socket;
    this.#options = options;
    // Errors reach the caller through the reads; a socket without a listener would crash the process.
    socket.on('error', () => undefined);
    this.#chunks = ldapSocketChunks(socket);
    this.requester = this.#requester();
    this.#binding = isTls(socket)
      ? tlsChannelBinding(socket, 'client', { types: ['tls-server-end-point'] })
      : undefined;
  }

  /** Connects to `options.url`, with TLS at once for `ldaps://` and StartTLS when asked. */
  static async connect(options: LdapConnectOptions): Promise<LdapConnection> {
    const { host, port, implicitTls } = ldapUrlTarget(options.url);
    const signal = AbortSignal.timeout(options.timeoutMs ?? 30000);
    const socket: Socket = implicitTls
      ? tlsConnect({ host, port, servername: host, ...options.tls })
      : netConnect({ host, port });
    try {
      await connected(socket, implicitTls, signal);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    socket.setNoDelay(true);
    const connection = new LdapConnection(socket, options);
    if (options.startTls === true && !implicitTls) {
      try {
        await connection.startTls({ servername: host, ...options.tls });
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return connection;
  }

  #requester(): LdapRequester {
    const write = socketWriter(this.#socket, { failure: 'LDAP', peer: 'server' });
    const limits = {
      ...(this.#options.maxEntries === undefined ? {} : { maxEntries: this.#options.maxEntries }),
      ...(this.#options.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#options.maxMessageBytes }),
    };
    return new LdapRequester(this.#chunks, write, limits);
  }

  /** The socket in use (a `TLSSocket` once TLS is up). */
  get socket(): Socket {
    return this.#socket;
  }

  /** True when the connection is protected by TLS. */
  get encrypted(): boolean {
    return isTls(this.#socket);
  }

  /** `tls-server-end-point` data once TLS is up (the binding type OpenLDAP's `sasl-cbinding tls-endpoint` uses), else undefined. */
  get channelBindingData(): ChannelBindingSource | undefined {
    return this.#binding;
  }

  /** A signal for one response: the connection's time limit. */
  signal(): AbortSignal {
    return AbortSignal.timeout(this.#options.timeoutMs ?? 30000);
  }

  /**
   * Sends the StartTLS extended request and, on success, starts TLS on the same socket. A
   * refusal is a MECHANISM_UNAVAILABLE error with the result code in its message; bytes the
   * server sent in the clear after its answer are refused.
   */
  async startTls(tls: ConnectionOptions = {}): Promise<void> {
    if (this.encrypted) throw new UsageError('TLS is already active on this LDAP connection');
    const answer = await this.requester.request(
      { type: 'extendedRequest', requestName: LDAP_OID.START_TLS },
      { signal: this.signal() },
    );
    if (answer.op.type !== 'extendedResponse')
      throw new UnexpectedMessageError('the LDAP server answered StartTLS with another operation', { party: 'server' });
    if (answer.op.result.resultCode !== LDAP_RESULT.SUCCESS)
      throw new UnexpectedMessageError(
        `the LDAP server refused StartTLS (result code ${answer.op.result.resultCode})`,
        { party: 'server' },
      );
    this.#chunks.detach();
    if (this.#chunks.pending || this.requester.reader.buffered > 0)
      throw new MalformedMessageError('the LDAP server sent data in the clear after StartTLS', { party: 'server' });
    const plain = this.#socket;
    const secure = tlsConnect({ socket: plain, ...tls });
    try {
      await connected(secure, true, this.signal());
    } catch (error) {
      secure.destroy();
      throw error;
    }
    secure.on('error', () => undefined);
    this.#socket = secure;
    this.#chunks = ldapSocketChunks(secure);
    this.#binding = tlsChannelBinding(secure, 'client', { types: ['tls-server-end-point'] });
    this.requester = this.#requester();
  }

  /** Sends UnbindRequest and closes the socket. */
  async unbind(): Promise<void> {
    try {
      await this.requester.notify({ type: 'unbindRequest' });
    } finally {
      this.close();
    }
  }

  /** Closes the socket at once. */
  close(): void {
    this.#chunks.detach();
    this.#socket.destroy();
  }
}

function isTls(socket: Socket): socket is TLSSocket {
  return (socket as Partial<TLSSocket>).encrypted === true;
}
