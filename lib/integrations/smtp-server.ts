/**
 * `saslkit/smtp-server`: an `onAuth` handler for nodemailer's smtp-server that checks its PLAIN,
 * LOGIN, CRAM-MD5 and XOAUTH2 attempts with saslkit: stored identities of any kind (clear text,
 * pysasl, passlib or Dovecot hashes, any password hasher, stored SCRAM secrets), a
 * password-check backend (`verifyPassword`), a token validator (`validateToken`) and an
 * authorization policy, with SASLprep, constant-time comparisons and the same work for an
 * unknown user as for a wrong password.
 *
 * smtp-server runs each exchange and hands the decoded fields to `onAuth`; this handler replays
 * them into saslkit's own server mechanisms (the same code that serves saslkit's SMTP profile),
 * so nothing is checked twice and nothing is checked differently. smtp-server itself is not
 * imported: this module works with the version the application installed.
 * @module
 */
import {
  type Authenticated,
  LOGIN,
  PLAIN,
  PromiseServerSession,
  type ServerExchange,
  type ServerOptions,
  type ServerStep,
  type SessionLimits,
  UnexpectedMessageError,
  XOAUTH2,
  cramMd5Server,
  isSaslError,
  utf8,
} from '../index.js';

/** What smtp-server hands `onAuth` (its `SMTPServerAuthentication`), as far as this handler reads it. */
export interface SmtpServerAuthentication {
  /** `PLAIN`, `LOGIN`, `CRAM-MD5`, `XOAUTH2` or `XCLIENT`. */
  readonly method: string;
  /** The user name: PLAIN's authcid (its authzid when the authcid is empty), LOGIN's, CRAM-MD5's, XOAUTH2's `user=`. */
  readonly username?: string | undefined;
  /** PLAIN and LOGIN: the password (null for XCLIENT). */
  readonly password?: string | null | undefined;
  /** PLAIN: the authcid field as sent (smtp-server 3.19 and later). */
  readonly authcid?: string | undefined;
  /** PLAIN: the authzid field as sent (smtp-server 3.19 and later). */
  readonly authzid?: string | undefined;
  /** XOAUTH2: the bearer token. */
  readonly accessToken?: string | undefined;
  /** CRAM-MD5: the challenge smtp-server sent. */
  readonly challenge?: string | undefined;
  /** CRAM-MD5: the client's hex digest. */
  readonly challengeResponse?: string | undefined;
}

/** What `onAuth` answers smtp-server with (its `SMTPServerAuthenticationResponse`). */
export interface SmtpServerAuthResponse {
  /** Set on success: becomes `session.user`. */
  readonly user?: unknown;
  /** XOAUTH2 refusals: the JSON error smtp-server sends as a `334` challenge before its 535. */
  readonly data?: object | undefined;
  /** The reply text of a refusal. */
  readonly message?: string | undefined;
  /** The reply code of a refusal. */
  readonly responseCode?: number | undefined;
}

/** smtp-server's `onAuth` callback: an error (its message and `responseCode` become the reply), or a response. */
export type SmtpServerAuthCallback = (error: Error | null | undefined, response?: SmtpServerAuthResponse) => void;

/** The `onAuth` handler {@link createOnAuth} returns; `session` is smtp-server's session object. */
export type SmtpServerOnAuth<Session = unknown> = (
  auth: SmtpServerAuthentication,
  session: Session,
  callback: SmtpServerAuthCallback,
) => void;

/** One attempt as {@link OnAuthSettings.onAttempt} reports it: the verified result, or saslkit's typed error. */
export interface OnAuthAttempt<Session = unknown> {
  /** smtp-server's method name. */
  readonly method: string;
  /** smtp-server's session. */
  readonly session: Session;
  /** The verified result, on success. */
  readonly result?: Authenticated;
  /** Why the attempt failed: a `SaslError` (its `cause` tells the operator more), or what the store threw. */
  readonly error?: unknown;
  /** The reply smtp-server sends for it. */
  readonly reply: { readonly code: number; readonly text: string };
}

/** How {@link createOnAuth} maps results to smtp-server. */
export interface OnAuthSettings<Session = unknown> {
  /** What becomes `session.user` on success. Default: the authorization identity (`result.authzid`), a string. */
  readonly user?: (result: Authenticated, session: Session) => unknown;
  /** Called after every attempt, for logs and audits. Never receives a password or token. */
  readonly onAttempt?: (attempt: OnAuthAttempt<Session>) => void;
  /** Limits of each saslkit session (message size, rounds). Default saslkit's. */
  readonly limits?: SessionLimits;
}

