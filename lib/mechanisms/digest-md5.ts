/**
 * DIGEST-MD5 (RFC 2831) with `qop=auth` only: authentication, no integrity or confidentiality
 * layer.
 *
 * **Deprecated.** RFC 6331 moved DIGEST-MD5 to Historic: its MD5-based construction is weak,
 * implementations disagree on its many options, and it has no channel binding. It is built in
 * for interoperability with legacy peers only, is not in {@link SASLAuth.defaults}, and new
 * deployments should use SCRAM.
 *
 * The exchange follows RFC 2831's model: the server challenges, the client responds, and the
 * server proves that it knows the password too by sending `rspauth=...` as a final challenge,
 * which the client verifies and answers with an empty response (the IMAP and POP3 examples).
 * The client also accepts `rspauth` as additional data with success (ACAP, XMPP, ManageSieve).
 *
 * Why one long file (about 570 lines; issue 12): one mechanism per file is the house rule, and
 * the client and server share the directive grammar and the digest computation. A reader's map,
 * top to bottom: the grammar (the RFC 2831 character classes, `parseDirectives` and the value
 * helpers); the digests (`computeDigestMd5`); the server (`parseResponse`, the digest-uri
 * checks, `digestMd5Server`); the client (`parseChallenge`, `parseRspauth`,
 * `digestMd5Client`); and last the mechanism objects.
 * @module
 */
import {
  concat,
  constantTimeEqual,
  decodeUtf8,
  fromLatin1,
  isWellFormed,
  latin1,
  toBase64,
  toHex,
  utf8,
} from '../core/bytes.js';
import { md5, randomBytes } from '../crypto/ops.js';
import type { ClientCredentials } from '../passwords/credentials.js';
import {
  AuthenticationFailedError,
  MalformedMessageError,
  MechanismUnavailableError,
  ServerNotVerifiedError,
  UnexpectedMessageError,
  UsageError,
  type Party,
} from '../core/errors.js';
import {
  type ClientExchange,
  NO_INITIAL_RESPONSE,
  type ServerExchange,
  ServerSuccess,
  challenge,
  perform,
  respond,
  respondForChallenge,
} from '../core/exchange.js';
import type { ClientOptions, ClientMechanism, Mechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { trySaslprep } from '../passwords/saslprep.js';
import { authorize, checkFieldLength, lookupEffect, unusableAccountError } from '../passwords/server-auth.js';

const NAME = 'DIGEST-MD5';
const NC = '00000001';
// Hashed when the user does not exist, so that an unknown user costs the same as a wrong password.
const DUMMY_PASSWORD = 'saslkit-unknown-user-placeholder';

// RFC 2616 token characters: CHAR except CTLs and separators.
const TOKEN_CHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
// RFC 2831 digest-uri-value: serv-type "/" host [ "/" serv-name ].
const SERV_TYPE = /^[A-Za-z]+$/;
const HOST = /^[A-Za-z0-9.-]+$/;
const DIGEST_URI = /^[A-Za-z]+\/[A-Za-z0-9.-]+(?:\/[A-Za-z0-9.-]+)?$/;
const LHEX32 = /^[0-9a-f]{32}$/;
// saslkit only handles nonces of printable ASCII, which is what every implementation sends.
const PRINTABLE = /^[\x20-\x7e]+$/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- the whole ISO 8859-1 range, controls included
const LATIN1 = /^[\x00-\xff]*$/;

type Context = { readonly mechanism: string; readonly party: Party };
const FROM_CLIENT: Context = { mechanism: NAME, party: 'client' };
const FROM_SERVER: Context = { mechanism: NAME, party: 'server' };

interface Directive {
  readonly name: string;
  readonly value: string;
}

/**
 * Parses RFC 2831's comma-separated `name=value` list, where a value is a token or a
 * quoted-string with backslash escapes. Works on a latin1 view of the bytes (one character per
 * octet); names are lower-cased. Empty list elements and spaces around separators are allowed,
 * as RFC 2616's #rule says.
 */
function parseDirectives(data: Uint8Array, what: string, context: Context): Directive[] {
  const text = latin1(data);
  const fail = (problem: string): MalformedMessageError => new MalformedMessageError(`${what} ${problem}`, context);
  const directives: Directive[] = [];
  const n = text.length;
  let i = 0;
  const skipSpace = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(text[i] as string)) i++;
    return text.slice(start, i);
  };
  for (;;) {
    skipSpace();
    if (i >= n) break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    const name = readToken().toLowerCase();
    if (name === '') throw fail('has a directive without a name');
    skipSpace();
    if (text[i] !== '=') throw fail('has a directive without a value');
    i++;
    skipSpace();
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw fail('has an unterminated quoted string');
        let c = text.charCodeAt(i);
        if (c === 0x22) {
          i++;
          break;
        }
        if (c === 0x5c) {
          i++;
          if (i >= n) throw fail('has an unterminated quoted string');
          c = text.charCodeAt(i);
          if (c > 0x7e || c < 0x20) throw fail('escapes a character that cannot be escaped');
        } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
          throw fail('has a control character in a quoted string');
        }
        value += text.charAt(i);
        i++;
      }
    } else {
      value = readToken();
      if (value === '') throw fail('has a directive with an empty value');
    }
    directives.push({ name, value });
    skipSpace();
    if (i < n && text[i] !== ',') throw fail('must separate directives with commas');
  }
  return directives;
}

