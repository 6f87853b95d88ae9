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
import { concat, decodeUtf8, utf8 } from '../core/bytes.js';
import type { ChannelBindingSource } from '../channel-binding/tls-socket.js';
import type { SessionOptions } from '../core/core.js';
import { ClientCredentials } from '../passwords/credentials.js';
import { PromiseClientSession, PromiseServerSession } from '../drivers/promise.js';
import {
  AuthenticationFailedError,
  MalformedMessageError,
  MechanismUnavailableError,
  type Party,
  type SaslError,
  ServerNotVerifiedError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import { type ClientOptions, isUpperCaseMechanismName } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { SASLAuth } from '../core/registry.js';
import { PgFrameReader, type PgMessage, type PgReaderOptions } from '../transport/pg.js';
import { raceSignal } from '../transport/signal.js';
import type { MessageSource } from '../transport/source.js';
import { advertisedMechanisms } from './profile.js';

// The message framing moved to lib/transport/pg.ts; re-exported for the package index.
export {
  DEFAULT_PG_MAX_MESSAGE_BYTES,
  PG_MAX_STARTUP_BYTES,
  type PgMessage,
  type PgReaderOptions,
} from '../transport/pg.js';

/** Protocol version 3.0, as sent in the StartupMessage. */
export const PG_PROTOCOL_VERSION = 196608;
/** The SSLRequest code. */
export const PG_SSL_REQUEST_CODE = 80877103;
/** The GSSENCRequest code. */
export const PG_GSSENC_REQUEST_CODE = 80877104;
/** The CancelRequest code. */
export const PG_CANCEL_REQUEST_CODE = 80877102;
/** The Authentication (`R`) codes of the SASL flow. */
export const PG_AUTH = { OK: 0, SASL: 10, SASL_CONTINUE: 11, SASL_FINAL: 12 } as const;

const NON_SASL_METHODS: Readonly<Record<number, string>> = {
  2: 'Kerberos V5',
  3: 'clear-text password',
  5: 'MD5 password',
  7: 'GSSAPI',
  8: 'GSSAPI',
  9: 'SSPI',
};
const SQLSTATE = /^[0-9A-Z]{5}$/;

function malformed(what: string, party: Party): MalformedMessageError {
  return new MalformedMessageError(`PostgreSQL ${what}`, { party });
}

function int32(value: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

function cstring(text: string, what: string): Uint8Array {
  if (text.includes('\0')) throw new UsageError(`${what} must not contain NUL`);
  return concat(utf8(text), Uint8Array.of(0));
}

/** Frames a typed message: type byte, Int32 length (counting itself), body. */
export function buildPgMessage(type: string, body: Uint8Array): Uint8Array {
  if (type.length !== 1 || type.charCodeAt(0) > 0x7f)
    throw new UsageError('a PostgreSQL message type is one ASCII character');
  return concat(utf8(type), int32(body.length + 4), body);
}

function view(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Reads NUL-terminated strings; every read checks bounds, so a short body is a typed error. */
class Cursor {
  pos = 0;
  constructor(
    readonly body: Buffer,
    readonly what: string,
    readonly party: Party,
  ) {}

  int32(): number {
    if (this.pos + 4 > this.body.length) throw malformed(`${this.what} is truncated`, this.party);
    const value = this.body.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  cstringBytes(): Uint8Array {
    const end = this.body.indexOf(0, this.pos);
    if (end === -1) throw malformed(`${this.what} has an unterminated string`, this.party);
    const bytes = this.body.subarray(this.pos, end);
    this.pos = end + 1;
    return bytes;
  }

  cstring(): string {
    return decodeUtf8(this.cstringBytes(), `PostgreSQL ${this.what}`, { party: this.party });
  }

  rest(): Uint8Array {
    const bytes = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return bytes;
  }

  end(): void {
    if (this.pos !== this.body.length) throw malformed(`${this.what} has trailing bytes`, this.party);
  }
}

// ---------------------------------------------------------------------------------------------
// Frontend (client) messages

/** Builds a StartupMessage (protocol 3.0). `user` is required; values must not contain NUL. */
export function buildPgStartupMessage(parameters: Readonly<Record<string, string>>): Uint8Array {
  if (typeof parameters['user'] !== 'string' || parameters['user'] === '')
    throw new UsageError('a PostgreSQL StartupMessage needs a user');
  const pairs = Object.entries(parameters).flatMap(([name, value]) => {
    if (name === '') throw new UsageError('a PostgreSQL startup parameter needs a name');
    return [cstring(name, 'a startup parameter name'), cstring(value, 'a startup parameter value')];
  });
  const body = concat(int32(PG_PROTOCOL_VERSION), ...pairs, Uint8Array.of(0));
  return concat(int32(body.length + 4), body);
}

/** Builds an SSLRequest. The server answers with one byte, `S` (start TLS) or `N`. */
export function buildPgSSLRequest(): Uint8Array {
  return concat(int32(8), int32(PG_SSL_REQUEST_CODE));
}

/** Builds SASLInitialResponse: mechanism, then the initial response (Int32 -1 when there is none). */
export function buildPgSASLInitialResponse(mechanism: string, initial?: Uint8Array): Uint8Array {
  if (!isUpperCaseMechanismName(mechanism)) throw new UsageError('not a SASL mechanism name');
  const data = initial === undefined ? int32(-1) : concat(int32(initial.length), initial);
  return buildPgMessage('p', concat(cstring(mechanism, 'a mechanism name'), data));
}

/** Builds SASLResponse: the raw response. */
export function buildPgSASLResponse(data: Uint8Array): Uint8Array {
  return buildPgMessage('p', data);
}

/** Builds Terminate, which a client sends before closing. */
export function buildPgTerminate(): Uint8Array {
  return buildPgMessage('X', new Uint8Array(0));
}

/** What a server reads before the first typed message. */
export type PgStartupPacket =
  | { readonly kind: 'startup'; readonly version: number; readonly parameters: Readonly<Record<string, string>> }
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: Uint8Array };

/**
 * Parses a startup packet's body (after its Int32 length): a StartupMessage of protocol 3.x,
 * an SSLRequest, a GSSENCRequest or a CancelRequest.
 */
export function parsePgStartupPacket(body: Uint8Array): PgStartupPacket {
  const cursor = new Cursor(view(body), 'startup packet', 'client');
  const code = cursor.int32();
  if (code === PG_SSL_REQUEST_CODE || code === PG_GSSENC_REQUEST_CODE) {
    cursor.end();
    return { kind: code === PG_SSL_REQUEST_CODE ? 'ssl' : 'gssenc' };
  }
  if (code === PG_CANCEL_REQUEST_CODE) {
    const processId = cursor.int32();
    const secretKey = cursor.rest();
    if (secretKey.length < 4 || secretKey.length > 256) throw malformed('CancelRequest has a bad key length', 'client');
    return { kind: 'cancel', processId, secretKey };
  }
  if (code >>> 16 !== 3) throw malformed('StartupMessage asks for an unsupported protocol version', 'client');
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = cursor.cstring();
    if (name === '') break;
    if (Object.hasOwn(parameters, name)) throw malformed('StartupMessage repeats a parameter', 'client');
    parameters[name] = cursor.cstring();
  }
  cursor.end();
  if (parameters['user'] === undefined || parameters['user'] === '')
    throw malformed('StartupMessage has no user', 'client');
  return { kind: 'startup', version: code, parameters };
}

/** A parsed SASLInitialResponse. `data` is undefined when the client sent none (length -1). */
export interface PgSASLInitialResponse {
  /** The mechanism the client chose. */
  readonly mechanism: string;
  /** The initial response, or undefined. */
  readonly data: Uint8Array | undefined;
}

/** Parses a SASLInitialResponse body. The length must match the bytes that follow exactly. */
export function parsePgSASLInitialResponse(body: Uint8Array): PgSASLInitialResponse {
  const cursor = new Cursor(view(body), 'SASLInitialResponse', 'client');
  const mechanism = cursor.cstring();
  if (!isUpperCaseMechanismName(mechanism)) throw malformed('SASLInitialResponse names no valid mechanism', 'client');
  const length = cursor.int32();
  if (length === -1) {
    cursor.end();
    return { mechanism, data: undefined };
  }
  if (length < 0) throw malformed('SASLInitialResponse has a negative length', 'client');
  const data = cursor.rest();
  if (data.length !== length) throw malformed('SASLInitialResponse length does not match its data', 'client');
  return { mechanism, data };
}

// ---------------------------------------------------------------------------------------------
// Backend (server) messages

/** Builds AuthenticationSASL: the mechanisms, each NUL-terminated, then an empty name. */
export function buildPgAuthenticationSASL(mechanisms: readonly string[]): Uint8Array {
  if (mechanisms.length === 0) throw new UsageError('AuthenticationSASL needs at least one mechanism');
  for (const name of mechanisms) if (!isUpperCaseMechanismName(name)) throw new UsageError('not a SASL mechanism name');
  return buildPgMessage(
    'R',
    concat(int32(PG_AUTH.SASL), ...mechanisms.map((name) => cstring(name, 'a mechanism name')), Uint8Array.of(0)),
  );
}

/** Builds AuthenticationSASLContinue with a raw challenge. */
export function buildPgAuthenticationSASLContinue(data: Uint8Array): Uint8Array {
  return buildPgMessage('R', concat(int32(PG_AUTH.SASL_CONTINUE), data));
}

/** Builds AuthenticationSASLFinal with the server's additional data. */
export function buildPgAuthenticationSASLFinal(data: Uint8Array): Uint8Array {
  return buildPgMessage('R', concat(int32(PG_AUTH.SASL_FINAL), data));
}

/** Builds AuthenticationOk. */
export function buildPgAuthenticationOk(): Uint8Array {
  return buildPgMessage('R', int32(PG_AUTH.OK));
}

/** The fields of an ErrorResponse that saslkit writes and reads. */
export interface PgErrorFields {
  /** `S`: localized severity, e.g. `FATAL`. */
  readonly severity: string;
  /** `C`: the SQLSTATE, e.g. `28P01`. */
  readonly code: string;
  /** `M`: the primary message. Peer text on the client side: show it, never log it as trusted. */
  readonly message: string;
  /** Every field by its code letter, including the three above. */
  readonly fields?: Readonly<Record<string, string>>;
}

/** Builds an ErrorResponse with severity (`S` and `V`), SQLSTATE and message. */
export function buildPgErrorResponse(fields: PgErrorFields): Uint8Array {
  if (!SQLSTATE.test(fields.code)) throw new UsageError('a SQLSTATE is five digits or upper-case letters');
  const field = (code: string, value: string): Uint8Array => concat(utf8(code), cstring(value, 'an error field'));
  return buildPgMessage(
    'E',
    concat(
      field('S', fields.severity),
      field('V', fields.severity),
      field('C', fields.code),
      field('M', fields.message),
      Uint8Array.of(0),
    ),
  );
}

/** Builds ParameterStatus, which a server sends after AuthenticationOk. */
export function buildPgParameterStatus(name: string, value: string): Uint8Array {
  return buildPgMessage('S', concat(cstring(name, 'a parameter name'), cstring(value, 'a parameter value')));
}

/** Builds BackendKeyData (the key used by CancelRequest). */
export function buildPgBackendKeyData(processId: number, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length < 4 || secretKey.length > 256) throw new UsageError('a PostgreSQL cancel key is 4 to 256 bytes');
  return buildPgMessage('K', concat(int32(processId), secretKey));
}

/** Builds ReadyForQuery with a transaction status: `I` idle, `T` in a transaction, `E` failed. */
export function buildPgReadyForQuery(status: 'I' | 'T' | 'E' = 'I'): Uint8Array {
  return buildPgMessage('Z', utf8(status));
}

/** A parsed Authentication (`R`) message. */
export type PgAuthentication =
  | { readonly code: 0 }
  | { readonly code: 10; readonly mechanisms: readonly string[] }
  | { readonly code: 11 | 12; readonly data: Uint8Array }
  | { readonly code: number; readonly other: true };

/** Parses an Authentication message body. SASL lists must be well-formed and non-empty. */
export function parsePgAuthentication(body: Uint8Array): PgAuthentication {
  const cursor = new Cursor(view(body), 'Authentication message', 'server');
  const code = cursor.int32();
  switch (code) {
    case PG_AUTH.OK:
      cursor.end();
      return { code };
    case PG_AUTH.SASL: {
      const mechanisms: string[] = [];
      for (;;) {
        const name = cursor.cstring();
        if (name === '') break;
        if (!isUpperCaseMechanismName(name))
          throw malformed('AuthenticationSASL lists an invalid mechanism name', 'server');
        mechanisms.push(name);
      }
      cursor.end();
      if (mechanisms.length === 0) throw malformed('AuthenticationSASL lists no mechanism', 'server');
      return { code, mechanisms };
    }
    case PG_AUTH.SASL_CONTINUE:
    case PG_AUTH.SASL_FINAL:
      return { code, data: cursor.rest() };
    default:
      return { code, other: true };
  }
}

/** Parses an ErrorResponse (or NoticeResponse) body. The SQLSTATE must be well-formed. */
export function parsePgErrorResponse(body: Uint8Array): PgErrorFields {
  const buffer = view(body);
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  // Message texts may be in the server's encoding before client_encoding is settled; they are
  // informational, so they are decoded leniently. The SQLSTATE is checked strictly.
  const lenient = new TextDecoder('utf-8');
  let pos = 0;
  for (;;) {
    if (pos >= buffer.length) throw malformed('ErrorResponse is not terminated', 'server');
    const code = buffer[pos] as number;
    if (code === 0) {
      if (pos + 1 !== buffer.length) throw malformed('ErrorResponse has trailing bytes', 'server');
      break;
    }
    const end = buffer.indexOf(0, pos + 1);
    if (end === -1) throw malformed('ErrorResponse has an unterminated field', 'server');
    fields[String.fromCharCode(code)] = lenient.decode(buffer.subarray(pos + 1, end));
    pos = end + 1;
  }
  const sqlstate = fields['C'];
  if (sqlstate === undefined || !SQLSTATE.test(sqlstate))
    throw malformed('ErrorResponse has no valid SQLSTATE', 'server');
  return { severity: fields['V'] ?? fields['S'] ?? '', code: sqlstate, message: fields['M'] ?? '', fields };
}

/**
 * Reads PostgreSQL messages from a byte source (a socket, or any async iterable of chunks). It
 * reads with `next()` only and never closes the source, and it keeps bytes that arrived after a
 * message, so the host can go on reading from the same reader once authentication is done.
 */
export class PgMessageReader extends PgFrameReader {
  // Declared here too so that the class's own declaration shows its parameters (the fuzz
  // discovery builds readers from it).
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor -- see above
  constructor(source: MessageSource<Uint8Array>, options: PgReaderOptions) {
    super(source, options);
  }

  /** Reads one startup packet (Int32 length, body), as a server does before the first typed message. */
  async readStartup(): Promise<PgStartupPacket> {
    return parsePgStartupPacket(await this.readStartupBody());
  }
}

function readerOf(
  source: PgMessageReader | MessageSource<Uint8Array>,
  peer: 'client' | 'server',
  maxMessageBytes: number | undefined,
): PgMessageReader {
  if (source instanceof PgMessageReader) return source;
  return new PgMessageReader(source, maxMessageBytes === undefined ? { peer } : { peer, maxMessageBytes });
}

// ---------------------------------------------------------------------------------------------
// Mapping errors to SQLSTATEs and back

/**
 * The SQLSTATE and message a server reports for an error: `28P01` for wrong credentials,
 * `28000` when the user may not log in as asked, `08P01` for a protocol violation, `XX000`
 * otherwise (a credential store that threw). Messages are fixed texts.
 */
export function postgresErrorFor(error: unknown): { readonly code: string; readonly message: string } {
  if (!isSaslError(error)) return { code: 'XX000', message: 'authentication could not be completed' };
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
      return { code: '28P01', message: 'password authentication failed' };
    case 'AUTHORIZATION_FAILED':
    case 'MECHANISM_UNAVAILABLE':
      return { code: '28000', message: 'authentication refused' };
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
    case 'LIMIT_EXCEEDED':
    case 'ABORTED':
      return { code: '08P01', message: 'invalid SASL authentication message' };
    default:
      return { code: 'XX000', message: 'authentication could not be completed' };
  }
}

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