type ReplyKind = 'success' | 'failed' | 'unauthorized' | 'malformed' | 'tooLong' | 'unknownMechanism' | 'temporary';

// The texts of saslkit's own SMTP profile (smtpServerAuth), so that both servers answer alike.
const REPLIES: Readonly<Record<ReplyKind, { readonly code: number; readonly text: string }>> = {
  success: { code: 235, text: '2.7.0 Authentication successful' },
  failed: { code: 535, text: '5.7.8 Authentication credentials invalid' },
  unauthorized: { code: 535, text: '5.7.8 Not authorized to use the requested identity' },
  malformed: { code: 501, text: '5.5.2 Cannot decode the client response' },
  tooLong: { code: 500, text: '5.5.6 Authentication Exchange line is too long' },
  unknownMechanism: { code: 504, text: '5.5.4 Unrecognized authentication type' },
  temporary: { code: 454, text: '4.7.0 Temporary authentication failure' },
};

/**
 * The reply a failure calls for, as saslkit's SMTP profile decides it: wrong credentials 535, an
 * account the mechanism cannot use 535 too (it must look like a wrong password), a message off
 * the grammar 501, and the server's own trouble (a store that threw, a missing option, a full
 * KDF pool) 454, so that the client tries again later.
 */
function classify(error: unknown): ReplyKind {
  if (!isSaslError(error)) return 'temporary';
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
    case 'MECHANISM_UNAVAILABLE':
      return 'failed';
    case 'AUTHORIZATION_FAILED':
      return 'unauthorized';
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
    case 'ABORTED':
      return 'malformed';
    case 'LIMIT_EXCEEDED': {
      const limit = 'limit' in error ? error.limit : undefined;
      if (limit === 'maxFieldBytes') return 'failed';
      if (limit === 'maxMessageBytes') return 'tooLong';
      return error.party === 'local' ? 'temporary' : 'malformed';
    }
    default:
      return 'temporary';
  }
}

/** The error smtp-server gets for the server's own trouble: a fixed text for the client, the real error as `cause`. */
class TemporaryFailure extends Error {
  /** smtp-server replies with this code. */
  readonly responseCode = REPLIES.temporary.code;

  constructor(cause: unknown) {
    super(REPLIES.temporary.text, { cause });
  }

  override get name(): string {
    return 'TemporaryFailure';
  }
}

/** The exchange and the client messages that replay an smtp-server attempt, or undefined for a method saslkit does not check here. */
function replay(
  auth: SmtpServerAuthentication,
  options: ServerOptions,
): { exchange: ServerExchange; responses: Uint8Array[] } | undefined {
  const method = typeof auth.method === 'string' ? auth.method.toUpperCase() : '';
  const username = auth.username ?? '';
  switch (method) {
    case 'PLAIN': {
      // smtp-server takes the authzid as the user name when the authcid is empty (clients that
      // put the name first); so does this handler: one name, no authorization identity.
      const authcid = auth.authcid === undefined || auth.authcid === '' ? username : auth.authcid;
      const authzid =
        authcid === username && (auth.authcid === undefined || auth.authcid === '') ? '' : (auth.authzid ?? '');
      return { exchange: PLAIN.server(options, utf8(`${authzid}\0${authcid}\0${auth.password ?? ''}`)), responses: [] };
    }
    case 'LOGIN':
      return { exchange: LOGIN.server(options, utf8(username)), responses: [utf8(auth.password ?? '')] };
    case 'CRAM-MD5':
      // smtp-server's challenge, checked by saslkit's CRAM-MD5 server: same key preparation and
      // decoy as saslkit's own SMTP server, and a clear secret is needed (ClearIdentity).
      return {
        exchange: cramMd5Server(options, utf8(auth.challenge ?? '')),
        responses: [utf8(`${username} ${auth.challengeResponse ?? ''}`)],
      };
    case 'XOAUTH2':
      // The client's message as it was sent; saslkit's parser judges the user name and token.
      return {
        exchange: XOAUTH2.server(
          options,
          utf8(`user=${username}\u0001auth=Bearer ${auth.accessToken ?? ''}\u0001\u0001`),
        ),
        responses: [],
      };
    default:
      return undefined;
  }
}