/**
 * Parses a DIGEST-MD5 challenge (`party` `'server'`) or response (`'client'`) into its
 * directives with the parser the exchange uses: names lower-cased, values unquoted, one
 * character per octet. Throws {@link MalformedMessageError}. For tools that show messages, such
 * as the CLI's `--trace`, which must find `response=` and `rspauth=` exactly where the exchange does.
 */
export function parseDigestMd5Directives(
  message: Uint8Array,
  party: Party = 'client',
): { readonly name: string; readonly value: string }[] {
  return party === 'client'
    ? parseDirectives(message, 'DIGEST-MD5 response', FROM_CLIENT)
    : parseDirectives(message, 'DIGEST-MD5 challenge', FROM_SERVER);
}

/** Groups directives by name; names in `single` may appear at most once. */
function group(
  directives: readonly Directive[],
  single: readonly string[],
  what: string,
  context: Context,
): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const { name, value } of directives) {
    const values = byName.get(name);
    if (values === undefined) byName.set(name, [value]);
    else if (single.includes(name)) throw new MalformedMessageError(`${what} repeats a directive`, context);
    else values.push(value);
  }
  return byName;
}

/** Decodes a quoted value that carries text: UTF-8 under `charset=utf-8`, else ISO 8859-1. */
function textValue(value: string, utf8Mode: boolean, what: string, context: Context): string {
  return utf8Mode ? decodeUtf8(fromLatin1(value), what, context) : value;
}

/** Encodes text as it travels in a message: UTF-8 under `charset=utf-8`, else ISO 8859-1. */
function wireBytes(text: string, utf8Mode: boolean): Uint8Array {
  return utf8Mode ? utf8(text) : fromLatin1(text);
}

/**
 * RFC 2831 section 2.1.2.1: user name, realm and password are hashed in ISO 8859-1 whenever all
 * their characters fit, even under `charset=utf-8`, so that stored H(A1) values are shared
 * with HTTP Digest. Each string is converted on its own, as Cyrus SASL does.
 */
