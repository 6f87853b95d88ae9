/**
 * `saslkit/nodemailer`: SASL mechanisms nodemailer does not ship, as its `customAuth` handlers:
 * SCRAM-SHA-256, SCRAM-SHA-1 and SCRAM-SHA-512, their -PLUS variants with TLS channel binding,
 * and OAUTHBEARER. Each handler runs saslkit's SMTP client profile (`smtpClientAuth`) over
 * nodemailer's `sendCommand`, so the exchange is exactly the one saslkit's own SMTP client
 * runs: SCRAM checks the server's signature, and a failure cancels the exchange cleanly.
 *
 * nodemailer itself is not imported: this module works with the version the application
 * installed, and loading it loads nothing but saslkit.
 * @module
 */
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  type ChannelBindingSource,
  ClientCredentials,
  type ClientOptions,
  type LineLimits,
  LineQueue,
  type SaslError,
  isSaslError,
  mechanismSecretKind,
  smtpClientAuth,
  tlsChannelBinding,
} from '../index.js';

/** The mechanisms {@link createCustomAuth} registers by default. */
export const NODEMAILER_MECHANISMS: readonly string[] = [
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-512-PLUS',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'SCRAM-SHA-512',
  'OAUTHBEARER',
];

/** The credentials as nodemailer hands them to a custom handler (`auth.credentials`). */
export interface NodemailerCredentials {
  /** The user name. */
  readonly user?: string | undefined;
  /** The password, or for OAUTHBEARER the bearer token. */
  readonly pass?: string | undefined;
  /** The auth object's `options`: for OAUTHBEARER, `accessToken` may carry the token instead of `pass`. */
  readonly options?: { readonly [key: string]: unknown } | undefined;
}

/** What nodemailer passes a `customAuth` handler, as far as saslkit reads it. */
export interface NodemailerAuthContext {
  /** The transport's auth object, with `credentials` filled in from `user` and `pass`. */
  readonly auth: {
    readonly user?: string | undefined;
    readonly pass?: string | undefined;
    readonly credentials?: NodemailerCredentials | undefined;
  };
  /** The method nodemailer chose (the auth object's `method`, or the server's first it can run). */
  readonly method?: string | undefined;
  /** Sends one line to the server and resolves with its whole reply (lines joined by `\n`). */
  sendCommand(command: string): Promise<{ readonly response: string }>;
}

/** A `customAuth` handler: nodemailer marks the connection authenticated when its promise resolves, and reports EAUTH when it rejects. */
export type NodemailerAuthHandler = (context: NodemailerAuthContext) => Promise<void>;

/** Where -PLUS gets channel-binding data: the connection's TLS socket, or a source made from it. */
export type NodemailerChannelBinding = TLSSocket | ChannelBindingSource;

/** Options of {@link createCustomAuth}. */
export interface CustomAuthOptions {
  /** The mechanisms to register (any case). Default {@link NODEMAILER_MECHANISMS}. */
  readonly mechanisms?: readonly string[];
  /**
   * The connection's TLS socket (or `tlsChannelBinding(socket, 'client')`), or a function that
   * returns it at login time: -PLUS binds to it. Plain SCRAM sends GS2 flag `n` all the same:
   * nodemailer does not tell a handler whether the server offers -PLUS, so it cannot send `y`
   * safely; name the -PLUS method to bind. It must be the socket of the very connection that logs in, so pass it only to a set
   * made for that connection (nodemailer's `SMTPConnection`, or a transport whose `getSocket`
   * hands over one TLS socket at a time; see docs/integrations.md). Without it, -PLUS fails.
   */
  readonly channelBinding?: NodemailerChannelBinding | (() => NodemailerChannelBinding | undefined);
  /**
   * Mechanism options: the channel-binding policy (`require` refuses to run without binding),
   * OAUTHBEARER's `host` and `port`, `scramMaxIterations`. `channelBindingData` comes from
   * `channelBinding`.
   */
  readonly client?: ClientOptions;
  /** Line, message and round limits of the exchange. Default saslkit's SMTP client limits. */
  readonly limits?: LineLimits;
}

