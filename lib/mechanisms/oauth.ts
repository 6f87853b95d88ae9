/**
 * What XOAUTH2 and OAUTHBEARER share: the `key=value` 0x01-separated wire format, the bearer
 * token syntax, the token-validation effect, the JSON error challenge, and the one failure step
 * both mechanisms have on each side: the server sends the error as a challenge, the client
 * answers with a dummy reply, the server fails the exchange.
 * @module
 */
import { decodeUtf8, isWellFormed, splitBytes, utf8 } from '../core/bytes.js';
import {
  AuthenticationFailedError,
  MalformedMessageError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import {
  type Authenticated,
  type ClientOutcome,
  type ClientYield,
  type Effect,
  type ServerReply,
  type ServerYield,
  ServerSuccess,
  challenge,
  effect,
  perform,
  respond,
} from '../core/exchange.js';
import type { ServerOptions, TokenError, TokenRequest, TokenResult } from '../core/options.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import { authorize } from '../passwords/server-auth.js';

/** The separator of OAUTHBEARER and XOAUTH2 key/value pairs (RFC 7628 `kvsep`). */
export const KVSEP = 0x01;

// RFC 7628 section 3.1: key = 1*ALPHA.
const KEY = /^[A-Za-z]+$/;
// RFC 7628's value grammar allows VCHAR, SP, HTAB, CR and LF; other controls would only hide data.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const BAD_VALUE_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
// RFC 6750 section 2.1: b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// RFC 6750: credentials = "Bearer" 1*SP b64token; auth schemes are case-insensitive (RFC 7235).
const BEARER = /^bearer +/i;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
// C0 (HTAB, CR and LF included), DEL and C1: the value grammar lets HTAB, CR and LF through, but
// the requested user is a name that reaches validateToken, authorize() and the result's authzid,
// where a line break could forge a log line or a header.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const USER_CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * A bearer token claim parsed from an XOAUTH2 or OAUTHBEARER message, not yet validated. The
 * token is kept out of `util.inspect` and `JSON.stringify`.
 */
export class BearerCredentials extends Redacting {
  /** XOAUTH2's `user=`, or OAUTHBEARER's GS2 authzid (`a=`, unescaped); may be empty. */
  readonly user: string;
  /** OAUTHBEARER's `host=`, if sent. */
  readonly host: string | undefined;
  /** OAUTHBEARER's `port=`, if sent. */
  readonly port: number | undefined;
  readonly #token: string;

  constructor(user: string, token: string, host?: string, port?: number) {
    super();
    this.user = user;
    this.#token = token;
    this.host = host;
    this.port = port;
  }

  /** The bearer token; empty for an OAUTHBEARER discovery request (`auth=`, RFC 7628 section 4.3). */
  get token(): string {
    return this.#token;
  }

  toJSON(): Record<string, unknown> {
    return { user: this.user, host: this.host, port: this.port };
  }

  protected describeRedacted(): string {
    return describe('BearerCredentials', { user: this.user, host: this.host, port: this.port, token: REDACTED });
  }
}

/**
 * Parses `*(key "=" value 0x01) 0x01`: every pair ends with 0x01, and one more 0x01 ends the
 * list. Keys are `1*ALPHA`, values strict UTF-8 without control characters other than HTAB, CR
 * and LF. A duplicate key is malformed.
 */
export function parseKeyValues(message: Uint8Array, mechanism: string): Map<string, string> {
  const context = { mechanism, party: 'client' as const };
  if (message.length === 0 || message[message.length - 1] !== KVSEP) {
    throw new MalformedMessageError(`${mechanism} message must end with two 0x01 octets`, context);
  }
  const parts = splitBytes(message.subarray(0, message.length - 1), KVSEP);
  // The part after the last pair's terminator must be empty, or the final 0x01 was missing.
  if ((parts.pop() as Uint8Array).length !== 0)
    throw new MalformedMessageError(`${mechanism} message must end with two 0x01 octets`, context);
  const pairs = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf(0x3d);
    if (eq <= 0) throw new MalformedMessageError(`${mechanism} message has a field that is not key=value`, context);
    const key = decodeUtf8(part.subarray(0, eq), `${mechanism} key`, context);
    if (!KEY.test(key)) throw new MalformedMessageError(`${mechanism} key must be letters only`, context);
    const value = decodeUtf8(part.subarray(eq + 1), `${mechanism} value`, context);
    if (BAD_VALUE_CHAR.test(value))
      throw new MalformedMessageError(`${mechanism} value contains a control character`, context);
    if (pairs.has(key)) throw new MalformedMessageError(`${mechanism} message repeats a key`, context);
    pairs.set(key, value);
  }
  return pairs;
}

