/**
 * What a mechanism is: a name, who speaks first, and generator factories for each side.
 * @module
 */
import type { ChannelBindingPolicy, ChannelBindingSource } from './channel-binding.js';
import type { ClientCredentials } from './credentials.js';
import type { ClientExchange, ServerExchange } from './exchange.js';
import type { ServerOptions } from './options.js';
import type { ScramCache } from './scram-cache.js';

/**
 * A mechanism name as RFC 4422 section 3.1 defines it: 1 to 20 of `A-Z 0-9 - _`. Lower case
 * matches too: names are matched without case, and the text protocols (SMTP, IMAP, POP3,
 * ManageSieve) accept either on the wire. {@link isUpperCaseMechanismName} is the form PostgreSQL
 * and XMPP require. This is the one place the rule is written; patterns that contain a name are
 * built from its `source`.
 */
export const MECHANISM_NAME = /^[A-Za-z0-9_-]{1,20}$/;

/** True for a {@link MECHANISM_NAME} in upper case, as RFC 4422 registers names (PostgreSQL, XMPP). */
export function isUpperCaseMechanismName(name: string): boolean {
  return MECHANISM_NAME.test(name) && name.toUpperCase() === name;
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

/** The description every mechanism shares. */
export interface MechanismInfo {
  /** The registered SASL name, upper case (RFC 4422 section 3.1). */
  readonly name: string;
  /** True when the client sends the first message (PLAIN); false when the server does (CRAM-MD5). */
  readonly clientFirst: boolean;
  /**
   * Preference when a client chooses among mechanisms a server offers: higher is stronger.
   * Built-ins: SCRAM-*-PLUS 90+, SCRAM 80+, OAUTHBEARER 60, XOAUTH2 55, DIGEST-MD5 30,
   * CRAM-MD5 25, PLAIN 20, LOGIN 10, EXTERNAL 5, ANONYMOUS 0.
   */
  readonly priority: number;
}

/** The server side of a mechanism. */
export interface ServerMechanism extends MechanismInfo {
  /**
   * Starts a server exchange. `initial` is the client's initial response: `undefined` when it
   * sent none, an empty array when it sent an empty one.
   */
  server(options: ServerOptions, initial?: Uint8Array): ServerExchange;
}

/** The client side of a mechanism. */
export interface ClientMechanism extends MechanismInfo {
  /** Starts a client exchange with the given credentials. */
  client(credentials: ClientCredentials, options?: ClientOptions): ClientExchange;
}

/** A mechanism with both sides, as every built-in is. */
export type Mechanism = ServerMechanism & ClientMechanism;