function isBindingSource(value: NodemailerChannelBinding): value is ChannelBindingSource {
  return typeof (value as Partial<ChannelBindingSource>).data === 'function';
}

function bindingOf(option: CustomAuthOptions['channelBinding']): ChannelBindingSource | undefined {
  const value = typeof option === 'function' ? option() : option;
  if (value === undefined) return undefined;
  return isBindingSource(value) ? value : tlsChannelBinding(value, 'client');
}

/** The credentials nodemailer holds, for `mechanism`: the token for OAUTHBEARER, the password otherwise. */
function credentialsOf(context: NodemailerAuthContext, mechanism: string): ClientCredentials {
  const held = context.auth.credentials ?? { user: context.auth.user, pass: context.auth.pass };
  const kind = mechanismSecretKind(mechanism);
  const token = held.options?.['accessToken'];
  const secret = kind === 'token' && typeof token === 'string' ? token : held.pass;
  // ClientCredentials checks the types; the message names what is missing, never a value.
  if (typeof held.user !== 'string' || typeof secret !== 'string' || secret === '') {
    throw new TypeError(
      `nodemailer's auth needs a user and ${kind === 'token' ? 'a token (pass or options.accessToken)' : 'a pass'} for ${mechanism}`,
    );
  }
  return new ClientCredentials(held.user, secret, '', { kind });
}

/**
 * The error a handler rejects with: nodemailer turns it into its EAUTH error (setting `code`,
 * `command`, and appending the server's last reply to the message), so saslkit's typed error is
 * its `cause`. A refusal by the server reads `the SMTP server refused authentication: <reply>`;
 * anything else carries saslkit's own reason, such as a server signature that does not match.
 */
function nodemailerError(error: unknown, mechanism: string): Error {
  if (!isSaslError(error))
    return error instanceof Error ? error : new Error(`${mechanism}: authentication failed`, { cause: error });
  const sasl: SaslError = error;
  // nodemailer appends the reply itself; saslkit's message already quotes it.
  const refused =
    sasl.code === 'AUTHENTICATION_FAILED' &&
    sasl.party === 'server' &&
    /^[45][0-9][0-9]$/.test((sasl as SaslError & { serverError?: string }).serverError ?? '');
  return new Error(
    `${mechanism}: ${refused ? 'the SMTP server refused authentication' : sasl.message} (saslkit ${sasl.code})`,
    { cause: sasl },
  );
}

