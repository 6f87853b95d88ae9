/**
 * The mechanism registry: pysasl's `SASLAuth`, with case-insensitive names and client-side
 * negotiation.
 * @module
 */
import { type Gs2BindingFlag, clientChannelBinding } from '../channel-binding/binding.js';
import type { ClientCredentials, SecretKind } from '../passwords/credentials.js';
import { MechanismUnavailableError, UsageError } from './errors.js';
import {
  type ClientMechanism,
  type ClientOptions,
  MECHANISM_NAME,
  type MechanismInfo,
  type ServerMechanism,
} from './mechanism.js';
import { BUILTIN_MECHANISMS } from '../mechanisms/builtin.js';
import type { ServerOptions } from './options.js';

/** How a client picks among the mechanisms a server offers. */
export interface ChooseOptions {
  /**
   * An explicit preference order, strongest first; names not listed are never chosen. Default:
   * every registered client mechanism, ordered by {@link MechanismInfo.priority}.
   */
  readonly preference?: readonly string[];
  /** Whether the connection can do channel binding; when false, `-PLUS` mechanisms are skipped. Default false. */
  readonly channelBinding?: boolean;
  /**
   * What the client can authenticate with (the credentials, or their {@link SecretKind}s): only
   * mechanisms that use it are chosen. A `token` goes only to OAUTHBEARER and XOAUTH2; a
   * `password` only to password mechanisms (SCRAM, DIGEST-MD5, CRAM-MD5, PLAIN, LOGIN, and
   * mechanisms saslkit does not know); `none` only to EXTERNAL and ANONYMOUS. Several kinds: the
   * strongest mechanism that any of them can use. Default: any mechanism, as pysasl.
   */
  readonly credentials?: ClientCredentials | SecretKind | readonly SecretKind[] | undefined;
  /**
   * Whether the connection is encrypted (TLS). When false, mechanisms that send the secret
   * itself (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2) are never chosen, unless `allowPlaintext`: a man
   * in the middle who strips the stronger mechanisms from the server's list would read the
   * password or the bearer token. Default: unknown, no such restriction.
   */
  readonly encrypted?: boolean | undefined;
  /** Allow choosing PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 when `encrypted` is false. Default false. */
  readonly allowPlaintext?: boolean | undefined;
}

