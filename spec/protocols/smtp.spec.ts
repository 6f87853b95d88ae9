import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  LineQueue,
  type Mechanism,
  SASLAuth,
  type ServerOptions,
  cramMd5Server,
  formatSmtpReply,
  isSaslError,
  parseEhlo,
  readSmtpReply,
  smtpAuthKeyword,
  smtpClientAuth,
  smtpServerAuth,
  type SmtpClientAuthOptions,
  type SmtpServerAuthOptions,
} from '../../lib/index.js';
import {
  DEMO_PASSWORD,
  DEMO_TOKEN,
  DEMO_USER,
  demoCredentials,
  demoServerOptions,
  smtpLogin,
  startSmtpServer,
} from '../support/demo-mail.js';
import { lineConversations } from '../support/conversation.js';
import { type LineWire, type ScriptFraming, ownPairCases, scriptOf, serverInputCases } from '../support/line-cases.js';
import { ALICE, asyncStoreOf, expectNoSecrets, expectSaslRejection, storeOf } from '../support/helpers.js';
import {
  body,
  fromLine,
  replayClient,
  replayServer,
  scriptedMechanism,
  settle,
  transcriptOf,
  unb64,
} from './transcript.js';

const { converse, serve, against } = lineConversations({
  client: smtpClientAuth,
  server: smtpServerAuth,
  serveDefaults: { auth: SASLAuth.all(), options: { lookup: storeOf(ALICE) } },
});

const SYNTAX = '501 5.5.4 Syntax: AUTH mechanism [initial-response]';
const CANNOT_DECODE = '501 5.5.2 Cannot decode the client response';
const TOO_LONG = '500 5.5.6 Authentication Exchange line is too long';

/** How an SMTP exchange reads as a scripted mechanism's messages. */
const SMTP_SCRIPT: ScriptFraming = { verb: 'AUTH', challenge: '334 ', success: (reply) => reply.startsWith('235') };