/** XOAUTH2's JSON error challenge as an object for smtp-server's `data`, or undefined when it is not one. */
function jsonChallenge(challenge: Uint8Array): object | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(challenge));
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An `onAuth` handler for smtp-server that checks every attempt with saslkit's server
 * mechanisms and `options` (the same {@link ServerOptions} saslkit's own servers take):
 *
 * - PLAIN and LOGIN: against `lookup`'s identities (`ClearIdentity`, `HashedIdentity` with any
 *   hasher, `ScramIdentity`, which checks the password against the stored SCRAM keys), or
 *   against `verifyPassword`; an unknown user is checked against a decoy of the store's kind;
 * - CRAM-MD5: needs the clear-text password (`ClearIdentity`, `CleartextHasher`); any other
 *   account fails like a wrong password (the reason is the error's `cause`), so advertise
 *   CRAM-MD5 in smtp-server's `authMethods` only when the store keeps passwords in clear;
 * - XOAUTH2: `validateToken`; a refused token gets smtp-server's JSON error challenge;
 * - XCLIENT: left to smtp-server's default (the session stays unauthenticated).
 *
 * Replies: 235 on success (`session.user` is {@link OnAuthSettings.user}'s value, by default
 * the authorization identity), 535 for wrong credentials and refused authorization, 501 for a
 * message off the grammar, 454 when the store, backend or validator throws. Proxy
 * authorization (PLAIN's authzid) needs `options.authorize`. Requiring TLS before AUTH stays
 * smtp-server's job (do not set `allowInsecureAuth` in production).
 */
export function createOnAuth<Session = unknown>(
  options: ServerOptions,
  settings: OnAuthSettings<Session> = {},
): SmtpServerOnAuth<Session> {
  const userOf = settings.user ?? ((result: Authenticated): unknown => result.authzid);
  const report = (method: string, session: Session, kind: ReplyKind, result?: Authenticated, error?: unknown): void => {
    const attempt: OnAuthAttempt<Session> = {
      method,
      session,
      reply: REPLIES[kind],
      ...(result === undefined ? {} : { result }),
      ...(error === undefined ? {} : { error }),
    };
    settings.onAttempt?.(attempt);
  };
  return (auth, session, callback) => {
    const method = typeof auth.method === 'string' ? auth.method.toUpperCase() : '';
    if (method === 'XCLIENT') {
      callback(null);
      return;
    }
    let exchange: ReturnType<typeof replay>;
    try {
      exchange = replay(auth, options);
    } catch (error) {
      report(method, session, 'temporary', undefined, error);
      callback(new TemporaryFailure(error));
      return;
    }
    if (exchange === undefined) {
      report(method, session, 'unknownMechanism');
      callback(null, { message: REPLIES.unknownMechanism.text, responseCode: REPLIES.unknownMechanism.code });
      return;
    }
    void run(exchange.exchange, exchange.responses, settings.limits, method).then(
      (step) => {
        if (step.done) {
          report(method, session, 'success', step.outcome);
          callback(null, { user: userOf(step.outcome, session) });
          return;
        }
        // Only a refused XOAUTH2 token ends with a challenge: its JSON error, answered by the
        // client's dummy response before the failure. saslkit's session has the final error.
        report(method, session, 'failed', undefined, step.error);
        callback(null, { data: jsonChallenge(step.challenge) ?? {} });
      },
      (error: unknown) => {
        const kind = classify(error);
        report(method, session, kind, undefined, error);
        if (kind === 'temporary') callback(new TemporaryFailure(error));
        else callback(null, { message: REPLIES[kind].text, responseCode: REPLIES[kind].code });
      },
    );
  };
}

type Finished =
  | Extract<ServerStep, { done: true }>
  | { readonly done: false; readonly challenge: Uint8Array; readonly error: unknown };

/**
 * Runs the exchange with the client's messages. Only XOAUTH2 may ask for more than smtp-server
 * passed on: its JSON error challenge, which the client answers with a dummy response before the
 * failure; saslkit's session is given that dummy, so the failure it reports is the validator's.
 */
async function run(
  exchange: ServerExchange,
  responses: readonly Uint8Array[],
  limits: SessionLimits | undefined,
  mechanism: string,
): Promise<Finished> {
  const session = new PromiseServerSession(exchange, { ...limits, mechanism });
  let step = await session.start();
  for (const response of responses) {
    if (step.done) break;
    step = await session.respond(response);
  }
  if (step.done) return step;
  if (mechanism !== 'XOAUTH2') {
    session.abort('local');
    throw new UnexpectedMessageError(`${mechanism} asked for more than the client sent`, {
      mechanism,
      party: 'client',
    });
  }
  const challenge = step.challenge;
  try {
    const after = await session.respond(new Uint8Array(0));
    if (after.done) return after;
    session.abort('local');
    return { done: false, challenge, error: undefined };
  } catch (error) {
    return { done: false, challenge, error };
  }
}
