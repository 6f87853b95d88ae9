import { expect } from 'chai';
import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { LineReader } from '../../lib/index.js';
import { demoServerOptions } from '../../lib/cli/demo.js';
import {
  type AuthAttempt,
  type AuthServerOptions,
  type RunningAuthServer,
  startAuthServer,
} from '../../lib/cli/server.js';
import { CERT, KEY } from './support.js';

const PLAIN_ALICE = Buffer.from('\0alice\0alice-pass').toString('base64');

/**
 * A hand-driven client over 127.0.0.1: sends lines, reads the server's lines one at a time
 * (with a deadline, so a silent server fails the spec instead of hanging it), and upgrades to
 * TLS trusting only the test certificate.
 */
class RawClient {
  #socket: Socket;
  #reader: LineReader;
  tls: TLSSocket | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#reader = new LineReader(socket);
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  async line(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error('the server said nothing for 5 s'));
      }, 5000);
    });
    try {
      const next = await Promise.race([this.#reader.next(), deadline]);
      if (next.done === true) throw new Error('the server closed the connection');
      return next.value.replace(/\r$/, '');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads lines until one matches `last`; returns them all. */
  async until(last: RegExp): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      lines.push(line);
      if (last.test(line)) return lines;
    }
  }

  /** Sends `line` and reads the reply lines up to the one matching `last`. */
  async ask(line: string, last: RegExp): Promise<string[]> {
    this.send(line);
    return this.until(last);
  }

  /** Upgrades to TLS after the server's go-ahead (which the caller has read). */
  async startTls(): Promise<void> {
    this.#reader.close();
    const secure = tlsConnect({ socket: this.#socket, ca: [CERT], rejectUnauthorized: true });
    secure.on('error', () => undefined);
    await once(secure, 'secureConnect');
    this.#socket = secure;
    this.#reader = new LineReader(secure);
    this.tls = secure;
  }

  close(): void {
    this.#reader.close();
    this.#socket.destroy();
  }
}

describe('cli/server: STARTTLS discards the state from before TLS (RFC 3207 4.2, RFC 9051 6.2.1, RFC 2595 4)', function () {
  this.timeout(30000);
  const servers: RunningAuthServer[] = [];
  const clients: RawClient[] = [];
  const start = async (protocol: AuthServerOptions['protocol'], attempts: AuthAttempt[] = []): Promise<number> => {
    // plaintextAuth: the man in the middle can log in before TLS, which is what these specs need.
    const server = await startAuthServer({
      protocol,
      options: demoServerOptions(),
      tls: { cert: CERT, key: KEY },
      plaintextAuth: true,
      onAuth: (a) => attempts.push(a),
    });
    servers.push(server);
    return server.port;
  };
  const open = async (port: number): Promise<RawClient> => {
    const client = await RawClient.open(port);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  describe('SMTP', () => {
    it('refuses STARTTLS after AUTH with 503 5.5.1 and stays in the clear (the man in the middle logged in first)', async () => {
      const client = await open(await start('smtp'));
      await client.until(/^220 /);
      await client.ask('EHLO mitm.invalid', /^250 /);
      expect(await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^\d{3} /)).to.deep.equal([
        '235 2.7.0 Authentication successful',
      ]);
      const reply = await client.ask('STARTTLS', /^\d{3} /);
      expect(reply).to.have.length(1);
      expect(reply[0]).to.match(/^503 5\.5\.1 /);
      // Still in the clear and still answering: no TLS handshake began.
      expect(await client.ask('NOOP', /^\d{3} /)).to.deep.equal(['250 2.0.0 OK']);
    });

    it('forgets EHLO at STARTTLS: AUTH inside TLS before a new EHLO is refused with 503, then EHLO and AUTH work', async () => {
      const attempts: AuthAttempt[] = [];
      const client = await open(await start('smtp', attempts));
      await client.until(/^220 /);
      const before = await client.ask('EHLO client.invalid', /^250 /);
      expect(before).to.include('250-STARTTLS');
      expect(await client.ask('STARTTLS', /^\d{3} /)).to.deep.equal(['220 2.0.0 Ready to start TLS']);
      await client.startTls();
      const refused = await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^\d{3} /);
      expect(refused).to.have.length(1);
      expect(refused[0]).to.match(/^503 5\.5\.1 /);
      const after = await client.ask('EHLO client.invalid', /^250 /);
      expect(after).to.not.include('250-STARTTLS');
      expect(after.join('\n')).to.match(/AUTH [^\n]*SCRAM-SHA-256-PLUS/);
      expect(await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^\d{3} /)).to.deep.equal([
        '235 2.7.0 Authentication successful',
      ]);
      expect(attempts.map((a) => [a.mechanism, a.tls, a.ok])).to.deep.equal([['PLAIN', true, true]]);
    });

    it('AUTH needs a greeting: 503 5.5.1 before EHLO or HELO', async () => {
      const client = await open(await start('smtp'));
      await client.until(/^220 /);
      expect((await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^\d{3} /))[0]).to.match(/^503 5\.5\.1 /);
      await client.ask('HELO client.invalid', /^250 /);
      expect(await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^\d{3} /)).to.deep.equal([
        '235 2.7.0 Authentication successful',
      ]);
    });
  });

  describe('IMAP', () => {
    it('refuses STARTTLS in the authenticated state with a tagged BAD and stays in the clear', async () => {
      const client = await open(await start('imap'));
      await client.until(/^\* OK /);
      expect(await client.ask('a LOGIN alice alice-pass', /^a /)).to.deep.equal(['a OK LOGIN completed']);
      const reply = await client.ask('b STARTTLS', /^b /);
      expect(reply).to.have.length(1);
      expect(reply[0]).to.match(/^b BAD /);
      expect(await client.ask('c NOOP', /^c /)).to.deep.equal(['c OK NOOP completed']);
    });

    it('refuses STARTTLS after AUTHENTICATE too', async () => {
      const client = await open(await start('imap'));
      await client.until(/^\* OK /);
      expect(await client.ask(`a AUTHENTICATE PLAIN ${PLAIN_ALICE}`, /^a /)).to.deep.equal([
        'a OK AUTHENTICATE completed',
      ]);
      expect((await client.ask('b STARTTLS', /^b /))[0]).to.match(/^b BAD /);
    });

    it('sends no capabilities with the STARTTLS OK, and fresh ones inside TLS', async () => {
      const client = await open(await start('imap'));
      const greeting = await client.until(/^\* OK /);
      expect(greeting[0]).to.include(' STARTTLS ');
      expect(await client.ask('a STARTTLS', /^a /)).to.deep.equal(['a OK Begin TLS negotiation now']);
      await client.startTls();
      const capability = await client.ask('b CAPABILITY', /^b /);
      expect(capability[1]).to.equal('b OK CAPABILITY completed');
      expect(capability[0]).to.match(/^\* CAPABILITY IMAP4rev1 /);
      expect(capability[0]).to.not.match(/ STARTTLS\b| LOGINDISABLED\b/);
      expect(capability[0]).to.include(' AUTH=SCRAM-SHA-256-PLUS ');
      expect((await client.ask('c STARTTLS', /^c /))[0]).to.match(/^c BAD /);
      expect(await client.ask('d LOGIN alice alice-pass', /^d /)).to.deep.equal(['d OK LOGIN completed']);
    });
  });

  describe('POP3', () => {
    it('refuses STLS after USER/PASS succeeded (TRANSACTION state) and stays in the clear', async () => {
      const client = await open(await start('pop3'));
      await client.until(/^\+OK /);
      expect(await client.ask('USER alice', /^[+-]/)).to.deep.equal(['+OK']);
      expect(await client.ask('PASS alice-pass', /^[+-]/)).to.deep.equal(['+OK Logged in']);
      const reply = await client.ask('STLS', /^[+-]/);
      expect(reply).to.have.length(1);
      expect(reply[0]).to.match(/^-ERR /);
      expect(await client.ask('NOOP', /^[+-]/)).to.deep.equal(['+OK']);
    });

    it('refuses STLS after AUTH succeeded', async () => {
      const client = await open(await start('pop3'));
      await client.until(/^\+OK /);
      expect(await client.ask(`AUTH PLAIN ${PLAIN_ALICE}`, /^[+-]/)).to.deep.equal(['+OK Authenticated']);
      expect((await client.ask('STLS', /^[+-]/))[0]).to.match(/^-ERR /);
    });

    it('forgets USER at STLS: USER before STLS, PASS after it is not accepted', async () => {
      const attempts: AuthAttempt[] = [];
      const client = await open(await start('pop3', attempts));
      await client.until(/^\+OK /);
      expect(await client.ask('USER alice', /^[+-]/)).to.deep.equal(['+OK']);
      expect(await client.ask('STLS', /^[+-]/)).to.deep.equal(['+OK Begin TLS negotiation']);
      await client.startTls();
      const reply = await client.ask('PASS alice-pass', /^[+-]/);
      expect(reply).to.have.length(1);
      expect(reply[0]).to.match(/^-ERR /);
      expect(attempts).to.deep.equal([]);
      // The client starts over inside TLS.
      expect(await client.ask('USER alice', /^[+-]/)).to.deep.equal(['+OK']);
      expect(await client.ask('PASS alice-pass', /^[+-]/)).to.deep.equal(['+OK Logged in']);
      expect(attempts.map((a) => [a.mechanism, a.tls, a.ok])).to.deep.equal([['USER/PASS', true, true]]);
    });
  });
});
