/**
 * CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
 * `user SP hex(HMAC-MD5(password, challenge))`. Server-first; needs the clear-text password on
 * the server.
 * @module
 */
import { concat, constantTimeEqual, decodeUtf8, latin1, toHex, utf8 } from '../core/bytes.js';
import { hmacMd5, randomBytes } from '../crypto/ops.js';
import { type ServerCredentials, rejectAuthzid } from '../passwords/credentials.js';
import {
  AuthenticationFailedError,
  MalformedMessageError,
  MechanismUnavailableError,
  UnexpectedMessageError,
  UsageError,
} from '../core/errors.js';
import { NO_INITIAL_RESPONSE, type ServerExchange, respondFinal, respondForChallenge } from '../core/exchange.js';
import type { Identity } from '../passwords/identity.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { REDACTED, Redacting, describe } from '../core/redact.js';
import { trySaslprep } from '../passwords/saslprep.js';
import { checkFieldLength, lookupEffect, unusableAccountError } from '../passwords/server-auth.js';

const NAME = 'CRAM-MD5';
// Shared by every error of a parse: the client sent the message.
const CLIENT_CONTEXT = Object.freeze({ mechanism: NAME, party: 'client' as const });
const SPACE = 0x20;
// SASLprep's query profile, one object for every call (the client's side shares it: no server module for it).
const QUERY = Object.freeze({ allowUnassigned: true });
const DIGEST = /^[0-9a-f]{32}$/;
// Keys the HMAC when the user does not exist, so an unknown user costs what a wrong password does.
const DUMMY_SECRET = 'saslkit-unknown-user-placeholder';
// Printable ASCII without `<` and `>`, so the host name cannot break the msg-id form.
const HOSTNAME = /^[\x21-\x3b\x3d\x3f-\x7e]+$/;

/**
 * SASLprep for the HMAC key, as both sides apply it (the RFC 2195 client in pysasl preps; its
 * server did not, so a password SASLprep changes never matched). A string SASLprep rejects is
 * used as it is, on both sides alike.
 */
function prepareKey(secret: string): string {
  return trySaslprep(secret, QUERY) ?? secret;
}

function hmacHex(key: string, challengeBytes: Uint8Array): string {
  return toHex(hmacMd5(utf8(key), challengeBytes));
}

/** Lower-case hex of HMAC-MD5 keyed with the SASLprep'd `secret` over `challenge`. */
export function cramMd5Digest(secret: string, challengeBytes: Uint8Array): string {
  return hmacHex(prepareKey(secret), challengeBytes);
}

/**
 * A fresh challenge `<random.millis@hostname>` (RFC 2195's msg-id form). The random part is 64
 * bits from the system CSPRNG; no process id and no DNS lookup (unlike pysasl's `make_msgid`).
 * Throws {@link UsageError} for a host name with spaces, `<`, `>` or non-ASCII characters.
 */
export function cramMd5Challenge(hostname = 'localhost'): Uint8Array {
  if (!HOSTNAME.test(hostname))
    throw new UsageError('CRAM-MD5 hostname must be printable ASCII without spaces, < or >', { mechanism: NAME });
  return utf8(`<${randomPart()}.${Date.now()}@${hostname}>`);
}

// The random parts are cut from a block of CSPRNG output, refilled every 64 challenges, as
// SCRAM's nonces are: one randomBytes call per challenge was 44 % of a CRAM-MD5 server's start.
// Each 8 bytes are used once; the challenge is public, so holding the next few reveals nothing.
const RANDOM_BYTES = 8;
const RANDOM_BLOCK = RANDOM_BYTES * 64;
let randomBlock: DataView | undefined;
let randomOffset = RANDOM_BLOCK;

/** 64 fresh random bits as a decimal number. */
function randomPart(): string {
  if (randomBlock === undefined || randomOffset === RANDOM_BLOCK) {
    const bytes = randomBytes(RANDOM_BLOCK);
    // The view must start at the bytes' own offset: a pooled array shares its buffer with others.
    randomBlock = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    randomOffset = 0;
  }
  const random = randomBlock.getBigUint64(randomOffset).toString();
  randomOffset += RANDOM_BYTES;
  return random;
}