/**
 * Extracts the token from an `auth=` value: `Bearer` (any case), one or more spaces, and an
 * RFC 6750 b64token. Anything else (another scheme, an empty token) is malformed.
 */
export function parseBearerAuth(value: string, mechanism: string): string {
  const context = { mechanism, party: 'client' as const };
  const scheme = BEARER.exec(value);
  if (!scheme) throw new MalformedMessageError(`${mechanism} auth value must use the Bearer scheme`, context);
  const token = value.slice(scheme[0].length);
  if (token === '') throw new MalformedMessageError(`${mechanism} bearer token is empty`, context);
  if (!B64TOKEN.test(token))
    throw new MalformedMessageError(`${mechanism} bearer token is not a valid b64token`, context);
  return token;
}

/**
 * Server side: refuses a requested user (XOAUTH2's `user=`, OAUTHBEARER's `a=`) that contains a
 * C0 control (HTAB, CR and LF included), DEL or a C1 control, with {@link MalformedMessageError}.
 */
export function checkBearerUser(user: string, mechanism: string): void {
  if (USER_CONTROL.test(user))
    throw new MalformedMessageError(`${mechanism} user contains a control character`, { mechanism, party: 'client' });
}

/** Client side: rejects a token or field that would break the framing. Never shows the value. */
export function checkClientField(value: string, what: string, mechanism: string): void {
  if (CONTROL.test(value) || !isWellFormed(value))
    throw new UsageError(`${mechanism} ${what} must be well-formed text without control characters`, { mechanism });
}

/** The 0x01-separated pairs, each terminated, plus the final terminator. */
export function encodeKeyValues(pairs: readonly (readonly [string, string])[]): string {
  return `${pairs.map(([key, value]) => `${key}=${value}\x01`).join('')}\x01`;
}

/**
 * Encodes a token error as the JSON challenge: `status`, then `schemes`, `scope` and
 * `openid-configuration` when set (the order of RFC 7628's and Google's examples). `newline`
 * appends the LF that Google's XOAUTH2 servers send.
 */
export function encodeTokenError(error: TokenError, newline = false): Uint8Array {
  const body: Record<string, string> = { status: error.status };
  if (error.schemes !== undefined) body['schemes'] = error.schemes;
  if (error.scope !== undefined) body['scope'] = error.scope;
  if (error.openidConfiguration !== undefined) body['openid-configuration'] = error.openidConfiguration;
  return utf8(JSON.stringify(body) + (newline ? '\n' : ''));
}

