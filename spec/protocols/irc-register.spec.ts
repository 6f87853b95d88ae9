import { expect } from 'chai';
import {
  ClientCredentials,
  type IrcLoginOptions,
  type IrcLoginResult,
  type IrcRegistration,
  type IrcServerRegisterOptions,
  LineQueue,
  SASLAuth,
  ircLogin,
  ircServerRegister,
  isSaslError,
} from '../../lib/index.js';
import { ALICE, expectNoSecrets, expectSaslRejection, storeOf } from '../support/helpers.js';

const alice = new ClientCredentials('alice', 'alice-pass');
const SERVER: Omit<IrcServerRegisterOptions, 'lines' | 'write'> = {
  auth: SASLAuth.named(['SCRAM-SHA-256', 'PLAIN']),
  options: { lookup: storeOf(ALICE) },
};

interface Both {
  client: { value?: IrcLoginResult; error?: unknown };
  server: { value?: IrcRegistration; error?: unknown };
  log: string[];
}

/** ircLogin against ircServerRegister over two queues, every line logged. */
async function register(
  client: Omit<IrcLoginOptions, 'lines' | 'write'>,
  server: Omit<IrcServerRegisterOptions, 'lines' | 'write'> = SERVER,
): Promise<Both> {
  const toServer = new LineQueue();
  const toClient = new LineQueue();
  const log: string[] = [];
  const settle = async <T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> => {
    try {
      return { value: await promise };
    } catch (error) {
      return { error };
    }
  };
  const serverRun = settle(
    ircServerRegister({
      ...server,
      lines: toServer,
      write: (line) => {
        log.push(`S: ${line}`);
        toClient.push(line);
      },
    }),
  ).finally(() => {
    toClient.end();
  });
  const clientRun = settle(
    ircLogin({
      ...client,
      lines: toClient,
      write: (line) => {
        log.push(`C: ${line}`);
        toServer.push(line);
      },
    }),
  ).finally(() => {
    toServer.end();
  });
  const [c, s] = await Promise.all([clientRun, serverRun]);
  return { client: c, server: s, log };
}

