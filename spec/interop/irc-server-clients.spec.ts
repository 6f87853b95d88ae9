/**
 * Real IRC clients logging in to saslkit's IRC server (ircServerRegister on 127.0.0.1, in clear
 * and over TLS):
 *
 * - irc-framework 4.14 (npm), which speaks SASL PLAIN and EXTERNAL only: PLAIN in clear and over
 *   TLS, EXTERNAL with a client certificate whose fingerprint the host maps to alice, a wrong
 *   password (904, irc-framework's `sasl failed`, saslkit's error blaming the client without the
 *   password), and an account that does not exist;
 * - WeeChat 3.8 (Debian's weechat-headless), which speaks SCRAM too: SCRAM-SHA-256 in clear and
 *   over TLS, SCRAM-SHA-512, PLAIN, and a wrong SCRAM password.
 */
import { expect } from 'chai';
import { type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ClearIdentity,
  ClientCredentials,
  type IrcAttempt,
  type IrcRegistration,
  LineReader,
  SASLAuth,
  type ServerOptions,
  ircLogin,
  ircServerRegister,
  isSaslError,
  lineWriter,
} from '../../lib/index.js';
import { expectNoSecrets } from '../support/helpers.js';
import { ACCOUNTS, HOST, isCi } from './peers.js';
import { runTool } from './tools.js';

const { alice, bob } = ACCOUNTS;
const FIXTURES = `${__dirname}/../fixtures/tls`;
const SERVER_CERT = readFileSync(`${FIXTURES}/rsa-sha256.crt`);
const SERVER_KEY = readFileSync(`${FIXTURES}/rsa-sha256.key`);
// Any certificate does as alice's: the host maps its SHA-256 fingerprint to her, as Atheme's CERT ADD does.
const CLIENT_CERT = readFileSync(`${FIXTURES}/ecdsa-sha384.crt`);
const CLIENT_KEY = readFileSync(`${FIXTURES}/ecdsa-sha384.key`);

/** The part of irc-framework's Client this spec uses (the package has no type declarations). */
interface IrcFrameworkClient {
  connect(options: Record<string, unknown>): void;
  on(event: string, listener: (event: Record<string, unknown>) => void): void;
  quit(message?: string): void;
  connection: { end(): void };
}
const { Client } = createRequire(__filename)('irc-framework') as { Client: new () => IrcFrameworkClient };

/** What the saslkit server saw of one connection. */
interface Seen {
  attempts: IrcAttempt[];
  registration?: IrcRegistration;
  error?: unknown;
}

interface Host {
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

// An empty object when the client sent no certificate: its fingerprint is then undefined at run time.
const certFingerprint = (socket: TLSSocket): string | undefined =>
  (socket.getPeerCertificate() as { fingerprint256?: string }).fingerprint256;

/** A small IRC host: ircServerRegister per connection, then QUIT ends the connection. */
async function startHost(tls: boolean): Promise<Host> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const aliceFingerprint = tls
    ? new (await import('node:crypto')).X509Certificate(CLIENT_CERT).fingerprint256
    : undefined;
  const serve = (socket: Socket, external: string | undefined): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const record: Seen = { attempts: [] };
    seen.push(record);
    const lines = new LineReader(socket);
    const write = lineWriter(socket);
    const options: ServerOptions = {
      lookup: (name: string) =>
        [new ClearIdentity(alice.user, alice.pass), new ClearIdentity(bob.user, bob.pass)].find(
          (identity) => identity.authcid === name,
        ),
      ...(external === undefined ? {} : { externalIdentity: external }),
    };
    ircServerRegister({
      auth: SASLAuth.named(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'EXTERNAL']),
      options,
      lines,
      write,
      serverName: 'irc.saslkit.test',
      host: HOST,
      onAttempt: (attempt) => record.attempts.push(attempt),
    })
      .then(async (registration) => {
        record.registration = registration;
        // After registration: wait for QUIT (irc-framework may send other commands first).
        for (;;) {
          const next = await lines.next();
          if (next.done === true || /^QUIT\b/i.test(next.value)) break;
        }
        socket.end();
      })
      .catch((error: unknown) => {
        record.error = error;
        socket.destroy();
      });
  };
  const server: Server = tls
    ? createTlsServer(
        { cert: SERVER_CERT, key: SERVER_KEY, requestCert: true, rejectUnauthorized: false },
        (socket) => {
          serve(socket, certFingerprint(socket) === aliceFingerprint ? alice.user : undefined);
        },
      )
    : createServer((socket) => {
        serve(socket, undefined);
      });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** What irc-framework reported for one connection. */
interface ClientReport {
  registered: boolean;
  loggedIn?: string;
  saslFailed?: string;
}

