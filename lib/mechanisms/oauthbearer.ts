/**
 * OAUTHBEARER (RFC 7628): a GS2 header, then 0x01-separated `key=value` pairs (`auth`,
 * `host`, `port`, ...) and a final 0x01. On a rejected token the server sends a JSON error
 * challenge, the client answers with a single 0x01 and the server fails the exchange.
 * @module
 */
import { EMPTY, decodeUtf8, utf8 } from '../core/bytes.js';
import { MalformedMessageError, UsageError } from '../core/errors.js';
import { challenge } from '../core/exchange.js';
import { formatGs2Header, parseGs2Header } from './gs2.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import {
  BearerCredentials,
  KVSEP,
  authenticateBearer,
  bearerClient,
  checkClientField,
  encodeKeyValues,
  parseBearerAuth,
  parseKeyValues,
  requireValidator,
} from './oauth.js';
import type { ServerOptions } from '../core/options.js';
import { checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'OAUTHBEARER';
const DUMMY = /* @__PURE__ */ Uint8Array.of(KVSEP);
const STYLE = { dummyReply: DUMMY, newline: false } as const;
const CONTEXT = { mechanism: NAME, party: 'client' as const };
const PORT = /^[0-9]{1,5}$/;

/**
 * Parses the GS2 header (`n,,` or `n,a=<saslname>,`) and returns the authzid, `''` when absent.
 * `y` and `p=` are refused: OAUTHBEARER has no channel binding.
 */
function parseHeader(text: string): string {
  const { header, rest } = parseGs2Header(text, NAME);
  if (header.flag !== 'n') throw new MalformedMessageError('OAUTHBEARER does not support channel binding', CONTEXT);
  if (rest !== '') throw new MalformedMessageError('OAUTHBEARER GS2 header must be n,, or n,a=<authzid>,', CONTEXT);
  return header.authzid;
}

/**
 * Parses an OAUTHBEARER client message. `auth` is required: `Bearer <b64token>`, or empty for
 * RFC 7628's discovery request (the token is then `''`). `host` and `port` (decimal, 0 to
 * 65535) are optional; other keys are ignored as the RFC says; a repeated key is malformed.
 * A lone 0x01 is only valid after an error challenge and is malformed here.
 */
export function parseOauthbearerResponse(message: Uint8Array, options: ServerOptions = {}): BearerCredentials {
  if (message.length === 1 && message[0] === KVSEP)
    throw new MalformedMessageError('OAUTHBEARER got a lone 0x01 without an error challenge', CONTEXT);
  const split = message.indexOf(KVSEP);
  if (split < 0) throw new MalformedMessageError('OAUTHBEARER message has no 0x01 after the GS2 header', CONTEXT);
  const authzid = parseHeader(decodeUtf8(message.subarray(0, split), 'OAUTHBEARER GS2 header', CONTEXT));
  const pairs = parseKeyValues(message.subarray(split + 1), NAME);
  const auth = pairs.get('auth');
  if (auth === undefined) throw new MalformedMessageError('OAUTHBEARER message has no auth', CONTEXT);
  const host = pairs.get('host');
  const portText = pairs.get('port');
  let port: number | undefined;
  if (portText !== undefined) {
    port = PORT.test(portText) ? Number(portText) : NaN;
    if (!(port <= 65535))
      throw new MalformedMessageError('OAUTHBEARER port must be a decimal number from 0 to 65535', CONTEXT);
  }
  checkFieldLength(options, NAME, 'OAUTHBEARER authzid', utf8(authzid).length);
  if (host !== undefined) checkFieldLength(options, NAME, 'OAUTHBEARER host', utf8(host).length);
  return new BearerCredentials(authzid, auth === '' ? '' : parseBearerAuth(auth, NAME), host, port);
}

/** What goes into an OAUTHBEARER client message besides the token. */
export interface OauthbearerFields {
  /** The GS2 authzid (`a=`): the user the token is for. Empty sends `n,,`. */
  readonly user?: string | undefined;
  /** The server's host name (`host=`). */
  readonly host?: string | undefined;
  /** The server's port (`port=`). */
  readonly port?: number | undefined;
}

/**
 * Builds the OAUTHBEARER client message. An empty `token` sends `auth=` (RFC 7628 section 4.3:
 * asks the server for the scope it needs; the exchange then fails). Throws {@link UsageError}
 * for control characters or a port outside 0 to 65535.
 */
export function buildOauthbearerResponse(token: string, fields: OauthbearerFields = {}): Uint8Array {
  const user = fields.user ?? '';
  checkClientField(user, 'user', NAME);
  checkClientField(token, 'token', NAME);
  const pairs: [string, string][] = [];
  if (fields.host !== undefined) {
    checkClientField(fields.host, 'host', NAME);
    pairs.push(['host', fields.host]);
  }
  if (fields.port !== undefined) {
    if (!Number.isInteger(fields.port) || fields.port < 0 || fields.port > 65535)
      throw new UsageError('OAUTHBEARER port must be an integer from 0 to 65535', { mechanism: NAME });
    pairs.push(['port', String(fields.port)]);
  }
  pairs.push(['auth', token === '' ? '' : `Bearer ${token}`]);
  const header = formatGs2Header('n', '', user);
  return utf8(`${header}\x01${encodeKeyValues(pairs)}`);
}

/**
 * The OAUTHBEARER client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link OAUTHBEARER} has the same client.
 */
export const oauthbearerClient: ClientMechanism = {
  name: NAME,
  clientFirst: true,
  priority: 60,

  *client(credentials, options = {}) {
    const user = credentials.authzid === '' ? credentials.authcid : credentials.authzid;
    const message = buildOauthbearerResponse(credentials.secret, { user, host: options.host, port: options.port });
    return yield* bearerClient(NAME, message, DUMMY);
  },
};

/**
 * The OAUTHBEARER mechanism. The client sends `authzid` (or, when empty, `authcid`) as the
 * GS2 `a=` user, `secret` as the token, and `host`/`port` from its options. The server needs
 * {@link ServerOptions.validateToken}; the validator's `authcid` is the authenticated user and
 * the GS2 authzid is the requested authorization identity.
 */
export const OAUTHBEARER: Mechanism = {
  name: NAME,
  clientFirst: true,
  priority: 60,

  *server(options, initial) {
    requireValidator(options, NAME);
    const message = initial ?? (yield* challenge(EMPTY));
    return yield* authenticateBearer(options, NAME, parseOauthbearerResponse(message, options), STYLE);
  },

  client: (credentials, options) => oauthbearerClient.client(credentials, options),
};
