/**
 * `--trace`'s rendering of SASL messages: each message goes through the parser the exchange
 * itself uses (`parsePlainResponse`, `parseDigestMd5Directives`, `parseScramClientFinal` ...)
 * and is rebuilt from the parsed fields with the secret ones left out: PLAIN's password,
 * CRAM-MD5's digest, DIGEST-MD5's `response=` and `rspauth=`, SCRAM's proof (`p=`) and server
 * signature (`v=`), the bearer token of OAUTHBEARER and XOAUTH2. A message its parser refuses,
 * and every message of a mechanism not known here, is redacted whole. trace.ts follows the
 * lines and calls these.
 * @module
 */
import {
  EMPTY,
  REDACTED,
  decodeUtf8,
  escapeSaslname,
  isSaslError,
  parseAnonymousMessage,
  parseCramMd5Response,
  parseDigestMd5Directives,
  parseExternalResponse,
  parseLoginResponses,
  parseOauthbearerResponse,
  parsePlainResponse,
  parseScramClientFinal,
  parseScramClientFirst,
  parseScramServerFirst,
  parseXoauth2Response,
  splitBytes,
  toBase64,
  utf8,
} from '../index.js';

/** What the tracer knows of an exchange when it renders one of its messages. */
export interface TraceExchange {
  /** Client messages seen so far (the initial response counts). */
  clientMessages: number;
  /** The last challenge, decoded as UTF-8 for display. */
  lastChallenge: string | undefined;
  /** The last challenge's bytes (CRAM-MD5's response is parsed against it). */
  lastChallengeBytes?: Uint8Array | undefined;
  /** SCRAM: the client nonce from client-first, which server-first must extend. */
  clientNonce?: string | undefined;
}