/** Mechanisms whose client sends the secret itself: readable by anyone who sees the traffic. */
const CLEAR_TEXT = new Set(['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
const TOKEN_MECHANISMS = new Set(['OAUTHBEARER', 'XOAUTH2']);
const NO_SECRET_MECHANISMS = new Set(['EXTERNAL', 'ANONYMOUS']);

/** The kind of secret a client mechanism uses: `token` for OAUTHBEARER and XOAUTH2, `none` for EXTERNAL and ANONYMOUS, `password` for the rest. */
export function mechanismSecretKind(name: string): SecretKind {
  const upper = key(name);
  return TOKEN_MECHANISMS.has(upper) ? 'token' : NO_SECRET_MECHANISMS.has(upper) ? 'none' : 'password';
}

/** True when the client of this mechanism sends the secret itself (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2): use it only inside TLS. */
export function sendsSecretInClear(name: string): boolean {
  return CLEAR_TEXT.has(key(name));
}

/** Options of {@link SASLAuth.negotiateClient}. */
export interface NegotiateOptions {
  /** The mechanism the host named. It is used as named (naming PLAIN is consent to send the password), checked only for channel binding. */
  readonly mechanism?: string | ClientMechanism | undefined;
  /** The credentials: their {@link ClientCredentials.kind} limits the choice unless `choose.credentials` says otherwise. */
  readonly credentials?: ClientCredentials | undefined;
  /**
   * How to choose. `channelBinding` defaults to whether `client` can bind (binding data, a
   * policy other than `disable`); set `encrypted: false` on a connection without TLS.
   */
  readonly choose?: ChooseOptions | undefined;
  /** The mechanism options: SCRAM's policy (`require` admits only -PLUS) and channel-binding data. */
  readonly client?: ClientOptions | undefined;
  /** Who offered the list, for error messages. Default `the server`. */
  readonly peer?: string | undefined;
}

/** What {@link SASLAuth.negotiateClient} decided. */
export interface ClientChoice {
  /** The mechanism to run. */
  readonly mechanism: ClientMechanism;
  /** The options to run it with: `client`, without channel-binding data when it must not be used. */
  readonly client: ClientOptions;
  /** The GS2 flag a SCRAM mechanism sends with these options (RFC 5802 section 6). */
  readonly channelBinding: Gs2BindingFlag;
}

/** Whether `options` hold what the server side of the mechanism named `name` (upper case) needs. */
function serves(name: string, options: ServerOptions): boolean {
  if (name === 'PLAIN' || name === 'LOGIN') return options.lookup !== undefined || options.verifyPassword !== undefined;
  if (name.startsWith('SCRAM-') || name === 'CRAM-MD5' || name === 'DIGEST-MD5') return options.lookup !== undefined;
  if (TOKEN_MECHANISMS.has(name)) return options.validateToken !== undefined;
  if (name === 'EXTERNAL') return options.externalIdentity !== undefined;
  return name !== 'ANONYMOUS';
}

function key(name: string): string {
  return name.toUpperCase();
}

function kindsOf(credentials: ChooseOptions['credentials']): ReadonlySet<SecretKind> | undefined {
  if (credentials === undefined) return undefined;
  if (typeof credentials === 'string') return new Set([credentials]);
  // Credentials from another copy of saslkit (ESM and CommonJS) are credentials too: no instanceof.
  if (isKindList(credentials)) return new Set(credentials);
  return new Set([credentials.kind]);
}

function isKindList(value: ClientCredentials | readonly SecretKind[]): value is readonly SecretKind[] {
  return Array.isArray(value);
}

const KIND_WORDS: Readonly<Record<SecretKind, string>> = {
  password: 'a password',
  token: 'a bearer token',
  none: 'no secret',
};

function isServer(mechanism: MechanismInfo): mechanism is ServerMechanism {
  return typeof (mechanism as Partial<ServerMechanism>).server === 'function';
}

function isClient(mechanism: MechanismInfo): mechanism is ClientMechanism {
  return typeof (mechanism as Partial<ClientMechanism>).client === 'function';
}

/** A set of mechanisms, in advertising order. */
export class SASLAuth {
  readonly #servers = new Map<string, ServerMechanism>();
  readonly #clients = new Map<string, ClientMechanism>();

  /**
   * Registers `mechanisms` in order. A later mechanism with the same name (compared
   * case-insensitively) replaces an earlier one and keeps its position.
   */
  constructor(mechanisms: Iterable<ServerMechanism | ClientMechanism>) {
    for (const mechanism of mechanisms) {
      if (isServer(mechanism)) this.#servers.set(key(mechanism.name), mechanism);
      if (isClient(mechanism)) this.#clients.set(key(mechanism.name), mechanism);
    }
  }

  /** PLAIN and LOGIN, as in pysasl: the mechanisms that work with any password store. */
  static defaults(): SASLAuth {
    return SASLAuth.named(['PLAIN', 'LOGIN']);
  }

  /** The built-in mechanisms with these names, in this order. Unknown names are ignored; case does not matter. */
  static named(names: Iterable<string>): SASLAuth {
    const found: (ServerMechanism & ClientMechanism)[] = [];
    for (const name of names) {
      const mechanism = BUILTIN_MECHANISMS.find((m) => m.name === key(name));
      if (mechanism) found.push(mechanism);
    }
    return new SASLAuth(found);
  }

  /** Every built-in mechanism, strongest first. */
  static all(): SASLAuth {
    return new SASLAuth([...BUILTIN_MECHANISMS].sort((a, b) => b.priority - a.priority));
  }

  /** The server mechanisms, in advertising order. */
  get serverMechanisms(): ServerMechanism[] {
    return [...this.#servers.values()];
  }

  /** The client mechanisms, in registration order. */
  get clientMechanisms(): ClientMechanism[] {
    return [...this.#clients.values()];
  }

  /**
   * The server mechanisms of this set that `options` can serve, in the same order: PLAIN and
   * LOGIN with a `lookup` or a `verifyPassword`; SCRAM (and -PLUS), CRAM-MD5 and DIGEST-MD5 only
   * with a `lookup` (they need a stored secret, which a password-check backend does not give);
   * OAUTHBEARER and XOAUTH2 with a `validateToken`; EXTERNAL with an `externalIdentity`;
   * mechanisms saslkit does not know, always; ANONYMOUS never, since it lets anyone in (offer
   * it by name where that is the policy). Whether the stored identities suit
   * a mechanism (CRAM-MD5 needs clear text) is only known per account, so it is not checked here.
   */
  usableWith(options: ServerOptions): SASLAuth {
    return new SASLAuth(this.serverMechanisms.filter((mechanism) => serves(key(mechanism.name), options)));
  }

  /** The server mechanism with this name (any case), or undefined. */
  getServer(name: string): ServerMechanism | undefined {
    return this.#servers.get(key(name));
  }

  /** The client mechanism with this name (any case), or undefined. */
  getClient(name: string): ClientMechanism | undefined {
    return this.#clients.get(key(name));
  }

  /**
   * The strongest client mechanism that the server offers, or undefined when there is none in
   * common. `offered` is the server's list (EHLO `AUTH`, IMAP `AUTH=`, ...), in any case.
   */
  chooseClient(offered: Iterable<string>, options: ChooseOptions = {}): ClientMechanism | undefined {
    const offeredKeys = new Set([...offered].map(key));
    const candidates = options.preference
      ? options.preference
          .map((name) => this.#clients.get(key(name)))
          .filter((m): m is ClientMechanism => m !== undefined)
      : [...this.#clients.values()].sort((a, b) => b.priority - a.priority);
    const kinds = kindsOf(options.credentials);
    const clearTextAllowed = options.encrypted !== false || options.allowPlaintext === true;
    return candidates.find(
      (m) =>
        offeredKeys.has(m.name) &&
        (options.channelBinding === true || !m.name.endsWith('-PLUS')) &&
        (kinds === undefined || kinds.has(mechanismSecretKind(m.name))) &&
        (clearTextAllowed || !CLEAR_TEXT.has(m.name)),
    );
  }

  /**
   * The one place where a client decides what to run: the mechanism (the one named, or the
   * strongest offered that suits the credentials, the transport and the channel-binding policy)
   * and the options to run it with, following RFC 5802 section 6 for the GS2 flag (see
   * {@link clientChannelBinding}). Every client profile and the `saslkit` command call it.
   * `offered` is the server's list, or undefined when unknown (then `mechanism` is needed).
   * Throws {@link MechanismUnavailableError} with the reason when nothing suits.
   */
  negotiateClient(offered: Iterable<string> | undefined, options: NegotiateOptions = {}): ClientChoice {
    const list = offered === undefined ? undefined : [...offered];
    const client = options.client ?? {};
    const policy = client.channelBinding ?? 'prefer';
    const wanted = options.mechanism;
    let mechanism: ClientMechanism | undefined;
    if (wanted !== undefined) {
      mechanism = typeof wanted === 'string' ? this.getClient(wanted) : wanted;
      if (mechanism === undefined)
        throw new MechanismUnavailableError(
          `no client mechanism named ${MECHANISM_NAME.test(wanted as string) ? (wanted as string).toUpperCase() : '(invalid name)'} is registered`,
          { party: 'local' },
        );
    } else {
      if (list === undefined) throw new UsageError('pass the mechanism to use, or what the server offers');
      const canBind = policy !== 'disable' && (client.channelBindingData?.types.length ?? 0) > 0;
      const choose: ChooseOptions = {
        ...options.choose,
        channelBinding: options.choose?.channelBinding ?? canBind,
        credentials: options.choose?.credentials ?? options.credentials,
      };
      // `require` binds or fails: only -PLUS names are candidates.
      const candidates = policy === 'require' ? list.filter((name) => key(name).endsWith('-PLUS')) : list;
      mechanism = this.chooseClient(candidates, choose);
      if (mechanism === undefined)
        throw this.#noChoice(candidates, choose, options.peer ?? 'the server', policy === 'require');
    }
    const binding = clientChannelBinding(mechanism.name, policy, client.channelBindingData, list);
    return {
      mechanism,
      client: binding.source === client.channelBindingData ? client : { ...client, channelBindingData: binding.source },
      channelBinding: binding.flag,
    };
  }

  /** Why nothing suits: the error {@link SASLAuth.negotiateClient} throws. Names only mechanisms, never a secret. */
  #noChoice(
    candidates: readonly string[],
    choose: ChooseOptions,
    peer: string,
    required: boolean,
  ): MechanismUnavailableError {
    const context = { party: 'server' as const };
    if (required && candidates.length === 0)
      return new MechanismUnavailableError(
        `channel binding is required, but ${peer} offers no -PLUS mechanism`,
        context,
      );
    if (required && choose.channelBinding !== true)
      return new MechanismUnavailableError(
        'channel binding is required, but this connection has no channel-binding data (channelBindingData)',
        { party: 'local' },
      );
    if (choose.encrypted === false && choose.allowPlaintext !== true) {
      const inClear = this.chooseClient(candidates, { ...choose, allowPlaintext: true });
      if (inClear !== undefined) {
        return new MechanismUnavailableError(
          `${peer} offers only mechanisms that send the secret in clear (such as ${inClear.name}) and the connection is not encrypted: use TLS, or set allowPlaintext to send it anyway`,
          context,
        );
      }
    }
    const kinds = [...(kindsOf(choose.credentials) ?? [])];
    const what = kinds.length === 1 ? ` with ${KIND_WORDS[kinds[0] as SecretKind]}` : '';
    // A bearer token in credentials that did not say so is taken for a password.
    const hint =
      kinds.length === 1 &&
      kinds[0] !== 'token' &&
      this.chooseClient(candidates, { ...choose, credentials: 'token' }) !== undefined
        ? " (for a bearer token, create the credentials with kind: 'token')"
        : '';
    // The offered names are the peer's bytes: they stay out of the message.
    return new MechanismUnavailableError(
      `${peer} offers no mechanism this client can use${what}${required ? ' and channel binding' : ''}${hint}`,
      context,
    );
  }
}
