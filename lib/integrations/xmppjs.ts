/**
 * `saslkit/xmpp.js`: saslkit's mechanisms inside xmpp.js (`@xmpp/client`): SCRAM-SHA-512,
 * SCRAM-SHA-256 and SCRAM-SHA-1, their -PLUS forms with channel binding when xmpp.js runs over
 * TLS in Node, OAUTHBEARER and PLAIN, as mechanisms of its `saslmechanisms` factory.
 *
 * Two calls, because xmpp.js takes its credentials when the client is created and its
 * mechanisms afterwards:
 *
 * ```ts
 * import { client } from '@xmpp/client';
 * import { saslkitCredentials, useSaslkitMechanisms } from 'saslkit/xmpp.js';
 *
 * const xmpp = client({ service: 'xmpp://chat.example:5222', domain: 'chat.example', credentials: saslkitCredentials({ username: 'juliet', password }) });
 * useSaslkitMechanisms(xmpp);
 * await xmpp.start();
 * ```
 *
 * {@link saslkitCredentials} chooses the mechanism through saslkit's `SASLAuth.negotiateClient`
 * (the strongest offered; -PLUS only with channel-binding data; PLAIN and OAUTHBEARER only on a
 * connection xmpp.js calls secure; the GS2 flag of RFC 5802 section 6), and checks the server's
 * SCRAM signature: xmpp.js's SASL feature drops the data that comes with `<success>`, so the
 * credentials function reads it from the stream itself and fails the login (a
 * `ServerNotVerifiedError`, before the stream restarts) when the server did not prove that it
 * knows the password. Refusals become saslkit's typed errors (`AuthenticationFailedError` for
 * `<not-authorized/>`). xmpp.js itself is not imported: this module works with the version the
 * application installed (tested with 0.14).
 * @module
 */
import { TLSSocket } from 'node:tls';
import {
  type ChannelBindingSource,
  type ChooseOptions,
  ClientCredentials,
  type ClientOptions,
  SASLAuth,
  type SessionOptions,
  UsageError,
  buildXmppAbort,
  tlsChannelBinding,
} from '../index.js';
import {
  ATTEMPT,
  Attempt,
  SASL2_NS,
  type XmppJsElement,
  type XmppJsMechanismClass,
  isSaslkitMechanism,
  mechanismClass,
} from './xmppjs-mechanism.js';

// The mechanism classes and one login's state live in xmppjs-mechanism.ts; their shapes are part of this entry's API.
export type { XmppJsElement, XmppJsMechanism, XmppJsMechanismClass } from './xmppjs-mechanism.js';

/** The mechanisms {@link useSaslkitMechanisms} registers by default, strongest first. */
export const XMPPJS_DEFAULT_MECHANISMS: readonly string[] = [
  'SCRAM-SHA-512-PLUS',
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-512',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'OAUTHBEARER',
  'PLAIN',
];

/** xmpp.js's `saslFactory` (the `saslmechanisms` package): a list of mechanisms, searched in order. */
export interface XmppJsSaslFactory {
  use(name: string, mechanism: XmppJsMechanismClass): unknown;
  /** Read by `@xmpp/sasl` itself to intersect the server's offer with what the factory has, in this order. */
  _mechs: { name: string; mech: unknown }[];
}

/** The part of an xmpp.js client (`Client` of `@xmpp/client`) that this module uses. */
export interface XmppJsEntity {
  /** The socket wrapper; in Node its `socket` property is the `net.Socket` or, after STARTTLS, the `tls.TLSSocket`. */
  readonly socket?: object | null | undefined;
  readonly options?: { readonly domain?: string | undefined } | undefined;
  readonly saslFactory?: XmppJsSaslFactory | undefined;
  isSecure(): boolean;
  on(event: 'nonza', listener: (element: XmppJsElement) => void): unknown;
  removeListener(event: 'nonza', listener: (element: XmppJsElement) => void): unknown;
  write?(text: string): Promise<unknown>;
}

/**
 * The `authenticate` function xmpp.js hands a credentials function: it runs the named mechanism
 * with these credentials (which xmpp.js passes to the mechanism's `response`). The third
 * argument is XEP-0388's user-agent element, which saslkit does not send (typed `never`, so
 * that xmpp.js's own typings, which require an element there, fit).
 */
export type XmppJsAuthenticate = (
  credentials: { username: string; password: string },
  mechanism: string,
  userAgent: never,
) => Promise<void>;

