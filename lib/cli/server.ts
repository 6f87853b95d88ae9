/**
 * A test server for SMTP, IMAP and POP3 that speaks each protocol only as far as
 * authentication needs: greeting, capabilities, STARTTLS (STLS in POP3), AUTH / AUTHENTICATE
 * through saslkit's protocol profiles, IMAP's LOGIN and POP3's USER/PASS, the success reply,
 * and QUIT / LOGOUT. It is what `saslkit serve` and `saslkit demo` run, and what the SMTP
 * example server wraps.
 *
 * When TLS is configured, SCRAM-*-PLUS is offered once TLS is up (with the connection's
 * channel-binding data), and PLAIN, LOGIN, IMAP LOGIN and POP3 USER are held back until then
 * unless `plaintextAuth` is set (as Dovecot's `disable_plaintext_auth`).
 *
 * STARTTLS (STLS) is refused once the client is authenticated (SMTP 503 5.5.1, IMAP BAD, POP3
 * -ERR), and when TLS starts the server forgets what the client said before it: SMTP's EHLO (AUTH
 * waits for a new one, RFC 3207 section 4.2), a login, POP3's pending USER. Otherwise a man in the
 * middle could log in, or name the user, in the clear and hand the session over to TLS.
 * @module
 */
import { once } from 'node:events';
import { type Server, type Socket, createServer } from 'node:net';
import { type SecureContext, type TLSSocket, TLSSocket as TlsSocketClass, createSecureContext, createServer as createTlsServer } from 'node:tls';
import {
  type Authenticated,
  type CallbackContext,
  IMAP_MAX_AUTH_LINE,
  LineReader,
  MANAGESIEVE_MAX_AUTH_LINE,
  POP3_MAX_AUTH_LINE,
  SASLAuth,
  SMTP_MAX_AUTH_LINE,
  type ServerOptions,
  type TokenRequest,
  advertisedMechanisms,
  authenticate,
  authenticatePassword,
  formatSmtpReply,
  imapCapabilityAtoms,
  imapServerAuth,
  isSaslError,
  lineWriter,
  buildXmppMechanisms,
  xmppElements,
  xmppServerAuth,
  PgMessageReader,
  UnexpectedMessageError,
  buildPostgresReady,
  postgresServerAuth,
  manageSieveSaslCapability,
  manageSieveServerAuth,
  pop3SaslCapability,
  pop3ServerAuth,
  smtpAuthKeyword,
  smtpServerAuth,
  tlsChannelBinding,
} from '../index.js';
import { ChunkSource } from './socket.js';
import { TextSource, readStreamHeader } from './xmpp-client.js';
import { LineTracer } from './trace.js';
import type { ServeProtocol } from './url.js';

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

/** Options of {@link startAuthServer}. */
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

