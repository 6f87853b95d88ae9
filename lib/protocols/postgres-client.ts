/**
 * The client side of PostgreSQL SASL authentication: {@link postgresClientAuth} sends the
 * StartupMessage, runs the exchange the server asks for, and {@link readPostgresReady} reads
 * what follows AuthenticationOk.
 * @module
 */
import type { ChannelBindingSource } from '../channel-binding/tls-socket.js';
import type { SessionOptions } from '../core/core.js';
import { ClientCredentials } from '../passwords/credentials.js';
import {
  AuthenticationFailedError,
  MalformedMessageError,
  MechanismUnavailableError,
  type SaslError,
  ServerNotVerifiedError,
  UnexpectedMessageError,
} from '../core/errors.js';
import type { ClientOptions } from '../core/mechanism.js';
import { SASLAuth } from '../core/registry.js';
import { raceSignal } from '../transport/signal.js';
import type { MessageSource } from '../transport/source.js';
import {
  Cursor,
  NON_SASL_METHODS,
  PG_AUTH,
  type PgErrorFields,
  type PgAuthentication,
  PgMessageReader,
  type PgWriter,
  buildPgSASLInitialResponse,
  buildPgSASLResponse,
  buildPgStartupMessage,
  malformed,
  parsePgAuthentication,
  parsePgErrorResponse,
  readerOf,
  view,
} from './postgres-messages.js';
import { type ClientFraming, runClientLoop } from './client-loop.js';

/**
 * The saslkit error a client raises for a server's ErrorResponse: a protocol violation (`08P01`)
 * is a {@link MalformedMessageError} blamed on the local side; anything else during
 * authentication is an {@link AuthenticationFailedError} whose `serverError` is the SQLSTATE.
 * The server's message text is not copied into the error.
 */
export function postgresErrorFromResponse(fields: PgErrorFields, mechanism?: string): SaslError {
  if (fields.code === '08P01')
    return new MalformedMessageError('the PostgreSQL server reported a protocol violation (08P01)', {
      mechanism,
      party: 'local',
    });
  return new AuthenticationFailedError(`the PostgreSQL server refused the login (${fields.code})`, {
    mechanism,
    party: 'server',
    serverError: fields.code,
  });
}

/** Arguments of {@link postgresClientAuth}. */
export interface PostgresClientAuthOptions {
  /** The server's bytes (a socket, or a TLS socket after SSLRequest), or a reader already in use. */
  readonly messages: PgMessageReader | MessageSource<Uint8Array>;
  /** Sends bytes to the server. */
  readonly write: PgWriter;
  /** The role to log in as (the startup packet's `user`). */
  readonly user: string;
  /** The password. Not shown by errors, `util.inspect` or `JSON.stringify`. */
  readonly password: string;
  /** The database (default: the server uses the user name). */
  readonly database?: string;
  /** Further startup parameters, e.g. `application_name`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Send the StartupMessage first. Default true; false when the host sent it already. */
  readonly sendStartup?: boolean;
  /** The mechanisms the client may use. Default SCRAM-SHA-256-PLUS and SCRAM-SHA-256. */
  readonly auth?: SASLAuth;
  /**
   * Mechanism options: `channelBinding` (`disable`, `prefer` (default), `require`, as libpq),
   * `channelBindingData` (e.g. `tlsChannelBinding(tlsSocket, 'client')`; only
   * `tls-server-end-point` is used, the one type PostgreSQL implements), `scramMaxIterations`.
   */
  readonly client?: ClientOptions;
  /** Accept a server that lets the client in without SASL (`trust`). Default false. */
  readonly allowNoSasl?: boolean;
  /**
   * Limits on SASL messages and rounds, and the exchange's time limit (`signal`): when it fires, a wait
   * for the server's next message ends too, with TIMEOUT (ABORTED for another abort
   * reason) blamed on the server; the connection is then out of step, so close it.
   */
  readonly session?: SessionOptions;
  /** Largest message accepted when `messages` is not a reader already. */
  readonly maxMessageBytes?: number;
}