/** One reply of nodemailer's `sendCommand` as lines (it joins a multi-line reply with `\n`). */
function replyLines(response: string): string[] {
  const lines = response.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function handler(mechanism: string, options: CustomAuthOptions): NodemailerAuthHandler {
  return async (context) => {
    let credentials: ClientCredentials;
    let channelBindingData: ChannelBindingSource | undefined;
    try {
      credentials = credentialsOf(context, mechanism);
      // nodemailer tells a handler only the mechanisms it knows itself (PLAIN, LOGIN, CRAM-MD5,
      // XOAUTH2), never whether the server offers -PLUS: a plain SCRAM client with binding data
      // would send GS2 flag y, which a server that offers -PLUS must refuse as a downgrade. So
      // only -PLUS gets the data; plain SCRAM says n, as a client without TLS does.
      channelBindingData = mechanism.endsWith('-PLUS') ? bindingOf(options.channelBinding) : undefined;
    } catch (error) {
      throw nodemailerError(error, mechanism);
    }
    const lines = new LineQueue();
    const write = async (line: string): Promise<void> => {
      const reply = await context.sendCommand(line);
      for (const text of replyLines(reply.response)) lines.push(text);
    };
    try {
      await smtpClientAuth({
        credentials,
        mechanism,
        client: { ...options.client, ...(channelBindingData === undefined ? {} : { channelBindingData }) },
        lines,
        write,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
    } catch (error) {
      throw nodemailerError(error, mechanism);
    } finally {
      lines.end();
    }
  };
}

/**
 * nodemailer `customAuth` handlers for saslkit's mechanisms, keyed by mechanism name. Pick one
 * with the auth object's `method` (`auth: { user, pass, method: 'SCRAM-SHA-256' }`); without a
 * `method`, nodemailer takes the first mechanism in the server's list that it can run, which
 * may be its own PLAIN. OAUTHBEARER takes the bearer token as `pass` (or `options.accessToken`).
 *
 * SCRAM verifies the server's signature: a server that does not know the password fails the
 * login (EAUTH, `cause` a saslkit `SERVER_NOT_VERIFIED` error) even if it answers 235. A
 * refused login is nodemailer's EAUTH with the server's reply; `error.cause` is saslkit's typed
 * error. -PLUS needs {@link CustomAuthOptions.channelBinding}.
 */
export function createCustomAuth(options: CustomAuthOptions = {}): Record<string, NodemailerAuthHandler> {
  const handlers: Record<string, NodemailerAuthHandler> = {};
  for (const name of options.mechanisms ?? NODEMAILER_MECHANISMS)
    handlers[name.toUpperCase()] = handler(name.toUpperCase(), options);
  return handlers;
}

/** The options nodemailer's transport passes to `getSocket`, as far as saslkit reads them. */
export interface NodemailerSocketRequest {
  /** The server's host. Default `localhost`. */
  readonly host?: string | undefined;
  /** The server's port. Default 465. */
  readonly port?: number | string | undefined;
  /** The transport's `tls` options: CA, `servername`, `rejectUnauthorized`, ... */
  readonly tls?: ConnectionOptions | undefined;
}

/** What {@link createTlsGetSocket}'s function hands nodemailer: merged into that one connection's options. */
export interface NodemailerSocketOptions {
  /** The connected, handshaken TLS socket. */
  readonly connection: TLSSocket;
  /** Tells nodemailer the socket is TLS already. */
  readonly secured: true;
  /** The handlers of this connection, bound to its socket. */
  readonly customAuth: Record<string, NodemailerAuthHandler>;
}

/** A nodemailer transport's `getSocket` option. */
export type NodemailerGetSocket = (
  options: NodemailerSocketRequest,
  callback: (error: Error | null, socketOptions?: NodemailerSocketOptions) => void,
) => void;

/**
 * A `getSocket` for nodemailer transports (`secure: true`, implicit TLS as on port 465) that
 * opens each TLS connection itself and hands nodemailer, with it, a `customAuth` set bound to
 * that very socket ({@link createCustomAuth} with `channelBinding: socket`). SCRAM-*-PLUS then
 * binds every login to its own connection, pooled transports included. Host, port and `tls`
 * come from the transport's options; `options` are the handlers' (`channelBinding` is set here).
 * STARTTLS connections cannot bind this way: nodemailer makes their TLS socket itself.
 */
export function createTlsGetSocket(options: Omit<CustomAuthOptions, 'channelBinding'> = {}): NodemailerGetSocket {
  return (request, callback) => {
    const host = request.host ?? 'localhost';
    const socket = tlsConnect({
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      ...request.tls,
      host,
      port: Number(request.port ?? 465),
    });
    const failed = (error: Error): void => {
      socket.destroy();
      callback(error);
    };
    socket.once('error', failed);
    socket.once('secureConnect', () => {
      socket.removeListener('error', failed);
      // Made now, before other code can take the peer certificate (tls-server-end-point).
      const channelBinding = tlsChannelBinding(socket, 'client');
      callback(null, {
        connection: socket,
        secured: true,
        customAuth: createCustomAuth({ ...options, channelBinding }),
      });
    });
  };
}
