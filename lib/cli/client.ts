/**
 * What the clients of `login`, `mechs` and `demo` have in common, whatever the protocol: the
 * interface the commands drive ({@link ProtocolClient}), what an authentication reports, and
 * the base class that holds the connection (mail-client.ts for SMTP, IMAP, POP3 and
 * ManageSieve; postgres-, xmpp-, irc- and ldap-client.ts for the others).
 * @module
 */
import type { ChannelBindingPolicy, ChannelBindingType, ClientCredentials, ClientMechanism } from '../index.js';
import type { ClientSocket } from './socket.js';
import type { ConnectOptions, TlsState } from './tls-client.js';
import type { LineTracer } from './trace.js';
import type { ClientProtocol, Target } from './url.js';

/** What `login` and `mechs` need from a connection, whatever the protocol. */
export interface ProtocolClient {
  readonly target: Target;
  readonly protocol: ClientProtocol;
  /** The mechanisms the server advertises now (PostgreSQL: after {@link ProtocolClient.offer}). */
  readonly mechanisms: readonly string[];
  /** True when the server offers STARTTLS now (PostgreSQL: always, as SSLRequest is asked blind). */
  readonly startTlsOffered: boolean;
  /** POP3: the server refused CAPA, so it advertises nothing. */
  readonly noCapa: boolean;
  /** The TLS state, or undefined on a plain connection. */
  readonly tls: TlsState | undefined;
  /** Upgrades to TLS, then learns the offer again. */
  startTls(): Promise<void>;
  /**
   * PostgreSQL learns the mechanisms only once it knows the user: sends the startup for `user`.
   * The other protocols advertise them without the user and have no such step.
   */
  offer?(user: string): Promise<void>;
  /** Authenticates. */
  authenticate(args: AuthenticateArgs): Promise<AuthResult>;
  /** Says goodbye and closes; never throws. */
  quit(): Promise<void>;
  /** Closes at once. */
  close(): void;
}

/** What a successful authentication reports. */
export interface AuthResult {
  readonly mechanism: string;
  readonly serverVerified: boolean;
  /** How many times the client sent and waited for the server. */
  readonly roundTrips: number;
  /** The channel-binding type used, when the protocol fixes it (PostgreSQL: tls-server-end-point). */
  readonly channelBinding?: ChannelBindingType;
}

/** Arguments of {@link ProtocolClient.authenticate}. */
export interface AuthenticateArgs {
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one offered among `preference`. */
  readonly mechanism?: string | ClientMechanism;
  /** The names to choose among, strongest first, when no mechanism is given. */
  readonly preference?: readonly string[];
  /** SCRAM's channel-binding policy. Default `prefer`. */
  readonly channelBinding?: ChannelBindingPolicy;
  /** Let the automatic choice send a password or token in clear (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2) on a connection without TLS. */
  readonly allowPlaintext?: boolean;
}

/** Server text for a one-line error message: printable ASCII only, cut at 200 characters. */
export function peerText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/**
 * The state every client keeps: the target, the connect options, the connection, and the offer
 * as last read. A subclass reads the offer in its `connect` through {@link SocketClient.start}.
 */
export abstract class SocketClient {
  readonly target: Target;
  protected readonly options: ConnectOptions;
  protected readonly conn: ClientSocket;
  /** The mechanisms the server advertises now. */
  mechanisms: readonly string[] = [];
  /** True when the server offers STARTTLS now. */
  startTlsOffered = false;
  /** POP3: true when the server refused CAPA (RFC 1939 only), so it advertises nothing. */
  noCapa = false;

  protected constructor(options: ConnectOptions, conn: ClientSocket) {
    this.target = options.target;
    this.options = options;
    this.conn = conn;
  }

  /** The TLS state, or undefined on a plain connection. */
  get tls(): TlsState | undefined {
    return this.conn.tls;
  }

  protected get tracer(): LineTracer | undefined {
    return this.options.tracer;
  }

  /** Runs the first reads (greeting, offer) under the silence timeout; closes the connection when they fail. */
  protected async start(first: () => Promise<void>): Promise<this> {
    try {
      await this.conn.guard(first);
    } catch (error) {
      this.close();
      throw error;
    }
    return this;
  }

  /** Closes at once. */
  close(): void {
    this.conn.close();
  }
}