/** The result of {@link postgresClientAuth}. */
export interface PostgresClientResult {
  /** The mechanism used, or undefined when the server let the client in without SASL. */
  readonly mechanism: string | undefined;
  /** True when the server proved that it knows the password (SCRAM's server signature). */
  readonly serverVerified: boolean;
  /** The reader, holding the ParameterStatus and later messages that followed AuthenticationOk. */
  readonly reader: PgMessageReader;
}

/** Only the binding type PostgreSQL implements, so that -PLUS never offers one it would refuse. */
function postgresBinding(source: ChannelBindingSource | undefined): ChannelBindingSource | undefined {
  if (source === undefined) return undefined;
  return {
    get types() {
      return source.types.filter((type) => type === 'tls-server-end-point');
    },
    data: (type) => (type === 'tls-server-end-point' ? source.data(type) : undefined),
  };
}

/**
 * Runs the client side of PostgreSQL SASL authentication: sends the StartupMessage, picks the
 * strongest offered mechanism (-PLUS only with channel-binding data and a policy other than
 * `disable`), runs the exchange, verifies SASLFinal (SCRAM's server signature), and resolves at
 * AuthenticationOk. SCRAM is run with an empty user name (`n=`), as libpq does. An
 * ErrorResponse rejects with {@link postgresErrorFromResponse}; a server that asks for a
 * non-SASL method (MD5, clear text) rejects with MECHANISM_UNAVAILABLE.
 */
export async function postgresClientAuth(args: PostgresClientAuthOptions): Promise<PostgresClientResult> {
  const reader = readerOf(args.messages, 'server', args.maxMessageBytes);
  const auth = args.auth ?? SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
  const policy = args.client?.channelBinding ?? 'prefer';
  const binding = postgresBinding(args.client?.channelBindingData);
  const clientOptions: ClientOptions = { ...args.client, channelBindingData: binding };
  if (args.sendStartup !== false) {
    await args.write(
      buildPgStartupMessage({
        user: args.user,
        ...(args.database === undefined ? {} : { database: args.database }),
        ...args.parameters,
      }),
    );
  }
  // Before SASL: the server asks for it (with its mechanisms), lets the client in, or refuses.
  const request = await readAuthentication(reader, args.session?.signal, undefined);
  if (request.code === PG_AUTH.OK) {
    if (args.allowNoSasl !== true || policy === 'require')
      throw new ServerNotVerifiedError('the PostgreSQL server let the client in without SASL authentication');
    return { mechanism: undefined, serverVerified: false, reader };
  }
  if (request.code !== PG_AUTH.SASL || !('mechanisms' in request))
    throw new UnexpectedMessageError(
      `unexpected AuthenticationSASL${request.code === PG_AUTH.SASL_FINAL ? 'Final' : 'Continue'}`,
      { party: 'server' },
    );
  // The registry decides the mechanism (a password's, -PLUS when the connection can bind,
  // only -PLUS under `require`) and the GS2 flag (RFC 5802 section 6), as for every client profile.
  const { mechanism, client } = auth.negotiateClient(request.mechanisms, {
    choose: { credentials: 'password' },
    client: clientOptions,
    peer: 'the PostgreSQL server',
  });
  const name = mechanism.name;
  const context = { mechanism: name, party: 'server' as const };
  // PostgreSQL takes the user from the startup packet; libpq sends SCRAM's n= empty.
  const authcid = name.startsWith('SCRAM-') ? '' : args.user;
  let finalData: Uint8Array | undefined;
  const framing: ClientFraming<Uint8Array> = {
    initialResponseAllowed: true,
    async open(_name, initial) {
      await args.write(buildPgSASLInitialResponse(name, initial));
      return true;
    },
    respond: (data) => args.write(buildPgSASLResponse(data)),
    async next() {
      for (;;) {
        let step: PgAuthentication;
        try {
          step = await readAuthentication(reader, args.session?.signal, name);
        } catch (error) {
          if (error instanceof PgRefusal) return { kind: 'failure', error: error.error };
          throw error;
        }
        if (step.code === PG_AUTH.OK) return { kind: 'success', data: finalData };
        if (step.code === PG_AUTH.SASL)
          throw new UnexpectedMessageError('the server restarted SASL authentication', context);
        if (finalData !== undefined || !('data' in step))
          throw new UnexpectedMessageError(
            `unexpected AuthenticationSASL${step.code === PG_AUTH.SASL_FINAL ? 'Final' : 'Continue'}`,
            context,
          );
        if (step.code === PG_AUTH.SASL_CONTINUE) return { kind: 'challenge', data: step.data };
        finalData = step.data;
      }
    },
    decode: (data) => data,
  };
  const { outcome } = await runClientLoop(
    framing,
    name,
    mechanism.client(new ClientCredentials(authcid, args.password), client),
    args.session,
  );
  return { mechanism: name, serverVerified: outcome.serverVerified, reader };
}

