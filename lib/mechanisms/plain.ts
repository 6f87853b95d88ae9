/**
 * PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one client message.
 * @module
 */
import { EMPTY, decodeUtf8, utf8 } from '../core/bytes.js';
import { PlainCredentials } from '../passwords/credentials.js';
import { MalformedMessageError, UnexpectedMessageError, UsageError } from '../core/errors.js';
import { ServerSuccess, challenge, respond } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import { type ServerOptions } from '../core/options.js';
import { authenticatePassword, checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'PLAIN';
const NUL = 0;
// Shared by every error of a parse: the client sent the message.
const CONTEXT = Object.freeze({ mechanism: NAME, party: 'client' as const });

/**
 * Parses a PLAIN message into claimed credentials. Throws {@link MalformedMessageError} unless
 * there are exactly two NULs, a non-empty authcid and password, and valid UTF-8.
 */
export function parsePlainResponse(message: Uint8Array, options: ServerOptions = {}): PlainCredentials {
  const [authzid, authcid, passwd] = parseFields(message, options);
  return new PlainCredentials(authcid, passwd, authzid);
}

/**
 * The three decoded fields `[authzid, authcid, passwd]`; the server verifies them without
 * building credentials. Index arithmetic on the message and one decoding of all of it: a NUL
 * cannot sit inside a UTF-8 sequence, so the message is valid UTF-8 exactly when each field is,
 * and its text splits at the same NULs (the fields are decoded one by one only to name the
 * invalid one).
 */
function parseFields(message: Uint8Array, options: ServerOptions): [string, string, string] {
  // One scan for the NULs (a Buffer's own indexOf costs a call into C++ each time).
  let first = -1;
  let second = -1;
  let nuls = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] !== NUL) continue;
    if (nuls === 0) first = i;
    else if (nuls === 1) second = i;
    nuls++;
  }
  if (nuls !== 2)
    throw new MalformedMessageError('PLAIN message must have exactly three NUL-separated fields', CONTEXT);
  if (second === first + 1) throw new MalformedMessageError('PLAIN authcid is empty', CONTEXT);
  if (second === message.length - 1) throw new MalformedMessageError('PLAIN password is empty', CONTEXT);
  checkFieldLength(options, NAME, 'PLAIN authzid', first);
  checkFieldLength(options, NAME, 'PLAIN authcid', second - first - 1);
  checkFieldLength(options, NAME, 'PLAIN password', message.length - second - 1);
  let text: string;
  try {
    text = decodeUtf8(message, 'PLAIN message', CONTEXT);
  } catch (error) {
    // Name the field, in the order the checks have always run: authcid, password, authzid.
    decodeUtf8(message.subarray(first + 1, second), 'PLAIN authcid', CONTEXT);
    decodeUtf8(message.subarray(second + 1), 'PLAIN password', CONTEXT);
    decodeUtf8(message.subarray(0, first), 'PLAIN authzid', CONTEXT);
    throw error;
  }
  // The same NULs, now counted in UTF-16 code units.
  const a = text.indexOf('\0');
  const b = text.indexOf('\0', a + 1);
  return [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
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