// ---------------------------------------------------------------------------------------------
// The server

/** Writes bytes to the peer; may return a promise (backpressure). */
export type PgWriter = (data: Uint8Array) => void | Promise<void>;

/** Arguments of {@link postgresServerAuth}. */
export interface PostgresServerAuthOptions {
  /**
   * The mechanisms to offer. Default: SCRAM-SHA-256-PLUS (when `options.channelBindingData`
   * has a type) and SCRAM-SHA-256, as PostgreSQL. -PLUS mechanisms are never advertised
   * without channel-binding data; with it and `options.requireChannelBinding`, only they are.
   */
  readonly auth?: SASLAuth;
  /** Store, policy and channel binding for the server mechanisms. */
  readonly options?: ServerOptions;
  /** The client's bytes (a socket), or a reader already in use. */
  readonly messages: PgMessageReader | MessageSource<Uint8Array>;
  /** Sends bytes to the client. */
  readonly write: PgWriter;
  /**
   * The startup packet's parameters, when the host read it already. Without them the server
   * reads the startup packet first, answering SSLRequest and GSSENCRequest with `N`.
   */
  readonly startup?: Readonly<Record<string, string>>;
  /**
   * Limits on SASL messages and rounds, and the exchange's time limit (`signal`): when it fires, a wait
   * for the client's next message ends too, with TIMEOUT (ABORTED for another abort
   * reason) blamed on the client; the connection is then out of step, so close it.
   */
  readonly session?: SessionOptions;
  /** Largest message accepted when `messages` is not a reader already. */
  readonly maxMessageBytes?: number;
}

