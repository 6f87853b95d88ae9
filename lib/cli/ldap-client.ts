/**
 * The LDAP half of `login` and `mechs` (RFC 4511 section 4.2, RFC 4513 section 5.2): the
 * rootDSE's supportedSASLMechanisms, StartTLS (`--starttls`) or ldaps, a SASL bind through
 * {@link ldapBind} (multi-step with saslBindInProgress; SCRAM-*-PLUS with tls-server-end-point as
 * OpenLDAP takes it), "Who am I?", and UnbindRequest.
 * @module
 */
import { TLSSocket } from 'node:tls';
import { LdapConnection, UnexpectedMessageError, ldapBind, ldapSupportedMechanisms, ldapWhoAmI } from '../index.js';
import { type AuthResult, type AuthenticateArgs, type ProtocolClient, SocketClient } from './client.js';
import { ClientSocket } from './socket.js';
import { type ConnectOptions, type TlsState, clientTlsOptions, describeClientTls } from './tls-client.js';

/** A connection to an LDAP server, up to a SASL bind. */
export class LdapClient extends SocketClient implements ProtocolClient {
  readonly #ldap: LdapConnection;
  #tls: TlsState | undefined;
  /** StartTLS is asked blind: the server's answer says whether it takes it. */
  override readonly startTlsOffered = true;

  private constructor(options: ConnectOptions, conn: ClientSocket) {
    super(options, conn);
    this.#ldap = new LdapConnection(conn.socket, { timeoutMs: options.timeoutMs ?? 30000 });
    this.#tls = conn.tls;
  }

  /** Connects (ldaps: with TLS at once) and reads the rootDSE's supportedSASLMechanisms. */
  static async connect(options: ConnectOptions): Promise<LdapClient> {
    const client = new LdapClient(options, await ClientSocket.open(options));
    return client.start(() => client.#readMechanisms());
  }

  get protocol(): 'ldap' {
    return 'ldap';
  }

  override get tls(): TlsState | undefined {
    return this.#tls;
  }

  async #readMechanisms(): Promise<void> {
    this.tracer?.note('C: search rootDSE (supportedSASLMechanisms)');
    this.mechanisms = await ldapSupportedMechanisms(this.#ldap.requester, { signal: this.#ldap.signal() });
    this.tracer?.note(`S: supportedSASLMechanisms: ${this.mechanisms.join(' ') || '(none)'}`);
  }

  /** The StartTLS extended operation, then TLS in place, then the rootDSE again. */
  async startTls(): Promise<void> {
    await this.conn.guard(async () => {
      this.tracer?.note('C: StartTLS');
      await this.#ldap.startTls(clientTlsOptions(this.options));
      const secure = this.#ldap.socket;
      if (!(secure instanceof TLSSocket))
        throw new UnexpectedMessageError('StartTLS left the connection in clear', { party: 'local' });
      this.#tls = describeClientTls(secure, this.tracer);
      await this.#readMechanisms();
    });
  }

  /** Runs a SASL bind, then asks "Who am I?" (noted in the trace). */
  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const tracer = this.tracer;
    const named = typeof args.mechanism === 'string' ? args.mechanism : args.mechanism?.name;
    return this.conn.guard(async () => {
      tracer?.note(`C: bind SASL${named === undefined ? '' : ` ${named}`} (credentials not shown)`);
      const result = await ldapBind(this.#ldap, {
        credentials: args.credentials,
        ...(named === undefined ? {} : { mechanism: named }),
        offered: this.mechanisms,
        encrypted: this.#tls !== undefined,
        client: { host: this.target.host, service: 'ldap', channelBinding: args.channelBinding ?? 'prefer' },
      });
      tracer?.note(
        `S: bind success (${result.mechanism}, ${result.roundTrips} BindRequest${result.roundTrips === 1 ? '' : 's'})`,
      );
      if (tracer !== undefined)
        tracer.note(
          `S: Who am I? ${JSON.stringify(await ldapWhoAmI(result.requester, { signal: this.#ldap.signal() }))}`,
        );
      // LDAP binds -PLUS with tls-server-end-point (OpenLDAP's sasl-cbinding tls-endpoint).
      return {
        mechanism: result.mechanism,
        serverVerified: result.serverVerified,
        roundTrips: result.roundTrips,
        ...(result.mechanism.endsWith('-PLUS') ? { channelBinding: 'tls-server-end-point' as const } : {}),
      };
    });
  }

  /** Sends UnbindRequest and closes; never throws. */
  async quit(): Promise<void> {
    this.tracer?.note('C: unbind');
    try {
      await this.#ldap.unbind();
    } catch {
      // The server hung up first.
    }
    this.conn.close();
  }

  /** Closes at once. */
  override close(): void {
    this.#ldap.close();
    super.close();
  }
}
