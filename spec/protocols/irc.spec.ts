import { expect } from 'chai';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  type IrcClientResult,
  LineQueue,
  SASLAuth,
  type ServerOptions,
  ircClientAuth,
  ircServerAuth,
  isSaslError,
} from '../../lib/index.js';
import { lineConversations } from '../support/conversation.js';
import { scriptedMechanism } from './transcript.js';
import { ALICE, expectNoSecrets, expectSaslRejection, storeOf } from '../support/helpers.js';

const OPTIONS: ServerOptions = { lookup: storeOf(ALICE) };
const { converse, serve } = lineConversations({
  client: ircClientAuth,
  server: ircServerAuth,
  serveDefaults: { auth: SASLAuth.all(), options: OPTIONS },
});
const alice = new ClientCredentials('alice', 'alice-pass');

/** A PLAIN response whose base64 is exactly `length` characters (a multiple of 4): alice with a password that long. */
function plainOfBase64(length: number): { identity: ClearIdentity; credentials: ClientCredentials; base64: string } {
  const password = 'p'.repeat((length / 4) * 3 - '\0alice\0'.length);
  const base64 = Buffer.from(`\0alice\0${password}`).toString('base64');
  expect(base64).to.have.length(length);
  return {
    identity: new ClearIdentity('alice', password),
    credentials: new ClientCredentials('alice', password),
    base64,
  };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('IRC SASL profile', function () {
  this.timeout(10000);

  describe('client and server together', () => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'DIGEST-MD5']) {
      it(`logs in with ${mechanism}`, async () => {
        const { client, server, log } = await converse(
          { credentials: alice, mechanism, client: { host: 'irc.saslkit.invalid', service: 'irc' } },
          { auth: SASLAuth.all(), options: { ...OPTIONS, hostname: 'irc.saslkit.invalid' }, nick: 'alice' },
        );
        expect(client.error, String(client.error)).to.equal(undefined);
        expect((server.value as Authenticated).authcid).to.equal('alice');
        expect(client.value?.account).to.equal('alice');
        expect(log[0]).to.equal(`C: AUTHENTICATE ${mechanism}`);
        expect(log).to.include.members([`S: :irc.saslkit.invalid 903 alice :SASL authentication successful`]);
        if (mechanism.startsWith('SCRAM-')) {
          expect(client.value?.serverVerified).to.equal(true);
          // The server-final goes out as a challenge and the client acknowledges it with `+`.
          expect(log[log.length - 3]).to.equal('C: AUTHENTICATE +');
        }
      });
    }

    it('logs in with EXTERNAL as the identity the transport vouches for', async () => {
      const { client, server, log } = await converse(
        { credentials: new ClientCredentials('', ''), mechanism: 'EXTERNAL' },
        { auth: SASLAuth.all(), options: { externalIdentity: 'alice' } },
      );
      expect(client.error, String(client.error)).to.equal(undefined);
      expect((server.value as Authenticated).authcid).to.equal('alice');
      expect(log.slice(0, 3)).to.deep.equal(['C: AUTHENTICATE EXTERNAL', 'S: AUTHENTICATE +', 'C: AUTHENTICATE +']);
    });

    for (const length of [396, 400, 404, 800, 1200]) {
      it(`carries a ${length}-character response in 400-byte chunks${length % 400 === 0 ? ' and a +' : ''}`, async () => {
        const { identity, credentials, base64 } = plainOfBase64(length);
        const { client, server, log } = await converse(
          { credentials, mechanism: 'PLAIN' },
          { auth: SASLAuth.all(), options: { lookup: storeOf(identity) } },
        );
        expect(client.error, String(client.error)).to.equal(undefined);
        expect((server.value as Authenticated).authcid).to.equal('alice');
        const sent = log
          .filter((line) => line.startsWith('C: AUTHENTICATE '))
          .slice(1)
          .map((line) => line.slice('C: AUTHENTICATE '.length));
        const expected = base64.match(/.{1,400}/g) ?? [];
        expect(sent).to.deep.equal(length % 400 === 0 ? [...expected, '+'] : expected);
      });
    }

    it('sends a challenge of exactly 400 characters as a chunk and a +, and takes a response of 400 the same way', async () => {
      const big = new Uint8Array(300).fill(0x41);
      const auth = new SASLAuth([
        scriptedMechanism({ name: 'X-BIG', rounds: [{ challenge: big, response: big }], outcome: 'success' }),
      ]);
      const { client, server, log } = await converse({ credentials: alice, mechanism: 'X-BIG', auth }, { auth });
      expect(client.error, String(client.error)).to.equal(undefined);
      expect((server.value as Authenticated).authcid).to.equal('scripted');
      const chunk = `AUTHENTICATE ${Buffer.from(big).toString('base64')}`;
      expect(log.slice(0, 5)).to.deep.equal([
        'C: AUTHENTICATE X-BIG',
        `S: ${chunk}`,
        'S: AUTHENTICATE +',
        `C: ${chunk}`,
        'C: AUTHENTICATE +',
      ]);
    });

    it('the client joins chunked challenges and answers a 400-character one after its +', async () => {
      const toClient = new LineQueue();
      const written: string[] = [];
      const run = ircClientAuth({
        credentials: alice,
        mechanism: 'PLAIN',
        lines: toClient,
        write: (line) => {
          written.push(line);
        },
      });
      toClient.push('AUTHENTICATE +');
      toClient.push(':irc.example 900 alice alice!a@h alice :You are now logged in as alice');
      toClient.push(':irc.example 903 alice :SASL authentication successful');
      const result: IrcClientResult = await run;
      expect(written).to.deep.equal(['AUTHENTICATE PLAIN', `AUTHENTICATE ${b64('\0alice\0alice-pass')}`]);
      expect(result).to.include({ mechanism: 'PLAIN', account: 'alice', serverVerified: false });
    });
  });

  describe('server: malformed and hostile input', () => {
    const plain = b64('\0alice\0alice-pass');
    const table: readonly [string, string, string[], string, string | undefined][] = [
      // what, command, the client's lines, the error code, the numeric written last (undefined: none)
      [
        'a wrong password',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${b64('\0alice\0wrong')}`],
        'AUTHENTICATION_FAILED',
        '904',
      ],
      [
        'an unknown user',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${b64('\0mallory\0alice-pass')}`],
        'AUTHENTICATION_FAILED',
        '904',
      ],
      ['an unknown mechanism', 'AUTHENTICATE X-NOPE', [], 'MECHANISM_UNAVAILABLE', '904'],
      ['an invalid mechanism name', 'AUTHENTICATE bad!name', [], 'MECHANISM_UNAVAILABLE', '904'],
      ['AUTHENTICATE without a mechanism', 'AUTHENTICATE', [], 'MALFORMED_MESSAGE', '904'],
      ['AUTHENTICATE with two parameters', 'AUTHENTICATE PLAIN extra', [], 'MALFORMED_MESSAGE', '904'],
      ['a command that is no IRC message', ':only-a-prefix', [], 'MALFORMED_MESSAGE', '904'],
      ['a command other than AUTHENTICATE', 'NICK alice', [], 'MALFORMED_MESSAGE', '904'],
      ['an abort', 'AUTHENTICATE PLAIN', ['AUTHENTICATE *'], 'ABORTED', '906'],
      [
        'an abort after a 400-byte chunk',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${'A'.repeat(400)}`, 'AUTHENTICATE *'],
        'ABORTED',
        '906',
      ],
      ['bad base64', 'AUTHENTICATE PLAIN', ['AUTHENTICATE QUJD!'], 'MALFORMED_MESSAGE', '904'],
      ['base64 with padding inside', 'AUTHENTICATE PLAIN', ['AUTHENTICATE QQ==QUJD'], 'MALFORMED_MESSAGE', '904'],
      [
        'a 399-byte chunk (not whole base64)',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${'A'.repeat(399)}`],
        'MALFORMED_MESSAGE',
        '904',
      ],
      ['a 401-byte chunk', 'AUTHENTICATE PLAIN', [`AUTHENTICATE ${'A'.repeat(401)}`], 'LIMIT_EXCEEDED', '905'],
      ['an empty AUTHENTICATE parameter', 'AUTHENTICATE PLAIN', ['AUTHENTICATE :'], 'MALFORMED_MESSAGE', '904'],
      ['a response that is no IRC message', 'AUTHENTICATE PLAIN', ['@tags-only'], 'MALFORMED_MESSAGE', '904'],
      ['an empty response where PLAIN needs one', 'AUTHENTICATE PLAIN', ['AUTHENTICATE +'], 'MALFORMED_MESSAGE', '904'],
      [
        'a total over maxMessageBytes (16384)',
        'AUTHENTICATE PLAIN',
        Array.from({ length: 55 }, () => `AUTHENTICATE ${'A'.repeat(400)}`),
        'LIMIT_EXCEEDED',
        '905',
      ],
      [
        'a line over the IRC limit',
        'AUTHENTICATE PLAIN',
        [`@t=${'x'.repeat(9000)} AUTHENTICATE ${plain}`],
        'LIMIT_EXCEEDED',
        '905',
      ],
      [
        'a body over 512 octets',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${'A'.repeat(400)} ${'B'.repeat(200)}`],
        'LIMIT_EXCEEDED',
        '905',
      ],
      [
        'a 400-byte chunk and then the end of the connection',
        'AUTHENTICATE PLAIN',
        [`AUTHENTICATE ${'A'.repeat(400)}`],
        'ABORTED',
        undefined,
      ],
      ['the end of the connection', 'AUTHENTICATE PLAIN', [], 'ABORTED', undefined],
    ];
    for (const [what, command, lines, code, numeric] of table) {
      it(`${what}: ${code}${numeric === undefined ? ', no reply' : `, ${numeric}`}`, async () => {
        const served = await serve(command, lines);
        expect(isSaslError(served.error), String(served.error)).to.equal(true);
        expect((served.error as { code: string }).code, String(served.error)).to.equal(code);
        const last = served.written[served.written.length - 1];
        if (numeric === undefined) expect(served.written.filter((line) => / 90\d /.test(line))).to.deep.equal([]);
        else expect(last?.split(' ')[1], last).to.equal(numeric);
        expectNoSecrets(served.error, ['alice-pass']);
      });
    }

    it('an unknown mechanism gets 908 with the offered list before 904', async () => {
      const served = await serve('AUTHENTICATE X-NOPE', [], { auth: SASLAuth.named(['PLAIN', 'SCRAM-SHA-256']) });
      expect(served.written).to.deep.equal([
        ':irc.saslkit.invalid 908 * PLAIN,SCRAM-SHA-256 :are available SASL mechanisms',
        ':irc.saslkit.invalid 904 * :SASL authentication failed: unknown mechanism',
      ]);
    });

    it('a 400-byte chunk followed by another command aborts with 906 and hands the line to the host', async () => {
      const other: string[] = [];
      const served = await serve('AUTHENTICATE PLAIN', [`AUTHENTICATE ${'A'.repeat(400)}`, 'CAP END'], {
        onOtherLine: (line: string) => other.push(line),
      });
      expect((served.error as { code: string }).code).to.equal('ABORTED');
      expect(served.written).to.deep.equal([
        'AUTHENTICATE +',
        ':irc.saslkit.invalid 906 * :SASL authentication aborted',
      ]);
      expect(other).to.deep.equal(['CAP END']);
    });

    it('accepts an exact 400-character response only with the following +', async () => {
      const { identity, base64 } = plainOfBase64(400);
      const withPlus = await serve('AUTHENTICATE PLAIN', [`AUTHENTICATE ${base64}`, 'AUTHENTICATE +'], {
        options: { lookup: storeOf(identity) },
      });
      expect((withPlus.value as Authenticated).authcid).to.equal('alice');
      const without = await serve('AUTHENTICATE PLAIN', [`AUTHENTICATE ${base64}`], {
        options: { lookup: storeOf(identity) },
      });
      expect((without.error as { code: string }).code).to.equal('ABORTED');
      expect(without.written).to.deep.equal(['AUTHENTICATE +']);
    });

    it("takes tags and a source on the client's lines, and a lower-case command", async () => {
      const served = await serve('@label=1 :alice authenticate PLAIN', [`@label=2 AUTHENTICATE ${plain}`]);
      expect((served.value as Authenticated).authcid).to.equal('alice');
    });

    it("replies with 904 and rejects with the store's own error when the store throws", async () => {
      const broken = new Error('database down');
      const served = await serve('AUTHENTICATE PLAIN', [`AUTHENTICATE ${plain}`], {
        options: {
          lookup: () => {
            throw broken;
          },
        },
      });
      expect(served.error).to.equal(broken);
      expect(served.written.pop()).to.match(/ 904 \* :SASL authentication failed: temporary failure/);
    });

    it('uses the nick, the mask and the server name given', async () => {
      const served = await serve('AUTHENTICATE PLAIN', [`AUTHENTICATE ${plain}`], {
        serverName: 'irc.example',
        nick: 'al',
        mask: 'al!u@h',
      });
      expect(served.written.slice(1)).to.deep.equal([
        ':irc.example 900 al al!u@h alice :You are now logged in as alice',
        ':irc.example 903 al :SASL authentication successful',
      ]);
    });
  });

  describe('client: what the server sends', () => {
    /** Runs the client with PLAIN against scripted server lines; resolves with its result or rejects. */
    async function clientAgainst(
      lines: readonly string[],
      mechanism = 'PLAIN',
    ): Promise<{ written: string[]; result: Promise<IrcClientResult> }> {
      const queue = new LineQueue();
      for (const line of lines) queue.push(line);
      queue.end();
      const written: string[] = [];
      const result = ircClientAuth({
        credentials: alice,
        mechanism,
        lines: queue,
        write: (line) => {
          written.push(line);
        },
      });
      await result.catch(() => undefined);
      return { written, result };
    }

    const table: readonly [string, string[], string, string | undefined][] = [
      ['904', ['AUTHENTICATE +', ':s 904 * :SASL authentication failed'], 'AUTHENTICATION_FAILED', '904'],
      ['902', ['AUTHENTICATE +', ':s 902 * :You must use a nick assigned to you'], 'AUTHENTICATION_FAILED', '902'],
      ['905', ['AUTHENTICATE +', ':s 905 * :SASL message too long'], 'LIMIT_EXCEEDED', undefined],
      ['906', [':s 906 * :SASL authentication aborted'], 'ABORTED', undefined],
      ['907', [':s 907 * :You have already authenticated'], 'UNEXPECTED_MESSAGE', undefined],
      [
        '908 without the mechanism, then 904',
        [':s 908 * EXTERNAL :are available', ':s 904 * :failed'],
        'MECHANISM_UNAVAILABLE',
        undefined,
      ],
      ['ERROR', ['ERROR :Closing link'], 'ABORTED', undefined],
      ['the end of the connection', ['AUTHENTICATE +'], 'ABORTED', undefined],
      ['a line that is no IRC message', [':prefix-only'], 'MALFORMED_MESSAGE', undefined],
      ['a numeric of four digits', ['AUTHENTICATE +', ':s 9040 * :failed'], 'MALFORMED_MESSAGE', undefined],
      ['a numeric mixing digits and letters', ['AUTHENTICATE +', ':s 90A * :failed'], 'MALFORMED_MESSAGE', undefined],
      [
        'an unknown numeric, then the end',
        ['AUTHENTICATE +', ':s 909 * :what', ':s 999 * :what'],
        'ABORTED',
        undefined,
      ],
      ['a challenge chunk over 400', [`AUTHENTICATE ${'A'.repeat(401)}`], 'LIMIT_EXCEEDED', undefined],
      ['a challenge that is not base64', ['AUTHENTICATE QUJD!'], 'MALFORMED_MESSAGE', undefined],
      ['a 399-character challenge', [`AUTHENTICATE ${'A'.repeat(399)}`], 'MALFORMED_MESSAGE', undefined],
      ["a non-empty challenge before PLAIN's response", ['AUTHENTICATE QUJD'], 'UNEXPECTED_MESSAGE', undefined],
      ['a line over the limit', [`@t=${'x'.repeat(9000)} AUTHENTICATE +`], 'LIMIT_EXCEEDED', undefined],
      [
        'success before the client authenticated',
        [':s 903 * :SASL authentication successful'],
        'UNEXPECTED_MESSAGE',
        undefined,
      ],
      [
        'an endless stream of unrelated messages',
        Array.from({ length: 600 }, () => ':s NOTICE * :hello'),
        'LIMIT_EXCEEDED',
        undefined,
      ],
    ];
    for (const [what, lines, code, serverError] of table) {
      it(`${what}: ${code}`, async () => {
        const { result } = await clientAgainst(lines);
        const error = await expectSaslRejection(result, code as 'ABORTED');
        if (serverError !== undefined) expect((error as { serverError?: string }).serverError).to.equal(serverError);
        expectNoSecrets(error, ['alice-pass']);
      });
    }

    it('answers PING during the exchange and skips notices', async () => {
      const { written, result } = await clientAgainst([
        ':s NOTICE * :hi',
        'PING :token',
        'AUTHENTICATE +',
        ':s 903 * :ok',
      ]);
      await result;
      expect(written).to.deep.equal(['AUTHENTICATE PLAIN', 'PONG token', `AUTHENTICATE ${b64('\0alice\0alice-pass')}`]);
    });

    it('cancels with AUTHENTICATE * when the mechanism cannot answer', async () => {
      const { written } = await clientAgainst([`AUTHENTICATE ${b64('x')}`, ':s 906 * :aborted']);
      expect(written).to.deep.equal(['AUTHENTICATE PLAIN', 'AUTHENTICATE *']);
    });
  });
});
