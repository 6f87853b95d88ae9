/**
 * What every connection of the test server shares, whatever its protocol: the mechanisms on
 * offer in the current TLS state, the server options of one exchange (channel-binding data,
 * the client certificate's identity, the user name remembered for the log), the report of an
 * attempt, and the switch to TLS that forgets what the client said before it.
 * @module
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket, createServer as createTlsServer } from 'node:tls';
import {
  type Authenticated,
  type CallbackContext,
  type ChannelBindingType,
  SASLAuth,
  type ServerOptions,
  type TokenRequest,
  advertisedMechanisms,
  authenticate,
  authenticatePassword,
  isSaslError,
  tlsChannelBinding,
} from '../../index.js';
import { LineTracer } from '../trace.js';
import type { AuthAttempt, AuthServerOptions, ServerTls } from './types.js';

/** What the connections of one server share. */
export interface ServerHost {
  readonly settings: AuthServerOptions;
  /** Every mechanism the server may offer; each connection narrows it to the current state. */
  readonly auth: SASLAuth;
  /** The TLS context, when TLS is configured. */
  readonly context: SecureContext | undefined;
  /** Registers a socket to be destroyed when the server closes. */
  readonly track: (socket: Socket) => void;
}

// Mechanisms that send the password or token itself: held back until TLS when TLS is configured.
const CLEARTEXT_MECHANISMS = new Set(['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);

/** The mechanisms to advertise in a TLS state; EXTERNAL only to a verified client certificate when client certificates are checked. */
export function offeredMechanisms(
  auth: SASLAuth,
  settings: AuthServerOptions,
  tls: boolean,
  binding: boolean,
  external = false,
): string[] {
  const holdBack = !tls && settings.tls !== undefined && settings.plaintextAuth !== true;
  const requireChannelBinding = settings.options.requireChannelBinding === true;
  return advertisedMechanisms(auth, { channelBinding: binding, requireChannelBinding }).filter(
    // With client certificates checked, EXTERNAL goes only to a client whose certificate verified;
    // otherwise it is offered as configured (with `options.externalIdentity`, as `demo` does).
    (name) =>
      !(holdBack && CLEARTEXT_MECHANISMS.has(name)) &&
      (name !== 'EXTERNAL' || external || settings.tls?.clientCa === undefined),
  );
}

/**
 * Asks for a client certificate when there are trust anchors for one, without refusing the
 * handshake when it is missing or does not verify: EXTERNAL is then just not offered.
 */
export function clientCertificateOptions(clientCa: string | Buffer | undefined): {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
} {
  return clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: false };
}

/** The identity of a verified client certificate: its subject's CN; undefined without one. */
function certificateIdentity(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const subject: unknown = socket.getPeerCertificate().subject;
  const cn: unknown =
    typeof subject === 'object' && subject !== null ? (subject as Record<string, unknown>)['CN'] : undefined;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/**
 * The configured host aliases plus the address this connection came in on (an IPv4-mapped IPv6
 * address as IPv4): a client that connects by address names it as the host of DIGEST-MD5's
 * digest-uri, which the server checks against its names.
 */
function withLocalAddress(aliases: readonly string[] | undefined, address: string | undefined): readonly string[] {
  if (address === undefined) return aliases ?? [];
  return [...(aliases ?? []), address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address];
}

/**
 * Upgrades a plain server-side socket to TLS. Without client certificates a bare TLSSocket on
 * the shared context does; a bare TLSSocket never sets `authorized` for a client certificate
 * (only tls.Server's connection handler checks it), so with them the socket goes through a
 * tls.Server of its own.
 */
function upgradeSocket(plain: Socket, context: SecureContext, tls: ServerTls): Promise<TLSSocket | undefined> {
  const { cert, key, clientCa } = tls;
  if (clientCa === undefined) {
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    secure.on('error', () => undefined);
    // `once` rejects when 'error' comes first: a failed handshake.
    return Promise.race([once(secure, 'secure').then(() => secure), once(secure, 'close').then(() => undefined)]).catch(
      () => undefined,
    );
  }
  const upgrader = createTlsServer({ cert, key, ca: clientCa, ...clientCertificateOptions(clientCa) });
  return new Promise<TLSSocket | undefined>((resolve) => {
    upgrader.once('secureConnection', resolve);
    upgrader.once('tlsClientError', () => {
      resolve(undefined);
    });
    plain.once('close', () => {
      resolve(undefined);
    });
    upgrader.emit('connection', plain);
  });
}

/** One client connection's state that outlives the protocol's framing: TLS, the login, the log. */
export class Session {
  readonly settings: AuthServerOptions;
  readonly remote: string;
  readonly tracer: LineTracer | undefined;
  socket: Socket;
  tls: TLSSocket | undefined;
  /** True once a login succeeded (in the current TLS state). */
  authenticated = false;
  readonly #host: ServerHost;
  /** The user name the client gave in the current attempt, for the log of a failure. */
  #attemptUser: string | undefined;
  #only: ReadonlySet<string> | undefined;
  #bindingType: ChannelBindingType | undefined;

  constructor(host: ServerHost, socket: Socket, tls: TLSSocket | undefined) {
    this.#host = host;
    this.settings = host.settings;
    this.socket = socket;
    this.tls = tls;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const trace = this.settings.trace;
    this.tracer =
      trace === undefined
        ? undefined
        : new LineTracer(trace, { side: 'server', prefix: `[${this.remote}] `, irc: this.settings.protocol === 'irc' });
    socket.setTimeout(this.settings.idleTimeoutMs ?? 60000, () => socket.destroy());
    if (tls !== undefined) this.tracer?.note(`TLS established (${tls.getProtocol() ?? 'unknown version'})`);
  }

  /** Narrows the offer to what a protocol's clients speak, and -PLUS to the one binding type it has (PostgreSQL). */
  restrict(mechanisms: ReadonlySet<string>, bindingType?: ChannelBindingType): void {
    this.#only = mechanisms;
    this.#bindingType = bindingType;
  }

  /** True when the server has a certificate for STARTTLS. */
  get tlsConfigured(): boolean {
    return this.#host.context !== undefined;
  }

  /** True when STARTTLS may be offered now. */
  get canStartTls(): boolean {
    return this.tlsConfigured && this.tls === undefined;
  }

  /** Whether clear-text passwords may be sent now. */
  get plaintextAllowed(): boolean {
    return this.tls !== undefined || !this.tlsConfigured || this.settings.plaintextAuth === true;
  }

  /** The client certificate's identity, when client certificates are checked and this one verified. */
  get externalIdentity(): string | undefined {
    return this.tls === undefined || this.settings.tls?.clientCa === undefined
      ? undefined
      : certificateIdentity(this.tls);
  }

  /** The mechanisms offered now. */
  offered(): string[] {
    const types = this.tls === undefined ? [] : tlsChannelBinding(this.tls, 'server').types;
    const binding = this.#bindingType === undefined ? types.length > 0 : types.includes(this.#bindingType);
    const names = offeredMechanisms(
      this.#host.auth,
      this.settings,
      this.tls !== undefined,
      binding,
      this.externalIdentity !== undefined,
    );
    const only = this.#only;
    return only === undefined ? names : names.filter((name) => only.has(name));
  }

  /** The registry of the mechanisms offered now (or of `names`), for a protocol profile's exchange. */
  offeredAuth(names: readonly string[] = this.offered()): SASLAuth {
    return new SASLAuth(this.#host.auth.serverMechanisms.filter((m) => names.includes(m.name)));
  }

  /**
   * Every mechanism this connection may come to offer: those of now, plus -PLUS and EXTERNAL as
   * TLS would add them (for a profile that narrows the offer itself once TLS is up, LDAP).
   */
  offeredEver(): string[] {
    const now = this.offered();
    const withTls = offeredMechanisms(this.#host.auth, this.settings, true, true, true).filter(
      (name) => name.endsWith('-PLUS') || name === 'EXTERNAL',
    );
    return [...now, ...withTls.filter((name) => !now.includes(name))];
  }

  /**
   * The server options for one exchange of `mechanism`. Channel-binding data goes with it only
   * when the -PLUS variant is on offer: with the data, plain SCRAM refuses a client's GS2 flag
   * "y" as a downgrade, which would be wrong when this server does not offer -PLUS for it.
   * Without a mechanism (a protocol that names it inside its own loop, IRC), when any -PLUS is.
   */
  serverOptions(mechanism?: string, offered: readonly string[] = this.offered()): ServerOptions {
    const base = this.settings.options;
    const { lookup, validateToken } = base;
    const tls = this.tls;
    const binding =
      tls !== undefined &&
      (mechanism === undefined
        ? offered.some((name) => name.endsWith('-PLUS'))
        : mechanism.endsWith('-PLUS') || offered.includes(`${mechanism}-PLUS`));
    const external = this.externalIdentity;
    return {
      ...base,
      channelBindingData: binding ? tlsChannelBinding(tls, 'server') : undefined,
      ...(external === undefined ? {} : { externalIdentity: external }),
      hostAliases: withLocalAddress(base.hostAliases, this.socket.localAddress),
      // The name the client gave is remembered for the log of a failed attempt.
      ...(lookup === undefined
        ? {}
        : {
            lookup: (authcid: string, context: CallbackContext) => {
              this.#attemptUser = authcid;
              return lookup(authcid, context);
            },
          }),
      ...(validateToken === undefined
        ? {}
        : {
            validateToken: (request: TokenRequest) => {
              this.#attemptUser = request.user === '' ? undefined : request.user;
              return validateToken(request);
            },
          }),
    };
  }

  /** Logs one attempt: the outcome, or the error's code and the user name the client gave. */
  report(mechanism: string, result: { outcome: Authenticated } | { error: unknown }): void {
    const base = { remote: this.remote, protocol: this.settings.protocol, mechanism, tls: this.tls !== undefined };
    const attempt: AuthAttempt =
      'outcome' in result
        ? { ...base, user: result.outcome.authcid, ok: true, authzid: result.outcome.authzid }
        : {
            ...base,
            user: this.#attemptUser,
            ok: false,
            code: isSaslError(result.error) ? result.error.code : 'STORE_ERROR',
          };
    this.settings.onAuth?.(attempt);
  }

  /** Names the user of the current attempt where the protocol says it outside SASL (PostgreSQL's startup message). */
  noteUser(user: string | undefined): void {
    this.#attemptUser = user;
  }

  /**
   * Runs one SASL exchange through a protocol profile, with the mechanisms offered now, and
   * reports it. Resolves with the outcome, or undefined after a failure (already reported).
   */
  async sasl(
    mechanism: string,
    run: (auth: SASLAuth, options: ServerOptions) => Promise<Authenticated>,
  ): Promise<Authenticated | undefined> {
    this.#attemptUser = undefined;
    // The offer is worked out once per exchange (it reads the TLS state's channel-binding types).
    const offered = this.offered();
    try {
      const outcome = await run(this.offeredAuth(offered), this.serverOptions(mechanism, offered));
      this.authenticated = true;
      this.report(mechanism, { outcome });
      return outcome;
    } catch (error) {
      this.report(mechanism, { error });
      return undefined;
    }
  }

  /** Checks a clear-text password (IMAP LOGIN, POP3 USER/PASS) with the same store and rules as PLAIN. */
  async password(label: string, user: string, password: string): Promise<boolean> {
    this.#attemptUser = user;
    try {
      // The check sends the client nothing, so no challenge is ever asked for.
      const outcome = await authenticate(
        authenticatePassword(this.serverOptions('PLAIN'), 'PLAIN', user, password, ''),
        () => Promise.reject(new Error('unexpected challenge')),
      );
      this.authenticated = true;
      this.report(label, { outcome });
      return true;
    } catch (error) {
      this.report(label, { error });
      return false;
    }
  }

  /**
   * Switches to TLS. The caller has stopped reading; `clean` says whether nothing came after
   * the STARTTLS command (bytes pipelined after it are an injection attempt, CVE-2011-0411 and
   * kin, and end the connection), and `goAhead` sends the protocol's go-ahead. Everything from
   * before TLS is forgotten (RFC 3207 section 4.2, RFC 2595 section 4): a man in the middle may
   * have sent it. Resolves false when the connection is to be dropped.
   */
  async startTls(clean: () => boolean | Promise<boolean>, goAhead: () => unknown): Promise<boolean> {
    const plain = this.socket;
    const tls = this.settings.tls;
    const context = this.#host.context;
    if (tls === undefined || context === undefined) return false;
    // Keep the ClientHello in the socket's buffer until the TLS socket reads it.
    plain.pause();
    if (!(await clean())) return false;
    await goAhead();
    const secure = await upgradeSocket(plain, context, tls);
    if (secure === undefined) return false;
    this.#host.track(secure);
    secure.on('error', () => undefined);
    secure.setTimeout(this.settings.idleTimeoutMs ?? 60000, () => secure.destroy());
    this.socket = secure;
    this.tls = secure;
    this.authenticated = false;
    this.#attemptUser = undefined;
    this.tracer?.note(`TLS established (${secure.getProtocol() ?? 'unknown version'})`);
    return true;
  }
}