/**
 * A CRAM-MD5 response as the client claimed it: pysasl's `CramMD5Result`. `verify(identity)`
 * recomputes the digest with the identity's clear-text secret.
 */
export class CramMD5Credentials extends Redacting implements ServerCredentials {
  readonly authcid: string;
  /** Always the authcid: CRAM-MD5 cannot carry an authorization identity. */
  readonly authzid: string;
  /** The challenge the server sent; the digest was computed over it. */
  readonly challenge: Uint8Array;
  readonly #digest: string;

  constructor(authcid: string, challengeBytes: Uint8Array, digest: string) {
    super();
    this.authcid = authcid;
    this.authzid = authcid;
    this.challenge = challengeBytes;
    this.#digest = digest;
  }

  /** The presented digest (lower-case hex). A proof: kept out of logs. */
  get digest(): string {
    return this.#digest;
  }

  /**
   * True when `identity` names this user and its secret produces the presented digest. An
   * unknown user (`undefined`) runs the same HMAC over a placeholder and returns false. Throws
   * {@link MechanismUnavailableError} when the identity has no clear-text secret (a hashed
   * password): that is a configuration problem, not a wrong password.
   */
  verify(identity: Identity | undefined): boolean {
    const secret = identity?.getClearSecret();
    if (identity !== undefined && secret === undefined) {
      throw new MechanismUnavailableError('CRAM-MD5 needs the clear-text secret of this account', {
        mechanism: NAME,
        party: 'local',
      });
    }
    // An empty prepared password never matches, as for PLAIN (RFC 4013).
    const key = secret === undefined ? '' : prepareKey(secret);
    const usable = key !== '';
    const digestOk = constantTimeEqual(hmacHex(usable ? key : DUMMY_SECRET, this.challenge), this.#digest);
    const userOk = identity !== undefined && identity.compareAuthcid(this.authcid);
    return usable && digestOk && userOk;
  }

  toJSON(): Record<string, string> {
    return { authcid: this.authcid, authzid: this.authzid };
  }

  protected describeRedacted(): string {
    return describe('CramMD5Credentials', { authcid: this.authcid, authzid: this.authzid, digest: REDACTED });
  }
}

/**
 * Parses a CRAM-MD5 response `user SP digest` (split at the last space, so a user name may
 * contain spaces). Throws {@link MalformedMessageError} unless the user name is non-empty valid
 * UTF-8 and the digest is exactly 32 lower-case hex digits; {@link LimitExceededError} for a user
 * name over `maxFieldBytes`.
 */
export function parseCramMd5Response(
  response: Uint8Array,
  challengeBytes: Uint8Array,
  options: ServerOptions = {},
): CramMD5Credentials {
  const context = CLIENT_CONTEXT;
  const space = response.lastIndexOf(SPACE);
  if (space < 0)
    throw new MalformedMessageError('CRAM-MD5 response has no space between user name and digest', context);
  const user = response.subarray(0, space);
  const digest = response.subarray(space + 1);
  if (user.length === 0) throw new MalformedMessageError('CRAM-MD5 user name is empty', context);
  checkFieldLength(options, NAME, 'CRAM-MD5 user name', user.length);
  // Checked on the bytes: a non-ASCII digest must not reach the UTF-8 decoder's error text.
  const digestText = latin1(digest);
  if (!DIGEST.test(digestText))
    throw new MalformedMessageError('CRAM-MD5 digest must be 32 lower-case hex digits', context);
  return new CramMD5Credentials(decodeUtf8(user, 'CRAM-MD5 user name', context), challengeBytes, digestText);
}

/**
 * Builds the client response: `saslprep(authcid) SP hex(HMAC-MD5(saslprep(secret), challenge))`.
 * Throws {@link UsageError} for a user name SASLprep prohibits (controls such as NUL, CR or LF,
 * private-use or non-characters, a bidi violation) or that prepares to nothing: such a name
 * would reach the server raw, where its own SASLprep refuses it, so it is refused here first.
 */
export function buildCramMd5Response(authcid: string, secret: string, challengeBytes: Uint8Array): Uint8Array {
  const user = trySaslprep(authcid, QUERY);
  if (user === undefined || user === '')
    throw new UsageError('CRAM-MD5 user name is empty or refused by SASLprep (RFC 4013)', { mechanism: NAME });
  return concat(utf8(user), Uint8Array.of(SPACE), utf8(cramMd5Digest(secret, challengeBytes)));
}

/**
 * A CRAM-MD5 server exchange with a given challenge. {@link CRAM_MD5}'s `server` uses a fresh
 * {@link cramMd5Challenge}; this form exists to reproduce test vectors. A challenge that is
 * ever reused lets a recorded response be replayed, so do not use a fixed one in production.
 */
export function* cramMd5Server(
  options: ServerOptions,
  challengeBytes: Uint8Array,
  initial?: Uint8Array,
): ServerExchange {
  if (initial !== undefined)
    throw new UnexpectedMessageError('CRAM-MD5 is server-first: an initial response is not allowed', {
      mechanism: NAME,
      party: 'client',
    });
  // The challenge and the lookup are yielded directly, not through `challenge()` and `perform()`:
  // two generators less per login (`npm run bench -- smtp`), as PLAIN and LOGIN do.
  const response: unknown = yield challengeBytes;
  if (!(response instanceof Uint8Array))
    throw new UsageError('a driver resumed the exchange with a value that is not a Uint8Array');
  const claimed = parseCramMd5Response(response, challengeBytes, options);
  // The store is asked for the prepared name, as in PLAIN.
  const prepared = trySaslprep(claimed.authcid, QUERY);
  const identity =
    prepared === undefined || prepared === ''
      ? undefined
      : ((yield lookupEffect(options, NAME, prepared)) as Identity | undefined);
  // An account without a clear-text secret runs the unknown user's HMAC and fails like it, so
  // the reply does not tell that the account exists; the real reason is the error's cause.
  const unusable = identity !== undefined && identity.getClearSecret() === undefined;
  const ok = claimed.verify(unusable ? undefined : identity);
  if (unusable) throw unusableAccountError(NAME, 'CRAM-MD5 needs the clear-text secret of this account');
  if (!ok || identity === undefined)
    throw new AuthenticationFailedError(undefined, { mechanism: NAME, party: 'client' });
  // CRAM-MD5 carries no authzid: the authcid, which is what `authorize` answers for '' (without a generator).
  return { mechanism: NAME, authcid: identity.authcid, authzid: identity.authcid, identity };
}

/**
 * The CRAM-MD5 client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link CRAM_MD5} has the same client.
 */
export const cramMd5Client: ClientMechanism = {
  name: NAME,
  clientFirst: false,
  priority: 25,

  *client(credentials) {
    rejectAuthzid(credentials, NAME);
    const serverChallenge = yield* respondForChallenge(NO_INITIAL_RESPONSE, NAME);
    if (serverChallenge.length === 0)
      throw new MalformedMessageError('CRAM-MD5 challenge is empty', { mechanism: NAME, party: 'server' });
    yield* respondFinal(buildCramMd5Response(credentials.authcid, credentials.secret, serverChallenge), NAME);
    return { serverVerified: false };
  },
};

/**
 * The CRAM-MD5 mechanism, client and server. Opt-in (`SASLAuth.named(['CRAM-MD5'])`).
 *
 * The server needs identities with a clear-text secret (`ClearIdentity`); any other identity
 * fails like an unknown user, with {@link AuthenticationFailedError} (so that the reply does not
 * reveal the account), whose `cause` is a {@link MechanismUnavailableError} for the operator.
 * The challenge host name is
 * `options.hostname` (default `localhost`). The client refuses an empty challenge with
 * {@link MalformedMessageError} (pysasl answers it): RFC 2195 requires a unique msg-id, and a
 * digest over nothing carries no server nonce at all. It refuses a non-empty authzid with a
 * {@link UsageError}.
 */
export const CRAM_MD5: Mechanism = {
  name: NAME,
  clientFirst: false,
  priority: 25,

  *server(options, initial) {
    return yield* cramMd5Server(options, cramMd5Challenge(options.hostname), initial);
  },

  client: (credentials, options) => cramMd5Client.client(credentials, options),
};