/** xmpp.js's credentials function (`client({ credentials })`): called for each login with the offered mechanisms it has. */
export type XmppJsCredentialsFunction = (
  authenticate: XmppJsAuthenticate,
  mechanisms: string[],
  fast: unknown,
  entity: XmppJsEntity,
) => Promise<void>;

/** Credentials in xmpp.js's words: a password, or a bearer token (for OAUTHBEARER). */
export interface XmppJsCredentials {
  /** The local part (authcid). */
  readonly username: string;
  readonly password?: string | undefined;
  /** A bearer token: only OAUTHBEARER is then chosen. */
  readonly token?: string | undefined;
  /** The identity to act as; empty or absent for the username itself. */
  readonly authzid?: string | undefined;
}

/** What {@link SaslkitCredentialsOptions.onAuthenticated} reports. */
export interface XmppJsLogin {
  readonly mechanism: string;
  /** True when the server proved it knows the credentials (SCRAM's signature, checked). */
  readonly serverVerified: boolean;
  /** The GS2 channel-binding flag SCRAM sent: `p` bound the exchange to the TLS connection (`n` for other mechanisms). */
  readonly channelBinding: 'p' | 'y' | 'n';
}

/** Options of {@link saslkitCredentials}. */
export interface SaslkitCredentialsOptions {
  /**
   * Options of the client mechanisms: the channel-binding policy (`require` admits only -PLUS;
   * `disable` never binds), `scram.maxIterations`, ... `host` defaults to xmpp.js's domain.
   * `channelBindingData` defaults to the TLS socket's, when xmpp.js runs over TLS in Node
   * (STARTTLS or `xmpps://`); over WebSocket there is none.
   */
  readonly client?: ClientOptions | undefined;
  /**
   * How to choose: a `preference` order, `allowPlaintext` (PLAIN and OAUTHBEARER on a connection
   * xmpp.js does not call secure). `encrypted` defaults to `entity.isSecure()`.
   */
  readonly choose?: ChooseOptions | undefined;
  /** The mechanism to use, instead of the strongest offered. */
  readonly mechanism?: string | undefined;
  /** Limits of the exchange (message size, rounds). The waits for the server are xmpp.js's, not timed here. */
  readonly session?: SessionOptions | undefined;
  /** Called after each login that saslkit ran and verified, before xmpp.js restarts the stream. */
  readonly onAuthenticated?: ((login: XmppJsLogin) => void) | undefined;
}

/**
 * Registers saslkit's mechanisms in an xmpp.js client's SASL factory (`xmpp.saslFactory`),
 * ahead of xmpp.js's own, whose SCRAM-SHA-1 and PLAIN they replace. `names` are saslkit
 * mechanism names (default {@link XMPPJS_DEFAULT_MECHANISMS}); only client-first ones can run
 * in xmpp.js. `xmpp` is the client `client()` returned. It must also get
 * {@link saslkitCredentials} as its credentials.
 */
export function useSaslkitMechanisms(xmpp: object, names: readonly string[] = XMPPJS_DEFAULT_MECHANISMS): void {
  // xmpp.js's typings do not declare saslFactory, so any object is taken and checked here.
  const factory = (xmpp as { readonly saslFactory?: XmppJsSaslFactory | undefined }).saslFactory;
  if (factory === undefined || !Array.isArray(factory._mechs))
    throw new UsageError('this is not an xmpp.js client: it has no saslFactory');
  const auth = SASLAuth.named(names);
  const mechanisms = auth.clientMechanisms.filter((mechanism) => mechanism.clientFirst);
  if (mechanisms.length === 0) throw new UsageError('none of these names is a client-first saslkit mechanism');
  const ours = mechanisms.map((mechanism) => ({ name: mechanism.name, mech: mechanismClass(mechanism.name) }));
  const taken = new Set(ours.map((entry) => entry.name));
  const rest = factory._mechs.filter((entry) => !taken.has(entry.name));
  factory._mechs.splice(0, factory._mechs.length, ...ours, ...rest);
}

function clientCredentials(credentials: ClientCredentials | XmppJsCredentials): ClientCredentials {
  if (credentials instanceof ClientCredentials) return credentials;
  const { username, password, token, authzid } = credentials;
  if (token !== undefined && password !== undefined) throw new UsageError('give a password or a token, not both');
  return token !== undefined
    ? new ClientCredentials(username, token, authzid, { kind: 'token' })
    : new ClientCredentials(username, password ?? '', authzid);
}

/** The channel-binding data of xmpp.js's socket in Node: its `TLSSocket`, once TLS is up (STARTTLS or `xmpps://`). */
function socketBinding(entity: XmppJsEntity): ChannelBindingSource | undefined {
  const socket = (entity.socket as { readonly socket?: unknown } | null | undefined)?.socket;
  return socket instanceof TLSSocket ? tlsChannelBinding(socket, 'client') : undefined;
}

