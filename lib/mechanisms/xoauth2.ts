/**
 * XOAUTH2 (Google's OAuth 2.0 SASL mechanism, the predecessor of OAUTHBEARER):
 * `user=<user> 0x01 auth=Bearer <token> 0x01 0x01`, no GS2 header. On a rejected token the
 * server sends a JSON error challenge, the client answers with an empty response and the
 * server fails the exchange.
 * @module
 */
import { EMPTY, utf8 } from '../core/bytes.js';
import { rejectAuthzid } from '../passwords/credentials.js';
import { MalformedMessageError, UsageError } from '../core/errors.js';
import { challenge } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import {
  BearerCredentials,
  authenticateBearer,
  bearerClient,
  checkBearerUser,
  checkClientField,
  encodeKeyValues,
  parseBearerAuth,
  parseKeyValues,
  requireValidator,
} from './oauth.js';
import type { ServerOptions } from '../core/options.js';
import { checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'XOAUTH2';
// Google's servers end the JSON with an LF; the client must answer with an empty response.
const STYLE = { dummyReply: EMPTY, newline: true } as const;

/**
 * Parses an XOAUTH2 client message. Both `user` and `auth` are required, once each, in any
 * order; `auth` must be `Bearer <b64token>`; `user` must not contain a control character (C0
 * including HTAB, CR and LF, DEL, or C1). Keys other than these two are ignored, as
 * OAUTHBEARER (which XOAUTH2 became) ignores them. Throws {@link MalformedMessageError} or
 * {@link LimitExceededError}.
 */
export function parseXoauth2Response(message: Uint8Array, options: ServerOptions = {}): BearerCredentials {
  const pairs = parseKeyValues(message, NAME);
  const user = pairs.get('user');
  const auth = pairs.get('auth');
  if (user === undefined)
    throw new MalformedMessageError('XOAUTH2 message has no user', { mechanism: NAME, party: 'client' });
  if (auth === undefined)
    throw new MalformedMessageError('XOAUTH2 message has no auth', { mechanism: NAME, party: 'client' });
  checkBearerUser(user, NAME);
  checkFieldLength(options, NAME, 'XOAUTH2 user', utf8(user).length);
  return new BearerCredentials(user, parseBearerAuth(auth, NAME));
}

/** Builds the XOAUTH2 client message. Throws {@link UsageError} for an empty token or control characters. */
export function buildXoauth2Response(user: string, token: string): Uint8Array {
  checkClientField(user, 'user', NAME);
  checkClientField(token, 'token', NAME);
  if (token === '') throw new UsageError('XOAUTH2 needs a non-empty token', { mechanism: NAME });
  return utf8(
    encodeKeyValues([
      ['user', user],
      ['auth', `Bearer ${token}`],
    ]),
  );
}

/**
 * The XOAUTH2 client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link XOAUTH2} has the same client.
 */
export const xoauth2Client: ClientMechanism = {
  name: NAME,
  clientFirst: true,
  priority: 55,

  *client(credentials) {
    rejectAuthzid(credentials, NAME);
    return yield* bearerClient(NAME, buildXoauth2Response(credentials.authcid, credentials.secret), STYLE.dummyReply);
  },
};

/**
 * The XOAUTH2 mechanism. The client takes the user as `authcid` and the access token as
 * `secret`. The server needs {@link ServerOptions.validateToken}; the validator's `authcid` is
 * the authenticated user and `user=` is treated as the requested authorization identity.
 */
export const XOAUTH2: Mechanism = {
  name: NAME,
  clientFirst: true,
  priority: 55,

  *server(options, initial) {
    requireValidator(options, NAME);
    const message = initial ?? (yield* challenge(EMPTY));
    return yield* authenticateBearer(options, NAME, parseXoauth2Response(message, options), STYLE);
  },

  client: (credentials, options) => xoauth2Client.client(credentials, options),
};