/** Connects irc-framework, waits until it registered (or closed), then quits. */
function runClient(port: number, options: Record<string, unknown>): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const report: ClientReport = { registered: false };
    const timer = setTimeout(() => {
      client.connection.end();
      reject(new Error(`irc-framework did not finish: ${JSON.stringify(report)}`));
    }, 15_000);
    client.on('loggedin', (event) => {
      report.loggedIn = String(event['account']);
    });
    client.on('sasl failed', (event) => {
      report.saslFailed = String(event['reason']);
    });
    client.on('registered', () => {
      report.registered = true;
      client.quit('done');
    });
    client.on('close', () => {
      clearTimeout(timer);
      resolve(report);
    });
    client.connect({
      host: HOST,
      port,
      nick: 'sktest',
      username: 'sktest',
      gecos: 'saslkit test',
      auto_reconnect: false,
      ...options,
    });
  });
}

describe("interop: irc-framework against saslkit's IRC server", function () {
  this.timeout(30_000);
  let plain: Host;
  let tls: Host;

  before(async () => {
    plain = await startHost(false);
    tls = await startHost(true);
  });
  after(async () => {
    await plain.close();
    await tls.close();
  });

  /** The last connection's record: one attempt, and its result or error. */
  const last = (host: Host): Seen => {
    const record = host.seen[host.seen.length - 1];
    if (record === undefined) throw new Error('the server saw no connection');
    return record;
  };

  it('PLAIN in clear: 900/903, irc-framework logged in as alice and registered', async () => {
    const report = await runClient(plain.port, { account: { account: alice.user, password: alice.pass } });
    expect(report).to.deep.equal({ registered: true, loggedIn: alice.user });
    const record = last(plain);
    expect(record.attempts).to.have.length(1);
    expect(record.attempts[0]?.outcome).to.include({ mechanism: 'PLAIN', authcid: alice.user });
    expect(record.registration).to.include({ nick: 'sktest', user: 'sktest', realname: 'saslkit test' });
    expect(record.registration?.sasl?.authcid).to.equal(alice.user);
  });

  it('PLAIN over TLS as bob', async () => {
    const report = await runClient(tls.port, {
      tls: true,
      rejectUnauthorized: false,
      account: { account: bob.user, password: bob.pass },
    });
    expect(report).to.deep.equal({ registered: true, loggedIn: bob.user });
    expect(last(tls).registration?.sasl).to.include({ mechanism: 'PLAIN', authcid: bob.user });
  });

  it('EXTERNAL with a client certificate over TLS: the host maps its fingerprint to alice', async () => {
    const report = await runClient(tls.port, {
      tls: true,
      rejectUnauthorized: false,
      sasl_mechanism: 'EXTERNAL',
      client_certificate: { private_key: CLIENT_KEY.toString(), certificate: CLIENT_CERT.toString() },
    });
    expect(report).to.deep.equal({ registered: true, loggedIn: alice.user });
    expect(last(tls).registration?.sasl).to.include({ mechanism: 'EXTERNAL', authcid: alice.user });
  });

  it('EXTERNAL without a certificate: 904, irc-framework reports the failure and registers without an account', async () => {
    const report = await runClient(tls.port, { tls: true, rejectUnauthorized: false, sasl_mechanism: 'EXTERNAL' });
    expect(report).to.deep.equal({ registered: true, saslFailed: 'fail' });
    const record = last(tls);
    expect(record.registration?.sasl).to.equal(undefined);
    expect(isSaslError(record.attempts[0]?.error)).to.equal(true);
  });

  for (const [what, account, password] of [
    ['a wrong password', alice.user, 'not-alice-pass'],
    ['an unknown account', 'mallory', 'mallory-pass'],
  ] as const) {
    it(`${what}: 904, irc-framework's sasl failed, saslkit's error blames the client and holds no password`, async () => {
      const report = await runClient(plain.port, { account: { account, password } });
      expect(report).to.deep.equal({ registered: true, saslFailed: 'fail' });
      const record = last(plain);
      expect(record.registration?.sasl).to.equal(undefined);
      const error = record.attempts[0]?.error;
      if (!isSaslError(error)) throw new Error(`expected a saslkit error, got ${String(error)}`);
      expect(error).to.include({ code: 'AUTHENTICATION_FAILED', party: 'client', mechanism: 'PLAIN' });
      expectNoSecrets(error, [password, alice.pass]);
    });
  }
});