/** The result of {@link postgresServerAuth}. */
export interface PostgresServerResult {
  /** The verified result; its `authcid` is the startup packet's user. */
  readonly authenticated: Authenticated;
  /** The startup parameters (`user`, `database`, `application_name`, ...). */
  readonly parameters: Readonly<Record<string, string>>;
  /** The reader, holding any bytes that arrived after the last authentication message. */
  readonly reader: PgMessageReader;
}

function advertised(auth: SASLAuth, options: ServerOptions): string[] {
  const channelBinding = (options.channelBindingData?.types.length ?? 0) > 0;
  return advertisedMechanisms(auth, { channelBinding, requireChannelBinding: options.requireChannelBinding === true });
}

async function readStartupParameters(
  readStartup: () => Promise<PgStartupPacket>,
  write: PgWriter,
): Promise<Readonly<Record<string, string>>> {
  // One SSLRequest and one GSSENCRequest at most, as PostgreSQL allows.
  for (let negotiations = 0; ; negotiations++) {
    const packet = await readStartup();
    if (packet.kind === 'startup') {
      // Answer a newer minor version with the one we speak (NegotiateProtocolVersion).
      if ((packet.version & 0xffff) !== 0)
        await write(buildPgMessage('v', concat(int32(PG_PROTOCOL_VERSION), int32(0))));
      return packet.parameters;
    }
    if (packet.kind === 'cancel')
      throw new UnexpectedMessageError('a CancelRequest is not a login', { party: 'client' });
    if (negotiations >= 2) throw new UnexpectedMessageError('too many encryption requests', { party: 'client' });
    // This server does not do TLS itself; the client may go on in the clear or hang up.
    await write(utf8('N'));
  }
}

