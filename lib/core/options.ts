/**
 * The options exchanges are started with: {@link ServerOptions} and {@link ClientOptions}. One
 * object serves every mechanism, so an application configures its store, policy and validators
 * once; what serves one mechanism
 * family only sits in that family's group (`scram`). The flat `scram*` names of earlier releases
 * still work as deprecated aliases, read in one place: {@link scramServerSettings} and
 * {@link scramClientSettings}.
 * @module
 */
import type { ChannelBindingPolicy, ChannelBindingSource } from '../channel-binding/binding.js';
import type { Identity } from '../passwords/identity.js';
import type { ScramCache } from '../mechanisms/scram-cache.js';

/** Context passed to server callbacks. */
export interface CallbackContext {
  /** The mechanism asking. */
  readonly mechanism: string;
}

/** Finds the stored account for an authcid; `undefined` when there is none. May be async. */
export type CredentialLookup = (
  authcid: string,
  context: CallbackContext,
) => Identity | undefined | Promise<Identity | undefined>;

/**
 * Checks a password with a backend that can only answer yes or no: an LDAP simple bind, PAM, an
 * authentication API, bcrypt or argon2 hashes in your own table. `authcid` and `password` are
 * SASLprep-ed (RFC 4616 section 2); only `true` lets the client in. May be async. It must cost
 * the same whether or not the user exists (see {@link ServerOptions.verifyPassword}).
 */
export type PasswordVerifier = (
  authcid: string,
  password: string,
  context: CallbackContext,
) => boolean | Promise<boolean>;

/** Asked when an authenticated client wants to act as a different authorization identity. */
export interface AuthorizeRequest extends CallbackContext {
  /** The verified authentication identity. */
  readonly authcid: string;
  /** The authorization identity the client asked for; never empty here. */
  readonly authzid: string;
}

/** A bearer token presented with XOAUTH2 or OAUTHBEARER. */
export interface TokenRequest extends CallbackContext {
  /** The bearer token. Treat as a secret. */
  readonly token: string;
  /** The user the client named: XOAUTH2's `user=`, OAUTHBEARER's GS2 `a=` (may be empty). */
  readonly user: string;
  /** OAUTHBEARER's `host=` key, if sent. */
  readonly host?: string | undefined;
  /** OAUTHBEARER's `port=` key, if sent. */
  readonly port?: number | undefined;
}

/** The error a server reports for a rejected token (RFC 7628 section 3.2.2; Google's XOAUTH2). */
export interface TokenError {
  /** An HTTP-like status, e.g. `invalid_token` or `401`. */
  readonly status: string;
  /** The scope the token needs, if the server wants to tell. */
  readonly scope?: string;
  /** Where a client finds the OpenID configuration (OAUTHBEARER). */
  readonly openidConfiguration?: string;
  /** Accepted schemes, e.g. `Bearer` (XOAUTH2). */
  readonly schemes?: string;
}

/** The verdict on a token: the authcid it belongs to, or a {@link TokenError}. */
export type TokenResult = { readonly authcid: string } | { readonly error: TokenError };

/** The server options only SCRAM-* reads: `ServerOptions.scram`. */
export interface ScramServerOptions {
  /**
   * Iteration count for keys derived from clear-text identities and for unknown users.
   * Default 4096 for SHA-1 and SHA-256, 10000 for SHA-512. Stored secrets keep their own count.
   */
  readonly iterations?: number;
  /**
   * The secret that derives salts for clear-text identities and fake salts for unknown users
   * (HMAC). Set it, at least 32 random bytes, so that answers stay the same across restarts; by
   * default a random per-process secret is used.
   */
  readonly saltSecret?: Uint8Array | string;
  /**
   * On failure, send RFC 5802's `e=<reason>` to the client as a last challenge before failing
   * (one more round trip). Default false: fail at once, as Dovecot and PostgreSQL do; the reason
   * is still the error's `serverError`.
   */
  readonly sendErrors?: boolean;
  /** Tests only: a fixed server nonce suffix instead of a random one. Never set it in production. */
  readonly nonceForTesting?: string;
  /**
   * Where keys derived from clear-text accounts are kept, and the salt secret used when
   * `saltSecret` is unset. Default `DEFAULT_SCRAM_CACHE`, shared by the process; give a
   * tenant its own to keep its entries and default salt secret apart.
   */
  readonly cache?: ScramCache;
}

