/**
 * Small mail clients and the demo SMTP server for the protocol specs, over lib/ (the examples
 * in examples/ load the built package instead, so specs do not import them): `smtpLogin` and
 * `imapLogin` connect, authenticate with the profile's client and log out; `startSmtpServer`
 * is `saslkit serve`'s SMTP server with the demo accounts and no TLS.
 */
import { type Socket, connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  DEMO_EXTERNAL_IDENTITY,
  DEMO_PASSWORD,
  DEMO_TOKEN,
  DEMO_USER,
  demoCredentials,
  demoServerOptions,
  demoStore,
} from '../../lib/cli/demo.js';
import { startAuthServer } from '../../lib/cli/server.js';
import {
  type ChannelBindingSource,
  type ClientCredentials,
  type ClientOptions,
  type ImapCapabilities,
  type ImapClientResult,
  type LineClientResult,
  LineReader,
  SASLAuth,
  type ServerOptions,
  imapClientAuth,
  lineWriter,
  parseEhlo,
  parseImapCapabilities,
  readSmtpReply,
  smtpClientAuth,
  tlsChannelBinding,
} from '../../lib/index.js';

export { DEMO_EXTERNAL_IDENTITY, DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, demoCredentials, demoServerOptions, demoStore };

/** Options of {@link smtpLogin}. */
export interface SmtpLoginOptions {
  /** Server host. Default 127.0.0.1. */
  readonly host?: string;
  /** Server port. */
  readonly port: number;
  /** Who to log in as. */
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server offers. */
  readonly mechanism?: string;
  /** Options for the client mechanism (DIGEST-MD5 needs host and service). */
  readonly client?: ClientOptions;
  /** Gives up after this many milliseconds. Default 10000. */
  readonly timeoutMs?: number;
}

/** What {@link smtpLogin} did. */
export interface SmtpLoginResult extends LineClientResult {
  /** The mechanisms the server advertised in EHLO. */
  readonly offered: readonly string[];
}

/**
 * Connects, reads the greeting and EHLO, authenticates, sends QUIT and closes. Rejects with
 * the typed error of the exchange (for example AUTHENTICATION_FAILED with the server's reply).
 */
export async function smtpLogin(options: SmtpLoginOptions): Promise<SmtpLoginResult> {
  const socket: Socket = connect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
  socket.setTimeout(options.timeoutMs ?? 10000, () => socket.destroy(new Error('SMTP login timed out')));
  const lines = new LineReader(socket);
  const write = lineWriter(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const greeting = await readSmtpReply(lines);
    if (greeting.code !== 220) throw new Error(`unexpected greeting ${greeting.code}`);
    await write('EHLO client.example');
    const ehlo = parseEhlo(await readSmtpReply(lines));
    const result = await smtpClientAuth({
      credentials: options.credentials,
      offered: ehlo.mechanisms,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      ...(options.client === undefined ? {} : { client: options.client }),
      lines,
      write,
    });
    await write('QUIT');
    await readSmtpReply(lines).catch(() => undefined);
    return { ...result, offered: ehlo.mechanisms };
  } finally {
    lines.close();
    socket.destroy();
  }
}

/** Options of {@link imapLogin}. */
export interface ImapLoginOptions {
  readonly host?: string;
  readonly port: number;
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server offers. */
  readonly mechanism?: string;
  /** Implicit TLS (IMAPS). */
  readonly tls?: boolean;
  /** With `tls`: accept a certificate that does not verify (a test server's self-signed one). */
  readonly insecure?: boolean;
  /** Gives up after this many milliseconds. Default 20000 (Dovecot delays after failures). */
  readonly timeoutMs?: number;
}

/** What {@link imapLogin} did. */
export interface ImapLoginResult extends ImapClientResult {
  /** The capabilities the server announced before authentication. */
  readonly before: ImapCapabilities;
}

/** Connects, authenticates, logs out. Rejects with the typed error of the exchange. */
export async function imapLogin(options: ImapLoginOptions): Promise<ImapLoginResult> {
  const host = options.host ?? '127.0.0.1';
  let binding: ChannelBindingSource | undefined;
  let socket: Socket;
  if (options.tls === true) {
    const secure = tlsConnect({
      host,
      port: options.port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: options.insecure !== true,
    });
    // Taken at the handshake, before anything else reads the peer certificate.
    secure.once('secureConnect', () => {
      binding = tlsChannelBinding(secure, 'client');
    });
    socket = secure;
  } else {
    socket = connect({ host, port: options.port });
  }
  socket.setNoDelay(true);
  socket.setTimeout(options.timeoutMs ?? 20000, () => socket.destroy(new Error('IMAP login timed out')));
  const lines = new LineReader(socket);
  const write = lineWriter(socket);
  const read = async (): Promise<string> => {
    const next = await lines.next();
    if (next.done === true) throw new Error('the server closed the connection');
    return next.value;
  };
  try {
    const greeting = await read();
    if (!greeting.startsWith('* OK')) throw new Error('the server did not greet with OK');
    let before = parseImapCapabilities(greeting);
    if (!/\[CAPABILITY /i.test(greeting)) {
      await write('c1 CAPABILITY');
      for (let line = await read(); !line.startsWith('c1 '); line = await read()) {
        if (/^\* CAPABILITY /i.test(line)) before = parseImapCapabilities(line);
      }
    }
    const result = await imapClientAuth({
      tag: 'a1',
      capabilities: before,
      credentials: options.credentials,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      choose: { channelBinding: binding !== undefined },
      client: {
        host,
        port: options.port,
        service: 'imap',
        ...(binding === undefined ? {} : { channelBindingData: binding }),
      },
      lines,
      write,
    });
    await write('z1 LOGOUT');
    for (let line = await read().catch(() => 'z1 '); !line.startsWith('z1 '); line = await read().catch(() => 'z1 ')) {
      // Skip the untagged BYE.
    }
    return { ...result, before };
  } finally {
    lines.close();
    socket.destroy();
  }
}

/** Options of {@link startSmtpServer}. */
export interface SmtpServerOptions {
  /** Port to listen on; 0 picks a free one. Default 2525. */
  readonly port?: number;
  /** The mechanisms to offer. Default: every built-in one. */
  readonly auth?: SASLAuth;
  /** Server options for the mechanisms. Default {@link demoServerOptions}. */
  readonly options?: ServerOptions;
  /** Where to report what happens (one line per AUTH attempt). Default: nowhere. */
  readonly log?: (text: string) => void;
}

/** A running server. */
export interface RunningSmtpServer {
  /** The port it listens on, at 127.0.0.1. */
  readonly port: number;
  /** The mechanisms it advertises. */
  readonly mechanisms: readonly string[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the demo SMTP server on 127.0.0.1. */
export async function startSmtpServer(settings: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  const log = settings.log;
  const server = await startAuthServer({
    protocol: 'smtp',
    port: settings.port ?? 2525,
    auth: settings.auth ?? SASLAuth.all(),
    options: settings.options ?? demoServerOptions(),
    ...(log === undefined
      ? {}
      : {
          onAuth: (attempt) => {
            if (attempt.ok)
              log(
                `AUTH ${attempt.mechanism}: authenticated ${attempt.user ?? ''}${attempt.authzid === attempt.user ? '' : ` as ${attempt.authzid ?? ''}`}`,
              );
            else log(`AUTH refused: ${attempt.code === 'STORE_ERROR' ? 'store error' : (attempt.code ?? '')}`);
          },
        }),
  });
  return { port: server.port, mechanisms: server.mechanisms, close: () => server.close() };
}