/**
 * Runs the server side of PostgreSQL SASL authentication: optionally reads the startup packet,
 * sends AuthenticationSASL, runs the exchange (SCRAM's `n=` is ignored: the startup `user` is
 * the user, as in PostgreSQL), and writes SASLFinal (when the mechanism has final data) and
 * AuthenticationOk before resolving. The host then sends ParameterStatus, BackendKeyData and
 * ReadyForQuery ({@link buildPostgresReady}). On failure it writes a FATAL ErrorResponse
 * ({@link postgresErrorFor}) unless the client hung up, and rejects with the typed error (or
 * the error a credential store threw); PostgreSQL then closes the connection.
 */
export async function postgresServerAuth(args: PostgresServerAuthOptions): Promise<PostgresServerResult> {
  const reader = readerOf(args.messages, 'client', args.maxMessageBytes);
  const serverOptions = args.options ?? {};
  // Set inside closures, so kept in an object that flow analysis does not narrow.
  const state = { closed: false };
  let session: PromiseServerSession | undefined;
  let mechanismName: string | undefined;
  // A read that ends with the connection marks it closed (no ErrorResponse then), and the
  // session's time limit also covers waiting for the client: the signal ends a stalled read.
  const read = <T>(pending: Promise<T>): Promise<T> => {
    const watched = pending.catch((error: unknown) => {
      if (isSaslError(error) && error.code === 'ABORTED') state.closed = true;
      throw error;
    });
    return raceSignal(watched, args.session?.signal, { mechanism: mechanismName, party: 'client' });
  };
  const next = (): Promise<PgMessage> => read(reader.read());
  try {
    const parameters = args.startup ?? (await readStartupParameters(() => read(reader.readStartup()), args.write));
    const user = parameters['user'];
    if (user === undefined || user === '') throw new UsageError('the startup parameters have no user');
    const auth = args.auth ?? SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    const names = advertised(auth, serverOptions);
    if (names.length === 0) throw new UsageError('no mechanism to offer: -PLUS mechanisms need channelBindingData');
    await args.write(buildPgAuthenticationSASL(names));

    const first = await next();
    if (first.type !== 'p') throw new UnexpectedMessageError('expected SASLInitialResponse', { party: 'client' });
    const initial = parsePgSASLInitialResponse(first.body);
    const mechanism = names.includes(initial.mechanism) ? auth.getServer(initial.mechanism) : undefined;
    if (!mechanism)
      throw new MechanismUnavailableError('the client chose a mechanism the server did not offer', { party: 'client' });
    mechanismName = mechanism.name;
    session = new PromiseServerSession(mechanism.server({ ...serverOptions, transportAuthcid: user }, initial.data), {
      ...args.session,
      mechanism: mechanism.name,
      initialResponse: initial.data,
    });
    let step = await session.start();
    while (!step.done) {
      await args.write(buildPgAuthenticationSASLContinue(step.challenge));
      const response = await next();
      if (response.type !== 'p')
        throw new UnexpectedMessageError('expected SASLResponse', { mechanism: mechanism.name, party: 'client' });
      step = await session.respond(response.body);
    }
    const outcome = step.outcome;
    // Mechanisms that carry their own user name (PLAIN) must name the startup user.
    const sameUser = outcome.identity ? outcome.identity.compareAuthcid(user) : outcome.authcid === user;
    if (!sameUser) throw new AuthenticationFailedError(undefined, { mechanism: mechanism.name, party: 'client' });
    if (outcome.additionalData !== undefined) await args.write(buildPgAuthenticationSASLFinal(outcome.additionalData));
    await args.write(buildPgAuthenticationOk());
    return {
      authenticated: {
        ...outcome,
        authcid: user,
        authzid: outcome.authzid === outcome.authcid ? user : outcome.authzid,
      },
      parameters,
      reader,
    };
  } catch (error) {
    if (session && !session.finished) session.abort('local');
    if (!state.closed) {
      try {
        await args.write(buildPgErrorResponse({ severity: 'FATAL', ...postgresErrorFor(error) }));
      } catch {
        // The connection is gone; the SASL outcome is what we report.
      }
    }
    throw error;
  }
}

