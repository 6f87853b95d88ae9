/**
 * Logs in to an IRC network with IRCv3 SASL through ircLogin: CAP LS 302, NICK and USER, CAP
 * REQ :sasl, the AUTHENTICATE exchange (PLAIN, SCRAM-SHA-256 or EXTERNAL), CAP END, and waits
 * for the welcome (001); then QUITs. Prints the account the server logged the client in as.
 *
 *   SASLKIT_PASSWORD=alice-pass npx ts-node examples/irc-client.ts [host] [port] [user] [mechanism] [--tls] [--cert FILE --key FILE]
 *
 * Defaults: 127.0.0.1 6667 alice (the strongest mechanism in the server's `sasl=` list that
 * suits the credentials). `--tls` connects with TLS (ircs, port 6697); SASLKIT_TLS_CA names a CA
 * file to trust (a test network's self-signed certificate), SASLKIT_TLS_INSECURE=1 accepts any
 * certificate. `--cert` and `--key` present a client certificate, for EXTERNAL (the network
 * must know its fingerprint: NickServ CERT ADD on Atheme). Outside TLS the client does not send
 * the password with PLAIN unless `--allow-plaintext`. The nick is the user name with a random
 * suffix. Exits 0 when the login succeeded, 1 when it failed.
 */
import { readFileSync } from 'node:fs';
import { type Socket, connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ClientCredentials, type IrcLoginResult, LineReader, ircLogin, isSaslError, lineWriter } from 'saslkit';

/** Options of {@link ircConnectLogin}. */
export interface IrcConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly nick: string;
  readonly credentials: ClientCredentials;
  /** The mechanism; default the strongest one the server lists that suits the credentials. */
  readonly mechanism?: string;
  /** Connect with TLS (ircs). */
  readonly tls?: boolean;
  /** PEM CA certificate to trust instead of the system's. */
  readonly ca?: Buffer;
  /** Accept a certificate that does not verify. */
  readonly insecure?: boolean;
  /** PEM client certificate and key, for EXTERNAL. */
  readonly clientCert?: { readonly cert: Buffer; readonly key: Buffer };
  /** Send PLAIN outside TLS. Default false. */
  readonly allowPlaintext?: boolean;
  /** Gives up after this many milliseconds. Default 15000. */
  readonly timeoutMs?: number;
}

/** Connects, registers with SASL, QUITs. Rejects with the exchange's typed error (never holding the password). */
export async function ircConnectLogin(options: IrcConnectOptions): Promise<IrcLoginResult> {
  const socket: Socket =
    options.tls === true
      ? tlsConnect({
          host: options.host,
          port: options.port,
          ...(isIP(options.host) === 0 ? { servername: options.host } : { servername: 'localhost' }),
          ...(options.ca === undefined ? {} : { ca: options.ca }),
          ...(options.clientCert === undefined ? {} : { cert: options.clientCert.cert, key: options.clientCert.key }),
          rejectUnauthorized: options.insecure !== true,
        })
      : connect({ host: options.host, port: options.port });
  // The login's time limit: the signal ends the exchange, and destroying the socket its wait.
  const signal = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  signal.addEventListener('abort', () => socket.destroy(), { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls === true ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    return await ircLogin({
      nick: options.nick,
      credentials: options.credentials,
      ...(options.mechanism === undefined ? {} : { mechanism: options.mechanism }),
      choose: { encrypted: options.tls === true, allowPlaintext: options.allowPlaintext === true },
      lines: new LineReader(socket),
      write: lineWriter(socket),
      limits: { signal },
    });
  } finally {
    if (!socket.destroyed) socket.end('QUIT :saslkit example\r\n');
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = new Set(argv.filter((arg) => arg === '--tls' || arg === '--allow-plaintext'));
  const valueOf = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const positional = argv.filter((arg, i) => !arg.startsWith('--') && !['--cert', '--key'].includes(argv[i - 1] ?? ''));
  const [host = '127.0.0.1', port, user = 'alice', mechanism] = positional;
  const tls = flags.has('--tls');
  const certFile = valueOf('--cert');
  const keyFile = valueOf('--key');
  const caFile = process.env['SASLKIT_TLS_CA'];
  const external = mechanism?.toUpperCase() === 'EXTERNAL';
  const credentials = external
    ? new ClientCredentials('', '')
    : new ClientCredentials(user, process.env['SASLKIT_PASSWORD'] ?? 'alice-pass');
  try {
    const result = await ircConnectLogin({
      host,
      port: Number(port ?? (tls ? 6697 : 6667)),
      nick: `${user.replace(/[^A-Za-z0-9]/g, '') || 'sk'}${Math.floor(Math.random() * 10000)}`,
      credentials,
      ...(mechanism === undefined || mechanism === '' ? {} : { mechanism }),
      tls,
      ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }),
      insecure: process.env['SASLKIT_TLS_INSECURE'] === '1',
      ...(certFile === undefined || keyFile === undefined
        ? {}
        : { clientCert: { cert: readFileSync(certFile), key: readFileSync(keyFile) } }),
      allowPlaintext: flags.has('--allow-plaintext'),
    });
    console.log(`sasl: ${result.capabilities.get('sasl') ?? '(not offered)'}`);
    console.log(
      `logged in as ${result.sasl?.account ?? '(no account)'} with ${result.sasl?.mechanism ?? 'no SASL'}${tls ? ' over TLS' : ' in the clear'}; welcomed as ${result.nick}`,
    );
    return 0;
  } catch (error) {
    // saslkit's messages never hold the password; anything else is printed by its message only.
    console.error(
      `login failed: ${isSaslError(error) ? `${error.code}: ${error.message}` : String(error instanceof Error ? error.message : error)}`,
    );
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