/** The fields of a server's error challenge, as far as they could be read. */
export interface ParsedTokenError {
  /** The status, e.g. `invalid_token` or `401`. */
  readonly status?: string;
  /** The scope the server asks for. */
  readonly scope?: string;
  /** The schemes the server accepts. */
  readonly schemes?: string;
  /** Where to find the OpenID configuration. */
  readonly openidConfiguration?: string;
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads a server's error challenge tolerantly: bad UTF-8, bad JSON or missing fields give
 * an object with fewer fields, never an error, because the exchange fails anyway and the
 * status is only a hint for the user.
 */
export function parseTokenError(data: Uint8Array): ParsedTokenError {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const record = body as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const [key, name] of [
    ['status', 'status'],
    ['scope', 'scope'],
    ['schemes', 'schemes'],
    ['openid-configuration', 'openidConfiguration'],
  ] as const) {
    const value = stringField(record, key);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

/** Throws {@link UsageError} when the server has no token validator. */
export function requireValidator(
  options: ServerOptions,
  mechanism: string,
): NonNullable<ServerOptions['validateToken']> {
  const validate = options.validateToken;
  if (!validate) throw new UsageError(`${mechanism} needs a validateToken option`, { mechanism });
  return validate;
}

/** The effect that asks the application's validator about a token. */
export function validateTokenEffect(options: ServerOptions, request: TokenRequest): Effect<TokenResult> {
  const validate = requireValidator(options, request.mechanism);
  return effect('hook', () => validate(request));
}

function isText(value: unknown): value is string {
  return typeof value === 'string';
}

/** Checks the validator's verdict, since it comes from application code (maybe plain JS). */
function checkVerdict(verdict: unknown, mechanism: string): TokenResult {
  if (typeof verdict === 'object' && verdict !== null) {
    const record = verdict as Record<string, unknown>;
    const error = record['error'];
    if (typeof error === 'object' && error !== null) {
      const e = error as Record<string, unknown>;
      const optional = [e['scope'], e['schemes'], e['openidConfiguration']].every((v) => v === undefined || isText(v));
      if (isText(e['status']) && e['status'] !== '' && optional) return { error: error as TokenError };
    } else if (error === undefined && isText(record['authcid']) && record['authcid'] !== '') {
      return { authcid: record['authcid'] };
    }
  }
  throw new UsageError(`${mechanism} validateToken must return { authcid } or { error: { status } }`, { mechanism });
}

/** How a mechanism's failure step looks on the wire. */
export interface TokenFailureStyle {
  /** The only reply the client may send after the error challenge: empty (XOAUTH2) or 0x01 (OAUTHBEARER). */
  readonly dummyReply: Uint8Array;
  /** Append an LF to the JSON, as Google's XOAUTH2 servers do. */
  readonly newline: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Server side of a rejected token: sends the error challenge, requires the client's dummy
 * reply, then fails with the status in `serverError`.
 */
export function* failWithTokenError(
  mechanism: string,
  error: TokenError,
  style: TokenFailureStyle,
): Generator<Uint8Array, never, unknown> {
  const reply = yield* challenge(encodeTokenError(error, style.newline));
  if (!sameBytes(reply, style.dummyReply)) {
    throw new MalformedMessageError(
      `${mechanism} expects ${style.dummyReply.length === 0 ? 'an empty reply' : 'a single 0x01'} after an error challenge`,
      { mechanism, party: 'client' },
    );
  }
  throw new AuthenticationFailedError(undefined, { mechanism, party: 'client', serverError: error.status });
}

/**
 * Server side after parsing: refuses a requested user with control characters
 * ({@link checkBearerUser}), validates the token, runs the failure step on an error, then
 * applies the authorization policy to the requested user (empty or equal: the token's owner).
 * An empty token (OAUTHBEARER discovery) is shown to the validator so that it can answer with
 * its scope, but never succeeds.
 */
export function* authenticateBearer(
  options: ServerOptions,
  mechanism: string,
  claim: BearerCredentials,
  style: TokenFailureStyle,
): Generator<ServerYield, Authenticated, unknown> {
  checkBearerUser(claim.user, mechanism);
  const request: TokenRequest = { mechanism, token: claim.token, user: claim.user, host: claim.host, port: claim.port };
  let verdict = checkVerdict(yield* perform(validateTokenEffect(options, request)), mechanism);
  if (claim.token === '' && !('error' in verdict)) verdict = { error: { status: 'invalid_token' } };
  if ('error' in verdict) return yield* failWithTokenError(mechanism, verdict.error, style);
  const authzid = yield* authorize(options, mechanism, verdict.authcid, claim.user);
  return { mechanism, authcid: verdict.authcid, authzid };
}

/**
 * Client side of both mechanisms: sends `message`; on success returns; on an error challenge
 * answers `dummyReply` and, when the server then reports failure, throws
 * {@link AuthenticationFailedError} with the server's status in `serverError`.
 */
export function* bearerClient(
  mechanism: string,
  message: Uint8Array,
  dummyReply: Uint8Array,
): Generator<ClientYield, ClientOutcome, unknown> {
  const reply = yield* respond(message);
  if (reply instanceof ServerSuccess) {
    if (reply.data !== undefined && reply.data.length > 0)
      throw new UnexpectedMessageError(`${mechanism} expects no data with success`, { mechanism, party: 'server' });
    return { serverVerified: false };
  }
  if (reply.length === 0)
    throw new UnexpectedMessageError(`${mechanism} expects an error challenge or the outcome, not an empty challenge`, {
      mechanism,
      party: 'server',
    });
  const details = parseTokenError(reply);
  let after: ServerReply;
  try {
    after = yield* respond(dummyReply);
  } catch (error) {
    // The driver throws the server's failure in here. Keep its message (a protocol adapter
    // may have put the reply code there) and put the OAuth status, the more useful reason, in
    // serverError; the adapter's own serverError remains on the cause.
    if (isSaslError(error) && error.code === 'AUTHENTICATION_FAILED') {
      const prior = (error as { serverError?: unknown }).serverError;
      const fallback = typeof prior === 'string' ? prior : undefined;
      throw new AuthenticationFailedError(error.message, {
        mechanism,
        party: error.party,
        serverError: details.status ?? fallback,
        cause: error,
      });
    }
    throw error;
  }
  const what =
    after instanceof ServerSuccess
      ? 'reported success after an error challenge'
      : 'sent a second challenge after an error challenge';
  throw new UnexpectedMessageError(`the server ${what}`, { mechanism, party: 'server' });
}