/** Server options shared by every mechanism, and the `scram` group. */
export interface ServerOptions {
  /** Finds stored identities (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM). */
  readonly lookup?: CredentialLookup;
  /**
   * A password-check backend for the mechanisms that receive the password itself: PLAIN and
   * LOGIN. When set, they ask it (one `verify` effect with the SASLprep-ed name and password)
   * and never `lookup`; the result has no `identity`. SCRAM, CRAM-MD5 and DIGEST-MD5 cannot use
   * it (they need a stored secret before the client proves anything) and keep using `lookup`:
   * with both set, PLAIN and LOGIN go to the backend and the others to the store; with only
   * this, offer PLAIN and LOGIN only (`SASLAuth.defaults()`, or `auth.usableWith(options)`),
   * and only over TLS.
   *
   * Whether a user exists is then the backend's secret: saslkit asks it exactly the same way
   * for an unknown user as for a wrong password (no decoy, no store), so the backend must take
   * the same time for both, as smtp-server's `onAuth` must (an LDAP bind does; a table of
   * bcrypt hashes must hash against a dummy hash for an unknown name). A name or password that
   * SASLprep refuses fails without asking it. A backend that throws fails the exchange with its
   * error (the protocol profiles answer 454 / `NO [UNAVAILABLE]`).
   */
  readonly verifyPassword?: PasswordVerifier;
  /**
   * Decides whether an authcid may act as another authzid (proxy authorization). Without it,
   * any authzid other than the authcid itself is refused: the safe default.
   */
  readonly authorize?: (request: AuthorizeRequest) => boolean | Promise<boolean>;
  /**
   * The host name in CRAM-MD5 challenges, the DIGEST-MD5 realm, and the host a DIGEST-MD5
   * digest-uri must name (with {@link ServerOptions.hostAliases}). Default `localhost`; never
   * looked up.
   */
  readonly hostname?: string;
  /**
   * Other names of this server than `hostname`: aliases, the address clients connect to, the
   * domain of a replicated service. DIGEST-MD5 accepts a digest-uri (`serv-type/host[/serv-name]`,
   * RFC 2831 section 2.1.2) only when its host, and its serv-name when sent, is `hostname` or one
   * of these, compared without case and trailing dot; anything else is a login computed for
   * another server (a relay) and fails. Default none.
   */
  readonly hostAliases?: readonly string[];
  /**
   * The service this server provides, as DIGEST-MD5's digest-uri and GSSAPI name it: `imap`,
   * `smtp`, `pop`, `sieve`, `xmpp`, `ldap` ... DIGEST-MD5 refuses a digest-uri for another
   * service. The SMTP, IMAP, POP3, ManageSieve and XMPP profiles fill it in when unset; a host
   * that drives the mechanism itself should set it, since without it any serv-type passes.
   */
  readonly service?: string;
  /** EXTERNAL: the identity the transport established (e.g. a TLS client certificate subject). */
  readonly externalIdentity?: string;
  /** XOAUTH2 and OAUTHBEARER: validates a bearer token. */
  readonly validateToken?: (request: TokenRequest) => TokenResult | Promise<TokenResult>;
  /**
   * What the password of a user the store does not know is checked against (PLAIN, LOGIN), and
   * what shapes SCRAM's answer to one (a salt size and count like a stored secret's, or one
   * PBKDF2 like a clear-text account's), so that a failed login for an unknown user runs the
   * same steps at the same cost as one with a wrong password. By default saslkit builds a decoy
   * from the identities the `lookup` returns: for a `HashedIdentity` the same hasher and stored
   * hash string (same algorithm, rounds and salt size), for a `ScramIdentity` (or any identity
   * with `getScramSecret`) the same SCRAM secrets, for a `ClearIdentity` (or any identity with a
   * clear secret) a clear-text placeholder. Until the store has returned one identity (the first
   * logins after start) the decoy is a clear-text placeholder; for an identity class of your own,
   * PLAIN and LOGIN check the decoy, not your class's `compareSecret`: set this option to an
   * identity of your store's kind and cost (e.g. `HashedIdentity.create('nobody',
   * randomPassword, hasher)`, or an instance of your class) when that matters. Its authcid is
   * never accepted: an unknown user always fails.
   */
  readonly unknownUserIdentity?: Identity;
  /** Largest field (user name, password, authzid) accepted, in bytes. Default 1024. */
  readonly maxFieldBytes?: number;
  /**
   * The most a stored secret may cost to check, in iterations: a SCRAM secret's count (every
   * text form), a PBKDF2 or Dovecot `{PBKDF2}` string's rounds, a scrypt string's N·r·p (about
   * as costly per unit), or what a custom hasher's `cost` reports. An account above it is never
   * checked at its own cost (nor is `unknownUserIdentity`): the login fails like a wrong
   * password, after the same steps as for an unknown user, and the error's `cause` is a
   * `LimitExceededError` (`limit: 'maxStoredCost'`) naming the account, never its secret.
   * Default {@link DEFAULT_MAX_STORED_COST}.
   */
  readonly maxStoredCost?: number;
  /**
   * SCRAM: the connection's channel-binding data, e.g. `tlsChannelBinding(socket, 'server')`.
   * Required by SCRAM-*-PLUS; with it, plain SCRAM also refuses a client that says it could bind
   * but thinks the server cannot (GS2 flag `y`: a downgrade). Advertise -PLUS only when its
   * `types` is non-empty.
   */
  readonly channelBindingData?: ChannelBindingSource | undefined;
  /**
   * SCRAM: when the connection has channel-binding data (`channelBindingData` with a type, i.e.
   * TLS), accept only -PLUS: a client's GS2 flag `n` or `y` fails with `AUTHENTICATION_FAILED`
   * (`serverError` and, with `scram.sendErrors`, `e=` `server-does-support-channel-binding`),
   * before the store is asked. Without binding data (no TLS) it changes nothing, so a server
   * that also listens in the clear does not lock everyone out there: keep SCRAM off such ports
   * if that is the policy. Pass it to `advertisedMechanisms` as well, which then offers no
   * non-PLUS SCRAM over TLS (`saslkit serve`'s server does). Default false.
   */
  readonly requireChannelBinding?: boolean;
  /** SCRAM-* only: iterations, salt secret, `e=` reports; see {@link ScramServerOptions}. */
  readonly scram?: ScramServerOptions;
  /** @deprecated Use `scram.iterations`; read when that is unset. */
  readonly scramIterations?: number;
  /** @deprecated Use `scram.saltSecret`; read when that is unset. */
  readonly scramSaltSecret?: Uint8Array | string;
  /** @deprecated Use `scram.sendErrors`; read when that is unset. */
  readonly scramSendErrors?: boolean;
  /** @deprecated Use `scram.nonceForTesting`; read when that is unset. */
  readonly scramNonceForTesting?: string;
  /**
   * The user the transport already named or authenticated outside SASL, such as PostgreSQL's
   * startup-packet `user`. A mechanism whose message names the user only for the transport's
   * sake uses this name instead and ignores its own: SCRAM looks up and checks it and ignores
   * `n=` (libpq sends `n=` empty), as PostgreSQL does. PLAIN, LOGIN, CRAM-MD5 and DIGEST-MD5 keep
   * the name the client sent, which their proof covers or which is their only user name; a host
   * that wants it to match the transport's compares `Authenticated.authcid` itself.
   */
  readonly transportAuthcid?: string;
  /** @deprecated Use `transportAuthcid`; read when that is unset. */
  readonly protocolAuthcid?: string;
}

