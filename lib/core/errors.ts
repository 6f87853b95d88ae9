/**
 * saslkit's error hierarchy. Every error carries a stable `code`; check `code` (or use
 * {@link isSaslError}) rather than `instanceof`, because an application that loads both the
 * ESM and the CommonJS build gets two copies of each class.
 *
 * Messages are fixed texts chosen by saslkit. They never contain a password, token, key, proof
 * or any byte the peer sent, so an error can be logged as it is.
 * @module
 */

/** Stable error codes. */
export type SaslErrorCode =
  | 'MALFORMED_MESSAGE'
  | 'UNEXPECTED_MESSAGE'
  | 'LIMIT_EXCEEDED'
  | 'AUTHENTICATION_FAILED'
  | 'AUTHORIZATION_FAILED'
  | 'MECHANISM_UNAVAILABLE'
  | 'SERVER_NOT_VERIFIED'
  | 'ABORTED'
  | 'TIMEOUT'
  | 'USAGE';

/** Which side of the exchange a problem is attributed to. */
export type Party = 'client' | 'server' | 'local';

const BRAND = Symbol.for('saslkit.SaslError');

/** Options common to every saslkit error. */
export interface SaslErrorOptions {
  /** The mechanism in use, when known. */
  readonly mechanism?: string | undefined;
  /** Who caused the error: the peer client, the peer server, or local code. */
  readonly party?: Party | undefined;
  /** A lower-level error that explains this one; never one that carries secrets. */
  readonly cause?: unknown;
}

/** The base class of every error saslkit throws. */
export class SaslError extends Error {
  /** The stable machine-readable code. */
  readonly code: SaslErrorCode;
  /** The mechanism in use, when known. */
  readonly mechanism: string | undefined;
  /** Who caused the error. */
  readonly party: Party;

  constructor(code: SaslErrorCode, message: string, options: SaslErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.mechanism = options.mechanism;
    this.party = options.party ?? 'local';
    Object.defineProperty(this, BRAND, { value: true });
  }

  override get name(): string {
    return 'SaslError';
  }
}

/** True when `value` is an error thrown by any copy of saslkit (ESM or CommonJS). */
export function isSaslError(value: unknown): value is SaslError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The peer sent a message that does not follow the mechanism's grammar: bad separators,
 * invalid UTF-8 or base64, missing or duplicated fields. pysasl calls this `InvalidResponse`.
 */
export class MalformedMessageError extends SaslError {
  constructor(message: string, options: SaslErrorOptions = {}) {
    super('MALFORMED_MESSAGE', message, options);
  }
  override get name(): string {
    return 'MalformedMessageError';
  }
}

/**
 * The peer sent a message the mechanism did not expect at this point: a challenge after the
 * client's last response, a response after the server finished, or more rounds than the
 * mechanism has. pysasl calls the client-side case `UnexpectedChallenge`.
 */
export class UnexpectedMessageError extends SaslError {
  constructor(message: string, options: SaslErrorOptions = {}) {
    super('UNEXPECTED_MESSAGE', message, options);
  }
  override get name(): string {
    return 'UnexpectedMessageError';
  }
}

/** A message, field, line or round count went over a configured limit. */
export class LimitExceededError extends SaslError {
  /** The limit that was exceeded, e.g. `maxMessageBytes`. */
  readonly limit: string;
  constructor(limit: string, message: string, options: SaslErrorOptions = {}) {
    super('LIMIT_EXCEEDED', message, options);
    this.limit = limit;
  }
  override get name(): string {
    return 'LimitExceededError';
  }
}

/**
 * The credentials were wrong. The message never says whether the user exists. `serverError`
 * carries a reason the server reported (SCRAM's `e=` value, an OAuth status), when there is one.
 */
export class AuthenticationFailedError extends SaslError {
  /** A reason reported by the server, e.g. `invalid-proof` or an OAuth JSON status. */
  readonly serverError: string | undefined;
  constructor(
    message = 'authentication failed',
    options: SaslErrorOptions & { serverError?: string | undefined } = {},
  ) {
    super('AUTHENTICATION_FAILED', message, options);
    this.serverError = options.serverError;
  }
  override get name(): string {
    return 'AuthenticationFailedError';
  }
}

/** The credentials were right, but the authenticated user may not act as the requested authzid. */
export class AuthorizationFailedError extends SaslError {
  constructor(message = 'not authorized to use the requested authorization identity', options: SaslErrorOptions = {}) {
    super('AUTHORIZATION_FAILED', message, options);
  }
  override get name(): string {
    return 'AuthorizationFailedError';
  }
}

/**
 * The mechanism is unknown, not offered, or cannot work with this stored identity (CRAM-MD5
 * needs a clear-text secret). pysasl calls the latter `MechanismUnusable`.
 */
export class MechanismUnavailableError extends SaslError {
  constructor(message: string, options: SaslErrorOptions = {}) {
    super('MECHANISM_UNAVAILABLE', message, options);
  }
  override get name(): string {
    return 'MechanismUnavailableError';
  }
}

/** The server failed to prove that it knows the user's credentials (mutual authentication). */
export class ServerNotVerifiedError extends SaslError {
  constructor(message: string, options: SaslErrorOptions = {}) {
    super('SERVER_NOT_VERIFIED', message, { party: 'server', ...options });
  }
  override get name(): string {
    return 'ServerNotVerifiedError';
  }
}

/** The exchange was cancelled, by the peer (`*`, `<abort/>`) or locally. */
export class ExchangeAbortedError extends SaslError {
  constructor(message = 'authentication exchange aborted', options: SaslErrorOptions = {}) {
    super('ABORTED', message, options);
  }
  override get name(): string {
    return 'ExchangeAbortedError';
  }
}

/** The peer did not answer within the configured time. */
export class TimeoutError extends SaslError {
  constructor(message = 'authentication exchange timed out', options: SaslErrorOptions = {}) {
    super('TIMEOUT', message, options);
  }
  override get name(): string {
    return 'TimeoutError';
  }
}

/** saslkit was called wrongly: a missing option, an async store under the sync driver, a reused session. */
export class UsageError extends SaslError {
  constructor(message: string, options: SaslErrorOptions = {}) {
    super('USAGE', message, { party: 'local', ...options });
  }
  override get name(): string {
    return 'UsageError';
  }
}
