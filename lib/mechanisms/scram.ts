/**
 * SCRAM-SHA-1, SCRAM-SHA-256 and SCRAM-SHA-512, with their channel-binding -PLUS variants
 * (RFC 5802, RFC 7677, RFC 5929, RFC 9266): one implementation, parameterised by hash.
 *
 * Client: SASLprep of the user name (query profile) and password (stored profile); a random
 * 24-byte nonce; strict parsing of server-first (the server nonce must extend the client's, the
 * salt must be strict base64, `m=` is refused, the iteration count must lie in
 * [4096, `scram.maxIterations`]); PBKDF2 through the `derive` effect, with a small cache; and the
 * server signature is ALWAYS checked, in constant time, before the client reports success.
 *
 * Server: strict parsing of both client messages, channel-binding checks with downgrade
 * detection, keys from the identity the `lookup` option returns (one call to `scramCredential` in
 * `server-auth.ts`; cached in a `ScramCache`), and
 * deterministic fake salts for unknown users so that the reply does not tell whether a user
 * exists. A failure reason is the `serverError` of the thrown error (RFC 5802 `e=` values);
 * with `scram.sendErrors` it is also sent to the client as a last `e=` challenge. A client that
 * receives `e=` as a challenge answers it with an empty response (so the server fails with its
 * own reason rather than an abort) and then fails with an `AuthenticationFailedError` whose
 * `serverError` is the reported value, whatever the server says next.
 *
 * Why one long file (about 850 lines; issue 12): the house rule is one mechanism per file, and
 * the client and server of SCRAM share its message grammar, the nonce source and the error
 * values, so a split would export those internals across files. A reader's map, top to bottom:
 * the shared part (the `e=` values, the iteration bounds, the GS2 header, AuthMessage and the
 * signatures, the nonce source); "Server side" (the client-first and client-final parsers,
 * channel-binding checks, the key plan from `scramCredential` and the derived salts, then the
 * server generator); "Client side" (the server-first and server-final parsers, the salted
 * password cache, the client generator); and last the mechanism objects built per hash.
 * @module
 */