/** The server alone, fed `lines` and then the end of input. */
async function serveLines(
  lines: readonly string[],
  server: Omit<IrcServerRegisterOptions, 'lines' | 'write'> = SERVER,
): Promise<{ written: string[]; value?: IrcRegistration; error?: unknown }> {
  const queue = new LineQueue();
  for (const line of lines) queue.push(line);
  queue.end();
  const written: string[] = [];
  try {
    return {
      written,
      value: await ircServerRegister({
        ...server,
        lines: queue,
        write: (line) => {
          written.push(line);
        },
      }),
    };
  } catch (error) {
    return { written, error };
  }
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('IRC registration with SASL', function () {
  this.timeout(10000);

  for (const mechanism of ['SCRAM-SHA-256', 'PLAIN', undefined]) {
    it(`ircLogin registers with ircServerRegister using ${mechanism ?? 'the strongest offered mechanism'}`, async () => {
      const { client, server, log } = await register({
        nick: 'alice',
        credentials: alice,
        ...(mechanism === undefined ? {} : { mechanism }),
      });
      expect(client.error, String(client.error)).to.equal(undefined);
      expect(client.value?.sasl?.mechanism).to.equal(mechanism ?? 'SCRAM-SHA-256');
      expect(client.value?.capabilities.get('sasl')).to.equal('SCRAM-SHA-256,PLAIN');
      expect(client.value?.nick).to.equal('alice');
      expect(server.value?.sasl?.authcid).to.equal('alice');
      expect(server.value).to.include({ nick: 'alice', user: 'alice', realname: 'alice' });
      expect(log.slice(0, 5)).to.deep.equal([
        'C: CAP LS 302',
        'C: NICK alice',
        'C: USER alice 0 * alice',
        'S: :irc.saslkit.invalid CAP * LS :sasl=SCRAM-SHA-256,PLAIN',
        'C: CAP REQ :sasl',
      ]);
      expect(log.slice(-2)).to.deep.equal([
        'C: CAP END',
        'S: :irc.saslkit.invalid 001 alice :Welcome to the IRC network, alice',
      ]);
    });
  }

  it('a wrong password: 904, the client rejects with AUTHENTICATION_FAILED and never sends the password in clear', async () => {
    const { client, log } = await register({
      nick: 'alice',
      credentials: new ClientCredentials('alice', 'wrong-pass'),
      mechanism: 'SCRAM-SHA-256',
    });
    expect(isSaslError(client.error) && client.error.code).to.equal('AUTHENTICATION_FAILED');
    expect(log.some((line) => / 904 alice /.test(line))).to.equal(true);
    expectNoSecrets(client.error, ['wrong-pass']);
    expect(log.join('\n')).to.not.include('wrong-pass');
  });

  it('a server without sasl: MECHANISM_UNAVAILABLE, unless SASL is optional', async () => {
    const noSasl = [':s CAP * LS :multi-prefix', ':s 001 bob :Welcome'];
    const run = async (requireSasl: boolean): Promise<IrcLoginResult> => {
      const queue = new LineQueue();
      for (const line of noSasl) queue.push(line);
      return ircLogin({ nick: 'bob', credentials: alice, requireSasl, lines: queue, write: () => undefined });
    };
    await expectSaslRejection(run(true), 'MECHANISM_UNAVAILABLE');
    const result = await run(false);
    expect(result.sasl).to.equal(undefined);
    expect(result.nick).to.equal('bob');
  });

  it('joins a multi-line CAP LS and retries with the 908 list for a sasl-3.1 server', async () => {
    const queue = new LineQueue();
    const written: string[] = [];
    const run = ircLogin({
      nick: 'alice',
      credentials: alice,
      auth: SASLAuth.named(['SCRAM-SHA-256', 'PLAIN']),
      lines: queue,
      write: (line) => {
        written.push(line);
      },
    });
    for (const line of [
      ':s CAP * LS * :multi-prefix',
      ':s CAP * LS :sasl server-time',
      ':s CAP alice ACK :sasl',
      ':s 908 alice PLAIN :are available',
      ':s 904 alice :failed',
      'AUTHENTICATE +',
      ':s 903 alice :ok',
      ':s 001 alice :hi',
    ])
      queue.push(line);
    const result = await run;
    expect(result.sasl?.mechanism).to.equal('PLAIN');
    expect([...result.capabilities.keys()]).to.deep.equal(['multi-prefix', 'sasl', 'server-time']);
    expect(written.filter((line) => line.startsWith('AUTHENTICATE'))).to.deep.equal([
      'AUTHENTICATE SCRAM-SHA-256',
      'AUTHENTICATE PLAIN',
      `AUTHENTICATE ${b64('\0alice\0alice-pass')}`,
    ]);
  });

  it('a refused nick ends the login with ABORTED', async () => {
    const queue = new LineQueue();
    queue.push(':s 433 * alice :Nickname is already in use');
    await expectSaslRejection(
      ircLogin({ nick: 'alice', credentials: alice, lines: queue, write: () => undefined }),
      'ABORTED',
    );
  });

  it('refuses an invalid nick or user name before sending anything', async () => {
    const written: string[] = [];
    for (const bad of [{ nick: 'a b' }, { nick: '1abc' }, { nick: 'ok', user: 'x y' }]) {
      await expectSaslRejection(
        ircLogin({
          ...bad,
          credentials: alice,
          lines: new LineQueue(),
          write: (line) => {
            written.push(line);
          },
        }),
        'USAGE',
      );
    }
    expect(written).to.deep.equal([]);
  });

  describe('the server loop', () => {
    const plain = `AUTHENTICATE ${b64('\0alice\0alice-pass')}`;

    it('answers a second AUTHENTICATE after a login with 907', async () => {
      const { written, value } = await serveLines([
        'CAP LS',
        'NICK alice',
        'USER a 0 * :Alice A',
        'CAP REQ :sasl',
        'AUTHENTICATE PLAIN',
        plain,
        'AUTHENTICATE PLAIN',
        'CAP END',
      ]);
      expect(written[0]).to.equal(':irc.saslkit.invalid CAP * LS :sasl');
      expect(written).to.include(':irc.saslkit.invalid 907 alice :You have already authenticated using SASL');
      expect(value).to.include({ nick: 'alice', user: 'a', realname: 'Alice A' });
      expect(value?.capabilities).to.deep.equal(['sasl']);
    });

    it('refuses AUTHENTICATE before the sasl capability, NAKs other capabilities, answers PING and CAP LIST', async () => {
      const { written, value } = await serveLines([
        'CAP LS 302',
        'AUTHENTICATE PLAIN',
        'CAP REQ :sasl multi-prefix',
        'PING :x',
        'CAP LIST',
        'NICK bob',
        'USER b 0 * b',
        'CAP END',
      ]);
      expect(written.slice(1, 5)).to.deep.equal([
        ':irc.saslkit.invalid 904 * :SASL authentication failed: request the sasl capability first',
        ':irc.saslkit.invalid CAP * NAK :sasl multi-prefix',
        ':irc.saslkit.invalid PONG irc.saslkit.invalid x',
        ':irc.saslkit.invalid CAP * LIST :',
      ]);
      expect(value?.sasl).to.equal(undefined);
    });

    it('with requireSasl, a client that ends registration without a login gets ERROR and a rejection', async () => {
      const { written, error } = await serveLines(['NICK bob', 'USER b 0 * b'], { ...SERVER, requireSasl: true });
      expect(written).to.deep.equal(['ERROR :SASL authentication is required']);
      expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
    });

    it('after maxAttempts failed logins: ERROR and AUTHENTICATION_FAILED', async () => {
      const wrong = `AUTHENTICATE ${b64('\0alice\0nope')}`;
      const { written, error } = await serveLines(
        ['CAP REQ :sasl', 'AUTHENTICATE PLAIN', wrong, 'AUTHENTICATE PLAIN', wrong],
        { ...SERVER, maxAttempts: 2 },
      );
      expect(written.filter((line) => / 904 /.test(line))).to.have.length(2);
      expect(written[written.length - 1]).to.equal('ERROR :Too many failed SASL attempts');
      expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
    });

    it('CAP END in the middle of an exchange aborts it with 906 and still ends negotiation', async () => {
      const { written, value } = await serveLines([
        'CAP LS 302',
        'NICK alice',
        'USER a 0 * a',
        'CAP REQ :sasl',
        'AUTHENTICATE PLAIN',
        `AUTHENTICATE ${'A'.repeat(400)}`,
        'CAP END',
      ]);
      expect(written).to.include(':irc.saslkit.invalid 906 alice :SASL authentication aborted');
      expect(written[written.length - 1]).to.equal(':irc.saslkit.invalid 001 alice :Welcome to the IRC network, alice');
      expect(value?.sasl).to.equal(undefined);
    });

    it('a client that never registers: LIMIT_EXCEEDED after maxCommands lines', async () => {
      const { written, error } = await serveLines(
        Array.from({ length: 20 }, () => 'PRIVMSG x :hi'),
        { ...SERVER, maxCommands: 10 },
      );
      expect(written).to.have.length(10);
      expect(written[0]).to.equal(':irc.saslkit.invalid 451 * :You have not registered');
      expect(isSaslError(error) && error.code).to.equal('LIMIT_EXCEEDED');
    });

    const rejected: readonly [string, string[], string, string | undefined][] = [
      ['QUIT', ['QUIT :bye'], 'ABORTED', undefined],
      ['the end of the connection', ['NICK a'], 'ABORTED', undefined],
      ['a line that is no IRC message', [':prefix-only'], 'MALFORMED_MESSAGE', 'ERROR :Malformed message'],
      ['a line over the limit', [`@t=${'x'.repeat(9000)} NICK a`], 'LIMIT_EXCEEDED', undefined],
    ];
    for (const [what, lines, code, last] of rejected) {
      it(`${what}: ${code}`, async () => {
        const { written, error } = await serveLines(lines);
        expect(isSaslError(error) && error.code, String(error)).to.equal(code);
        if (last !== undefined) expect(written[written.length - 1]).to.equal(last);
      });
    }

    it('answers a bad NICK and a short USER with their numerics and waits for good ones', async () => {
      const { written, value } = await serveLines(['NICK 1bad', 'NICK', 'USER x', 'NICK good', 'USER g 0 * :G']);
      expect(written.slice(0, 3)).to.deep.equal([
        ':irc.saslkit.invalid 432 * 1bad :Erroneous nickname',
        ':irc.saslkit.invalid 431 * :No nickname given',
        ':irc.saslkit.invalid 461 * USER :Not enough parameters',
      ]);
      expect(value?.nick).to.equal('good');
    });
  });
});
