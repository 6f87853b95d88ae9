/**
 * ANONYMOUS (RFC 4505): no credentials; the client may send trace information (an email
 * address or an opaque token) that the server may log.
 * @module
 */
import { EMPTY, decodeUtf8, utf8 } from '../core/bytes.js';
import { rejectAuthzid } from '../passwords/credentials.js';
import { MalformedMessageError, UsageError } from '../core/errors.js';
import { challenge, respondFinal } from '../core/exchange.js';
import type { ClientMechanism, Mechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { checkFieldLength } from '../passwords/server-auth.js';

const NAME = 'ANONYMOUS';
/** The identity every ANONYMOUS login gets. */
const ANONYMOUS_ID = 'anonymous';
/** RFC 4505 section 2: at most 255 characters. */
const MAX_TRACE_CHARS = 255;

// The "trace" stringprep profile (RFC 4505 section 3) prohibits RFC 3454 tables C.2.1, C.2.2,
// C.3, C.4, C.5, C.6, C.8 and C.9; overlapping ranges are merged. Noncharacters of planes 1-14
// (the rest of C.4) are in NONCHARACTERS.
// C.8's combining marks U+0340-1 lead because the linter misreads them after another character.
const PROHIBITED =
  // eslint-disable-next-line no-control-regex -- C.2.1 is the ASCII control range.
  /[\u0340-\u0341\0-\x1f\x7f-\x9f\u06dd\u070f\u180e\u200c-\u200f\u2028-\u202e\u2060-\u2063\u206a-\u206f\ud800-\udfff\ue000-\uf8ff\ufdd0-\ufdef\ufeff\ufff9-\uffff\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}\u{f0000}-\u{10ffff}]/u;
const NONCHARACTERS =
  /[\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}]/u;

// RFC 3454 table D.1 (bidi R and AL in Unicode 3.2), exactly.
const RAND_AL =
  /[\u05be\u05c0\u05c3\u05d0-\u05ea\u05f0-\u05f4\u061b\u061f\u0621-\u063a\u0640-\u064a\u066d-\u066f\u0671-\u06d5\u06dd\u06e5\u06e6\u06fa-\u06fe\u0700-\u070d\u0710\u0712-\u072c\u0780-\u07a5\u07b1\u200f\ufb1d\ufb1f-\ufb28\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40\ufb41\ufb43\ufb44\ufb46-\ufbb1\ufbd3-\ufd3d\ufd50-\ufd8f\ufd92-\ufdc7\ufdf0-\ufdfc\ufe70-\ufe74\ufe76-\ufefc]/gu;
// Table D.2 (bidi L) has 360 ranges; letters, spacing marks and letter numbers of the current
// Unicode, minus D.1, approximate it (it misses e.g. Indic digits, which are L in Unicode 3.2).
const L_CAT = /[\p{L}\p{Mc}\p{Nl}]/u;

/** Why `trace` breaks RFC 4505's rules, or undefined when it is acceptable. */
function traceProblem(trace: string): string | undefined {
  // Characters are code points here (RFC 4505 counts Unicode characters, not UTF-16 units).
  let count = 0;
  let first = '';
  let last = '';
  for (const char of trace) {
    if (count++ === 0) first = char;
    last = char;
  }
  if (count > MAX_TRACE_CHARS) return `ANONYMOUS trace is longer than ${MAX_TRACE_CHARS} characters`;
  if (PROHIBITED.test(trace) || NONCHARACTERS.test(trace))
    return 'ANONYMOUS trace contains a prohibited character (RFC 4505)';
  // RFC 3454 section 6: with any RandALCat character, no LCat and RandALCat at both ends.
  const withoutRandAL = trace.replace(RAND_AL, '');
  if (withoutRandAL.length !== trace.length) {
    const atEnds = first.replace(RAND_AL, '') === '' && last.replace(RAND_AL, '') === '';
    if (L_CAT.test(withoutRandAL) || !atEnds) return 'ANONYMOUS trace violates the bidi rule (RFC 3454 section 6)';
  }
  return undefined;
}

/**
 * Parses an ANONYMOUS message into its trace (empty when the client sent none). Throws
 * {@link MalformedMessageError} for invalid UTF-8, more than 255 characters, or a character the
 * trace profile forbids; {@link LimitExceededError} when over `maxFieldBytes`.
 */
export function parseAnonymousMessage(message: Uint8Array, options: ServerOptions = {}): string {
  const context = { mechanism: NAME, party: 'client' as const };
  checkFieldLength(options, NAME, 'ANONYMOUS trace', message.length);
  const trace = decodeUtf8(message, 'ANONYMOUS trace', context);
  const problem = traceProblem(trace);
  if (problem !== undefined) throw new MalformedMessageError(problem, context);
  return trace;
}

/** Builds the ANONYMOUS client message. Throws {@link UsageError} for a trace the server must refuse. */
export function buildAnonymousMessage(trace = ''): Uint8Array {
  const problem = traceProblem(trace);
  if (problem !== undefined) throw new UsageError(problem, { mechanism: NAME });
  return utf8(trace);
}

/**
 * The ANONYMOUS client alone: what a client-only bundle imports, so that it carries none
 * of the server side. {@link ANONYMOUS} has the same client.
 */
export const anonymousClient: ClientMechanism = {
  name: NAME,
  clientFirst: true,
  priority: 0,

  *client(credentials) {
    rejectAuthzid(credentials, NAME);
    yield* respondFinal(buildAnonymousMessage(credentials.authcid), NAME);
    return { serverVerified: false };
  },
};

/**
 * The ANONYMOUS mechanism, client and server. Opt-in (`SASLAuth.named(['ANONYMOUS'])`).
 *
 * Server: every well-formed message succeeds with authcid and authzid `anonymous` and the
 * client's `trace`; offer it only where anonymous access is intended. With no initial response
 * the server sends an empty challenge. Client: the trace is `credentials.authcid` (an email
 * address, a token, or `''`); the secret is ignored and may be empty; an authzid is a
 * {@link UsageError}.
 */
export const ANONYMOUS: Mechanism = {
  name: NAME,
  clientFirst: true,
  priority: 0,

  *server(options, initial) {
    const trace = parseAnonymousMessage(initial ?? (yield* challenge(EMPTY)), options);
    return { mechanism: NAME, authcid: ANONYMOUS_ID, authzid: ANONYMOUS_ID, trace };
  },

  client: (credentials, options) => anonymousClient.client(credentials, options),
};