/** Resolves once `ready()` is true, polling; rejects after `ms`. */
async function waitUntil(ready: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("interop: WeeChat against saslkit's IRC server", function () {
  this.timeout(40_000);
  // Unset when the suite is skipped (no WeeChat outside CI).
  let plain: Host | undefined;
  let tls: Host | undefined;
  const started = (host: Host | undefined): Host => {
    if (host === undefined) throw new Error('the saslkit IRC host did not start');
    return host;
  };
  const children = new Set<ChildProcess>();

  before(async function () {
    const version = await runTool('weechat-headless', ['--version'], { timeoutMs: 10_000 });
    if (version.code !== 0) {
      const message =
        'interop tool "weechat-headless" is not installed; install it with: apt-get install weechat-headless (spec/interop/setup.sh)';
      if (isCi()) throw new Error(message);
      console.warn(`    [interop] skipping: ${message}`);
      this.skip();
    }
    plain = await startHost(false);
    tls = await startHost(true);
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await plain?.close();
    await tls?.close();
  });

  /**
   * Runs weechat-headless with a fresh home against `host` until the server saw its login attempt
   * and its registration, then stops it (SIGTERM: WeeChat QUITs). The password goes through the
   * environment (`\${env:...}`, evaluated by WeeChat), not the command line.
   */
  async function runWeechat(
    host: Host,
    options: { mechanism: string; user: string; password: string; tls?: boolean },
  ): Promise<Seen> {
    const home = mkdtempSync(join(tmpdir(), 'saslkit-weechat-'));
    const before = host.seen.length;
    const server = `sk 127.0.0.1/${host.port} ${options.tls === true ? '-ssl' : '-nossl'}`;
    const commands = [
      `/server add ${server}`,
      `/set irc.server.sk.sasl_mechanism ${options.mechanism}`,
      `/set irc.server.sk.sasl_username ${options.user}`,
      '/set irc.server.sk.sasl_password "${env:SASLKIT_IRC_PASSWORD}"',
      // After a failed login, go on registering without an account (the default reconnects).
      '/set irc.server.sk.sasl_fail continue',
      '/set irc.server.sk.nicks sktest',
      '/set irc.server.sk.autoreconnect off',
      ...(options.tls === true ? ['/set irc.server.sk.ssl_verify off'] : []),
      '/connect sk',
    ];
    const child = spawn('weechat-headless', ['--dir', home, '--stdout', '-r', commands.join(';')], {
      env: { ...process.env, SASLKIT_IRC_PASSWORD: options.password },
      stdio: 'ignore',
    });
    children.add(child);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    try {
      await waitUntil(
        () =>
          host.seen.length > before &&
          (host.seen[before]?.registration !== undefined || host.seen[before]?.error !== undefined),
        25_000,
        'WeeChat to register',
      );
      return host.seen[before] as Seen;
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      children.delete(child);
      rmSync(home, { recursive: true, force: true });
    }
  }

  for (const [mechanism, secure] of [
    ['SCRAM-SHA-256', false],
    ['SCRAM-SHA-256', true],
    ['SCRAM-SHA-512', false],
    ['PLAIN', true],
  ] as const) {
    it(`${mechanism}${secure ? ' over TLS' : ' in clear'} as alice`, async () => {
      const record = await runWeechat(started(secure ? tls : plain), {
        mechanism: mechanism.toLowerCase(),
        user: alice.user,
        password: alice.pass,
        tls: secure,
      });
      expect(record.error, String(record.error)).to.equal(undefined);
      expect(record.attempts).to.have.length(1);
      expect(record.registration?.sasl).to.include({ mechanism, authcid: alice.user });
    });
  }

  it('a wrong SCRAM-SHA-256 password: 904, WeeChat registers without an account, saslkit blames the client', async () => {
    const record = await runWeechat(started(plain), {
      mechanism: 'scram-sha-256',
      user: alice.user,
      password: 'not-alice-pass',
    });
    expect(record.registration?.sasl).to.equal(undefined);
    const error = record.attempts[0]?.error;
    if (!isSaslError(error)) throw new Error(`expected a saslkit error, got ${String(error)}`);
    expect(error).to.include({ code: 'AUTHENTICATION_FAILED', party: 'client', mechanism: 'SCRAM-SHA-256' });
    expectNoSecrets(error, ['not-alice-pass', alice.pass]);
  });
});

describe("interop: saslkit's IRC client against saslkit's IRC server over TLS", function () {
  this.timeout(20_000);
  let tls: Host;

  before(async () => {
    tls = await startHost(true);
  });
  after(async () => {
    await tls.close();
  });

  // No other IRC server here speaks SCRAM (see docs/irc.md): this is the client's SCRAM over a real socket.
  for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1']) {
    it(`ircLogin with ${mechanism}, the server signature checked`, async () => {
      const socket = tlsConnect({ host: HOST, port: tls.port, rejectUnauthorized: false });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('secureConnect', resolve);
          socket.once('error', reject);
        });
        const result = await ircLogin({
          nick: 'sktls',
          credentials: new ClientCredentials(alice.user, alice.pass),
          mechanism,
          lines: new LineReader(socket),
          write: lineWriter(socket),
          limits: { signal: AbortSignal.timeout(10_000) },
        });
        expect(result.sasl).to.include({ mechanism, account: alice.user, serverVerified: true });
        expect(result.nick).to.equal('sktls');
      } finally {
        socket.end('QUIT :done\r\n');
      }
    });
  }
});
