/**
 * EXTERNAL (RFC 4422 appendix A): the client is already authenticated by other means (a TLS
 * client certificate, a Unix socket's peer credentials); its one message is the authzid.
 * @module
 */
import { EMPTY, decodeUtf8, utf8 } from '../core/bytes.js';
import { AuthenticationFailedError, MalformedMessageError, UsageError } from '../core/errors.js';
import { challenge, respondFinal } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { authorize, checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'EXTERNAL';
const NUL = 0;

/**
 * Parses an EXTERNAL message: the authzid, possibly empty (RFC 4422 A.1 `authz-id-string`).
 * Throws {@link MalformedMessageError} for a NUL or invalid UTF-8, and
 * {@link LimitExceededError} when it is longer than `maxFieldBytes`.
 */
export function parseExternalResponse(message: Uint8Array, options: ServerOptions = {}): string {
  const context = { mechanism: NAME, party: 'client' as const };
  if (message.includes(NUL)) throw new MalformedMessageError('EXTERNAL authzid contains NUL', context);
  checkFieldLength(options, NAME, 'EXTERNAL authzid', message.length);
  return decodeUtf8(message, 'EXTERNAL authzid', context);
}

/** Builds the EXTERNAL client message. Throws {@link UsageError} for an authzid containing NUL. */
export function buildExternalResponse(authzid = ''): Uint8Array {
  if (authzid.includes('\0'))
    throw new UsageError('EXTERNAL authzid must not contain NUL characters', { mechanism: NAME });
  return utf8(authzid);
}

/**
 * The EXTERNAL client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link EXTERNAL} has the same client.
 */
export const externalClient: ClientMechanism = {
  name: NAME,
  clientFirst: true,
  priority: 5,

  *client(credentials) {
    yield* respondFinal(buildExternalResponse(credentials.authzid), NAME);
    return { serverVerified: false };
  },
};

/**
 * The EXTERNAL mechanism, client and server. Opt-in (`SASLAuth.named(['EXTERNAL'])`).
 *
 * Server: the authenticated identity is `options.externalIdentity`, which the host sets from
 * the transport (e.g. the TLS client certificate's subject). Without it (or when empty) every
 * attempt fails with {@link AuthenticationFailedError}. An empty authzid, or one equal to the
 * external identity, acts as that identity; any other needs `options.authorize`. With no
 * initial response the server sends an empty challenge. Client: sends `credentials.authzid`
 * (empty allowed); the authcid and secret are not used.
 */
export const EXTERNAL: Mechanism = {
  name: NAME,
  clientFirst: true,
  priority: 5,

  *server(options, initial) {
    const authzid = parseExternalResponse(initial ?? (yield* challenge(EMPTY)), options);
    const external = options.externalIdentity;
    if (external === undefined || external === '')
      throw new AuthenticationFailedError(undefined, { mechanism: NAME, party: 'client' });
    const effective = yield* authorize(options, NAME, external, authzid);
    return { mechanism: NAME, authcid: external, authzid: effective };
  },

  client: (credentials, options) => externalClient.client(credentials, options),
};
