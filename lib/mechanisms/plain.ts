/**
 * PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one client message.
 * @module
 */
import { EMPTY, decodeUtf8, splitBytes, utf8 } from '../core/bytes.js';
import { PlainCredentials } from '../passwords/credentials.js';
import { MalformedMessageError, UnexpectedMessageError, UsageError } from '../core/errors.js';
import { ServerSuccess, challenge, respond } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import { type ServerOptions } from '../core/options.js';
import { authenticatePassword, checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'PLAIN';
const NUL = 0;

/**
 * Parses a PLAIN message into claimed credentials. Throws {@link MalformedMessageError} unless
 * there are exactly two NULs, a non-empty authcid and password, and valid UTF-8.
 */
export function parsePlainResponse(message: Uint8Array, options: ServerOptions = {}): PlainCredentials {
  const [authzid, authcid, passwd] = parseFields(message, options);
  return new PlainCredentials(authcid, passwd, authzid);
}

/** The three decoded fields `[authzid, authcid, passwd]`; the server verifies them without building credentials. */
function parseFields(message: Uint8Array, options: ServerOptions): [string, string, string] {
  const fields = splitBytes(message, NUL);
  if (fields.length !== 3)
    throw new MalformedMessageError('PLAIN message must have exactly three NUL-separated fields', {
      mechanism: NAME,
      party: 'client',
    });
  const [authzid, authcid, passwd] = fields as [Uint8Array, Uint8Array, Uint8Array];
  if (authcid.length === 0)
    throw new MalformedMessageError('PLAIN authcid is empty', { mechanism: NAME, party: 'client' });
  if (passwd.length === 0)
    throw new MalformedMessageError('PLAIN password is empty', { mechanism: NAME, party: 'client' });
  checkFieldLength(options, NAME, 'PLAIN authzid', authzid.length);
  checkFieldLength(options, NAME, 'PLAIN authcid', authcid.length);
  checkFieldLength(options, NAME, 'PLAIN password', passwd.length);
  const context = { mechanism: NAME, party: 'client' as const };
  const user = decodeUtf8(authcid, 'PLAIN authcid', context);
  const secret = decodeUtf8(passwd, 'PLAIN password', context);
  return [decodeUtf8(authzid, 'PLAIN authzid', context), user, secret];
}

/** Builds the PLAIN client message. Throws {@link UsageError} for a field containing NUL. */
export function buildPlainResponse(authcid: string, secret: string, authzid = ''): Uint8Array {
  if (authcid.includes('\0') || secret.includes('\0') || authzid.includes('\0')) {
    throw new UsageError('PLAIN credentials must not contain NUL characters', { mechanism: NAME });
  }
  // One encoding of the joined text: the NULs are ASCII, so the bytes are the same as three
  // encodings concatenated, at a third of the cost.
  return utf8(`${authzid}\0${authcid}\0${secret}`);
}

/**
 * The PLAIN client alone: what a client-only bundle imports, so that it carries none of the
 * server side (parsing, stores, hashers). {@link PLAIN} has the same client.
 */
export const plainClient: ClientMechanism = {
  name: NAME,
  clientFirst: true,
  priority: 20,

  *client(credentials) {
    const reply = yield* respond(buildPlainResponse(credentials.authcid, credentials.secret, credentials.authzid));
    if (!(reply instanceof ServerSuccess) || (reply.data !== undefined && reply.data.length > 0)) {
      throw new UnexpectedMessageError('PLAIN expects no challenge after its response', {
        mechanism: NAME,
        party: 'server',
      });
    }
    return { serverVerified: false };
  },
};

/** The PLAIN mechanism, client and server. In {@link SASLAuth.defaults}. */
export const PLAIN: Mechanism = {
  name: NAME,
  clientFirst: true,
  priority: 20,

  *server(options, initial) {
    const message = initial ?? (yield* challenge(EMPTY));
    const [authzid, authcid, secret] = parseFields(message, options);
    return yield* authenticatePassword(options, NAME, authcid, secret, authzid === authcid ? '' : authzid);
  },

  client: (credentials, options) => plainClient.client(credentials, options),
};