/** Escapes text for display inside double quotes: control characters, quotes and backslashes. */
export function escapeText(text: string): string {
  return text.replace(/[\p{Cc}"\\]/gu, (char) => {
    if (char === '\0') return '\\0';
    if (char === '"' || char === '\\') return `\\${char}`;
    if (char === '\r') return '\\r';
    if (char === '\n') return '\\n';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

const quote = (shown: string): string => `"${escapeText(shown)}"`;

/** Text for display: UTF-8 when it is, else one character per octet. */
export function displayText(bytes: Uint8Array): string {
  try {
    return decodeUtf8(bytes, 'trace');
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/** A whole message or line left out; the reason is a parser's fixed error text, never peer data. */
export function redactedWhole(bytes: number, error?: unknown): string {
  return `[redacted ${bytes} bytes${isSaslError(error) ? `: ${error.message}` : ''}]`;
}

const asBytes = (message: string | Uint8Array): Uint8Array => (typeof message === 'string' ? utf8(message) : message);

const SCRAM_NAME = /^SCRAM-(SHA-1|SHA-256|SHA-512)(?:-PLUS)?$/;

// DIGEST-MD5 directives shown with their values; every other one (response, rspauth, and any
// name saslkit does not know) is redacted. The first group is quoted-string in RFC 2831.
const DIGEST_QUOTED = new Set(['username', 'realm', 'nonce', 'cnonce', 'digest-uri', 'authzid']);
const DIGEST_SHOWN = new Set([...DIGEST_QUOTED, 'nc', 'qop', 'maxbuf', 'charset', 'cipher', 'stale', 'algorithm']);
const DIGEST_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function renderDigest(message: Uint8Array, party: 'client' | 'server'): string {
  const shown = parseDigestMd5Directives(message, party).map(({ name, value }) => {
    if (!DIGEST_SHOWN.has(name)) return `${name}=${REDACTED}`;
    const text = displayText(Buffer.from(value, 'latin1'));
    return DIGEST_QUOTED.has(name) || !DIGEST_TOKEN.test(text)
      ? `${name}="${text.replace(/[\\"]/g, '\\$&')}"`
      : `${name}=${text}`;
  });
  return quote(shown.join(','));
}

/** SCRAM attributes after the known ones: their names stay, their values go. */
function scramExtensions(attributes: readonly string[]): string {
  return attributes.map((attribute) => `,${attribute.slice(0, 1)}=${REDACTED}`).join('');
}

function renderScramClient(
  mechanism: string,
  hash: 'SHA-1' | 'SHA-256' | 'SHA-512',
  message: Uint8Array,
  exchange: TraceExchange,
): string {
  if (message[0] === 0x63 /* c */) {
    const final = parseScramClientFinal(message, hash, mechanism);
    const extensions = final.withoutProof.split(',').slice(2);
    return quote(`c=${toBase64(final.channelBinding)},r=${final.nonce}${scramExtensions(extensions)},p=${REDACTED}`);
  }
  const first = parseScramClientFirst(message, mechanism);
  exchange.clientNonce = first.nonce;
  return quote(
    `${first.gs2Header}n=${escapeSaslname(first.authcid)},r=${first.nonce}${scramExtensions(first.bare.split(',').slice(2))}`,
  );
}

function renderScramServer(mechanism: string, message: Uint8Array, exchange: TraceExchange | undefined): string {
  const text = decodeUtf8(message, 'SCRAM server message', { mechanism, party: 'server' });
  const attributes = text.split(',');
  const first = attributes[0] ?? '';
  if (first.startsWith('v=') || first.startsWith('e=')) {
    if (!attributes.every((attribute) => /^[A-Za-z]=[\x21-\x2b\x2d-\x7e]+$/.test(attribute)))
      return redactedWhole(message.length);
    // e= is RFC 5802's server-error-value, a fixed word; v= is the server signature.
    return quote(`${first.startsWith('e=') ? first : `v=${REDACTED}`}${scramExtensions(attributes.slice(1))}`);
  }
  const serverFirst = parseScramServerFirst(message, exchange?.clientNonce ?? '', mechanism, Number.MAX_SAFE_INTEGER);
  return quote(
    `r=${serverFirst.nonce},s=${toBase64(serverFirst.salt)},i=${serverFirst.iterations}${scramExtensions(attributes.slice(3))}`,
  );
}

/** The LOGIN client message that is the user name: the first one, unless the server asked for something else. */
function isLoginUser(exchange: TraceExchange): boolean {
  const prompt = exchange.lastChallenge;
  if (exchange.clientMessages !== 0) return false;
  return prompt === undefined || prompt === '' || (/user/i.test(prompt) && !/pass/i.test(prompt));
}

// Stands in for LOGIN's password so that the user name goes through the exchange's own parser.
const LOGIN_PLACEHOLDER = utf8('x');

function renderKnownClient(mechanism: string, message: Uint8Array, exchange: TraceExchange): string | undefined {
  const scram = SCRAM_NAME.exec(mechanism);
  if (scram) return renderScramClient(mechanism, scram[1] as 'SHA-1' | 'SHA-256' | 'SHA-512', message, exchange);
  switch (mechanism) {
    case 'PLAIN': {
      parsePlainResponse(message);
      // The parser accepted exactly three fields; the first two are the authzid and authcid as sent.
      const [authzid = EMPTY, authcid = EMPTY] = splitBytes(message, 0);
      return `"${escapeText(displayText(authzid))}\\0${escapeText(displayText(authcid))}\\0${REDACTED}"`;
    }
    case 'LOGIN':
      return isLoginUser(exchange) ? quote(parseLoginResponses(message, LOGIN_PLACEHOLDER).authcid) : REDACTED;
    case 'CRAM-MD5':
      return quote(`${parseCramMd5Response(message, exchange.lastChallengeBytes ?? EMPTY).authcid} ${REDACTED}`);
    case 'DIGEST-MD5':
      return renderDigest(message, 'client');
    case 'XOAUTH2':
      return quote(`user=${parseXoauth2Response(message).user}\x01auth=${REDACTED}\x01\x01`);
    case 'OAUTHBEARER': {
      // A lone 0x01 answers an error challenge (RFC 7628 section 3.2.3).
      if (message.length === 1 && message[0] === 0x01) return quote('\x01');
      const parsed = parseOauthbearerResponse(message);
      // The parser checked the GS2 header before the first 0x01: a flag and an authzid.
      const header = displayText(message.subarray(0, message.indexOf(0x01)));
      const host = parsed.host === undefined ? '' : `host=${parsed.host}\x01`;
      const port = parsed.port === undefined ? '' : `port=${parsed.port}\x01`;
      return quote(`${header}\x01${host}${port}auth=${parsed.token === '' ? '' : REDACTED}\x01\x01`);
    }
    case 'EXTERNAL':
      return quote(parseExternalResponse(message));
    case 'ANONYMOUS':
      return quote(parseAnonymousMessage(message));
    default:
      return undefined;
  }
}

/**
 * A client message of `mechanism` for display: parsed with the exchange's own parser, rebuilt
 * without its secrets, escaped and quoted. A message the parser refuses is redacted whole, and
 * a mechanism the tracer does not know is not shown. SCRAM's client-first sets
 * `exchange.clientNonce`.
 */
export function renderClientMessage(mechanism: string, message: string | Uint8Array, exchange: TraceExchange): string {
  const bytes = asBytes(message);
  if (bytes.length === 0) return '""';
  try {
    return renderKnownClient(mechanism, bytes, exchange) ?? `[${bytes.length} bytes, not shown]`;
  } catch (error) {
    return redactedWhole(bytes.length, error);
  }
}

/**
 * A server challenge of `mechanism` for display, secrets redacted (SCRAM's `v=`, DIGEST-MD5's
 * `rspauth=`), escaped and quoted. SCRAM and DIGEST-MD5 challenges go through the exchange's
 * parsers and are redacted whole when refused; a mechanism the tracer does not know is not shown.
 */
export function renderServerMessage(mechanism: string, message: string | Uint8Array, exchange?: TraceExchange): string {
  const bytes = asBytes(message);
  if (bytes.length === 0) return '""';
  try {
    if (SCRAM_NAME.test(mechanism)) return renderScramServer(mechanism, bytes, exchange);
    if (mechanism === 'DIGEST-MD5') return renderDigest(bytes, 'server');
    // Prompts, CRAM-MD5's challenge, OAuth error JSON: nothing secret in them.
    if (['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER', 'EXTERNAL', 'ANONYMOUS'].includes(mechanism))
      return quote(displayText(bytes));
    return `[${bytes.length} bytes, not shown]`;
  } catch (error) {
    return redactedWhole(bytes.length, error);
  }
}
