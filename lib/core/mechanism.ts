/**
 * What a mechanism is: a name, who speaks first, and generator factories for each side.
 * @module
 */
import type { ClientCredentials } from '../passwords/credentials.js';
import type { ClientExchange, ServerExchange } from './exchange.js';
import type { ClientOptions, ServerOptions } from './options.js';

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

// The client's options sit with the server's in options.ts; re-exported here for older imports.
export type { ClientOptions, ScramClientOptions } from './options.js';

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