/** True when the client's factory holds at least one of saslkit's mechanisms. */
function hasSaslkitMechanisms(entity: XmppJsEntity): boolean {
  return entity.saslFactory?._mechs.some((entry) => isSaslkitMechanism(entry.mech)) === true;
}

/** saslkit's mechanisms among `offered` that this client's factory runs (others are xmpp.js's own). */
function registered(entity: XmppJsEntity, offered: readonly string[]): SASLAuth {
  const factory = entity.saslFactory;
  if (factory === undefined) return new SASLAuth([]);
  const ours: string[] = [];
  for (const name of offered) {
    // The factory runs the first entry of a name: it must be saslkit's.
    const entry = factory._mechs.find((candidate) => candidate.name === name);
    if (entry !== undefined && isSaslkitMechanism(entry.mech)) ours.push(name);
  }
  return SASLAuth.named(ours);
}

/**
 * xmpp.js's `credentials` function for saslkit: give it as `client({ credentials })` and call
 * {@link useSaslkitMechanisms} on the client. At each login it chooses among the offered
 * mechanisms that saslkit runs (see the module text), reads channel-binding data from the TLS
 * socket, runs the exchange through xmpp.js, and checks the server's SCRAM signature before
 * xmpp.js restarts the stream. The returned promise rejects with a saslkit error (`code`
 * `AUTHENTICATION_FAILED`, `SERVER_NOT_VERIFIED`, `MECHANISM_UNAVAILABLE`, ...), which xmpp.js
 * emits as `error` and `start()` rejects with. After `SERVER_NOT_VERIFIED` the server let the
 * client in but did not prove itself: stop the client (`xmpp.stop()`), as after any failed login.
 */
export function saslkitCredentials(
  credentials: ClientCredentials | XmppJsCredentials,
  options: SaslkitCredentialsOptions = {},
): XmppJsCredentialsFunction {
  const creds = clientCredentials(credentials);
  return async (authenticate, mechanisms, _fast, entity) => {
    if (!hasSaslkitMechanisms(entity))
      throw new UsageError("this xmpp.js client has none of saslkit's mechanisms: call useSaslkitMechanisms(xmpp)");
    const auth = registered(entity, mechanisms);
    const binding = options.client?.channelBindingData ?? socketBinding(entity);
    const domain = entity.options?.domain;
    const client: ClientOptions = {
      ...(domain === undefined ? {} : { host: domain }),
      ...options.client,
      channelBindingData: binding,
    };
    // The registry decides the mechanism and the GS2 flag (RFC 5802 section 6), as for every saslkit client.
    const choice = auth.negotiateClient(mechanisms, {
      mechanism: options.mechanism,
      credentials: creds,
      client,
      choose: { encrypted: entity.isSecure(), ...options.choose },
      peer: 'the XMPP server',
    });
    const attempt = new Attempt(choice.mechanism, creds, choice.client, choice.channelBinding, options.session);
    const observe = (element: XmppJsElement): void => {
      attempt.observe(element);
    };
    entity.on('nonza', observe);
    let serverVerified: boolean;
    try {
      // The secret stays with the attempt: xmpp.js sees only the user name.
      const forXmppJs: { username: string; password: string; [ATTEMPT]: Attempt } = {
        username: creds.authcid,
        password: '',
        [ATTEMPT]: attempt,
      };
      await authenticate(forXmppJs, choice.mechanism.name, undefined as never);
      serverVerified = await attempt.finish();
    } catch (error) {
      // The mechanism refused the server's challenge (a forged server-first): the server still
      // waits for a response, so cancel the exchange.
      if (attempt.refusedChallenge) await abort(entity, attempt.namespace);
      throw await attempt.failed(error);
    } finally {
      entity.removeListener('nonza', observe);
    }
    // Only SCRAM sends the flag; for the others it means nothing.
    const channelBinding = choice.mechanism.name.startsWith('SCRAM-') ? choice.channelBinding : 'n';
    options.onAuthenticated?.({ mechanism: choice.mechanism.name, serverVerified, channelBinding });
  };
}

async function abort(entity: XmppJsEntity, namespace: string): Promise<void> {
  if (typeof entity.write !== 'function') return;
  try {
    await entity.write(namespace === SASL2_NS ? `<abort xmlns='${SASL2_NS}'/>` : buildXmppAbort());
  } catch {
    // The stream is gone: the login failed anyway.
  }
}
