/**
 * The PostgreSQL SASL messages (frontend/backend protocol 3.0, "SASL Authentication"): builders
 * and strict parsers for the startup and authentication messages, and the message reader over
 * any byte source (its framing is lib/transport/pg.ts). The server and the client that run an
 * exchange over them are postgres-server.ts and postgres-client.ts.
 * @module
 */
import { concat, decodeUtf8, utf8 } from '../core/bytes.js';
import { MalformedMessageError, type Party, UsageError } from '../core/errors.js';
import { isUpperCaseMechanismName } from '../core/mechanism.js';
import { PgFrameReader, type PgReaderOptions } from '../transport/pg.js';
import type { MessageSource } from '../transport/source.js';

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

/** Names of the Authentication codes that are not SASL. @internal */
export const NON_SASL_METHODS: Readonly<Record<number, string>> = {
  2: 'Kerberos V5',
  3: 'clear-text password',
  5: 'MD5 password',
  7: 'GSSAPI',
  8: 'GSSAPI',
  9: 'SSPI',
};
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A malformed-message error about `what` blamed on `party`. @internal */
export function malformed(what: string, party: Party): MalformedMessageError {
  return new MalformedMessageError(`PostgreSQL ${what}`, { party });
}

/** A big-endian Int32. @internal */
export function int32(value: number): Uint8Array {
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

/** A Buffer over a body's bytes, without copying. @internal */
export function view(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Reads NUL-terminated strings; every read checks bounds, so a short body is a typed error. @internal */
export class Cursor {
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

/** `source` as a reader of `peer`'s messages. @internal */
export function readerOf(
  source: PgMessageReader | MessageSource<Uint8Array>,
  peer: 'client' | 'server',
  maxMessageBytes: number | undefined,
): PgMessageReader {
  if (source instanceof PgMessageReader) return source;
  return new PgMessageReader(source, maxMessageBytes === undefined ? { peer } : { peer, maxMessageBytes });
}

/** Writes bytes to the peer; may return a promise (backpressure). */
export type PgWriter = (data: Uint8Array) => void | Promise<void>;