/** The client options only SCRAM-* reads: `ClientOptions.scram`. */
export interface ScramClientOptions {
  /** The highest iteration count accepted from a server. Default 600000; the lowest is always 4096. */
  readonly maxIterations?: number;
  /**
   * Reuse salted passwords across exchanges, so a reconnect costs no second PBKDF2. `true` (the
   * default) uses `DEFAULT_SCRAM_CACHE`, process-wide, at most 32 entries keyed by an HMAC
   * of (hash, password, salt, iterations), emptied by `clearScramClientCache()`; a
   * {@link ScramCache} of your own keeps its entries apart; `false` derives every time.
   */
  readonly cache?: boolean | ScramCache;
  /** Tests only: a fixed client nonce instead of a random one. Never set it in production. */
  readonly nonceForTesting?: string;
}

/** Options for client exchanges. Mechanisms ignore the fields they do not use. */
export interface ClientOptions {
  /** The server's host name: DIGEST-MD5's digest-uri host, OAUTHBEARER's `host=`. */
  readonly host?: string;
  /** The server's port, for OAUTHBEARER's `port=`. */
  readonly port?: number;
  /** The protocol's service name for DIGEST-MD5's digest-uri (`imap`, `smtp`, ...). */
  readonly service?: string;
  /** SCRAM: channel-binding policy, as libpq's `channel_binding`. Default `prefer`. */
  readonly channelBinding?: ChannelBindingPolicy;
  /** SCRAM: the connection's channel-binding data, e.g. `tlsChannelBinding(socket, 'client')`. */
  readonly channelBindingData?: ChannelBindingSource | undefined;
  /** SCRAM-* only: iteration cap, salted-password cache, test nonce; see {@link ScramClientOptions}. */
  readonly scram?: ScramClientOptions;
  /** @deprecated Use `scram.maxIterations`; read when that is unset. */
  readonly scramMaxIterations?: number;
  /** @deprecated Use `scram.cache`; read when that is unset. */
  readonly scramCache?: boolean;
  /** @deprecated Use `scram.nonceForTesting`; read when that is unset. */
  readonly scramNonceForTesting?: string;
}

