/**
 * saslkit's IRC client (ircLogin, ircClientAuth) against InspIRCd 3 with Atheme 7.2 services:
 * PLAIN in clear and over TLS, EXTERNAL with alice's client certificate over TLS, wrong
 * passwords, responses in several 400-byte chunks, and SCRAM-SHA-256, which Debian's Atheme 7.2
 * does not have (no saslserv SCRAM module is packaged; its pbkdf2v2 logs that SCRAM needs GNU
 * libidn, left out of the build): `sasl=` leaves it out, and saslkit reports MECHANISM_UNAVAILABLE.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { type Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  ClientCredentials,
  type IrcLoginOptions,
  type IrcLoginResult,
  LineReader,
  ircLogin,
  lineWriter,
} from '../../lib/index.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, TLS_FILES, requirePeer } from './peers.js';

const { alice, bob } = ACCOUNTS;
let nickCounter = 0;

/** A fresh nick per connection, so that a previous test's connection does not hold it. */
const nick = (): string => `sk${process.pid % 10000}x${++nickCounter}`;

interface Connection {
  readonly socket: Socket;
  readonly reader: LineReader;
  readonly write: (line: string) => Promise<void>;
}

const open: Socket[] = [];

async function connectIrc(options: { tls?: boolean; clientCert?: boolean } = {}): Promise<Connection> {
  let socket: Socket;
  if (options.tls === true) {
    socket = tlsConnect({
      host: HOST,
      port: PORTS.ircTls,
      servername: 'localhost',
      // start.sh's self-signed certificate is its own CA.
      ca: readFileSync(`${INTEROP_RUN}/irc/server.pem`),
      ...(options.clientCert === true
        ? { cert: readFileSync(TLS_FILES.ircAliceCert), key: readFileSync(TLS_FILES.ircAliceKey) }
        : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
  } else {
    socket = netConnect({ host: HOST, port: PORTS.irc });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }
  open.push(socket);
  return { socket, reader: new LineReader(socket), write: lineWriter(socket) };
}

/** ircLogin over a new connection; the connection is closed afterwards whatever the outcome. */
async function login(
  args: Omit<IrcLoginOptions, 'lines' | 'write' | 'nick'>,
  options: { tls?: boolean; clientCert?: boolean } = {},
): Promise<IrcLoginResult> {
  const connection = await connectIrc(options);
  try {
    return await ircLogin({
      ...args,
      nick: nick(),
      lines: connection.reader,
      write: connection.write,
      limits: { signal: AbortSignal.timeout(15_000) },
    });
  } finally {
    connection.socket.end('QUIT :done\r\n');
    connection.socket.destroy();
  }
}

describe('interop: saslkit IRC client against InspIRCd + Atheme', function () {
  this.timeout(30_000);

  before(async function () {
    await requirePeer(this, 'irc');
  });

  after(() => {
    for (const socket of open) socket.destroy();
  });

  it('PLAIN in clear (allowPlaintext): 900 names the account, 903, then 001', async () => {
    const result = await login({
      credentials: new ClientCredentials(alice.user, alice.pass),
      choose: { encrypted: false, allowPlaintext: true },
    });
    expect(result.capabilities.get('sasl')).to.equal('PLAIN,EXTERNAL');
    expect(result.sasl).to.include({ mechanism: 'PLAIN', account: alice.user, serverVerified: false });
  });

  it('PLAIN over TLS (ircs, port 16697), chosen from sasl=PLAIN,EXTERNAL', async () => {
    const result = await login({ credentials: new ClientCredentials(bob.user, bob.pass) }, { tls: true });
    expect(result.sasl).to.include({ mechanism: 'PLAIN', account: bob.user });
  });

  it("EXTERNAL with alice's client certificate over TLS (NickServ CERT ADD)", async () => {
    const result = await login(
      { credentials: new ClientCredentials('', ''), mechanism: 'EXTERNAL' },
      { tls: true, clientCert: true },
    );
    expect(result.sasl).to.include({ mechanism: 'EXTERNAL', account: alice.user });
  });

  it('EXTERNAL without a client certificate: AUTHENTICATION_FAILED (904)', async () => {
    const error = await expectSaslRejection(
      login({ credentials: new ClientCredentials('', ''), mechanism: 'EXTERNAL' }, { tls: true }),
      'AUTHENTICATION_FAILED',
    );
    expect(error).to.include({ serverError: '904', party: 'server' });
  });

  it('a wrong password: AUTHENTICATION_FAILED with serverError 904, the password in no error', async () => {
    const error = await expectSaslRejection(
      login({ credentials: new ClientCredentials(alice.user, 'not-alice-pass'), mechanism: 'PLAIN' }, { tls: true }),
      'AUTHENTICATION_FAILED',
    );
    expect(error).to.include({ serverError: '904', mechanism: 'PLAIN' });
    expectNoSecrets(error, ['not-alice-pass']);
  });

  // Responses whose base64 is 396, 400 (one chunk and `+`), 404 and 1200 (three chunks and `+`)
  // characters long: Atheme takes each as one message and answers 904 for the wrong password
  // (not 905, and no wait for a missing chunk).
  for (const length of [396, 400, 404, 1200]) {
    it(`a ${length}-character PLAIN response in 400-byte chunks reaches Atheme whole`, async () => {
      const password = 'x'.repeat((length / 4) * 3 - `\0${alice.user}\0`.length);
      const error = await expectSaslRejection(
        login({ credentials: new ClientCredentials(alice.user, password), mechanism: 'PLAIN' }, { tls: true }),
        'AUTHENTICATION_FAILED',
      );
      expect(error).to.include({ serverError: '904' });
    });
  }

  it("SCRAM-SHA-256: not in sasl=PLAIN,EXTERNAL (Debian's Atheme 7.2 has no SCRAM module), so MECHANISM_UNAVAILABLE before AUTHENTICATE", async () => {
    await expectSaslRejection(
      login({ credentials: new ClientCredentials(alice.user, alice.pass), mechanism: 'SCRAM-SHA-256' }, { tls: true }),
      'MECHANISM_UNAVAILABLE',
    );
  });

  it('a password credential on a server offering only PLAIN and EXTERNAL in clear: nothing suitable (MECHANISM_UNAVAILABLE) unless plaintext is allowed', async () => {
    await expectSaslRejection(
      login({ credentials: new ClientCredentials(alice.user, alice.pass), choose: { encrypted: false } }),
      'MECHANISM_UNAVAILABLE',
    );
  });
});