function hashForm(text: string): Uint8Array {
  return LATIN1.test(text) ? fromLatin1(text) : utf8(text);
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

function md5Hex(text: string): string {
  return toHex(md5(fromLatin1(text)));
}

/** The inputs of a DIGEST-MD5 computation. `nonce`, `cnonce` and `digestUri` are ASCII. */
export interface DigestMd5Input {
  /** The user name, as sent. */
  readonly username: string;
  /** The realm the client chose; `''` when the server offered none. */
  readonly realm: string;
  /** The clear-text password. */
  readonly password: string;
  /** The server's nonce. */
  readonly nonce: string;
  /** The client's nonce. */
  readonly cnonce: string;
  /** `<service>/<host>`, e.g. `imap/elwood.innosoft.com`. */
  readonly digestUri: string;
  /** The authorization identity; `''` or undefined when the client sent none. */
  readonly authzid?: string | undefined;
  /** Whether `charset=utf-8` was in effect (default true); only changes how `authzid` is encoded. */
  readonly utf8?: boolean | undefined;
}

/** The two digests of an exchange, lower-case hex. */
export interface DigestMd5Digests {
  /** The client's `response` value (A2 = `AUTHENTICATE:` digest-uri). */
  readonly response: string;
  /** The server's `rspauth` value (A2 = `:` digest-uri). */
  readonly rspauth: string;
}

/** Computes `response` and `rspauth` for `algorithm=md5-sess`, `qop=auth`, `nc=00000001`. */
export function computeDigestMd5(input: DigestMd5Input): DigestMd5Digests {
  const colon = Uint8Array.of(0x3a);
  const secret = md5(concat(hashForm(input.username), colon, hashForm(input.realm), colon, hashForm(input.password)));
  const a1 = [secret, fromLatin1(`:${input.nonce}:${input.cnonce}`)];
  if (input.authzid !== undefined && input.authzid !== '') a1.push(colon, wireBytes(input.authzid, input.utf8 ?? true));
  const ha1 = toHex(md5(concat(...a1)));
  const kd = (a2: string): string => md5Hex(`${ha1}:${input.nonce}:${NC}:${input.cnonce}:auth:${md5Hex(a2)}`);
  return { response: kd(`AUTHENTICATE:${input.digestUri}`), rspauth: kd(`:${input.digestUri}`) };
}

function randomNonce(): string {
  return toBase64(randomBytes(24));
}

/** A client response, parsed and checked for form; not verified. */
interface ParsedResponse {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly cnonce: string;
  readonly digestUri: string;
  readonly response: string;
  readonly authzid: string;
  readonly utf8: boolean;
}

const RESPONSE_DIRECTIVES = [
  'username',
  'realm',
  'nonce',
  'cnonce',
  'nc',
  'qop',
  'digest-uri',
  'response',
  'maxbuf',
  'charset',
  'cipher',
  'authzid',
];

function parseResponse(data: Uint8Array, options: ServerOptions): ParsedResponse {
  const what = 'DIGEST-MD5 response';
  const fail = (problem: string): MalformedMessageError => new MalformedMessageError(`${what} ${problem}`, FROM_CLIENT);
  const byName = group(parseDirectives(data, what, FROM_CLIENT), RESPONSE_DIRECTIVES, what, FROM_CLIENT);
  const get = (name: string): string | undefined => byName.get(name)?.[0];
  const required = (name: string): string => {
    const value = get(name);
    if (value === undefined) throw fail(`has no ${name}`);
    return value;
  };
  const charset = get('charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw fail('names a charset other than utf-8');
  const utf8Mode = charset !== undefined;
  const username = textValue(required('username'), utf8Mode, 'DIGEST-MD5 username', FROM_CLIENT);
  const realm = textValue(required('realm'), utf8Mode, 'DIGEST-MD5 realm', FROM_CLIENT);
  const authzidValue = get('authzid');
  const authzid =
    authzidValue === undefined ? '' : textValue(authzidValue, utf8Mode, 'DIGEST-MD5 authzid', FROM_CLIENT);
  const nonce = required('nonce');
  const cnonce = required('cnonce');
  const digestUri = required('digest-uri');
  const response = required('response');
  if (username === '') throw fail('has an empty username');
  if (!PRINTABLE.test(nonce) || !PRINTABLE.test(cnonce)) throw fail('has an empty or non-ASCII nonce or cnonce');
  if (required('nc') !== NC) throw fail('must use nc=00000001 (subsequent authentication is not supported)');
  if (required('qop') !== 'auth') throw fail('must use qop=auth (no security layer is offered)');
  if (!DIGEST_URI.test(digestUri)) throw fail('has a malformed digest-uri');
  if (!LHEX32.test(response)) throw fail('response must be 32 lower-case hex digits');
  checkFieldLength(options, NAME, 'DIGEST-MD5 username', utf8(username).length);
  checkFieldLength(options, NAME, 'DIGEST-MD5 realm', utf8(realm).length);
  checkFieldLength(options, NAME, 'DIGEST-MD5 authzid', utf8(authzid).length);
  return { username, realm, nonce, cnonce, digestUri, response, authzid, utf8: utf8Mode };
}

/** A host name as digest-uri comparisons see it: lower-case, without a trailing dot. */
function hostKey(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** What a digest-uri must name: the service (when known) and the names of this server. Checked at start, so a bad option shows up before any client. */
interface Expected {
  readonly service: string | undefined;
  readonly names: ReadonlySet<string>;
}

function expectedUri(options: ServerOptions, hostname: string): Expected {
  const { service, hostAliases } = options;
  if (service !== undefined && (typeof service !== 'string' || !SERV_TYPE.test(service)))
    throw new UsageError('service must be letters only (imap, smtp, pop ...)', { mechanism: NAME });
  if (
    hostAliases !== undefined &&
    (!Array.isArray(hostAliases) || !hostAliases.every((alias) => typeof alias === 'string'))
  )
    throw new UsageError('hostAliases must be an array of host names', { mechanism: NAME });
  return { service: service?.toLowerCase(), names: new Set([hostname, ...(hostAliases ?? [])].map(hostKey)) };
}

/**
 * RFC 2831 section 2.1.2: the server checks that digest-uri names it. A response computed for
 * another host was obtained by whoever runs that host, and relaying it to us is the attack the
 * check stops. The peer sees an ordinary failure (the same for every user: this runs before
 * the lookup); the reason is the error's cause, for the operator.
 */
function checkDigestUri(digestUri: string, expected: Expected): void {
  const [servType = '', host = '', servName] = digestUri.split('/');
  let problem: string | undefined;
  if (expected.service !== undefined && servType.toLowerCase() !== expected.service)
    problem = 'DIGEST-MD5 digest-uri names another service';
  else if (!expected.names.has(hostKey(host)))
    problem = 'DIGEST-MD5 digest-uri names a host that is not this server (hostname, hostAliases)';
  else if (servName !== undefined && !expected.names.has(hostKey(servName)))
    problem = 'DIGEST-MD5 digest-uri names a serv-name that is not this server (hostname, hostAliases)';
  if (problem !== undefined) {
    throw new AuthenticationFailedError(undefined, {
      ...FROM_CLIENT,
      cause: new AuthenticationFailedError(`${problem} (RFC 2831 section 2.1.2)`, FROM_CLIENT),
    });
  }
}

/**
 * The DIGEST-MD5 server exchange with an injectable nonce source. `makeNonce` exists so tests
 * can reproduce the RFC examples; applications use {@link DIGEST_MD5}, whose nonces come from
 * the CSPRNG.
 */
export function* digestMd5Server(
  options: ServerOptions,
  initial: Uint8Array | undefined,
  makeNonce: () => string = randomNonce,
): ServerExchange {
  if (initial !== undefined)
    throw new UnexpectedMessageError(
      'DIGEST-MD5 is server-first: the client must not send an initial response',
      FROM_CLIENT,
    );
  const realm = options.hostname ?? 'localhost';
  if (CONTROL.test(realm)) throw new UsageError('hostname must not contain control characters', { mechanism: NAME });
  const expected = expectedUri(options, realm);
  const nonce = makeNonce();
  if (!PRINTABLE.test(nonce)) throw new UsageError('DIGEST-MD5 nonces must be printable ASCII', { mechanism: NAME });
  const message = yield* challenge(
    utf8(`realm=${quote(realm)},nonce=${quote(nonce)},qop="auth",algorithm=md5-sess,charset=utf-8`),
  );
  const claim = parseResponse(message, options);
  if (claim.realm !== realm)
    throw new MalformedMessageError('DIGEST-MD5 response names a realm the server did not offer', FROM_CLIENT);
  checkDigestUri(claim.digestUri, expected);
  // A response to another nonce is a replay; it fails like a wrong password.
  if (!constantTimeEqual(claim.nonce, nonce)) throw new AuthenticationFailedError(undefined, FROM_CLIENT);
  // The store is asked for the prepared name, as PLAIN does; the hash uses the name as sent.
  const prepared = trySaslprep(claim.username, { allowUnassigned: true });
  const identity =
    prepared === undefined || prepared === '' ? undefined : yield* perform(lookupEffect(options, NAME, prepared));
  const clear = identity?.getClearSecret();
  // An account without a clear-text password computes the unknown user's digest and fails like
  // it (the reply must not tell that the account exists); the real reason is the error's cause.
  const unusable = identity !== undefined && clear === undefined;
  // A lone surrogate would be hashed as U+FFFD and match another password; such a secret never matches.
  const usable = clear !== undefined && clear !== '' && isWellFormed(clear);
  const digests = computeDigestMd5({ ...claim, password: usable ? clear : DUMMY_PASSWORD });
  const responseOk = constantTimeEqual(digests.response, claim.response);
  const authcidOk = identity !== undefined && identity.compareAuthcid(claim.username);
  if (unusable) throw unusableAccountError(NAME, 'DIGEST-MD5 needs a clear-text password for this account');
  if (identity === undefined || !usable || !responseOk || !authcidOk)
    throw new AuthenticationFailedError(undefined, FROM_CLIENT);
  const authzid = yield* authorize(options, NAME, identity.authcid, claim.authzid);
  const ack = yield* challenge(utf8(`rspauth=${digests.rspauth}`));
  if (ack.length !== 0) throw new MalformedMessageError('DIGEST-MD5 expects an empty response to rspauth', FROM_CLIENT);
  return { mechanism: NAME, authcid: identity.authcid, authzid, identity };
}

/** A server challenge, parsed and checked. */
interface ParsedChallenge {
  readonly realms: string[];
  readonly nonce: string;
  readonly utf8: boolean;
}

const CHALLENGE_SINGLES = ['nonce', 'qop', 'stale', 'maxbuf', 'charset', 'algorithm', 'cipher'];

function parseChallenge(data: Uint8Array): ParsedChallenge {
  const what = 'DIGEST-MD5 challenge';
  const fail = (problem: string): MalformedMessageError => new MalformedMessageError(`${what} ${problem}`, FROM_SERVER);
  const byName = group(parseDirectives(data, what, FROM_SERVER), CHALLENGE_SINGLES, what, FROM_SERVER);
  const get = (name: string): string | undefined => byName.get(name)?.[0];
  const nonce = get('nonce');
  if (nonce === undefined || !PRINTABLE.test(nonce)) throw fail('has no nonce, or one that is not printable ASCII');
  if (get('algorithm')?.toLowerCase() !== 'md5-sess') throw fail('must say algorithm=md5-sess');
  const charset = get('charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw fail('names a charset other than utf-8');
  const qop = get('qop');
  // RFC 2831: a missing qop means "auth".
  if (qop !== undefined && !qop.split(',').some((option) => option.trim() === 'auth')) {
    throw new MechanismUnavailableError('the server does not offer DIGEST-MD5 with qop=auth', FROM_SERVER);
  }
  const utf8Mode = charset !== undefined;
  const realms = (byName.get('realm') ?? []).map((realm) =>
    textValue(realm, utf8Mode, 'DIGEST-MD5 realm', FROM_SERVER),
  );
  return { realms, nonce, utf8: utf8Mode };
}

function parseRspauth(data: Uint8Array): string {
  const what = 'DIGEST-MD5 rspauth';
  const byName = group(parseDirectives(data, what, FROM_SERVER), ['rspauth'], what, FROM_SERVER);
  const rspauth = byName.get('rspauth')?.[0];
  if (rspauth === undefined || !LHEX32.test(rspauth))
    throw new MalformedMessageError(`${what} must be 32 lower-case hex digits`, FROM_SERVER);
  return rspauth;
}

/**
 * The DIGEST-MD5 client exchange with an injectable cnonce source. `makeCnonce` exists so
 * tests can reproduce the RFC examples byte for byte; applications use {@link DIGEST_MD5},
 * whose cnonces come from the CSPRNG.
 */
export function* digestMd5Client(
  credentials: ClientCredentials,
  options: ClientOptions = {},
  makeCnonce: () => string = randomNonce,
): ClientExchange {
  const { host, service } = options;
  if (host === undefined || service === undefined)
    throw new UsageError('DIGEST-MD5 needs the host and service client options for its digest-uri', {
      mechanism: NAME,
    });
  if (!SERV_TYPE.test(service) || !HOST.test(host))
    throw new UsageError(
      'DIGEST-MD5 digest-uri needs a service of letters and a host of letters, digits, dots and hyphens',
      { mechanism: NAME },
    );
  const { authcid: username, authzid, secret: password } = credentials;
  if (username === '' || CONTROL.test(username) || CONTROL.test(authzid))
    throw new UsageError('DIGEST-MD5 user name must be non-empty and names must not contain control characters', {
      mechanism: NAME,
    });
  if (!isWellFormed(username) || !isWellFormed(authzid) || !isWellFormed(password))
    throw new UsageError('DIGEST-MD5 credentials must be well-formed Unicode', { mechanism: NAME });
  const offer = parseChallenge(yield* respondForChallenge(NO_INITIAL_RESPONSE, NAME));
  if (!offer.utf8 && !(LATIN1.test(username) && LATIN1.test(authzid) && LATIN1.test(password))) {
    throw new UsageError('the server does not accept UTF-8, and the credentials do not fit ISO 8859-1', {
      mechanism: NAME,
    });
  }
  const cnonce = makeCnonce();
  if (!PRINTABLE.test(cnonce)) throw new UsageError('DIGEST-MD5 cnonces must be printable ASCII', { mechanism: NAME });
  // With several realms the first is taken; with none the realm is empty and not sent (RFC 2831 2.1.2).
  const realm = offer.realms[0];
  const digestUri = `${service}/${host}`;
  const digests = computeDigestMd5({
    username,
    realm: realm ?? '',
    password,
    nonce: offer.nonce,
    cnonce,
    digestUri,
    authzid,
    utf8: offer.utf8,
  });
  const parts: string[] = [];
  if (offer.utf8) parts.push('charset=utf-8');
  parts.push(`username=${quote(username)}`);
  if (realm !== undefined) parts.push(`realm=${quote(realm)}`);
  parts.push(
    `nonce=${quote(offer.nonce)}`,
    `nc=${NC}`,
    `cnonce=${quote(cnonce)}`,
    `digest-uri=${quote(digestUri)}`,
    `response=${digests.response}`,
    'qop=auth',
  );
  if (authzid !== '') parts.push(`authzid=${quote(authzid)}`);
  const reply = yield* respond(wireBytes(parts.join(','), offer.utf8));
  let final: Uint8Array;
  if (reply instanceof ServerSuccess) {
    if (reply.data === undefined || reply.data.length === 0)
      throw new ServerNotVerifiedError('the server reported success without sending rspauth', { mechanism: NAME });
    final = reply.data;
  } else {
    final = reply;
  }
  if (!constantTimeEqual(parseRspauth(final), digests.rspauth))
    throw new ServerNotVerifiedError('the server sent a wrong rspauth', { mechanism: NAME });
  // Returning after a challenge makes the driver answer it with the empty response RFC 2831 asks for.
  return { serverVerified: true };
}

/**
 * The DIGEST-MD5 client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link DIGEST_MD5} has the same client.
 */
export const digestMd5ClientMechanism: ClientMechanism = {
  name: NAME,
  clientFirst: false,
  priority: 30,

  client(credentials, options) {
    return digestMd5Client(credentials, options);
  },
};

/**
 * The DIGEST-MD5 mechanism (deprecated, see the module notes). Server-first; opt-in with
 * `SASLAuth.named(['DIGEST-MD5'])`.
 *
 * Server: the challenge is `realm="<hostname>",nonce="<24 random bytes, base64>",qop="auth",
 * algorithm=md5-sess,charset=utf-8` (RFC 2831's example order). The store's identities need a
 * clear-text password ({@link ClearIdentity}); others fail like an unknown user, with
 * {@link AuthenticationFailedError}, whose `cause` is a {@link MechanismUnavailableError}.
 * The response must name our realm and nonce, `nc=00000001` and `qop=auth`, and its digest-uri
 * must name this server (RFC 2831 section 2.1.2): serv-type `options.service` when set (the
 * protocol profiles set it: `smtp`, `imap`, `pop`, `sieve`, `xmpp`), host and serv-name (if
 * sent) `options.hostname` (default `localhost`) or one of `options.hostAliases`, without case.
 * The realm and nonce do not stop a relay (a hostile server passes our challenge on to its
 * victim unchanged); the digest-uri does, since the victim computed it for the host it reached.
 * A mismatch fails with {@link AuthenticationFailedError}, the reason in its `cause`.
 *
 * Client: needs `host` and `service` in its options for the digest-uri (`imap/mail.example.com`),
 * takes the first realm offered (none: sends no realm), and verifies `rspauth` before returning
 * `{ serverVerified: true }`; a wrong or missing rspauth is a {@link ServerNotVerifiedError}.
 */
export const DIGEST_MD5: Mechanism = {
  name: NAME,
  clientFirst: false,
  priority: 30,

  server(options, initial) {
    return digestMd5Server(options, initial);
  },

  client: (credentials, options) => digestMd5ClientMechanism.client(credentials, options),
};
