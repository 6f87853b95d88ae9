/**
 * examples/smtp-server.ts and examples/smtp-client.ts in one process: starts the server on a
 * free 127.0.0.1 port (STARTTLS with a throwaway openssl certificate when openssl is there),
 * then checks what it promises, one line each: logins over STARTTLS (SCRAM-SHA-256-PLUS bound
 * to the connection, PLAIN, LOGIN against a SCRAM-only stored account) and in the clear (SCRAM
 * only), and the refusals: AUTH before EHLO, PLAIN without TLS (538), MAIL before AUTH, a second
 * AUTH, STARTTLS after AUTH, AUTH after STARTTLS without a new EHLO, a command pipelined after
 * STARTTLS, a wrong password. Exits 0 only when every line is `ok`.
 *
 *   npx ts-node examples/smtp-demo.ts
 */
import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  ClientCredentials,
  LineReader,
  type SmtpReply,
  isSaslError,
  lineWriter,
  readSmtpReply,
  smtpClientAuth,
  tlsChannelBinding,
} from 'saslkit';
import { smtpLogin } from './smtp-client.js';
import { startSmtpServer, throwawayCertificate } from './smtp-server.js';

const alice = new ClientCredentials('alice', 'alice-pass');

/** A hand-driven SMTP connection, to send what a well-behaved client would not. */
class Conversation {
  #socket: Socket;
  #tls: TLSSocket | undefined;
  #lines: LineReader;
  #write: (line: string) => Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#lines = new LineReader(socket);
    this.#write = lineWriter(socket);
  }

  static async open(port: number): Promise<Conversation> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    await once(socket, 'connect');
    const conversation = new Conversation(socket);
    await conversation.#read(); // the greeting
    return conversation;
  }

  async #read(): Promise<string> {
    const reply: SmtpReply = await readSmtpReply(this.#lines);
    return `${String(reply.code)} ${reply.lines.join(' ')}`;
  }

  /** Sends one or more lines in one write (a pipelined packet) and reads one reply. */
  async say(...lines: string[]): Promise<string> {
    await this.#write(lines.join('\r\n'));
    return this.#read().catch(() => 'connection closed');
  }

  async startTls(): Promise<string> {
    const reply = await this.say('STARTTLS');
    this.#lines.close();
    this.#socket.pause();
    const secure = tlsConnect({ socket: this.#socket, rejectUnauthorized: false });
    await once(secure, 'secureConnect');
    this.#socket = secure;
    this.#tls = secure;
    this.#lines = new LineReader(secure);
    this.#write = lineWriter(secure);
    return reply;
  }

  /** AUTH with saslkit's client; resolves with the mechanism and `235`, or the refusal. */
  async login(mechanism: string): Promise<string> {
    const binding = this.#tls ? tlsChannelBinding(this.#tls, 'client') : undefined;
    const result = await smtpClientAuth({
      credentials: alice,
      mechanism,
      client: { ...(binding ? { channelBindingData: binding } : {}) },
      lines: this.#lines,
      write: this.#write,
    });
    return `${result.mechanism} 235`;
  }

  close(): void {
    this.#lines.close();
    this.#socket.destroy();
  }
}

async function main(): Promise<void> {
  const tls = throwawayCertificate();
  const server = await startSmtpServer({ port: 0, tls });
  const port = server.port;
  console.log(
    `SMTP server on 127.0.0.1:${String(port)}, ${tls ? 'STARTTLS with a throwaway certificate' : 'no TLS (openssl not found): the TLS checks are skipped'}`,
  );
  let failures = 0;
  const check = async (what: string, expected: RegExp, run: () => Promise<string>): Promise<void> => {
    const seen = await run().catch((error: unknown) =>
      isSaslError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error),
    );
    const ok = expected.test(seen);
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${seen}`);
  };
  const login = async (options: Parameters<typeof smtpLogin>[0]): Promise<string> => {
    const result = await smtpLogin({ ...options, insecure: true });
    return `${result.mechanism}${result.tls === undefined ? ' in the clear' : ` over ${result.tls}`}${result.serverVerified ? ', server verified' : ''}`;
  };
  try {
    if (tls) {
      await check('strongest over STARTTLS', /^SCRAM-SHA-256-PLUS over TLS.*server verified$/, () =>
        login({ port, credentials: alice }),
      );
      await check('PLAIN over STARTTLS', /^PLAIN over TLS/, () =>
        login({ port, credentials: alice, mechanism: 'PLAIN' }),
      );
      await check('LOGIN as bob (stored as SCRAM secrets)', /^LOGIN over TLS/, () =>
        login({ port, credentials: new ClientCredentials('bob', 'bob-pass'), mechanism: 'LOGIN' }),
      );
      await check('wrong password', /^AUTHENTICATION_FAILED: .*535 5\.7\.8/, () =>
        login({ port, credentials: new ClientCredentials('alice', 'wrong'), mechanism: 'SCRAM-SHA-256' }),
      );
    }
    await check('strongest without STARTTLS', /^SCRAM-SHA-256 in the clear, server verified$/, () =>
      login({ port, credentials: alice, starttls: false }),
    );
    await check('the client will not send PLAIN in the clear', /would send the secret without TLS/, () =>
      login({ port, credentials: alice, mechanism: 'PLAIN', starttls: false }),
    );

    const clear = await Conversation.open(port);
    await check('AUTH before EHLO', /^503 /, () => clear.say('AUTH SCRAM-SHA-256'));
    await clear.say('EHLO client.example');
    await check('AUTH PLAIN without TLS', /^538 5\.7\.11/, () => clear.say('AUTH PLAIN'));
    await check('MAIL before AUTH', /^530 5\.7\.0/, () => clear.say('MAIL FROM:<alice@example.com>'));
    await check('AUTH SCRAM-SHA-256 in the clear', /^SCRAM-SHA-256 235$/, () => clear.login('SCRAM-SHA-256'));
    await check('a second AUTH', /^503 5\.5\.1 Already authenticated/, () => clear.say('AUTH SCRAM-SHA-256'));
    if (tls) await check('STARTTLS after AUTH', /^503 5\.5\.1/, () => clear.say('STARTTLS'));
    await check('MAIL, RCPT, DATA after AUTH', /^250 2\.0\.0/, async () => {
      for (const line of ['MAIL FROM:<alice@example.com>', 'RCPT TO:<bob@example.com>', 'DATA']) await clear.say(line);
      return clear.say('Subject: hello', '', 'Hi Bob.', '.');
    });
    await check('QUIT', /^221 /, () => clear.say('QUIT'));
    clear.close();

    if (tls) {
      const secure = await Conversation.open(port);
      await secure.say('EHLO client.example');
      await check('STARTTLS', /^220 /, () => secure.startTls());
      await check('AUTH after STARTTLS without a new EHLO', /^503 5\.5\.1 Send EHLO first/, () =>
        secure.say('AUTH PLAIN'),
      );
      await check('EHLO inside TLS offers -PLUS and PLAIN', /^250 .*SCRAM-SHA-256-PLUS.*PLAIN/s, () =>
        secure.say('EHLO client.example'),
      );
      await check('AUTH SCRAM-SHA-256-PLUS inside TLS', /^SCRAM-SHA-256-PLUS 235$/, () =>
        secure.login('SCRAM-SHA-256-PLUS'),
      );
      secure.close();

      const injected = await Conversation.open(port);
      await injected.say('EHLO client.example');
      await check('a command pipelined after STARTTLS', /^connection closed$/, () =>
        injected.say('STARTTLS', 'AUTH PLAIN'),
      );
      injected.close();
    }
  } finally {
    await server.close();
  }
  console.log(failures === 0 ? 'every check passed' : `${String(failures)} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

void main();