/** An ErrorResponse in the middle of an exchange: the loop hands it to the mechanism as the server's failure. */
class PgRefusal extends Error {
  constructor(readonly error: SaslError) {
    super(error.message);
  }
}

/**
 * The server's next Authentication request (notices and NegotiateProtocolVersion skipped). An
 * ErrorResponse rejects with a {@link PgRefusal} during an exchange (`mechanism` given), with
 * the error itself before one; a non-SASL method with MECHANISM_UNAVAILABLE.
 */
async function readAuthentication(
  reader: PgMessageReader,
  signal: AbortSignal | undefined,
  mechanism: string | undefined,
): Promise<PgAuthentication> {
  for (;;) {
    // The session's time limit also covers waiting for the server's next message.
    const message = await raceSignal(reader.read(), signal, { mechanism, party: 'server' });
    if (message.type === 'N' || message.type === 'v') continue; // notices and NegotiateProtocolVersion
    if (message.type === 'E') {
      const error = postgresErrorFromResponse(parsePgErrorResponse(message.body), mechanism);
      throw mechanism === undefined ? error : new PgRefusal(error);
    }
    if (message.type !== 'R')
      throw new UnexpectedMessageError('expected an Authentication message', { mechanism, party: 'server' });
    const request = parsePgAuthentication(message.body);
    const code = request.code;
    if (code === PG_AUTH.OK || code === PG_AUTH.SASL || code === PG_AUTH.SASL_CONTINUE || code === PG_AUTH.SASL_FINAL)
      return request;
    const method = NON_SASL_METHODS[code] ?? 'an unknown method';
    throw new MechanismUnavailableError(`the PostgreSQL server asks for ${method}, which is not SASL`, {
      party: 'server',
    });
  }
}

/** What the server reported between AuthenticationOk and ReadyForQuery. */
export interface PostgresReady {
  /** ParameterStatus values, e.g. `server_version`. */
  readonly parameters: Readonly<Record<string, string>>;
  /** BackendKeyData's process id, when sent. */
  readonly processId: number | undefined;
  /** BackendKeyData's cancel key, when sent. A secret of sorts: it lets anyone cancel queries. */
  readonly secretKey: Uint8Array | undefined;
  /** ReadyForQuery's transaction status (`I` when idle). */
  readonly transactionStatus: string;
}

/**
 * Reads the messages that follow AuthenticationOk up to ReadyForQuery. An ErrorResponse (the
 * database does not exist, too many connections) rejects like a refused login.
 */
export async function readPostgresReady(reader: PgMessageReader): Promise<PostgresReady> {
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  let processId: number | undefined;
  let secretKey: Uint8Array | undefined;
  for (;;) {
    const message = await reader.read();
    const cursor = new Cursor(view(message.body), 'message before ReadyForQuery', 'server');
    switch (message.type) {
      case 'S': {
        const name = cursor.cstring();
        parameters[name] = cursor.cstring();
        cursor.end();
        break;
      }
      case 'K':
        processId = cursor.int32();
        secretKey = cursor.rest();
        if (secretKey.length < 4 || secretKey.length > 256)
          throw malformed('BackendKeyData has a bad key length', 'server');
        break;
      case 'Z': {
        const status = cursor.rest();
        if (status.length !== 1) throw malformed('ReadyForQuery has a bad length', 'server');
        return { parameters, processId, secretKey, transactionStatus: String.fromCharCode(status[0] as number) };
      }
      case 'E':
        throw postgresErrorFromResponse(parsePgErrorResponse(message.body));
      case 'N':
      case 'v':
        break;
      default:
        throw new UnexpectedMessageError('unexpected message before ReadyForQuery', { party: 'server' });
    }
  }
}
