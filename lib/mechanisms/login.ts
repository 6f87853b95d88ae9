/**
 * LOGIN (draft-murchison-sasl-login): the server prompts for a user name, then a password; the
 * client answers each prompt with one field. Obsolete but still what many SMTP clients speak.
 * @module
 */
import { decodeUtf8, utf8 } from '../core/bytes.js';
import { PlainCredentials, rejectAuthzid } from '../passwords/credentials.js';
import { MalformedMessageError, UsageError } from '../core/errors.js';
import { NO_INITIAL_RESPONSE, respondFinal, respondForChallenge } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { authenticatePassword, checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'LOGIN';

// The draft names "User Name" and "Password"; deployed servers (and the clients that match on
// the text, against the draft's advice) use these.
const USERNAME_PROMPT = /* @__PURE__ */ utf8('Username:');
const PASSWORD_PROMPT = /* @__PURE__ */ utf8('Password:');

// The field names as errors name them, and their context: built once, not per field of every login.
const FIELDS = { 'user name': 'LOGIN user name', password: 'LOGIN password' } as const;
const CLIENT_CONTEXT = Object.freeze({ mechanism: NAME, party: 'client' as const });

/** Checks one LOGIN response: bytes (as `challenge()` checks them), non-empty, within `maxFieldBytes`, valid UTF-8. */
function parseField(message: unknown, what: 'user name' | 'password', options: ServerOptions): string {
  if (!(message instanceof Uint8Array))
    throw new UsageError('a driver resumed the exchange with a value that is not a Uint8Array');
  const field = FIELDS[what];
  if (message.length === 0) throw new MalformedMessageError(`${field} is empty`, CLIENT_CONTEXT);
  checkFieldLength(options, NAME, field, message.length);
  return decodeUtf8(message, field, CLIENT_CONTEXT);
}

/**
 * Parses the two LOGIN responses into claimed credentials (authzid = authcid: LOGIN has none).
 * Throws {@link MalformedMessageError} for an empty field or invalid UTF-8, and
 * {@link LimitExceededError} for a field over `maxFieldBytes`.
 */
export function parseLoginResponses(
  username: Uint8Array,
  password: Uint8Array,
  options: ServerOptions = {},
): PlainCredentials {
  return new PlainCredentials(parseField(username, 'user name', options), parseField(password, 'password', options));
}

/**
 * The LOGIN client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link LOGIN} has the same client.
 */
export const loginClient: ClientMechanism = {
  name: NAME,
  clientFirst: false,
  priority: 10,

  *client(credentials) {
    rejectAuthzid(credentials, NAME);
    yield* respondForChallenge(NO_INITIAL_RESPONSE, NAME);
    yield* respondForChallenge(utf8(credentials.authcid), NAME);
    yield* respondFinal(utf8(credentials.secret), NAME);
    return { serverVerified: false };
  },
};

/**
 * The LOGIN mechanism, client and server. In {@link SASLAuth.defaults}.
 *
 * Server: an initial response (SMTP `AUTH LOGIN <b64 user>`) is taken as the user name and the
 * `Username:` prompt is skipped; an empty initial response is an empty user name and refused.
 * Client: answers the first challenge with the authcid and the second with the secret, whatever
 * the prompts say; it refuses a non-empty authzid with a {@link UsageError}.
 */
export const LOGIN: Mechanism = {
  name: NAME,
  clientFirst: false,
  priority: 10,

  *server(options, initial) {
    // The user name is checked before the password is asked for, so a bad one fails early. The
    // prompts are yielded directly, not through `challenge()`: a connection parked at a prompt
    // then holds one generator instead of two (`npm run bench -- memory`).
    const authcid = parseField(initial ?? (yield USERNAME_PROMPT), 'user name', options);
    const secret = parseField(yield PASSWORD_PROMPT, 'password', options);
    return yield* authenticatePassword(options, NAME, authcid, secret, '');
  },

  client: (credentials, options) => loginClient.client(credentials, options),
};
