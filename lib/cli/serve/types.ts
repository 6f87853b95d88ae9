/**
 * The settings and reports of the test server behind `saslkit serve` and `saslkit demo`,
 * shared by the connection runner and every protocol's module.
 * @module
 */
import type { SASLAuth, ServerOptions } from '../../index.js';
import type { ServeProtocol } from '../url.js';

/** A certificate and key (PEM text or buffers) for STARTTLS or implicit TLS. */
export interface ServerTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /**
   * Trust anchors (PEM) for client certificates: the server asks for one, and offers EXTERNAL
   * over TLS to a client whose certificate verifies, with its subject's CN as the identity. A
   * client without a certificate, or with one that does not verify, still gets the other mechanisms.
   */
  readonly clientCa?: string | Buffer | undefined;
}

/** One authentication attempt, as logged. Never holds a secret. */
export interface AuthAttempt {
  /** `address:port` of the client. */
  readonly remote: string;
  readonly protocol: ServeProtocol;
  /** The SASL mechanism, or `LOGIN command` (IMAP) / `USER/PASS` (POP3). */
  readonly mechanism: string;
  /** True when TLS was active. */
  readonly tls: boolean;
  /** The user name the client gave (when the mechanism looked one up), or the verified authcid. */
  readonly user: string | undefined;
  readonly ok: boolean;
  /** On success: who the client acts as. */
  readonly authzid?: string;
  /** On failure: the error code (`AUTHENTICATION_FAILED`, ...; `STORE_ERROR` for a store that threw). */
  readonly code?: string;
}

/** Options of `startAuthServer`. */
export interface AuthServerOptions {
  readonly protocol: ServeProtocol;
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Mechanisms to offer, in advertising order. Default: every built-in one. */
  readonly auth?: SASLAuth;
  /** Store, token validator and policy for the mechanisms; channel-binding data is added per connection. */
  readonly options: ServerOptions;
  /** Certificate and key: enables STARTTLS, or implicit TLS with `implicitTls`. */
  readonly tls?: ServerTls;
  /** TLS from the first byte (smtps, imaps, pop3s) instead of STARTTLS. */
  readonly implicitTls?: boolean;
  /** Offer PLAIN, LOGIN and the protocols' clear-text login commands before TLS too. Default: only without TLS configured. */
  readonly plaintextAuth?: boolean;
  /** Name in greetings. Default `localhost`. */
  readonly hostname?: string;
  /** Called after each authentication attempt. */
  readonly onAuth?: (attempt: AuthAttempt) => void;
  /** Receives the decoded, redacted trace of every connection. */
  readonly trace?: (line: string) => void;
  /** A connection idle this long is closed. Default 60000 ms. */
  readonly idleTimeoutMs?: number;
}

/** A running server. */
export interface RunningAuthServer {
  readonly protocol: ServeProtocol;
  readonly host: string;
  readonly port: number;
  /** The mechanisms offered before TLS (all of them, when no TLS is configured). */
  readonly mechanisms: readonly string[];
  /** The mechanisms offered once TLS is up (empty without TLS). */
  readonly mechanismsWithTls: readonly string[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}