// Mechanisms that send the password or token itself: held back until TLS when TLS is configured.
const CLEARTEXT_MECHANISMS = new Set(['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);

const MAX_LINE: Readonly<Record<Exclude<ServeProtocol, 'postgres' | 'xmpp'>, number>> = { smtp: SMTP_MAX_AUTH_LINE, imap: IMAP_MAX_AUTH_LINE, pop3: POP3_MAX_AUTH_LINE, sieve: MANAGESIEVE_MAX_AUTH_LINE };

/** Starts a test server. Resolves once it listens. */
export async function startAuthServer(settings: AuthServerOptions): Promise<RunningAuthServer> {
  const auth = settings.auth ?? SASLAuth.all();
  const clientCa = settings.tls?.clientCa;
  const secureContext = settings.tls === undefined ? undefined : createSecureContext({ cert: settings.tls.cert, key: settings.tls.key, ...(clientCa === undefined ? {} : { ca: clientCa }) });
  if (settings.implicitTls === true && secureContext === undefined) throw new Error('implicit TLS needs a certificate and key');
  const host = settings.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
    });
  };
  const serve = (socket: Socket, tls: TLSSocket | undefined): void => {
    track(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    if (settings.protocol === 'postgres' || settings.protocol === 'xmpp') {
      (settings.protocol === 'postgres' ? servePostgres(settings, auth, socket, track) : serveXmpp(settings, auth, socket, track, tls)).catch(() => {
        socket.destroy();
      });
      return;
    }
    const connection = new Connection(settings, auth, secureContext, socket, tls);
    connection
      .run()
      .catch(() => undefined)
      .finally(() => {
        connection.close();
      });
  };
  const server: Server =
    settings.implicitTls === true && settings.tls !== undefined
      ? createTlsServer({ cert: settings.tls.cert, key: settings.tls.key, ...clientCertificateOptions(clientCa) }, (socket) => {
          serve(socket, socket);
        })
      : createServer((socket) => {
          serve(socket, undefined);
        });
  // A failed implicit-TLS handshake never reaches the handler; nothing to log or keep.
  server.on('tlsClientError', () => undefined);
  server.on('connection', (socket: Socket) => {
    track(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  const offered = (tls: boolean, binding: boolean): string[] =>
    offeredMechanisms(auth, settings, tls, binding).filter((name) => settings.protocol !== 'postgres' || POSTGRES_MECHANISMS.has(name));
  const tlsConfigured = secureContext !== undefined;
  return {
    protocol: settings.protocol,
    host,
    port: address.port,
    mechanisms: settings.implicitTls === true ? offered(true, true) : offered(false, false),
    mechanismsWithTls: tlsConfigured ? offered(true, true) : [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function offeredMechanisms(auth: SASLAuth, settings: AuthServerOptions, tls: boolean, binding: boolean, external = false): string[] {
  const holdBack = !tls && settings.tls !== undefined && settings.plaintextAuth !== true;
  const requireChannelBinding = settings.options.requireChannelBinding === true;
  return advertisedMechanisms(auth, { channelBinding: binding, requireChannelBinding }).filter(
    // With client certificates checked, EXTERNAL goes only to a client whose certificate verified;
    // otherwise it is offered as configured (with `options.externalIdentity`, as `demo` does).
    (name) => !(holdBack && CLEARTEXT_MECHANISMS.has(name)) && (name !== 'EXTERNAL' || external || settings.tls?.clientCa === undefined),
  );
}

/**
 * Asks for a client certificate when there are trust anchors for one, without refusing the
 * handshake when it is missing or does not verify: EXTERNAL is then just not offered.
 */
function clientCertificateOptions(clientCa: string | Buffer | undefined): { requestCert?: boolean; rejectUnauthorized?: boolean } {
  return clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: false };
}

/** The identity of a verified client certificate: its subject's CN; undefined without one. */
function certificateIdentity(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const subject: unknown = socket.getPeerCertificate().subject;
  const cn: unknown = typeof subject === 'object' && subject !== null ? (subject as Record<string, unknown>)['CN'] : undefined;
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

function errorCode(error: unknown): string {
  return isSaslError(error) ? error.code : 'STORE_ERROR';
}

/** Splits an IMAP argument list of atoms and quoted strings; undefined for anything else (literals). */
export function parseImapStrings(text: string): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  while (rest !== '') {
    const quoted = /^"((?:[^"\\\r\n]|\\["\\])*)"(?: |$)/.exec(rest);
    const atom = /^([^\s"(){%*\\]+)(?: |$)/.exec(rest);
    const match = quoted ?? atom;
    if (!match) return undefined;
    out.push(quoted ? (match[1] ?? '').replace(/\\(["\\])/g, '$1') : (match[1] ?? ''));
    rest = rest.slice(match[0].length);
  }
  return out;
}

/** What PostgreSQL clients (libpq, saslkit's) speak. */
const POSTGRES_MECHANISMS = new Set(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']);

/**
 * One PostgreSQL connection: SSLRequest answered `S` (TLS, when configured) or `N`, the startup
 * message, SASL through {@link postgresServerAuth} (SCRAM-SHA-256, and -PLUS with
 * tls-server-end-point over TLS), then ParameterStatus, BackendKeyData and ReadyForQuery; the
 * connection is kept until the client's Terminate or hang-up. A second SSLRequest, or one after
 * TLS started, is refused by the profile like any out-of-place packet.
 */
async function servePostgres(settings: AuthServerOptions, auth: SASLAuth, plain: Socket, track: (socket: Socket) => void): Promise<void> {
  const remote = `${plain.remoteAddress ?? '?'}:${plain.remotePort ?? 0}`;
  const tracer = settings.trace === undefined ? undefined : new LineTracer(settings.trace, { side: 'server', prefix: `[${remote}] ` });
  plain.setTimeout(settings.idleTimeoutMs ?? 60000, () => plain.destroy());
  let socket: Socket = plain;
  let source = new ChunkSource(plain);
  let reader = new PgMessageReader(source, { peer: 'client' });
  let tls: TLSSocket | undefined;
  let packet = await reader.readStartup();
  if (packet.kind === 'ssl' && settings.tls !== undefined) {
    source.detach();
    // Bytes after SSLRequest, before the handshake, were sent in the clear: an injection attempt.
    if (source.pending) throw new UnexpectedMessageError('data after SSLRequest', { party: 'client' });
    tracer?.note('SSLRequest: S');
    plain.pause();
    plain.write('S');
    tls = await upgradeServerSocket(settings.tls, plain);
    if (tls === undefined) return;
    track(tls);
    tls.on('error', () => undefined);
    tracer?.note(`TLS established (${tls.getProtocol() ?? 'unknown version'})`);
    socket = tls;
    source = new ChunkSource(tls);
    reader = new PgMessageReader(source, { peer: 'client' });
    packet = await reader.readStartup();
  } else if (packet.kind === 'ssl') {
    tracer?.note('SSLRequest: N (no TLS configured)');
    plain.write('N');
    packet = await reader.readStartup();
  }
  if (packet.kind !== 'startup') throw new UnexpectedMessageError('expected a StartupMessage', { party: 'client' });
  const user = packet.parameters['user'];
  tracer?.note(`StartupMessage user=${JSON.stringify(user ?? '')}`);
  const binding = tls !== undefined && tlsChannelBinding(tls, 'server').types.includes('tls-server-end-point');
  // Only what PostgreSQL clients speak: SCRAM-SHA-256, and its -PLUS variant over TLS.
  const mechanisms = offeredMechanisms(auth, settings, tls !== undefined, binding).filter((name) => POSTGRES_MECHANISMS.has(name));
  const offered = new SASLAuth(auth.serverMechanisms.filter((mechanism) => mechanisms.includes(mechanism.name)));
  const write = (data: Uint8Array): void => {
    socket.write(data);
  };
  const base = { remote, protocol: settings.protocol, tls: tls !== undefined };
  let attemptMechanism = 'SASL';
  try {
    const result = await postgresServerAuth({
      auth: offered,
      options: { ...settings.options, ...(tls === undefined ? {} : { channelBindingData: tlsChannelBinding(tls, 'server') }) },
      messages: reader,
      write,
      startup: packet.parameters,
    });
    attemptMechanism = result.authenticated.mechanism;
    settings.onAuth?.({ ...base, mechanism: attemptMechanism, user: result.authenticated.authcid, ok: true, authzid: result.authenticated.authzid });
    write(buildPostgresReady());
    tracer?.note(`authenticated with ${attemptMechanism}; ReadyForQuery`);
  } catch (error) {
    settings.onAuth?.({ ...base, mechanism: attemptMechanism, user, ok: false, code: errorCode(error) });
    socket.end();
    return;
  }
  // No queries here: wait for Terminate (or anything else, answered by hanging up).
  await reader.read().catch(() => undefined);
  socket.end();
}

/** Upgrades a plain server-side socket to TLS through a tls.Server of its own (which, unlike a bare TLSSocket, checks a client certificate). */
function upgradeServerSocket(tls: ServerTls, plain: Socket): Promise<TLSSocket | undefined> {
  const { cert, key, clientCa } = tls;
  const upgrader = createTlsServer({ cert, key, ...(clientCa === undefined ? {} : { ca: clientCa }), ...clientCertificateOptions(clientCa) });
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

const XMPP_TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls';

/**
 * One XMPP c2s stream (RFC 6120), as far as authentication goes: the stream header, features
 * (STARTTLS, the mechanisms), STARTTLS with the stream restarted over TLS, SASL through
 * {@link xmppServerAuth} (a failed attempt may be retried), the restart after success with a
 * `<bind>` feature, and `</stream:stream>`. STARTTLS is refused (`<failure>`, stream closed)
 * after a login, and everything from before TLS is forgotten when it starts. The domain is
 * `--hostname`; a `to` naming another domain gets a host-unknown stream error.
 */
async function serveXmpp(settings: AuthServerOptions, auth: SASLAuth, plain: Socket, track: (socket: Socket) => void, secure: TLSSocket | undefined): Promise<void> {
  const remote = `${plain.remoteAddress ?? '?'}:${plain.remotePort ?? 0}`;
  const tracer = settings.trace === undefined ? undefined : new LineTracer(settings.trace, { side: 'server', prefix: `[${remote}] ` });
  const domain = settings.hostname ?? 'localhost';
  plain.setTimeout(settings.idleTimeoutMs ?? 60000, () => plain.destroy());
  // With implicit TLS (xmpps, XEP-0368) the socket is the TLS one from the start.
  let socket: Socket = plain;
  let tls: TLSSocket | undefined = secure;
  let source = new ChunkSource(plain);
  let text = new TextSource(source);
  let authenticated = false;
  let streams = 0;
  const send = (xml: string, shown = xml): void => {
    tracer?.note(`S: ${shown}`);
    socket.write(xml);
  };
  /** Reads the client's header, answers with ours and the features of the current state. */
  const open = async (): Promise<AsyncIterator<string>> => {
    const header = await readStreamHeader(text, 'client');
    tracer?.note(`C: ${header}`);
    streams += 1;
    const to = /\sto=(?:'([^']*)'|"([^"]*)")/.exec(header);
    const head = `<?xml version='1.0'?><stream:stream from='${domain}' id='saslkit-${streams}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;
    if (to !== null && (to[1] ?? to[2]) !== domain) {
      send(`${head}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`);
      throw new UnexpectedMessageError('the client named another domain', { party: 'client' });
    }
    const binding = tls !== undefined && tlsChannelBinding(tls, 'server').types.length > 0;
    const external = tls !== undefined && settings.tls?.clientCa !== undefined && certificateIdentity(tls) !== undefined;
    const mechanisms = authenticated ? [] : offeredMechanisms(auth, settings, tls !== undefined, binding, external);
    const features = authenticated
      ? "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
      : `${settings.tls !== undefined && tls === undefined ? `<starttls xmlns='${XMPP_TLS_NS}'/>` : ''}${mechanisms.length > 0 ? buildXmppMechanisms(mechanisms) : ''}`;
    send(`${head}<stream:features>${features}</stream:features>`);
    return xmppElements(text);
  };
  let elements = await open();
  for (;;) {
    let next: IteratorResult<string>;
    try {
      next = await elements.next();
    } catch {
      // `</stream:stream>` (an end tag the splitter did not see open) or bad XML: close our side.
      break;
    }
    if (next.done === true) break;
    const element = next.value;
    if (/^<starttls[\s/>]/.test(element)) {
      if (settings.tls === undefined || tls !== undefined || authenticated) {
        // RFC 6120 section 5.4.2.2: <failure/>, then the stream closes.
        send(`<failure xmlns='${XMPP_TLS_NS}'/></stream:stream>`);
        break;
      }
      source.detach();
      if (source.pending) break; // bytes pipelined after <starttls/>: an injection attempt
      plain.pause();
      send(`<proceed xmlns='${XMPP_TLS_NS}'/>`);
      tls = await upgradeServerSocket(settings.tls, plain);
      if (tls === undefined) return;
      track(tls);
      tls.on('error', () => undefined);
      tracer?.note(`TLS established (${tls.getProtocol() ?? 'unknown version'})`);
      socket = tls;
      source = new ChunkSource(tls);
      text = new TextSource(source);
      authenticated = false;
      elements = await open();
    } else if (/^<auth[\s/>]/.test(element) && !authenticated) {
      const mechanism = /\smechanism=(?:'([^']*)'|"([^"]*)")/.exec(element);
      const name = (mechanism?.[1] ?? mechanism?.[2] ?? '').toUpperCase();
      const binding = tls !== undefined && tlsChannelBinding(tls, 'server').types.length > 0;
      const identity = tls === undefined || settings.tls?.clientCa === undefined ? undefined : certificateIdentity(tls);
      const offered = offeredMechanisms(auth, settings, tls !== undefined, binding, identity !== undefined);
      const current = elements;
      let first = true;
      const base = { remote, protocol: settings.protocol, tls: tls !== undefined, mechanism: name };
      try {
        const outcome = await xmppServerAuth({
          auth: new SASLAuth(auth.serverMechanisms.filter((m) => offered.includes(m.name))),
          options: {
            ...settings.options,
            ...(tls !== undefined && (name.endsWith('-PLUS') || offered.includes(`${name}-PLUS`)) ? { channelBindingData: tlsChannelBinding(tls, 'server') } : {}),
            ...(identity === undefined ? {} : { externalIdentity: identity }),
            hostAliases: withLocalAddress(settings.options.hostAliases, socket.localAddress),
          },
          elements: {
            next: async () => {
              if (first) {
                first = false;
                return { done: false, value: element };
              }
              return current.next();
            },
          },
          write: (xml) => {
            send(xml, /^<(success|challenge)\b/.test(xml) ? `<${/^<(\w+)/.exec(xml)?.[1] ?? ''}> (not shown)` : xml);
          },
        });
        settings.onAuth?.({ ...base, user: outcome.authcid, ok: true, authzid: outcome.authzid });
        authenticated = true;
        // RFC 6120 section 6.4.6: the client restarts the stream; the splitter starts afresh.
        elements = await open();
      } catch (error) {
        settings.onAuth?.({ ...base, user: undefined, ok: false, code: errorCode(error) });
        if (socket.destroyed) return;
      }
    } else {
      send("<stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
      break;
    }
  }
  socket.end('</stream:stream>');
}

/** One client connection. */
class Connection {
  readonly #settings: AuthServerOptions;
  readonly #auth: SASLAuth;
  readonly #context: SecureContext | undefined;
  readonly #remote: string;
  readonly #tracer: LineTracer | undefined;
  #socket: Socket;
  #tls: TLSSocket | undefined;
  #reader!: LineReader;
  #lines!: AsyncIterator<string>;
  #write!: (line: string) => unknown;
  // Session state from the client's commands. All of it is dropped when TLS starts (RFC 3207
  // section 4.2, RFC 2595 section 4): a man in the middle may have sent those commands.
  #authenticated = false;
  #attemptUser: string | undefined;
  /** SMTP: EHLO or HELO was received (in the current TLS state). */
  #greeted = false;
  /** POP3: the name from USER, waiting for PASS. */
  #pop3User: string | undefined;

  constructor(settings: AuthServerOptions, auth: SASLAuth, context: SecureContext | undefined, socket: Socket, tls: TLSSocket | undefined) {
    this.#settings = settings;
    this.#auth = auth;
    this.#context = context;
    this.#socket = socket;
    this.#tls = tls;
    this.#remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const trace = settings.trace;
    this.#tracer = trace === undefined ? undefined : new LineTracer(trace, { side: 'server', prefix: `[${this.#remote}] ` });
    socket.setTimeout(settings.idleTimeoutMs ?? 60000, () => socket.destroy());
    this.#attach(socket);
  }

  #attach(socket: Socket): void {
    const protocol = this.#settings.protocol;
    this.#reader = new LineReader(socket, { maxLineLength: (protocol === 'postgres' || protocol === 'xmpp' ? SMTP_MAX_AUTH_LINE : MAX_LINE[protocol]) + 1 });
    this.#lines = this.#tracer ? this.#tracer.source(this.#reader) : this.#reader;
    const write = lineWriter(socket);
    this.#write = this.#tracer ? this.#tracer.writer(write) : write;
  }

  close(): void {
    this.#reader.close();
    this.#socket.destroy();
  }

  get #tlsConfigured(): boolean {
    return this.#context !== undefined;
  }

  get #canStartTls(): boolean {
    return this.#tlsConfigured && this.#tls === undefined;
  }

  /** Whether clear-text passwords may be sent now. */
  get #plaintextAllowed(): boolean {
    return this.#tls !== undefined || !this.#tlsConfigured || this.#settings.plaintextAuth === true;
  }

  #offered(): string[] {
    const binding = this.#tls !== undefined && tlsChannelBinding(this.#tls, 'server').types.length > 0;
    return offeredMechanisms(this.#auth, this.#settings, this.#tls !== undefined, binding, this.#externalIdentity !== undefined);
  }

  /** The client certificate's identity, when client certificates are checked and this one verified. */
  get #externalIdentity(): string | undefined {
    return this.#tls === undefined || this.#settings.tls?.clientCa === undefined ? undefined : certificateIdentity(this.#tls);
  }

  /**
   * The server options for one exchange of `mechanism`. Channel-binding data goes with it only
   * when the -PLUS variant is on offer: with the data, plain SCRAM refuses a client's GS2 flag
   * "y" as a downgrade, which would be wrong when this server does not offer -PLUS for it.
   */
  #options(mechanism: string): ServerOptions {
    const base = this.#settings.options;
    const { lookup, validateToken } = base;
    const offered = this.#offered();
    const binding = this.#tls !== undefined && (mechanism.endsWith('-PLUS') || offered.includes(`${mechanism}-PLUS`));
    return {
      ...base,
      channelBindingData: binding && this.#tls !== undefined ? tlsChannelBinding(this.#tls, 'server') : undefined,
      ...(this.#externalIdentity === undefined ? {} : { externalIdentity: this.#externalIdentity }),
      hostAliases: withLocalAddress(base.hostAliases, this.#socket.localAddress),
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

  async #next(): Promise<string | undefined> {
    const next = await this.#lines.next();
    return next.done === true ? undefined : next.value;
  }

  #report(mechanism: string, result: { outcome: Authenticated } | { error: unknown }): void {
    const base = { remote: this.#remote, protocol: this.#settings.protocol, mechanism, tls: this.#tls !== undefined };
    const attempt: AuthAttempt =
      'outcome' in result
        ? { ...base, user: result.outcome.authcid, ok: true, authzid: result.outcome.authzid }
        : { ...base, user: this.#attemptUser, ok: false, code: errorCode(result.error) };
    this.#settings.onAuth?.(attempt);
  }

  /** Runs one SASL exchange through a protocol profile, with the mechanisms offered now, and reports it. */
  async #sasl(mechanism: string, run: (auth: SASLAuth, options: ServerOptions) => Promise<Authenticated>): Promise<void> {
    this.#attemptUser = undefined;
    const offered = this.#offered();
    const auth = new SASLAuth(this.#auth.serverMechanisms.filter((m) => offered.includes(m.name)));
    try {
      const outcome = await run(auth, this.#options(mechanism));
      this.#authenticated = true;
      this.#report(mechanism, { outcome });
    } catch (error) {
      this.#report(mechanism, { error });
    }
  }

  /** Checks a clear-text password (IMAP LOGIN, POP3 USER/PASS) with the same store and rules as PLAIN. */
  async #password(label: string, user: string, password: string): Promise<boolean> {
    this.#attemptUser = user;
    try {
      // The check sends the client nothing, so no challenge is ever asked for.
      const outcome = await authenticate(authenticatePassword(this.#options('PLAIN'), 'PLAIN', user, password, ''), () => Promise.reject(new Error('unexpected challenge')));
      this.#authenticated = true;
      this.#report(label, { outcome });
      return true;
    } catch (error) {
      this.#report(label, { error });
      return false;
    }
  }

  /** Forgets everything the client said before TLS; only what TLS itself established counts now. */
  #resetSession(): void {
    this.#authenticated = false;
    this.#attemptUser = undefined;
    this.#greeted = false;
    this.#pop3User = undefined;
  }

  /**
   * Switches to TLS after the protocol's "go ahead" line. Lines the client pipelined after the
   * STARTTLS command are an injection attempt (CVE-2011-0411 and kin): the connection is dropped.
   */
  async #startTls(reply: string): Promise<boolean> {
    const context = this.#context;
    if (context === undefined) return false;
    this.#reader.close();
    // Keep the ClientHello in the socket's buffer until the TLS socket reads it.
    this.#socket.pause();
    const leftover = await this.#reader.next();
    if (leftover.done !== true) return false;
    await this.#write(reply);
    let secure: TLSSocket;
    if (this.#settings.tls?.clientCa === undefined) {
      secure = new TlsSocketClass(this.#socket, { isServer: true, secureContext: context });
      secure.on('error', () => undefined);
      // `once` rejects when 'error' comes first: a failed handshake.
      const ok = await Promise.race([once(secure, 'secure').then(() => true), once(secure, 'close').then(() => false)]).catch(() => false);
      if (!ok) return false;
    } else {
      // A bare TLSSocket never sets `authorized` for a client certificate (only tls.Server's
      // connection handler checks it), so the socket goes through a tls.Server of its own.
      const { cert, key, clientCa } = this.#settings.tls;
      const upgrader = createTlsServer({ cert, key, ca: clientCa, ...clientCertificateOptions(clientCa) });
      const plain = this.#socket;
      const upgraded = await new Promise<TLSSocket | undefined>((resolve) => {
        upgrader.once('secureConnection', resolve);
        upgrader.once('tlsClientError', () => {
          resolve(undefined);
        });
        plain.once('close', () => {
          resolve(undefined);
        });
        upgrader.emit('connection', plain);
      });
      if (upgraded === undefined) return false;
      secure = upgraded;
      secure.on('error', () => undefined);
    }
    secure.setTimeout(this.#settings.idleTimeoutMs ?? 60000, () => secure.destroy());
    this.#socket = secure;
    this.#tls = secure;
    this.#attach(secure);
    this.#resetSession();
    this.#tracer?.note(`TLS established (${secure.getProtocol() ?? 'unknown version'})`);
    return true;
  }

  async run(): Promise<void> {
    if (this.#tls !== undefined) this.#tracer?.note(`TLS established (${this.#tls.getProtocol() ?? 'unknown version'})`);
    switch (this.#settings.protocol) {
      case 'smtp':
        return this.#smtp();
      case 'imap':
        return this.#imap();
      case 'pop3':
        return this.#pop3();
      case 'sieve':
        return this.#sieve();
      case 'postgres':
      case 'xmpp':
        throw new Error('PostgreSQL and XMPP have their own handlers');
    }
  }

  // -------------------------------------------------------------------------------------------
  // ManageSieve (RFC 5804)

  /** The capability listing and its OK: the greeting, the CAPABILITY reply, and again after STARTTLS. */
  async #sieveListing(ok: string): Promise<void> {
    const mechanisms = this.#offered();
    await this.#write('"IMPLEMENTATION" "saslkit test server"');
    if (mechanisms.length > 0) await this.#write(manageSieveSaslCapability(mechanisms));
    if (this.#canStartTls) await this.#write('"STARTTLS"');
    await this.#write('"VERSION" "1.0"');
    await this.#write(`OK "${ok}"`);
  }

  async #sieve(): Promise<void> {
    await this.#sieveListing('saslkit test server ready');
    for (;;) {
      const line = await this.#next();
      if (line === undefined) return;
      const command = (/^[A-Za-z]+/.exec(line)?.[0] ?? '').toUpperCase();
      switch (command) {
        case 'CAPABILITY':
          await this.#sieveListing('CAPABILITY completed');
          break;
        case 'NOOP':
          await this.#write('OK "NOOP completed"');
          break;
        case 'STARTTLS':
          if (!this.#canStartTls) await this.#write('NO "STARTTLS not available"');
          // As in IMAP: after a login, TLS would start under a session a man in the middle may own.
          else if (this.#authenticated) await this.#write('NO "STARTTLS is not permitted after authentication"');
          else if (!(await this.#startTls('OK "Begin TLS negotiation now"'))) return;
          // RFC 5804 section 2.2: the server re-issues its capabilities once TLS is up.
          else await this.#sieveListing('TLS negotiation successful');
          break;
        case 'AUTHENTICATE':
          if (this.#authenticated) await this.#write('NO "Already authenticated"');
          else {
            const mechanism = (/^AUTHENTICATE\s+"([^"]*)"/i.exec(line)?.[1] ?? '').toUpperCase();
            await this.#sasl(mechanism, (auth, options) => manageSieveServerAuth({ command: line, auth, options, lines: this.#lines, write: this.#write }));
          }
          break;
        case 'LOGOUT':
          await this.#write('OK "Logout completed"');
          this.#socket.end();
          return;
        default:
          await this.#write('NO "Command not supported by this test server"');
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // SMTP

  async #smtp(): Promise<void> {
    const name = this.#settings.hostname ?? 'localhost';
    await this.#write(`220 ${name} ESMTP saslkit test server`);
    for (;;) {
      const line = await this.#next();
      if (line === undefined) return;
      const verb = (line.split(' ')[0] ?? '').toUpperCase();
      switch (verb) {
        case 'EHLO': {
          this.#greeted = true;
          const mechanisms = this.#offered();
          const keywords = [`${name} Hello`, 'ENHANCEDSTATUSCODES', ...(this.#canStartTls ? ['STARTTLS'] : []), ...(mechanisms.length > 0 ? [smtpAuthKeyword(mechanisms)] : [])];
          for (const reply of formatSmtpReply(250, keywords.join('\n'))) await this.#write(reply);
          break;
        }
        case 'HELO':
          this.#greeted = true;
          await this.#write(`250 ${name}`);
          break;
        case 'STARTTLS':
          if (!this.#canStartTls) await this.#write(this.#tls ? '503 5.5.1 TLS already active' : '502 5.5.1 STARTTLS not available');
          // RFC 3207 lets a server refuse STARTTLS; after AUTH the login would outlive TLS's start.
          else if (this.#authenticated) await this.#write('503 5.5.1 STARTTLS not permitted after AUTH');
          else if (!(await this.#startTls('220 2.0.0 Ready to start TLS'))) return;
          break;
        case 'AUTH':
          if (this.#authenticated) await this.#write('503 5.5.1 Already authenticated');
          else if (!this.#greeted) await this.#write('503 5.5.1 Send EHLO first');
          else {
            const mechanism = (line.split(' ')[1] ?? '').toUpperCase();
            await this.#sasl(mechanism, (auth, options) => smtpServerAuth({ command: line, auth, options, lines: this.#lines, write: this.#write }));
          }
          break;
        case 'NOOP':
        case 'RSET':
          await this.#write('250 2.0.0 OK');
          break;
        case 'QUIT':
          await this.#write('221 2.0.0 Bye');
          this.#socket.end();
          return;
        case 'MAIL':
        case 'RCPT':
        case 'DATA':
          await this.#write(this.#authenticated ? '502 5.5.1 This test server does not take mail' : '530 5.7.0 Authentication required');
          break;
        default:
          await this.#write('500 5.5.2 Command not recognized');
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // IMAP

  #imapCapabilities(): string[] {
    const loginDisabled = !this.#plaintextAllowed;
    return ['IMAP4rev1', ...(this.#canStartTls ? ['STARTTLS'] : []), ...(loginDisabled ? ['LOGINDISABLED'] : []), ...imapCapabilityAtoms(this.#offered())];
  }

  async #imap(): Promise<void> {
    await this.#write(`* OK [CAPABILITY ${this.#imapCapabilities().join(' ')}] saslkit test server ready`);
    for (;;) {
      const line = await this.#next();
      if (line === undefined) return;
      const match = /^([^\s(){%*"\\+]+) ([A-Za-z]+)(?: (.*))?$/.exec(line);
      if (!match) {
        await this.#write('* BAD Missing tag or command');
        continue;
      }
      const tag = match[1] ?? '*';
      const command = (match[2] ?? '').toUpperCase();
      const args = match[3] ?? '';
      switch (command) {
        case 'CAPABILITY':
          await this.#write(`* CAPABILITY ${this.#imapCapabilities().join(' ')}`);
          await this.#write(`${tag} OK CAPABILITY completed`);
          break;
        case 'NOOP':
          await this.#write(`${tag} OK NOOP completed`);
          break;
        case 'STARTTLS':
          if (!this.#canStartTls) await this.#write(`${tag} BAD STARTTLS not available`);
          // RFC 9051 section 6.2.1: STARTTLS is valid only in the not-authenticated state.
          else if (this.#authenticated) await this.#write(`${tag} BAD STARTTLS is not permitted after authentication`);
          else if (!(await this.#startTls(`${tag} OK Begin TLS negotiation now`))) return;
          break;
        case 'AUTHENTICATE':
          if (this.#authenticated) await this.#write(`${tag} BAD Already authenticated`);
          else {
            const mechanism = (args.split(' ')[0] ?? '').toUpperCase();
            await this.#sasl(mechanism, (auth, options) => imapServerAuth({ command: line, auth, options, lines: this.#lines, write: this.#write }));
          }
          break;
        case 'LOGIN': {
          const strings = parseImapStrings(args);
          if (this.#authenticated) await this.#write(`${tag} BAD Already authenticated`);
          else if (!this.#plaintextAllowed) await this.#write(`${tag} NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS`);
          else if (strings?.length !== 2) await this.#write(`${tag} BAD Syntax: LOGIN user password (no literals)`);
          else if (await this.#password('LOGIN command', strings[0] ?? '', strings[1] ?? '')) await this.#write(`${tag} OK LOGIN completed`);
          else await this.#write(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed`);
          break;
        }
        case 'LOGOUT':
          await this.#write('* BYE saslkit test server logging out');
          await this.#write(`${tag} OK LOGOUT completed`);
          this.#socket.end();
          return;
        default:
          await this.#write(`${tag} BAD Command not supported by this test server`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // POP3

  async #pop3(): Promise<void> {
    await this.#write('+OK saslkit test server ready');
    for (;;) {
      const line = await this.#next();
      if (line === undefined) return;
      const space = line.indexOf(' ');
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const arg = space === -1 ? '' : line.slice(space + 1);
      switch (verb) {
        case 'CAPA': {
          const mechanisms = this.#offered();
          await this.#write('+OK Capability list follows');
          if (this.#plaintextAllowed) await this.#write('USER');
          if (mechanisms.length > 0) await this.#write(pop3SaslCapability(mechanisms));
          if (this.#canStartTls) await this.#write('STLS');
          await this.#write('IMPLEMENTATION saslkit');
          await this.#write('.');
          break;
        }
        case 'STLS':
          if (!this.#canStartTls) await this.#write('-ERR STLS not available');
          // RFC 2595 section 4: STLS only in the AUTHORIZATION state (a pending USER is dropped with the rest).
          else if (this.#authenticated) await this.#write('-ERR STLS is not permitted after authentication');
          else if (!(await this.#startTls('+OK Begin TLS negotiation'))) return;
          break;
        case 'AUTH':
          if (this.#authenticated) await this.#write('-ERR Already authenticated');
          else if (arg === '') {
            // The pre-RFC 5034 form: list the mechanisms.
            await this.#write('+OK');
            for (const name of this.#offered()) await this.#write(name);
            await this.#write('.');
          } else {
            const mechanism = (arg.split(' ')[0] ?? '').toUpperCase();
            await this.#sasl(mechanism, (auth, options) => pop3ServerAuth({ command: line, auth, options, lines: this.#lines, write: this.#write }));
          }
          break;
        case 'USER':
          if (this.#authenticated) await this.#write('-ERR Already authenticated');
          else if (!this.#plaintextAllowed) await this.#write('-ERR [AUTH] Plaintext authentication is disabled before STLS');
          else if (arg === '') await this.#write('-ERR Syntax: USER name');
          else {
            this.#pop3User = arg;
            await this.#write('+OK');
          }
          break;
        case 'PASS':
          if (this.#authenticated) await this.#write('-ERR Already authenticated');
          else if (this.#pop3User === undefined) await this.#write('-ERR USER first');
          else {
            const ok = await this.#password('USER/PASS', this.#pop3User, arg);
            this.#pop3User = undefined;
            await this.#write(ok ? '+OK Logged in' : '-ERR [AUTH] Authentication failed');
          }
          break;
        case 'NOOP':
          await this.#write('+OK');
          break;
        case 'QUIT':
          await this.#write('+OK Bye');
          this.#socket.end();
          return;
        default:
          await this.#write('-ERR Command not supported by this test server');
      }
    }
  }
}