/** SMTP's framing of the cases all line profiles share. */
const wire: LineWire = {
  command: (mechanism, initial) => (initial === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial}`),
  response: (data) => data,
  challenge: (data) => `334 ${data}`,
  replies: {
    emptyCommand: SYNTAX,
    unknownMechanism: '504 5.5.4 Unrecognized authentication type',
    badBase64: CANNOT_DECODE,
    initialNotAllowed: '501 5.7.0 Client initiation is not allowed with this mechanism',
    cancelled: '501 5.7.0 Authentication cancelled',
    tooLong: TOO_LONG,
    failed: '535 5.7.8 Authentication credentials invalid',
    unavailable: '454 4.7.0 Temporary authentication failure',
  },
};

describe('SMTP AUTH profile', function () {
  this.timeout(10000);

  describe('capabilities', () => {
    it('parses the EHLO reply of RFC 4954 and builds the same AUTH keyword', () => {
      const lines = transcriptOf('smtp-rfc4954-plain-ir');
      const ehlo = lines
        .slice(
          lines.lastIndexOf('C: EHLO client.example.com') + 1,
          lines.findIndex((line) => line.startsWith('C: AUTH')),
        )
        .map(body);
      const info = parseEhlo(ehlo);
      expect(info.domain).to.equal('smtp.example.com');
      expect(info.mechanisms).to.deep.equal(['GSSAPI', 'DIGEST-MD5', 'PLAIN']);
      expect(`250 ${smtpAuthKeyword(info.mechanisms)}`).to.equal(ehlo[ehlo.length - 1]);
    });

    it('reads the old AUTH= form, merges repeated AUTH lines and drops invalid names', () => {
      const info = parseEhlo([
        '250-mx.example.com',
        '250-AUTH=LOGIN PLAIN',
        '250-AUTH login CRAM-MD5 b@d',
        '250-SIZE 35651584',
        '250 8BITMIME',
      ]);
      expect(info.mechanisms).to.deep.equal(['LOGIN', 'PLAIN', 'CRAM-MD5']);
      expect(info.keywords.get('SIZE')).to.deep.equal(['35651584']);
      expect(info.keywords.has('8BITMIME')).to.equal(true);
    });

    it('reads multi-line replies and refuses lines that are not replies', async () => {
      const queue = new LineQueue();
      for (const line of ['250-mx.example.com', '250-AUTH PLAIN', '250 OK', 'garbage']) queue.push(line);
      const reply = await readSmtpReply(queue);
      expect(reply).to.deep.equal({ code: 250, lines: ['mx.example.com', 'AUTH PLAIN', 'OK'] });
      await expectSaslRejection(readSmtpReply(queue), 'MALFORMED_MESSAGE');
      queue.push('250-first');
      queue.push('354 second');
      await expectSaslRejection(readSmtpReply(queue), 'MALFORMED_MESSAGE');
      queue.end();
      await expectSaslRejection(readSmtpReply(queue), 'ABORTED');
    });

    it('formats multi-line replies', () => {
      expect(formatSmtpReply(535, '5.7.1 first\n5.7.1 second')).to.deep.equal(['535-5.7.1 first', '535 5.7.1 second']);
    });
  });

  describe('RFC transcripts replayed byte for byte', () => {
    const test = new ClearIdentity('test', '1234');
    const cases: {
      id: string;
      note: string;
      server: () => Omit<SmtpServerAuthOptions, 'command' | 'lines' | 'write'>;
      client: () => Omit<SmtpClientAuthOptions, 'lines' | 'write'>;
    }[] = [
      {
        id: 'smtp-rfc4954-plain-ir',
        note: 'PLAIN with an initial response',
        server: () => ({ auth: SASLAuth.named(['PLAIN']), options: { lookup: storeOf(test) } }),
        client: () => ({ mechanism: 'PLAIN', credentials: new ClientCredentials('test', '1234', 'test') }),
      },
      {
        id: 'smtp-rfc4954-plain-no-ir',
        note: 'PLAIN after an empty 334',
        server: () => ({ auth: SASLAuth.named(['PLAIN']), options: { lookup: storeOf(test) } }),
        client: () => ({
          mechanism: 'PLAIN',
          credentials: new ClientCredentials('test', '1234', 'test'),
          initialResponse: false,
        }),
      },
      {
        id: 'smtp-rfc4954-external-empty-ir',
        note: 'EXTERNAL with an empty initial response (=)',
        server: () => ({ auth: SASLAuth.named(['EXTERNAL']), options: { externalIdentity: 'test' } }),
        client: () => ({ mechanism: 'EXTERNAL', credentials: new ClientCredentials('', '') }),
      },
    ];
    for (const c of cases) {
      const exchange = fromLine(transcriptOf(c.id), (line) => line.startsWith('C: AUTH'));
      it(`${c.id} (${c.note}): server, real mechanism`, async () => {
        const { log, error } = await replayServer(exchange, (command, lines, write) =>
          smtpServerAuth({ ...c.server(), command, lines, write }),
        );
        expect(error).to.equal(undefined);
        expect(log).to.deep.equal(exchange);
      });
      it(`${c.id} (${c.note}): client, real mechanism`, async () => {
        const { log, error } = await replayClient(exchange, (lines, write) =>
          smtpClientAuth({ ...c.client(), lines, write }),
        );
        expect(error).to.equal(undefined);
        expect(log).to.deep.equal(exchange);
      });
    }

    it('smtp-login-draft-murchison: client, real LOGIN (it ignores the prompt texts)', async () => {
      const exchange = fromLine(transcriptOf('smtp-login-draft-murchison'), (line) => line.startsWith('C: AUTH'));
      const { log, error } = await replayClient(exchange, (lines, write) =>
        smtpClientAuth({
          mechanism: 'LOGIN',
          credentials: new ClientCredentials('tim', 'tanstaaftanstaaf'),
          lines,
          write,
        }),
      );
      expect(error).to.equal(undefined);
      expect(log).to.deep.equal(exchange);
    });

    it('smtp-derived-cancel: server, real CRAM-MD5 with the transcript challenge; the client cancels', async () => {
      const exchange = fromLine(transcriptOf('smtp-derived-cancel'), (line) => line.startsWith('C: AUTH'));
      const challengeBytes = unb64(body(exchange[1] ?? '').slice(4));
      const fixed: Mechanism = {
        ...CRAM_MD5,
        server: (options, initial) => cramMd5Server(options, challengeBytes, initial),
      };
      const { log, error } = await replayServer(exchange, (command, lines, write) =>
        smtpServerAuth({ auth: new SASLAuth([fixed]), options: { lookup: storeOf(ALICE) }, command, lines, write }),
      );
      expect(log).to.deep.equal(exchange);
      expect(isSaslError(error) && error.code).to.equal('ABORTED');
    });

    // Every SMTP transcript, through a mechanism that replays its messages: the framing alone.
    const replies: Record<string, SmtpServerAuthOptions['replies']> = {
      'smtp-login-draft-murchison': { success: 'Authentication successful.' },
      'smtp-rfc7628-oauthbearer-failure': {
        failed: '5.7.1 Username and Password not accepted. Learn more at\n5.7.1 http://support.example.com/mail/oauth',
      },
    };
    for (const id of [
      'smtp-rfc4954-plain-ir',
      'smtp-rfc4954-plain-no-ir',
      'smtp-rfc4954-cram-md5',
      'smtp-rfc4954-external-empty-ir',
      'smtp-login-draft-murchison',
      'smtp-rfc7628-oauthbearer-failure',
      'smtp-derived-cancel',
    ]) {
      const exchange = fromLine(transcriptOf(id), (line) => line.startsWith('C: AUTH'));
      const script = scriptOf(exchange, SMTP_SCRIPT);
      const expected =
        script.outcome === 'success'
          ? undefined
          : script.rounds.some((r) => r.response === undefined)
            ? 'ABORTED'
            : 'AUTHENTICATION_FAILED';
      it(`${id}: server framing (scripted mechanism)`, async () => {
        const extra = replies[id];
        const { log, error } = await replayServer(exchange, (command, lines, write) =>
          smtpServerAuth({
            auth: new SASLAuth([scriptedMechanism(script)]),
            command,
            lines,
            write,
            ...(extra === undefined ? {} : { replies: extra }),
          }),
        );
        expect(log).to.deep.equal(exchange);
        expect(error === undefined ? undefined : isSaslError(error) && error.code).to.equal(expected);
      });
      it(`${id}: client framing (scripted mechanism)`, async () => {
        const { log, error } = await replayClient(exchange, (lines, write) =>
          smtpClientAuth({
            mechanism: scriptedMechanism(script),
            credentials: new ClientCredentials('x', 'y'),
            lines,
            write,
          }),
        );
        expect(log).to.deep.equal(exchange);
        expect(error === undefined ? undefined : isSaslError(error) && error.code).to.equal(expected);
        if (id === 'smtp-rfc7628-oauthbearer-failure')
          expect((error as Error).message).to.include('535 5.7.1 Username and Password not accepted');
      });
    }
  });

  describe('own client against own server', () => {
    const auth = SASLAuth.all();

    ownPairCases(converse, auth, {
      client: (mechanism, credentials, client) => ({ mechanism, credentials, client }),
      server: (auth, options) => ({ auth, options }),
      service: 'smtp',
      success: 'S: 235 2.7.0 Authentication successful',
      failed: 'S: 535 5.7.8 Authentication credentials invalid',
      failedText: '535 5.7.8 Authentication credentials invalid',
    });

    it('sends SCRAM server-final data as a last 334 and waits for the empty line before 235', async () => {
      const { client, log } = await converse(
        { mechanism: 'SCRAM-SHA-256', credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        { auth, options: demoServerOptions() },
      );
      expect(client.value?.serverVerified).to.equal(true);
      expect(log.slice(-3, -1)[0]).to.match(/^S: 334 /);
      expect(Buffer.from(log.slice(-3)[0]!.slice(7), 'base64').toString()).to.match(/^v=/);
      expect(log.slice(-2)).to.deep.equal(['C: ', 'S: 235 2.7.0 Authentication successful']);
    });

    it('chooses the strongest offered mechanism the client has', async () => {
      const { client } = await converse(
        { offered: ['PLAIN', 'CRAM-MD5', 'LOGIN'], credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        { auth, options: demoServerOptions() },
      );
      expect(client.value?.mechanism).to.equal('CRAM-MD5');
    });

    it('sends a long initial response after an empty 334 instead of on the AUTH line', async () => {
      const token = 'x'.repeat(600);
      const options: ServerOptions = {
        validateToken: (request) =>
          request.token === token ? { authcid: 'alice' } : { error: { status: 'invalid_token' } },
      };
      const { client, log } = await converse(
        { mechanism: 'XOAUTH2', credentials: new ClientCredentials('alice', token) },
        { auth, options },
      );
      expect(client.error).to.equal(undefined);
      expect(log[0]).to.equal('C: AUTH XOAUTH2');
      expect(log[1]).to.equal('S: 334 ');
      expect(log[2]!.length).to.be.greaterThan(512);
      // A short one rides on the command line.
      const short = await converse(
        { mechanism: 'XOAUTH2', credentials: new ClientCredentials('alice', DEMO_TOKEN) },
        { auth, options: demoServerOptions() },
      );
      expect(short.log[0]).to.match(/^C: AUTH XOAUTH2 [A-Za-z0-9+/=]+$/);
      expect(short.log.length).to.equal(2);
    });

    it('maps 504 to MECHANISM_UNAVAILABLE and 454 to AUTHENTICATION_FAILED with the reply code', async () => {
      const unknown = await converse(
        { mechanism: 'CRAM-MD5', credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        { auth: SASLAuth.named(['PLAIN']), options: demoServerOptions() },
      );
      expect(unknown.log[1]).to.equal('S: 504 5.5.4 Unrecognized authentication type');
      expect(isSaslError(unknown.client.error) && unknown.client.error.code).to.equal('MECHANISM_UNAVAILABLE');
      const storeDown = await converse(
        { mechanism: 'PLAIN', credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        {
          auth,
          options: {
            lookup: () => {
              throw new Error('database down');
            },
          },
        },
      );
      expect(storeDown.log[1]).to.equal('S: 454 4.7.0 Temporary authentication failure');
      const error = storeDown.client.error;
      expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
      expect(isSaslError(error) && (error as unknown as { serverError: string }).serverError).to.equal('454');
      expect((storeDown.server.error as Error).message).to.equal('database down');
    });

    it('rejects locally, writing nothing, when no offered mechanism fits', async () => {
      const written: string[] = [];
      await expectSaslRejection(
        smtpClientAuth({
          offered: ['GSSAPI', 'NTLM'],
          credentials: new ClientCredentials('a', 'b'),
          lines: new LineQueue(),
          write: (line) => {
            written.push(line);
          },
        }),
        'MECHANISM_UNAVAILABLE',
      );
      await expectSaslRejection(
        smtpClientAuth({
          mechanism: 'NOPE',
          credentials: new ClientCredentials('a', 'b'),
          lines: new LineQueue(),
          write: (line) => {
            written.push(line);
          },
        }),
        'MECHANISM_UNAVAILABLE',
      );
      expect(written).to.deep.equal([]);
    });
  });

  describe('server: malformed and hostile input', () => {
    serverInputCases<Partial<SmtpServerAuthOptions>>(serve, wire, [
      { name: 'AUTH without a mechanism', command: 'AUTH', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      { name: 'another command', command: 'MAIL FROM:<a@b>', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      {
        name: 'too many arguments',
        command: 'AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M= extra',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      { name: 'invalid mechanism name', command: 'AUTH PL@IN', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      {
        name: 'mechanism name over 20 characters',
        command: `AUTH ${'A'.repeat(21)}`,
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      { name: 'non-ASCII command', command: 'AUTH PLAIN \u00e9', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      {
        name: 'base64 initial response with a stray character',
        command: 'AUTH PLAIN AGFsaWNl!',
        reply: CANNOT_DECODE,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'unpadded base64 initial response',
        command: 'AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M',
        reply: CANNOT_DECODE,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'base64 response with a space',
        command: 'AUTH PLAIN',
        lines: ['AGFs aWNl'],
        reply: CANNOT_DECODE,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'non-ASCII response',
        command: 'AUTH PLAIN',
        lines: ['\u00e9\u00e9\u00e9\u00e9'],
        reply: CANNOT_DECODE,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'malformed SASL message',
        command: 'AUTH PLAIN YWxpY2U=',
        reply: CANNOT_DECODE,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'command line over 12288 octets',
        command: `AUTH PLAIN ${'A'.repeat(12288)}`,
        reply: TOO_LONG,
        code: 'LIMIT_EXCEEDED',
      },
      {
        name: 'line over a configured limit',
        command: 'AUTH PLAIN',
        lines: ['A'.repeat(104)],
        reply: TOO_LONG,
        code: 'LIMIT_EXCEEDED',
        args: { limits: { maxLineLength: 100 } },
      },
      {
        name: 'foreign authzid',
        command: `AUTH PLAIN ${Buffer.from('bob\0alice\0alice-pass').toString('base64')}`,
        reply: '535 5.7.8 Not authorized to use the requested identity',
        code: 'AUTHORIZATION_FAILED',
      },
    ]);

    it('works with an async store', async () => {
      const { written, value } = await serve('AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M=', [], {
        options: { lookup: asyncStoreOf(ALICE) },
      });
      expect(written).to.deep.equal(['235 2.7.0 Authentication successful']);
      expect(value).to.include({ authcid: 'alice' });
    });

    it('rejects with ABORTED when the line source fails', async () => {
      const queue = new LineQueue();
      const run = settle(
        smtpServerAuth({
          command: 'AUTH LOGIN',
          auth: SASLAuth.all(),
          options: { lookup: storeOf(ALICE) },
          lines: queue,
          write: () => undefined,
        }),
      );
      queue.fail(new Error('ECONNRESET'));
      const { error } = await run;
      expect(isSaslError(error) && error.code).to.equal('ABORTED');
    });

    it('uses custom reply texts', async () => {
      const { written } = await serve('AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M=', [], {
        replies: { success: '2.7.0 Welcome, alice' },
      });
      expect(written).to.deep.equal(['235 2.7.0 Welcome, alice']);
    });

    it('refuses a non-empty answer to the server-final data and a cancel there', async () => {
      const scram = new ClientCredentials(DEMO_USER, DEMO_PASSWORD);
      for (const [answer, code] of [
        ['eA==', 'UNEXPECTED_MESSAGE'],
        ['*', 'ABORTED'],
      ] as const) {
        const toServer = new LineQueue();
        const toClient = new LineQueue();
        const written: string[] = [];
        // The real client answers challenges; the final answer is replaced to play a broken client.
        const clientRun = settle(
          smtpClientAuth({
            mechanism: 'SCRAM-SHA-1',
            credentials: scram,
            lines: toClient,
            write: (line) => {
              toServer.push(line);
            },
          }),
        );
        const first = await toServer.next();
        const server = settle(
          smtpServerAuth({
            command: first.value as string,
            auth: SASLAuth.all(),
            options: demoServerOptions(),
            lines: {
              next: async () => {
                const next = await toServer.next();
                return written.length === 2 && next.done !== true ? { done: false, value: answer } : next;
              },
            },
            write: (line) => {
              written.push(line);
              toClient.push(line);
            },
          }),
        );
        const { error } = await server;
        expect(isSaslError(error) && error.code).to.equal(code);
        expect(written[written.length - 1]).to.match(/^501 /);
        toClient.end();
        await clientRun;
      }
    });
  });

  describe('client: misbehaving servers', () => {
    const againstLines = (serverLines: string[], args: Partial<SmtpClientAuthOptions> = {}) =>
      against(serverLines, { mechanism: 'LOGIN', credentials: new ClientCredentials('alice', 'alice-pass'), ...args });

    it('cancels with * when a challenge is not base64, then rejects with MALFORMED_MESSAGE', async () => {
      const { written, error } = await againstLines(['334 not base64!', '501 5.7.0 cancelled']);
      expect(written).to.deep.equal(['AUTH LOGIN', '*']);
      expect(isSaslError(error) && error.code).to.equal('MALFORMED_MESSAGE');
      expect(isSaslError(error) && error.party).to.equal('server');
    });

    it('cancels when the mechanism refuses a challenge (an empty CRAM-MD5 challenge)', async () => {
      const { written, error } = await againstLines(['334 ', '501 5.7.0 cancelled'], { mechanism: 'CRAM-MD5' });
      expect(written).to.deep.equal(['AUTH CRAM-MD5', '*']);
      expect(isSaslError(error) && error.code).to.equal('MALFORMED_MESSAGE');
    });

    it('rejects a line that is not a reply, an unexpected reply code, and success too early', async () => {
      expect(((await againstLines(['hello'])).error as { code: string }).code).to.equal('MALFORMED_MESSAGE');
      expect(((await againstLines(['250 OK'])).error as { code: string }).code).to.equal('MALFORMED_MESSAGE');
      expect(((await againstLines(['235 2.7.0 ok'])).error as { code: string }).code).to.equal('UNEXPECTED_MESSAGE');
    });

    it('rejects with ABORTED when the server goes away', async () => {
      const { error, written } = await againstLines(['334 VXNlcm5hbWU6']);
      expect(written).to.deep.equal(['AUTH LOGIN', 'YWxpY2U=']);
      expect(isSaslError(error) && error.code).to.equal('ABORTED');
      expect(isSaslError(error) && error.party).to.equal('server');
    });

    it('enforces its line limit on server lines', async () => {
      const { error } = await againstLines([`334 ${'A'.repeat(20000)}`]);
      expect(isSaslError(error) && error.code).to.equal('LIMIT_EXCEEDED');
    });

    it('keeps control characters out of the error message', async () => {
      const { error } = await againstLines(['535 5.7.8 bad\u0007\u001b[31mred'], { mechanism: 'PLAIN' });
      expect((error as Error).message).to.include('535 5.7.8 bad??[31mred');
    });
  });

  describe('over 127.0.0.1 sockets', function () {
    this.timeout(20000);

    it('the demo server accepts nodemailer with PLAIN, LOGIN and CRAM-MD5, and refuses a wrong password', async () => {
      const events: string[] = [];
      const server = await startSmtpServer({ port: 0, log: (text) => events.push(text) });
      try {
        for (const authMethod of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
          const transport = nodemailer.createTransport({
            host: '127.0.0.1',
            port: server.port,
            secure: false,
            ignoreTLS: true,
            auth: { user: DEMO_USER, pass: DEMO_PASSWORD },
            authMethod,
            connectionTimeout: 5000,
            greetingTimeout: 5000,
            socketTimeout: 5000,
          });
          expect(await transport.verify()).to.equal(true);
          transport.close();
          const wrong = nodemailer.createTransport({
            host: '127.0.0.1',
            port: server.port,
            secure: false,
            ignoreTLS: true,
            auth: { user: DEMO_USER, pass: 'wrong-pass' },
            authMethod,
            connectionTimeout: 5000,
            greetingTimeout: 5000,
            socketTimeout: 5000,
          });
          const refused = await settle(wrong.verify());
          wrong.close();
          expect((refused.error as { code?: string }).code).to.equal('EAUTH');
          expect((refused.error as { response?: string }).response).to.match(/^535 5\.7\.8/);
        }
        expect(events).to.deep.equal([
          'AUTH PLAIN: authenticated alice',
          'AUTH refused: AUTHENTICATION_FAILED',
          'AUTH LOGIN: authenticated alice',
          'AUTH refused: AUTHENTICATION_FAILED',
          'AUTH CRAM-MD5: authenticated alice',
          'AUTH refused: AUTHENTICATION_FAILED',
        ]);
      } finally {
        await server.close();
      }
    });

    it('the demo client logs in to the smtp-server package with PLAIN, LOGIN, CRAM-MD5 and XOAUTH2, and is refused with a wrong secret', async () => {
      const users: Record<string, string> = { alice: 'alice-pass' };
      const peer = new SMTPServer({
        secure: false,
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
        logger: false,
        onAuth(request, _session, callback) {
          let ok: boolean;
          if (request.method === 'XOAUTH2') ok = request.accessToken === DEMO_TOKEN && request.username === 'alice';
          else if (request.method === 'CRAM-MD5')
            ok =
              users[request.username ?? ''] !== undefined &&
              request.validatePassword(users[request.username ?? ''] ?? '');
          else ok = users[request.username ?? ''] === request.password;
          if (ok) {
            callback(null, { user: request.username });
            return;
          }
          if (request.method === 'XOAUTH2') {
            callback(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
            return;
          }
          callback(new Error('Invalid username or password'));
        },
      });
      peer.listen(0, '127.0.0.1');
      await once(peer.server, 'listening');
      const address = peer.server.address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      try {
        for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2']) {
          const secret = mechanism === 'XOAUTH2' ? DEMO_TOKEN : 'alice-pass';
          const result = await smtpLogin({
            port: address.port,
            mechanism,
            credentials: new ClientCredentials('alice', secret),
          });
          expect(result.mechanism).to.equal(mechanism);
          expect(result.offered).to.include.members(['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2']);
          const refused = await settle(
            smtpLogin({ port: address.port, mechanism, credentials: new ClientCredentials('alice', 'wrong-secret') }),
          );
          const error = refused.error;
          expect(isSaslError(error) && error.code, String(error)).to.equal('AUTHENTICATION_FAILED');
          expect((error as Error).message).to.match(/535/);
          expectNoSecrets(error, ['wrong-secret', 'alice-pass']);
        }
      } finally {
        await new Promise<void>((resolve) => {
          peer.close(() => {
            resolve();
          });
        });
      }
    });

    it('the demo client logs in to the demo server with every mechanism it offers', async () => {
      const server = await startSmtpServer({ port: 0 });
      try {
        for (const mechanism of server.mechanisms) {
          const result = await smtpLogin({
            port: server.port,
            mechanism,
            credentials: demoCredentials(mechanism),
            client: { host: 'localhost', service: 'smtp', port: server.port },
          });
          expect(result.mechanism).to.equal(mechanism);
        }
      } finally {
        await server.close();
      }
    });

    it('the demo server replies 500 5.5.6 to a 64 KiB response line, buffering only what the limit needs', async () => {
      const server = await startSmtpServer({ port: 0 });
      const { connect } = await import('node:net');
      try {
        const socket = connect({ host: '127.0.0.1', port: server.port });
        const received: string[] = [];
        socket.on('data', (chunk: Buffer) => received.push(chunk.toString()));
        await once(socket, 'connect');
        // AUTH waits for EHLO (503 5.5.1 before it), as in Postfix.
        socket.write('EHLO client.invalid\r\nAUTH PLAIN\r\n');
        // 64 KiB without a line break, then one: the reader keeps only the first 12289 octets.
        socket.write(`${'A'.repeat(65536)}\r\nQUIT\r\n`);
        await once(socket, 'close');
        const text = received.join('');
        expect(text).to.include('334 \r\n500 5.5.6 Authentication Exchange line is too long\r\n221 2.0.0 Bye');
      } finally {
        await server.close();
      }
    });

    it('closing the demo server frees its port', async () => {
      const server = await startSmtpServer({ port: 0 });
      const port = server.port;
      await server.close();
      const probe = createServer();
      probe.listen(port, '127.0.0.1');
      await once(probe, 'listening');
      await new Promise<void>((resolve) => {
        probe.close(() => {
          resolve();
        });
      });
    });
  });
});