/** Default of {@link ServerOptions.maxFieldBytes}. */
export const DEFAULT_MAX_FIELD_BYTES = 1024;

/**
 * Default of {@link ServerOptions.maxStoredCost}: 5,000,000, the cap PBKDF2 strings already had
 * (ten times pysasl's default rounds; OWASP's 2023 counts are 1,300,000 at most). A planted
 * secret then costs seconds, not the minutes 2^31-1 SCRAM iterations would.
 */
export const DEFAULT_MAX_STORED_COST = 5_000_000;

/* eslint-disable @typescript-eslint/no-deprecated -- the one place the flat aliases are read */
/**
 * The SCRAM server settings of `options`: the `scram` group, each unset field filled from its
 * deprecated flat alias (`scramIterations` ...). The one place the aliases are read. @internal
 */
export function scramServerSettings(options: ServerOptions): Settings<ScramServerOptions> {
  const group = options.scram;
  return {
    iterations: group?.iterations ?? options.scramIterations,
    saltSecret: group?.saltSecret ?? options.scramSaltSecret,
    sendErrors: group?.sendErrors ?? options.scramSendErrors,
    nonceForTesting: group?.nonceForTesting ?? options.scramNonceForTesting,
    cache: group?.cache,
  };
}

/**
 * The SCRAM client settings of `options`: the `scram` group, each unset field filled from its
 * deprecated flat alias (`scramMaxIterations`, `scramCache`, `scramNonceForTesting`). @internal
 */
export function scramClientSettings(options: ClientOptions): Settings<ScramClientOptions> {
  const group = options.scram;
  return {
    maxIterations: group?.maxIterations ?? options.scramMaxIterations,
    cache: group?.cache ?? options.scramCache,
    nonceForTesting: group?.nonceForTesting ?? options.scramNonceForTesting,
  };
}

/** {@link ServerOptions.transportAuthcid}, else its deprecated alias `protocolAuthcid`. @internal */
export function transportAuthcid(options: ServerOptions): string | undefined {
  return options.transportAuthcid ?? options.protocolAuthcid;
}
/* eslint-enable @typescript-eslint/no-deprecated */

/** A group's fields, every one present: its value, or undefined for the default. @internal */
export type Settings<T> = { readonly [K in keyof T]-?: T[K] | undefined };