/** What a server sends after AuthenticationOk so that a client (psql) considers itself connected. */
export interface PostgresReadyOptions {
  /** ParameterStatus values; saslkit adds `server_version` 15.0, UTF8 encodings and ISO dates unless given. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** The backend process id for BackendKeyData. Default 1. */
  readonly processId?: number;
  /** The cancel key for BackendKeyData. Default 4 zero bytes (this server cannot cancel anything). */
  readonly secretKey?: Uint8Array;
}

/** Builds ParameterStatus messages, BackendKeyData and ReadyForQuery(`I`), in that order. */
export function buildPostgresReady(options: PostgresReadyOptions = {}): Uint8Array {
  const parameters = {
    server_version: '15.0',
    server_encoding: 'UTF8',
    client_encoding: 'UTF8',
    DateStyle: 'ISO, MDY',
    integer_datetimes: 'on',
    standard_conforming_strings: 'on',
    ...options.parameters,
  };
  return concat(
    ...Object.entries(parameters).map(([name, value]) => buildPgParameterStatus(name, value)),
    buildPgBackendKeyData(options.processId ?? 1, options.secretKey ?? new Uint8Array(4)),
    buildPgReadyForQuery('I'),
  );
}

// ---------------------------------------------------------------------------------------------
// The client

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
  let session: PromiseClientSession | undefined;
  let mechanismName: string | undefined;
  let finalData: Uint8Array | undefined;
  try {
    for (;;) {
      // The session's time limit also covers waiting for the server's next message.
      const message = await raceSignal(reader.read(), args.session?.signal, {
        mechanism: mechanismName,
        party: 'server',
      });
      if (message.type === 'N' || message.type === 'v') continue; // notices and NegotiateProtocolVersion
      if (message.type === 'E') {
        const error = postgresErrorFromResponse(parsePgErrorResponse(message.body), mechanismName);
        if (session && !session.finished) await session.failure(error);
        throw error;
      }
      if (message.type !== 'R')
        throw new UnexpectedMessageError('expected an Authentication message', {
          mechanism: mechanismName,
          party: 'server',
        });
      const request = parsePgAuthentication(message.body);
      if (request.code === PG_AUTH.SASL && 'mechanisms' in request) {
        if (session)
          throw new UnexpectedMessageError('the server restarted SASL authentication', {
            mechanism: mechanismName,
            party: 'server',
          });
        // The registry decides the mechanism (a password's, -PLUS when the connection can bind,
        // only -PLUS under `require`) and the GS2 flag (RFC 5802 section 6), as for every client profile.
        const { mechanism, client } = auth.negotiateClient(request.mechanisms, {
          choose: { credentials: 'password' },
          client: clientOptions,
          peer: 'the PostgreSQL server',
        });
        mechanismName = mechanism.name;
        // PostgreSQL takes the user from the startup packet; libpq sends SCRAM's n= empty.
        const authcid = mechanism.name.startsWith('SCRAM-') ? '' : args.user;
        session = new PromiseClientSession(mechanism.client(new ClientCredentials(authcid, args.password), client), {
          ...args.session,
          mechanism: mechanism.name,
        });
        await args.write(buildPgSASLInitialResponse(mechanism.name, await session.start(true)));
      } else if (request.code === PG_AUTH.SASL_CONTINUE && 'data' in request) {
        if (!session || finalData !== undefined)
          throw new UnexpectedMessageError('unexpected AuthenticationSASLContinue', {
            mechanism: mechanismName,
            party: 'server',
          });
        await args.write(buildPgSASLResponse(await session.challenge(request.data)));
      } else if (request.code === PG_AUTH.SASL_FINAL && 'data' in request) {
        if (!session || finalData !== undefined)
          throw new UnexpectedMessageError('unexpected AuthenticationSASLFinal', {
            mechanism: mechanismName,
            party: 'server',
          });
        finalData = request.data;
      } else if (request.code === PG_AUTH.OK) {
        if (session) {
          const outcome = await session.success(finalData);
          return { mechanism: mechanismName, serverVerified: outcome.serverVerified, reader };
        }
        if (args.allowNoSasl !== true || policy === 'require')
          throw new ServerNotVerifiedError('the PostgreSQL server let the client in without SASL authentication');
        return { mechanism: undefined, serverVerified: false, reader };
      } else {
        const method = NON_SASL_METHODS[request.code] ?? 'an unknown method';
        throw new MechanismUnavailableError(`the PostgreSQL server asks for ${method}, which is not SASL`, {
          party: 'server',
        });
      }
    }
  } finally {
    // An error, a hang-up or a bad message leaves the mechanism mid-exchange: cancel it so its `finally` blocks run.
    if (session && !session.finished) session.abort();
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