import {
  type ChannelBindingPolicy,
  type ChannelBindingSource,
  type ChannelBindingType,
  clientChannelBinding,
} from '../channel-binding/binding.js';
import { EMPTY, concat, constantTimeEqual, decodeUtf8, fromBase64, toBase64, utf8, utf8Length } from '../core/bytes.js';
import { type CryptoSteps, hmac, randomBytes } from '../crypto/ops.js';
import {
  AuthenticationFailedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
  ServerNotVerifiedError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import {
  type Authenticated,
  type ClientYield,
  type Effect,
  type ServerYield,
  ServerSuccess,
  challenge,
  respond,
} from '../core/exchange.js';
import type { ClientMechanism, ClientOptions, Mechanism } from '../core/mechanism.js';
import {
  DEFAULT_MAX_FIELD_BYTES,
  type ServerOptions,
  scramClientSettings,
  scramServerSettings,
  transportAuthcid,
} from '../core/options.js';
import { DEFAULT_SCRAM_CACHE, SCRAM_CLIENT_CACHE_SIZE, ScramCache } from './scram-cache.js';
import { trySaslprep } from '../passwords/saslprep.js';
import { ScramSecret } from '../passwords/scram-secret.js';
import {
  SCRAM_HASHES,
  SCRAM_SALT_LENGTH,
  type ScramHash,
  performDerive,
  scramHStep,
  scramHmac,
  scramHmacStep,
  scramNormalizePassword,
} from '../passwords/scram-keys.js';
import { type ScramCredential, authorize, checkFieldLength, scramCredential } from '../passwords/server-auth.js';
import { escapeSaslname, formatGs2Header, parseGs2Header, unescapeSaslname } from './gs2.js';

/** The `e=` values of RFC 5802 section 7. */
export const SCRAM_SERVER_ERRORS = [
  'invalid-encoding',
  'extensions-not-supported',
  'invalid-proof',
  'channel-bindings-dont-match',
  'server-does-support-channel-binding',
  'channel-binding-not-supported',
  'unsupported-channel-binding-type',
  'unknown-user',
  'invalid-username-encoding',
  'no-resources',
  'other-error',
] as const;

/** One of {@link SCRAM_SERVER_ERRORS}. */
export type ScramServerError = (typeof SCRAM_SERVER_ERRORS)[number];

/** The lowest iteration count a client accepts (RFC 7677 section 4). */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Default of `ClientOptions.scram.maxIterations`: OWASP's 2023 count for PBKDF2-HMAC-SHA256. */
export const SCRAM_DEFAULT_MAX_ITERATIONS = 600000;
export { SCRAM_CLIENT_CACHE_SIZE };

/** A SCRAM mechanism: which hash, and whether it is the channel-binding (-PLUS) variant. */
export interface ScramMechanism extends Mechanism {
  /** The hash function. */
  readonly hash: ScramHash;
  /** True for SCRAM-*-PLUS. */
  readonly plus: boolean;
}

// printable = %x21-2B / %x2D-7E: the nonce alphabet.
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
// attr-val = ALPHA "=" value; value = 1*value-char (any UTF-8 character but NUL and ",").
const ATTR_VAL = /^[A-Za-z]=[^,\0]+$/;

/**
 * The GS2 header: `n,,`, `y,,` or `p=<type>,,`, with `a=<authzid>` between the commas when an
 * authorization identity is given.
 */
export function scramGs2Header(flag: 'n' | 'y' | ChannelBindingType, authzid = ''): string {
  return flag === 'n' || flag === 'y' ? formatGs2Header(flag, '', authzid) : formatGs2Header('p', flag, authzid);
}

/** The `c=` attribute value: base64 of the GS2 header followed by the binding data (for `p=` only). */
export function scramChannelBindingAttribute(gs2Header: string, bindingData: Uint8Array = EMPTY): string {
  return toBase64(concat(utf8(gs2Header), bindingData));
}

/** AuthMessage := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof. */
export function scramAuthMessage(
  clientFirstBare: string,
  serverFirst: string,
  clientFinalWithoutProof: string,
): Uint8Array {
  return utf8(`${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`);
}

/** ClientSignature := HMAC(StoredKey, AuthMessage). */
export function scramClientSignature(hash: ScramHash, storedKey: Uint8Array, authMessage: Uint8Array): Uint8Array {
  return scramHmac(hash, storedKey, authMessage);
}

/** ServerSignature := HMAC(ServerKey, AuthMessage). */
export function scramServerSignature(hash: ScramHash, serverKey: Uint8Array, authMessage: Uint8Array): Uint8Array {
  return scramHmac(hash, serverKey, authMessage);
}

/** ClientProof := ClientKey XOR ClientSignature; also recovers ClientKey from a proof. */
export function scramXor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new UsageError('SCRAM XOR operands differ in length');
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

// A user name that is not a valid saslname: malformed, with an e= value of its own (RFC 5802
// section 7). A subclass rather than a side table: the error carries its value itself.
class UsernameEncodingError extends MalformedMessageError {}

/**
 * The RFC 5802 `e=` value for an error a SCRAM server exchange threw, or undefined when the
 * error is not one to report to the client (a local usage error). Protocol adapters that can
 * carry failure data use this; `scram.sendErrors` uses it to send the value as a challenge.
 */
export function scramServerErrorOf(error: unknown): ScramServerError | undefined {
  if (!isSaslError(error) || error.party !== 'client') return undefined;
  if (error instanceof UsernameEncodingError) return 'invalid-username-encoding';
  if (error.code === 'AUTHENTICATION_FAILED') {
    // Read structurally: the error may come from the other (ESM or CommonJS) copy of saslkit.
    const reported = (error as { readonly serverError?: unknown }).serverError;
    return SCRAM_SERVER_ERRORS.find((known) => known === reported) ?? 'other-error';
  }
  if (error.code === 'MALFORMED_MESSAGE') return 'invalid-encoding';
  return 'other-error';
}

// 24 random bytes make 32 base64 characters, all printable and none a comma.
const NONCE_BYTES = 24;
// Nonces are cut from a block of CSPRNG output, refilled every 64 nonces: one randomBytes call
// cost more than the rest of a client-first message (a third of the work before PBKDF2). Each
// byte is used once; nonces are public, so holding the next few in memory reveals nothing.
// 24 bytes are exactly 32 base64 characters, so the block is encoded once and cut as text.
const NONCE_CHARS = 32;
const NONCE_BLOCK = NONCE_BYTES * 64;
let nonceBlock = '';
let nonceOffset = 0;

function randomNonce(): string {
  if (nonceOffset + NONCE_CHARS > nonceBlock.length) {
    nonceBlock = toBase64(randomBytes(NONCE_BLOCK));
    nonceOffset = 0;
  }
  const nonce = nonceBlock.slice(nonceOffset, nonceOffset + NONCE_CHARS);
  nonceOffset += NONCE_CHARS;
  return nonce;
}

function testNonce(value: string | undefined, mechanism: string): string | undefined {
  if (value !== undefined && !PRINTABLE.test(value))
    throw new UsageError('scram.nonceForTesting must be printable ASCII without commas', { mechanism });
  return value;
}

// ---------------------------------------------------------------------------------------------
// Server side

/** A parsed client-first-message (exported as `ScramClientFirst`): GS2 header fields, then the bare message. */
export interface ClientFirst {
  readonly gs2Header: string;
  readonly flag: 'n' | 'y' | 'p';
  readonly cbName: string;
  readonly authzid: string;
  readonly authcid: string;
  readonly nonce: string;
  readonly bare: string;
}

function decodeMessage(message: Uint8Array, what: string, mechanism: string, party: 'client' | 'server'): string {
  const text = decodeUtf8(message, what, { mechanism, party });
  if (text.includes('\0')) throw new MalformedMessageError(`${what} contains NUL`, { mechanism, party });
  return text;
}

/** Parses client-first-message (RFC 5802 section 7). Exported for tests and custom servers. */
export function parseScramClientFirst(
  message: Uint8Array,
  mechanism = 'SCRAM',
  options: ServerOptions = {},
): ClientFirst {
  const text = decodeMessage(message, 'SCRAM client-first-message', mechanism, 'client');
  // gs2-header is "cbind,authzid," and the rest is client-first-message-bare.
  const { header, rest: bare } = parseGs2Header(text, mechanism, options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES);
  const parts = bare.split(',');
  if (parts.length < 2) throw badClientFirst('is incomplete', mechanism);
  const user = parts[0] as string;
  const nonce = parts[1] as string;
  if (user.startsWith('m=')) {
    throw new AuthenticationFailedError('SCRAM mandatory extensions are not supported', {
      mechanism,
      party: 'client',
      serverError: 'extensions-not-supported',
    });
  }
  if (!user.startsWith('n=')) throw badClientFirst('does not start with the user name', mechanism);
  checkFieldLength(options, mechanism, 'SCRAM user name', utf8Length(user) - 2);
  let authcid: string;
  try {
    // The transport may have named the user already (PostgreSQL; libpq sends n= empty).
    authcid = transportAuthcid(options) ?? unescapeSaslname(user.slice(2), mechanism);
  } catch (error) {
    throw new UsernameEncodingError((error as Error).message, { mechanism, party: 'client' });
  }
  const nonceValue = nonce.slice(2);
  if (!nonce.startsWith('r=') || !PRINTABLE.test(nonceValue))
    throw badClientFirst('has a missing or invalid nonce', mechanism);
  checkFieldLength(options, mechanism, 'SCRAM nonce', nonceValue.length);
  // Unknown extensions must be ignored (RFC 5802 section 7), but they must still be attr-vals.
  for (let k = 2; k < parts.length; k++)
    if (!ATTR_VAL.test(parts[k] as string)) throw badClientFirst('has an invalid extension', mechanism);
  return {
    gs2Header: header.text,
    flag: header.flag,
    cbName: header.cbName,
    authzid: header.authzid,
    authcid,
    nonce: nonceValue,
    bare,
  };
}

function badClientFirst(why: string, mechanism: string): MalformedMessageError {
  return new MalformedMessageError(`SCRAM client-first-message ${why}`, { mechanism, party: 'client' });
}

/** A parsed client-final-message (exported as `ScramClientFinal`); `withoutProof` is its part in the AuthMessage. */
export interface ClientFinal {
  readonly channelBinding: Uint8Array;
  readonly nonce: string;
  readonly proof: Uint8Array;
  readonly withoutProof: string;
}

/** Parses client-final-message (RFC 5802 section 7). Exported for tests and custom servers. */
export function parseScramClientFinal(message: Uint8Array, hash: ScramHash, mechanism = 'SCRAM'): ClientFinal {
  const context = { mechanism, party: 'client' as const };
  const bad = (why: string): MalformedMessageError =>
    new MalformedMessageError(`SCRAM client-final-message ${why}`, context);
  const text = decodeMessage(message, 'SCRAM client-final-message', mechanism, 'client');
  const parts = text.split(',');
  if (parts.length < 3) throw bad('is incomplete');
  const [c, r] = parts as [string, string];
  const p = parts[parts.length - 1] as string;
  if (!c.startsWith('c=')) throw bad('does not start with the channel binding');
  if (!r.startsWith('r=') || !PRINTABLE.test(r.slice(2))) throw bad('has a missing or invalid nonce');
  if (!p.startsWith('p=')) throw bad('does not end with the proof');
  if (!parts.slice(2, -1).every((attribute) => ATTR_VAL.test(attribute))) throw bad('has an invalid extension');
  const channelBinding = fromBase64(c.slice(2), 'SCRAM channel binding', context);
  const proof = fromBase64(p.slice(2), 'SCRAM proof', context);
  if (proof.length !== SCRAM_HASHES[hash].length) throw bad('has a proof of the wrong length');
  return { channelBinding, nonce: r.slice(2), proof, withoutProof: parts.slice(0, -1).join(',') };
}

function failed(
  message: string,
  mechanism: string,
  serverError: ScramServerError,
  cause?: Error,
): AuthenticationFailedError {
  return new AuthenticationFailedError(message, {
    mechanism,
    party: 'client',
    serverError,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks the GS2 flag against the mechanism and the connection; returns the binding data to
 * expect. `required` is {@link ServerOptions.requireChannelBinding}.
 */
function expectedBinding(
  first: ClientFirst,
  plus: boolean,
  source: ChannelBindingSource | undefined,
  mechanism: string,
  required: boolean,
): Uint8Array {
  const available = source?.types ?? [];
  if (!plus) {
    if (first.flag === 'p')
      throw new MalformedMessageError('SCRAM client sent channel binding with a mechanism without -PLUS', {
        mechanism,
        party: 'client',
      });
    // The client could bind but believes we cannot: someone removed -PLUS from our list.
    if (first.flag === 'y' && available.length > 0)
      throw failed('SCRAM channel-binding downgrade detected', mechanism, 'server-does-support-channel-binding');
    // Policy: over a connection that can bind, only -PLUS. RFC 5802 section 7 has no value for
    // "required"; this one tells the client the server binds, so it should use -PLUS.
    if (required && available.length > 0)
      throw failed(
        'SCRAM channel binding is required on this connection',
        mechanism,
        'server-does-support-channel-binding',
      );
    return EMPTY;
  }
  if (first.flag !== 'p')
    throw new MalformedMessageError('SCRAM -PLUS client sent no channel binding', { mechanism, party: 'client' });
  if (source === undefined || available.length === 0)
    throw failed(
      'SCRAM channel binding is not available on this connection',
      mechanism,
      'channel-binding-not-supported',
    );
  const type = first.cbName as ChannelBindingType;
  const data = available.includes(type) ? source.data(type) : undefined;
  if (data === undefined)
    throw failed(
      'SCRAM channel-binding type is not supported on this connection',
      mechanism,
      'unsupported-channel-binding-type',
    );
  return data;
}

/**
 * What a server exchange reads from its options besides the store: the `scram` group (flat
 * aliases filled in), and the cache with its default salt secret. Keys derived from clear-text
 * accounts are kept in the cache under an HMAC of (hash, count, salt, password), so that a store
 * that builds a new identity object per lookup (a database) hits it too. Only a successful login
 * profits from a hit: a failing one runs its derivation anyway (see `serverExchange`), so the
 * cache cannot tell a prober which names were used lately.
 */
interface ServerContext {
  readonly iterations: number | undefined;
  readonly saltSecret: Uint8Array | string;
  readonly nonceForTesting: string | undefined;
  readonly cache: ScramCache;
}

function serverContext(options: ServerOptions): ServerContext {
  const settings = scramServerSettings(options);
  const cache = settings.cache ?? DEFAULT_SCRAM_CACHE;
  return {
    iterations: settings.iterations,
    saltSecret: settings.saltSecret ?? cache.saltSecret,
    nonceForTesting: settings.nonceForTesting,
    cache,
  };
}

function serverIterations(context: ServerContext, hash: ScramHash, mechanism: string): number {
  const iterations = context.iterations ?? SCRAM_HASHES[hash].defaultIterations;
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 0x7fffffff)
    throw new UsageError('scram.iterations must be a positive integer', { mechanism });
  return iterations;
}

// Deterministic per (secret, hash, name): the same answer every time, so that a probe cannot tell
// a derived salt (clear-text or unknown user) from a stored random one.
function* derivedBytes(
  context: ServerContext,
  label: string,
  hash: ScramHash,
  name: string,
  length: number,
  mechanism: string,
): CryptoSteps<Uint8Array> {
  const out: Uint8Array[] = [];
  const { saltSecret } = context;
  const key = typeof saltSecret === 'string' ? utf8(saltSecret) : saltSecret;
  for (let block = 0; out.length * 64 < length; block++) {
    out.push(yield* hmac('SHA-512', key, utf8(`saslkit-scram-${label}\0${block}\0${hash}\0${name}`), mechanism));
  }
  return concat(...out).subarray(0, length);
}

/**
 * Where the keys of one exchange come from. `salt` and `iterations` go into server-first at once;
 * the keys are either known now (`keys`: stored, or fake for an unknown user) or derived with one
 * PBKDF2 from `password` once the client has sent its proof (a clear-text account, or the decoy
 * of a clear-text store). Deriving after the proof costs nothing for a client that leaves after
 * server-first, and puts every derivation at the same step whoever the user is.
 */
interface KeyPlan {
  readonly salt: Uint8Array;
  readonly iterations: number;
  /** False for an unknown user or an account the server may not use: the exchange fails. */
  readonly real: boolean;
  readonly keys?: ScramSecret;
  readonly password?: string | Uint8Array;
  /** Why a stored account is not used (the error's `cause`). */
  readonly refused?: Error;
}

/**
 * The plan for one login, from what the store gave. An unknown user (or an account the server
 * cannot use) gets the same salt size, count and derivations as the accounts of the store's kind
 * ({@link ScramCredential.decoy}): a store of SCRAM secrets is answered with a secret's count and
 * salt size and derives nothing; a clear-text store (or one saslkit has not seen yet) derives once
 * from a password no one has; any other store derives nothing.
 */
function* planKeys(
  credential: ScramCredential,
  context: ServerContext,
  hash: ScramHash,
  mechanism: string,
): CryptoSteps<KeyPlan> {
  const { name, stored, password, decoy, refused } = credential;
  if (stored !== undefined) return { salt: stored.salt, iterations: stored.iterations, real: true, keys: stored };
  if (password !== undefined)
    return {
      salt: yield* derivedBytes(context, 'salt', hash, name, SCRAM_SALT_LENGTH, mechanism),
      iterations: serverIterations(context, hash, mechanism),
      real: true,
      password,
    };
  const { length } = SCRAM_HASHES[hash];
  const salt = yield* derivedBytes(context, 'salt', hash, name, decoy.saltLength ?? SCRAM_SALT_LENGTH, mechanism);
  const iterations = decoy.iterations ?? serverIterations(context, hash, mechanism);
  const base = { salt, iterations, real: false, ...(refused === undefined ? {} : { refused }) };
  if (decoy.derives)
    return { ...base, password: yield* derivedBytes(context, 'password', hash, name, length, mechanism) };
  const storedKey = yield* derivedBytes(context, 'stored', hash, name, length, mechanism);
  const serverKey = yield* derivedBytes(context, 'server', hash, name, length, mechanism);
  return { ...base, keys: new ScramSecret(hash, salt, iterations, storedKey, serverKey) };
}

/**
 * Empties the shared cache's keys derived from clear-text accounts, for specs that count
 * derivations. A changed password needs no call: it is part of the cache key. @internal
 */
export function clearScramServerCache(): void {
  DEFAULT_SCRAM_CACHE.clearServer();
}

function* serverExchange(
  hash: ScramHash,
  plus: boolean,
  mechanism: string,
  options: ServerOptions,
  initial: Uint8Array | undefined,
): Generator<ServerYield, Authenticated, unknown> {
  const first = parseScramClientFirst(initial ?? (yield* challenge(EMPTY)), mechanism, options);
  const binding = expectedBinding(
    first,
    plus,
    options.channelBindingData,
    mechanism,
    options.requireChannelBinding === true,
  );
  const context = serverContext(options);

  // One call down to the store: lookup, cost cap, stored secret or clear password, decoy shape.
  const authcid = first.authcid;
  const credential = yield* scramCredential(options, mechanism, authcid, hash);
  const { identity } = credential;
  const plan = yield* planKeys(credential, context, hash, mechanism);

  const nonce = first.nonce + (testNonce(context.nonceForTesting, mechanism) ?? randomNonce());
  const serverFirst = `r=${nonce},s=${toBase64(plan.salt)},i=${plan.iterations}`;
  const final = parseScramClientFinal(yield* challenge(utf8(serverFirst)), hash, mechanism);

  if (!constantTimeEqual(final.channelBinding, concat(utf8(first.gs2Header), binding))) {
    throw failed('SCRAM channel bindings do not match', mechanism, 'channel-bindings-dont-match');
  }
  if (final.nonce !== nonce) throw failed('SCRAM nonce does not match', mechanism, 'other-error');

  let secret = plan.keys;
  let derived = false;
  const { cache } = context;
  const cacheKey =
    plan.real && typeof plan.password === 'string'
      ? yield* cache.entryKeyStep('server', hash, plan.password, plan.salt, plan.iterations, mechanism)
      : undefined;
  if (secret === undefined && cacheKey !== undefined) secret = cache.serverKeys(cacheKey);
  if (secret === undefined) {
    const salted = yield* performDerive(hash, plan.password ?? EMPTY, plan.salt, plan.iterations, mechanism);
    derived = true;
    secret = yield* ScramSecret.fromSaltedPasswordSteps(hash, plan.salt, plan.iterations, salted, mechanism);
    if (cacheKey !== undefined) cache.keepServerKeys(cacheKey, secret);
  }

  const authMessage = scramAuthMessage(first.bare, serverFirst, final.withoutProof);
  const clientKey = scramXor(final.proof, yield* scramHmacStep(hash, secret.storedKey, authMessage, mechanism));
  const proofOk = constantTimeEqual(yield* scramHStep(hash, clientKey, mechanism), secret.storedKey);
  const nameOk = identity?.compareAuthcid(authcid) === true;
  // Unknown users fail here, with the same error as a wrong password.
  if (!proofOk || !plan.real || !nameOk) {
    // A failure costs one derivation whenever the store's kind derives, cached keys or not: only
    // the password's owner may profit from the cache, or a probe would learn who logged in lately.
    if (plan.password !== undefined && !derived)
      yield* performDerive(hash, plan.password, plan.salt, plan.iterations, mechanism);
    throw failed('authentication failed', mechanism, 'invalid-proof', plan.refused);
  }

  const authzid = yield* authorize(options, mechanism, identity.authcid, first.authzid);
  const signature = yield* scramHmacStep(hash, secret.serverKey, authMessage, mechanism);
  return { mechanism, authcid: identity.authcid, authzid, identity, additionalData: utf8(`v=${toBase64(signature)}`) };
}

// ---------------------------------------------------------------------------------------------
// Client side

/** A parsed server-first-message (exported as `ScramServerFirst`); `text` is its part in the AuthMessage. */
export interface ServerFirst {
  readonly text: string;
  readonly nonce: string;
  readonly salt: Uint8Array;
  readonly iterations: number;
}

/** The server's `e=` report, when `message` is one (it may replace server-first or server-final). */
function serverErrorIn(message: Uint8Array, mechanism: string): AuthenticationFailedError | undefined {
  if (message[0] !== 0x65 || message[1] !== 0x3d) return undefined;
  const [first = ''] = decodeMessage(message, 'SCRAM server error', mechanism, 'server').split(',');
  return reportedError(first.slice(2), mechanism);
}

/**
 * Answers an `e=` challenge with an empty response and fails with the server's reason whatever
 * comes next: the server then fails with that same reason instead of seeing an abort, and a
 * server that claims success after reporting an error is not believed.
 */
function* acknowledge(error: AuthenticationFailedError): Generator<ClientYield, never, unknown> {
  try {
    yield* respond(EMPTY);
  } catch {
    // The server's failure report: its reason is the one already known.
  }
  throw error;
}

function reportedError(value: string, mechanism: string): AuthenticationFailedError {
  // Unknown values count as other-error (RFC 5802 section 7); the peer's text is never echoed.
  const serverError = (SCRAM_SERVER_ERRORS as readonly string[]).includes(value) ? value : 'other-error';
  return new AuthenticationFailedError('the server reported a SCRAM error', {
    mechanism,
    party: 'server',
    serverError,
  });
}

/** Parses server-first-message on the client side and applies the client's checks. Exported for tests. */
export function parseScramServerFirst(
  message: Uint8Array,
  clientNonce: string,
  mechanism = 'SCRAM',
  maxIterations = SCRAM_DEFAULT_MAX_ITERATIONS,
): ServerFirst {
  const context = { mechanism, party: 'server' as const };
  const bad = (why: string): MalformedMessageError =>
    new MalformedMessageError(`SCRAM server-first-message ${why}`, context);
  const text = decodeMessage(message, 'SCRAM server-first-message', mechanism, 'server');
  if (text.startsWith('e=')) throw reportedError(text.slice(2), mechanism);
  const parts = text.split(',');
  if (parts[0]?.startsWith('m=') === true) throw bad('requires an unsupported extension (m=)');
  if (parts.length < 3) throw bad('is incomplete');
  const [r, s, i, ...extensions] = parts as [string, string, string, ...string[]];
  if (!r.startsWith('r=') || !PRINTABLE.test(r.slice(2))) throw bad('has a missing or invalid nonce');
  const nonce = r.slice(2);
  if (!nonce.startsWith(clientNonce) || nonce.length <= clientNonce.length)
    throw bad('has a nonce that does not extend the client nonce');
  if (!s.startsWith('s=')) throw bad('has no salt');
  const salt = fromBase64(s.slice(2), 'SCRAM salt', context);
  if (salt.length === 0) throw bad('has an empty salt');
  if (!i.startsWith('i=') || !/^[1-9][0-9]{0,9}$/.test(i.slice(2))) throw bad('has an invalid iteration count');
  const iterations = Number(i.slice(2));
  if (iterations < SCRAM_MIN_ITERATIONS)
    throw new LimitExceededError(
      'scramMinIterations',
      `SCRAM iteration count is below ${SCRAM_MIN_ITERATIONS}`,
      context,
    );
  if (iterations > maxIterations)
    throw new LimitExceededError('scramMaxIterations', `SCRAM iteration count is above ${maxIterations}`, context);
  if (!extensions.every((attribute) => ATTR_VAL.test(attribute))) throw bad('has an invalid extension');
  return { text, nonce, salt, iterations };
}

/**
 * Checks server-final-message: `v=` must carry the expected ServerSignature (constant-time
 * comparison), else {@link ServerNotVerifiedError}; `e=` is an {@link AuthenticationFailedError}
 * whose `serverError` is the reported value.
 */
export function verifyScramServerFinal(message: Uint8Array, expected: Uint8Array, mechanism = 'SCRAM'): void {
  const text = decodeMessage(message, 'SCRAM server-final-message', mechanism, 'server');
  const [first = ''] = text.split(',');
  if (first.startsWith('e=')) throw reportedError(first.slice(2), mechanism);
  let signature: Uint8Array | undefined;
  if (first.startsWith('v=')) {
    try {
      signature = fromBase64(first.slice(2));
    } catch {
      signature = undefined;
    }
  }
  if (signature === undefined)
    throw new ServerNotVerifiedError('SCRAM server-final-message has no valid server signature', { mechanism });
  if (!constantTimeEqual(signature, expected))
    throw new ServerNotVerifiedError('SCRAM server signature is wrong', { mechanism });
}

/** Empties the shared client salted-password cache (e.g. after a password change): {@link DEFAULT_SCRAM_CACHE}'s `clearClient()`. */
export function clearScramClientCache(): void {
  DEFAULT_SCRAM_CACHE.clearClient();
}

// The cache is keyed by an HMAC under the cache's random key, so it holds no password.
function* saltedPassword(
  hash: ScramHash,
  password: string,
  salt: Uint8Array,
  iterations: number,
  cache: ScramCache | undefined,
  mechanism: string,
): Generator<Effect<unknown>, Uint8Array, unknown> {
  const key =
    cache === undefined ? undefined : yield* cache.entryKeyStep('client', hash, password, salt, iterations, mechanism);
  const cached = key === undefined ? undefined : cache?.saltedPassword(key);
  if (cached !== undefined) return cached;
  const salted = yield* performDerive(hash, password, salt, iterations, mechanism);
  if (key !== undefined) cache?.keepSaltedPassword(key, salted);
  return salted;
}

/** Chooses the GS2 flag and binding data from the mechanism, the policy and the source. */
function clientBinding(
  plus: boolean,
  policy: ChannelBindingPolicy,
  source: ChannelBindingSource | undefined,
  mechanism: string,
): { flag: 'n' | 'y' | ChannelBindingType; data: Uint8Array } {
  const type = source?.types[0];
  if (plus) {
    if (policy === 'disable')
      throw new MechanismUnavailableError(`${mechanism} needs channel binding, which the policy disables`, {
        mechanism,
      });
    const data = type === undefined ? undefined : source?.data(type);
    if (type === undefined || data === undefined)
      throw new MechanismUnavailableError(`${mechanism} needs channel-binding data (channelBindingData)`, {
        mechanism,
      });
    return { flag: type, data };
  }
  if (policy === 'require')
    throw new MechanismUnavailableError(`channel binding is required, but ${mechanism} is not a -PLUS mechanism`, {
      mechanism,
    });
  // `y` or `n` by RFC 5802 section 6, decided where the client profiles decide it too; the
  // profiles also drop the data when the server offers the -PLUS variant (then `n`).
  return { flag: clientChannelBinding(mechanism, policy, source).flag === 'y' ? 'y' : 'n', data: EMPTY };
}

function* clientExchange(
  hash: ScramHash,
  plus: boolean,
  mechanism: string,
  authcid: string,
  secret: string,
  authzidIn: string,
  options: ClientOptions,
): Generator<ClientYield, { serverVerified: true }, unknown> {
  const settings = scramClientSettings(options);
  const maxIterations = settings.maxIterations ?? SCRAM_DEFAULT_MAX_ITERATIONS;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < SCRAM_MIN_ITERATIONS)
    throw new UsageError(`scram.maxIterations must be an integer of at least ${SCRAM_MIN_ITERATIONS}`, { mechanism });
  const { flag, data } = clientBinding(plus, options.channelBinding ?? 'prefer', options.channelBindingData, mechanism);
  const user = trySaslprep(authcid, { allowUnassigned: true });
  if (user === undefined) throw new UsageError('the user name is not valid under SASLprep (RFC 4013)', { mechanism });
  const password = scramNormalizePassword(secret);
  const clientNonce = testNonce(settings.nonceForTesting, mechanism) ?? randomNonce();

  const gs2Header = scramGs2Header(flag, authzidIn);
  const bare = `n=${escapeSaslname(user)},r=${clientNonce}`;
  const reply = yield* respond(utf8(gs2Header + bare));
  if (reply instanceof ServerSuccess)
    throw new ServerNotVerifiedError('the server reported success before the SCRAM exchange completed', { mechanism });
  const earlyError = serverErrorIn(reply, mechanism);
  if (earlyError !== undefined) return yield* acknowledge(earlyError);
  const first = parseScramServerFirst(reply, clientNonce, mechanism, maxIterations);

  const cache =
    settings.cache === false
      ? undefined
      : settings.cache === true || settings.cache === undefined
        ? DEFAULT_SCRAM_CACHE
        : settings.cache;
  const salted = yield* saltedPassword(hash, password, first.salt, first.iterations, cache, mechanism);
  const clientKey = yield* scramHmacStep(hash, salted, 'Client Key', mechanism);
  const withoutProof = `c=${scramChannelBindingAttribute(gs2Header, data)},r=${first.nonce}`;
  const authMessage = scramAuthMessage(bare, first.text, withoutProof);
  const storedKey = yield* scramHStep(hash, clientKey, mechanism);
  const proof = scramXor(clientKey, yield* scramHmacStep(hash, storedKey, authMessage, mechanism));
  const expected = yield* scramHmacStep(
    hash,
    yield* scramHmacStep(hash, salted, 'Server Key', mechanism),
    authMessage,
    mechanism,
  );

  // Server-final arrives as a challenge (SMTP, IMAP) or with success (XMPP); either way it is checked.
  const final = yield* respond(utf8(`${withoutProof},p=${toBase64(proof)}`));
  const finalData = final instanceof ServerSuccess ? final.data : final;
  if (finalData === undefined || finalData.length === 0)
    throw new ServerNotVerifiedError('the server reported success without its SCRAM signature', { mechanism });
  const finalError = serverErrorIn(finalData, mechanism);
  if (finalError !== undefined) {
    if (final instanceof ServerSuccess) throw finalError;
    return yield* acknowledge(finalError);
  }
  verifyScramServerFinal(finalData, expected, mechanism);
  return { serverVerified: true };
}

/** The name of a SCRAM mechanism: `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS` ... */
export type ScramMechanismName = `SCRAM-${ScramHash}` | `SCRAM-${ScramHash}-PLUS`;

/** A SCRAM client alone: which hash, and whether it binds (-PLUS). */
export interface ScramClientMechanism extends ClientMechanism {
  /** The hash function. */
  readonly hash: ScramHash;
  /** True for SCRAM-*-PLUS. */
  readonly plus: boolean;
}

function scramInfo(
  hash: ScramHash,
  plus: boolean,
): { name: string; hash: ScramHash; plus: boolean; clientFirst: true; priority: number } {
  const rank = ['SHA-1', 'SHA-256', 'SHA-512'].indexOf(hash) + 1;
  return {
    name: `SCRAM-${hash}${plus ? '-PLUS' : ''}`,
    hash,
    plus,
    clientFirst: true,
    priority: (plus ? 90 : 80) + rank,
  };
}

function clientSide(hash: ScramHash, plus: boolean): ScramClientMechanism {
  const info = scramInfo(hash, plus);
  return {
    ...info,
    *client(credentials, options = {}) {
      return yield* clientExchange(
        hash,
        plus,
        info.name,
        credentials.authcid,
        credentials.secret,
        credentials.authzid,
        options,
      );
    },
  };
}

/**
 * The client side of a SCRAM mechanism alone, by name (`scramClient('SCRAM-SHA-256')`): what a
 * client-only bundle imports, so that it carries none of the server side (stores, stored secrets,
 * decoys). The full mechanisms ({@link SCRAM_SHA_256} ...) have the same client. Throws a
 * {@link UsageError} for a name that is not a SCRAM mechanism saslkit has.
 */
export function scramClient(name: ScramMechanismName): ScramClientMechanism {
  const match = /^SCRAM-(SHA-1|SHA-256|SHA-512)(-PLUS)?$/.exec(name);
  if (match === null)
    throw new UsageError('not a SCRAM mechanism saslkit has (SCRAM-SHA-1, -256, -512, with or without -PLUS)');
  return clientSide(match[1] as ScramHash, match[2] !== undefined);
}

/** Builds the SCRAM mechanism for a hash, with or without channel binding. */
export function scramMechanism(hash: ScramHash, plus: boolean): ScramMechanism {
  const client = clientSide(hash, plus);
  const { name } = client;
  return {
    ...scramInfo(hash, plus),

    *server(options, initial) {
      try {
        return yield* serverExchange(hash, plus, name, options, initial);
      } catch (error) {
        const value = scramServerSettings(options).sendErrors === true ? scramServerErrorOf(error) : undefined;
        // The client's answer to the e= message does not matter: the exchange has failed.
        if (value !== undefined) yield* challenge(utf8(`e=${value}`));
        throw error;
      }
    },

    client: (credentials, options) => client.client(credentials, options),
  };
}

/** SCRAM-SHA-1 (RFC 5802). */
export const SCRAM_SHA_1: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-1', false);
/** SCRAM-SHA-1-PLUS (RFC 5802, channel binding). */
export const SCRAM_SHA_1_PLUS: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-1', true);
/** SCRAM-SHA-256 (RFC 7677). */
export const SCRAM_SHA_256: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-256', false);
/** SCRAM-SHA-256-PLUS (RFC 7677, channel binding). */
export const SCRAM_SHA_256_PLUS: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-256', true);
/** SCRAM-SHA-512 (draft-melnikov-scram-sha-512). */
export const SCRAM_SHA_512: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-512', false);
/** SCRAM-SHA-512-PLUS (draft-melnikov-scram-sha-512, channel binding). */
export const SCRAM_SHA_512_PLUS: ScramMechanism = /* @__PURE__ */ scramMechanism('SHA-512', true);
