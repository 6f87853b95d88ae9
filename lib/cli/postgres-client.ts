/**
 * The PostgreSQL half of `login` and `mechs`: SSLRequest for TLS (`--starttls`), the startup
 * message (PostgreSQL names its SASL mechanisms only once it knows the role), SCRAM-SHA-256 or
 * SCRAM-SHA-256-PLUS with `tls-server-end-point` through {@link postgresClientAuth}, and
 * Terminate.
 * @module
 */
import {
  ClientCredentials,
  MalformedMessageError,
  PG_AUTH,
  PgMessageReader,
  SASLAuth,
  UnexpectedMessageError,
  UsageError,
  buildPgMessage,
  buildPgSSLRequest,
  buildPgStartupMessage,
  buildPgTerminate,
  parsePgAuthentication,
  parsePgErrorResponse,
  postgresClientAuth,
  postgresErrorFromResponse,
  readPostgresReady,
} from '../index.js';
import { type AuthResult, type AuthenticateArgs, type ProtocolClient, SocketClient } from './client.js';
import { ClientSocket } from './socket.js';
import type { ConnectOptions } from './tls-client.js';

const PG_MECHANISMS = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'];

/** A connection to a PostgreSQL server, up to the end of authentication. */
export class PostgresClient extends SocketClient implements ProtocolClient {
  #reader: PgMessageReader | undefined;
  #user: string | undefined;
  /** SSLRequest can always be asked; the server's answer says whether it takes it. */
  override readonly startTlsOffered = true;

  /** Connects (no greeting: the client speaks first). */
  static async connect(options: ConnectOptions): Promise<PostgresClient> {
    return new PostgresClient(options, await ClientSocket.open(options));
  }

  get protocol(): 'postgres' {
    return 'postgres';
  }

  /** Sends SSLRequest; on `S`, starts TLS. */
  async startTls(): Promise<void> {
    if (this.tls !== undefined || this.#reader !== undefined)
      throw new UnexpectedMessageError('SSLRequest comes first', { party: 'local' });
    await this.conn.guard(async () => {
      this.tracer?.note('C: SSLRequest');
      this.conn.write(buildPgSSLRequest());
      const first = await this.conn.source.next();
      if (first.done === true)
        throw new UnexpectedMessageError('the server closed the connection', { party: 'server' });
      const answer = first.value[0];
      if (first.value.length > 1) this.conn.source.unshift(first.value.subarray(1));
      if (answer === 0x4e)
        throw new UnexpectedMessageError('the PostgreSQL server does not take SSL (it answered N to SSLRequest)', {
          party: 'server',
        });
      if (answer !== 0x53)
        throw new MalformedMessageError('the PostgreSQL server answered SSLRequest with neither S nor N', {
          party: 'server',
        });
      this.tracer?.note('S: S (go ahead)');
      await this.conn.upgrade();
    });
  }

  /** Sends the startup message for `user` and reads which mechanisms the server asks for (AuthenticationSASL). */
  async offer(user: string): Promise<void> {
    if (this.#reader !== undefined) return;
    if (user === '') throw new UsageError('PostgreSQL needs a role: --user or postgres://user@host');
    await this.conn.guard(async () => {
      this.#user = user;
      const source = this.conn.source;
      const reader = new PgMessageReader(source, { peer: 'server' });
      this.#reader = reader;
      const database = this.target.database;
      this.tracer?.note(
        `C: StartupMessage user=${JSON.stringify(user)}${database === undefined ? '' : ` database=${JSON.stringify(database)}`}`,
      );
      this.conn.write(
        buildPgStartupMessage({ user, ...(database === undefined ? {} : { database }), application_name: 'saslkit' }),
      );
      for (;;) {
        const message = await reader.read();
        if (message.type === 'N' || message.type === 'v') continue;
        if (message.type === 'E') throw postgresErrorFromResponse(parsePgErrorResponse(message.body));
        if (message.type !== 'R')
          throw new UnexpectedMessageError('expected an Authentication message', { party: 'server' });
        const request = parsePgAuthentication(message.body);
        this.mechanisms = request.code === PG_AUTH.SASL && 'mechanisms' in request ? request.mechanisms : [];
        this.tracer?.note(
          `S: Authentication${request.code === PG_AUTH.SASL ? `SASL ${this.mechanisms.join(' ')}` : ` request ${request.code}`}`,
        );
        // The exchange reads this message again: the profile starts from the server's request.
        source.unshift(buildPgMessage(message.type, message.body));
        return;
      }
    });
  }

  /** Runs SCRAM through the PostgreSQL profile, then reads up to ReadyForQuery. */
  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const credentials: ClientCredentials = args.credentials;
    if (credentials.authzid !== '') throw new UsageError('PostgreSQL has no authorization identity (--authzid)');
    await this.offer(credentials.authcid);
    const reader = this.#reader;
    if (reader === undefined || this.#user === undefined)
      throw new UnexpectedMessageError('no startup message was sent', { party: 'local' });
    const named = typeof args.mechanism === 'string' ? args.mechanism : args.mechanism?.name;
    const auth = SASLAuth.named(named === undefined ? (args.preference ?? PG_MECHANISMS) : [named]);
    let roundTrips = 0;
    const tracer = this.tracer;
    return this.conn.guard(async () => {
      const result = await postgresClientAuth({
        messages: reader,
        write: (data) => {
          roundTrips += 1;
          // The SASL messages carry the proof: only their type is traced.
          tracer?.note(`C: ${data[0] === 0x70 ? 'SASL message' : 'message'} (${data.length} bytes, not shown)`);
          this.conn.write(data);
        },
        user: this.#user ?? '',
        password: credentials.secret,
        sendStartup: false,
        auth,
        client: {
          channelBinding: args.channelBinding ?? 'prefer',
          ...(this.tls === undefined ? {} : { channelBindingData: this.tls.binding }),
          host: this.target.host,
          service: 'postgres',
        },
      });
      tracer?.note(`S: AuthenticationOk (${result.mechanism ?? 'no SASL'})`);
      const mechanism = result.mechanism;
      if (mechanism === undefined)
        throw new UnexpectedMessageError('the server let the client in without SASL', { party: 'server' });
      try {
        await readPostgresReady(result.reader);
      } catch (error) {
        // The credentials were accepted; what failed is the session (a missing database, too many connections).
        const sqlstate = /\(([0-9A-Z]{5})\)/.exec(error instanceof Error ? error.message : '')?.[1] ?? 'unknown';
        const hint =
          sqlstate === '3D000' ? ': the database does not exist; name one in the URL, postgres://host/DATABASE' : '';
        throw new UnexpectedMessageError(
          `authenticated with ${mechanism}, but the PostgreSQL server did not start the session (SQLSTATE ${sqlstate})${hint}`,
          { party: 'server', cause: error },
        );
      }
      tracer?.note('S: ReadyForQuery');
      // PostgreSQL binds only with tls-server-end-point.
      return {
        mechanism,
        serverVerified: result.serverVerified,
        roundTrips,
        ...(mechanism.endsWith('-PLUS') ? { channelBinding: 'tls-server-end-point' as const } : {}),
      };
    });
  }

  /** Sends Terminate and closes; never throws. */
  async quit(): Promise<void> {
    this.tracer?.note('C: Terminate');
    // The server closes once it read Terminate.
    await this.conn.end(buildPgTerminate());
  }
}
