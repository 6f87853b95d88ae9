import { expect } from 'chai';
import { once } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { ImapFlow } from 'imapflow';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  DIGEST_MD5,
  type ImapClientAuthOptions,
  type ImapServerAuthOptions,
  LineReader,
  type Mechanism,
  SASLAuth,
  advertisedMechanisms,
  cramMd5Server,
  imapCapabilityAtoms,
  imapClientAuth,
  imapServerAuth,
  isSaslError,
  lineWriter,
  parseImapCapabilities,
} from '../../lib/index.js';
import { digestMd5Client, digestMd5Server } from '../../lib/mechanisms/digest-md5.js';
import { DEMO_PASSWORD, DEMO_USER, demoCredentials, demoServerOptions } from '../support/demo-mail.js';
import { runExample } from '../support/run-example.js';
import { lineConversations } from '../support/conversation.js';
import { type LineWire, type ScriptFraming, ownPairCases, scriptOf, serverInputCases } from '../support/line-cases.js';
import { ALICE, storeOf } from '../support/helpers.js';
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

/** The capability line the client saw before the exchange. */
function capabilityLine(lines: readonly string[]): string {
  return body(lines.find((line) => line.startsWith('S: * CAPABILITY ')) ?? 'S: * CAPABILITY IMAP4rev1');
}

const { converse, serve, against } = lineConversations({
  client: imapClientAuth,
  server: imapServerAuth,
  serveDefaults: { auth: SASLAuth.all(), options: { lookup: storeOf(ALICE) } },
});

const SYNTAX = 'BAD Syntax: tag AUTHENTICATE mechanism [initial-response]';

/** How an IMAP exchange reads as a scripted mechanism's messages: after the tag, `+` perhaps alone. */
const IMAP_SCRIPT: ScriptFraming = {
  verb: 'AUTHENTICATE',
  before: 1,
  challenge: '+',
  success: (reply) => / OK /.test(reply),
};

/** IMAP's framing of the cases all line profiles share (tag a1). */
const wire: LineWire = {
  command: (mechanism, initial) =>
    initial === undefined ? `a1 AUTHENTICATE ${mechanism}` : `a1 AUTHENTICATE ${mechanism} ${initial}`,
  response: (data) => data,
  challenge: (data) => `+ ${data}`,
  replies: {
    emptyCommand: `* ${SYNTAX}`,
    unknownMechanism: 'a1 NO Unsupported authentication mechanism',
    badBase64: 'a1 BAD Invalid SASL response',
    initialNotAllowed: 'a1 BAD Initial response not allowed with this mechanism',
    cancelled: 'a1 BAD AUTHENTICATE cancelled',
    tooLong: 'a1 BAD Line too long',
    failed: 'a1 NO [AUTHENTICATIONFAILED] Authentication failed',
    unavailable: 'a1 NO [UNAVAILABLE] Temporary authentication failure',
  },
};

/** A minimal IMAP server for real clients: CAPABILITY, AUTHENTICATE, LIST "" "", NOOP, LOGOUT. */
async function startImapServer(): Promise<{ port: number; events: string[]; close: () => Promise<void> }> {
  const auth = new SASLAuth(SASLAuth.all().serverMechanisms);
  const options = demoServerOptions();
  const capabilities = ['IMAP4rev1', ...imapCapabilityAtoms(advertisedMechanisms(auth))];
  const events: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = new LineReader(socket);
    const write = lineWriter(socket);
    const session = async (): Promise<void> => {
      await write(`* OK [CAPABILITY ${capabilities.join(' ')}] saslkit test server ready`);
      let authenticated = false;
      for (;;) {
        const next = await lines.next();
        if (next.done === true) return;
        const line = next.value;
        const [tag = '*', verb = ''] = line.split(' ');
        switch (verb.toUpperCase()) {
          case 'CAPABILITY':
            await write(`* CAPABILITY ${capabilities.join(' ')}`);
            await write(`${tag} OK CAPABILITY completed`);
            break;
          case 'AUTHENTICATE':
            if (authenticated) {
              await write(`${tag} BAD Already authenticated`);
              break;
            }
            try {
              const result = await imapServerAuth({
                command: line,
                auth,
                options,
                lines,
                write,
                capabilities: ['IMAP4rev1'],
              });
              authenticated = true;
              events.push(`${result.mechanism} ${result.authcid}`);
            } catch (error) {
              events.push(`refused ${isSaslError(error) ? error.code : 'store'}`);
            }
            break;
          case 'LIST':
            await write('* LIST (\\Noselect) "/" ""');
            await write(`${tag} OK LIST completed`);
            break;
          case 'NOOP':
            await write(`${tag} OK NOOP completed`);
            break;
          case 'LOGOUT':
            await write('* BYE logging out');
            await write(`${tag} OK LOGOUT completed`);
            socket.end();
            return;
          default:
            await write(`${tag} BAD Unknown command`);
        }
      }
    };
    session()
      .catch(() => socket.destroy())
      .finally(() => {
        lines.close();
      });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('IMAP AUTHENTICATE profile', function () {
  this.timeout(10000);

  describe('capabilities', () => {
    it('parses CAPABILITY lines, response codes and atoms', () => {
      const rev2 = parseImapCapabilities('* CAPABILITY IMAP4rev2 AUTH=GSSAPI AUTH=PLAIN');
      expect(rev2.mechanisms).to.deep.equal(['GSSAPI', 'PLAIN']);
      expect(rev2.initialResponse).to.equal(true);
      const greeting = parseImapCapabilities(
        '* OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED] Server ready',
      );
      expect(greeting.loginDisabled).to.equal(true);
      expect(greeting.atoms).to.deep.equal(['IMAP4rev2', 'STARTTLS', 'AUTH=GSSAPI', 'LOGINDISABLED']);
      const rev1 = parseImapCapabilities(['IMAP4rev1', 'auth=plain', 'AUTH=CRAM-MD5']);
      expect(rev1.mechanisms).to.deep.equal(['PLAIN', 'CRAM-MD5']);
      expect(rev1.initialResponse).to.equal(false);
      expect(
        parseImapCapabilities('a1 OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Logged in').initialResponse,
      ).to.equal(true);
    });

    it('builds the capability atoms of the RFC 4959 example', () => {
      const line = capabilityLine(transcriptOf('imap-rfc4959-external-no-ir'));
      expect(`* CAPABILITY ${['IMAP4rev1', ...imapCapabilityAtoms(['PLAIN', 'EXTERNAL'])].join(' ')}`).to.equal(line);
      expect(imapCapabilityAtoms(['PLAIN'], { saslIr: false })).to.deep.equal(['AUTH=PLAIN']);
    });
  });

  describe('RFC transcripts replayed byte for byte', () => {
    const test = new ClearIdentity('test', 'test');
    const tim = new ClearIdentity('tim', 'tanstaaftanstaaf');
    const chris = new ClearIdentity('chris', 'secret');
    const token = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';
    const fixedCram = (id: string): Mechanism => {
      const challengeBytes = unb64(body(transcriptOf(id).find((line) => line.startsWith('S: + ')) ?? '').slice(2));
      return { ...CRAM_MD5, server: (options, initial) => cramMd5Server(options, challengeBytes, initial) };
    };
    const fixedDigest: Mechanism = {
      ...DIGEST_MD5,
      server: (options, initial) => digestMd5Server(options, initial, () => 'OA6MG9tEQGm2hh'),
      client: (credentials, options) => digestMd5Client(credentials, options, () => 'OA6MHXh6VqTrRk'),
    };
    const tokenError = {
      error: {
        status: 'invalid_token',
        scope: 'example_scope',
        openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      },
    };
    const cases: {
      id: string;
      note: string;
      server: () => Omit<ImapServerAuthOptions, 'command' | 'lines' | 'write'>;
      client: (capabilities: string) => Omit<ImapClientAuthOptions, 'lines' | 'write' | 'tag'>;
      outcome?: string;
    }[] = [
      {
        id: 'imap-rfc9051-plain-ir',
        note: 'PLAIN with an initial response (IMAP4rev2)',
        server: () => ({
          auth: SASLAuth.named(['PLAIN']),
          options: { lookup: storeOf(test) },
          replies: { success: 'Success (tls protection)' },
        }),
        client: (capabilities) => ({ capabilities, credentials: new ClientCredentials('test', 'test', 'test') }),
      },
      {
        id: 'imap-rfc4959-plain-no-ir',
        note: 'PLAIN after an empty continuation',
        server: () => ({
          auth: SASLAuth.named(['PLAIN']),
          options: { lookup: storeOf(test) },
          replies: { success: 'Success (tls protection)' },
        }),
        client: (capabilities) => ({
          capabilities,
          credentials: new ClientCredentials('test', 'test', 'test'),
          initialResponse: false,
        }),
      },
      {
        id: 'imap-rfc4959-external-empty-ir',
        note: 'EXTERNAL with an empty initial response (=)',
        server: () => ({
          auth: SASLAuth.named(['EXTERNAL']),
          options: { externalIdentity: 'test' },
          replies: { success: 'Success (tls protection)' },
        }),
        client: (capabilities) => ({ capabilities, mechanism: 'EXTERNAL', credentials: new ClientCredentials('', '') }),
      },
      {
        id: 'imap-rfc4959-external-no-ir',
        note: 'EXTERNAL answering the empty continuation with an empty line',
        server: () => ({
          auth: SASLAuth.named(['EXTERNAL']),
          options: { externalIdentity: 'test' },
          replies: { success: 'Success (tls protection)' },
        }),
        client: (capabilities) => ({
          capabilities,
          mechanism: 'EXTERNAL',
          credentials: new ClientCredentials('', ''),
          initialResponse: false,
        }),
      },
      {
        id: 'imap-rfc2195-cram-md5',
        note: 'CRAM-MD5 with the RFC challenge',
        server: () => ({
          auth: new SASLAuth([fixedCram('imap-rfc2195-cram-md5')]),
          options: { lookup: storeOf(tim) },
          replies: { success: 'CRAM authentication successful' },
        }),
        client: (capabilities) => ({
          capabilities,
          mechanism: 'CRAM-MD5',
          credentials: new ClientCredentials('tim', 'tanstaaftanstaaf'),
        }),
      },
      {
        id: 'imap-rfc2831-digest-md5',
        note: 'DIGEST-MD5 with the RFC nonce and cnonce',
        server: () => ({
          auth: new SASLAuth([fixedDigest]),
          options: { lookup: storeOf(chris), hostname: 'elwood.innosoft.com' },
          replies: { success: 'User logged in' },
        }),
        client: (capabilities) => ({
          capabilities,
          mechanism: fixedDigest,
          credentials: new ClientCredentials('chris', 'secret'),
          client: { host: 'elwood.innosoft.com', service: 'imap' },
        }),
      },
      {
        id: 'imap-rfc7628-oauthbearer-success',
        note: 'OAUTHBEARER with host and port',
        server: () => ({
          auth: SASLAuth.named(['OAUTHBEARER']),
          options: {
            validateToken: (request) => (request.token === token ? { authcid: 'user@example.com' } : tokenError),
          },
          replies: { success: 'SASL authentication succeeded' },
        }),
        client: (capabilities) => ({
          capabilities,
          credentials: new ClientCredentials('user@example.com', token, '', { kind: 'token' }),
          client: { host: 'server.example.com', port: 143 },
        }),
      },
      {
        id: 'imap-rfc7628-oauthbearer-failure',
        note: 'OAUTHBEARER error challenge answered with 0x01',
        server: () => ({
          auth: SASLAuth.named(['OAUTHBEARER']),
          options: { validateToken: () => tokenError },
          replies: { failed: 'SASL authentication failed' },
        }),
        client: (capabilities) => ({
          capabilities,
          credentials: new ClientCredentials('user@example.com', '', '', { kind: 'token' }),
          client: { host: 'server.example.com', port: 143 },
        }),
        outcome: 'AUTHENTICATION_FAILED',
      },
    ];
    for (const c of cases) {
      const lines = transcriptOf(c.id);
      const exchange = fromLine(lines, (line) => / AUTHENTICATE /.test(line));
      const tag = body(exchange[0] ?? '').split(' ')[0] ?? '';
      it(`${c.id} (${c.note}): server, real mechanism`, async () => {
        const { log, error } = await replayServer(exchange, (command, source, write) =>
          imapServerAuth({ ...c.server(), command, lines: source, write }),
        );
        expect(log).to.deep.equal(exchange);
        expect(error === undefined ? undefined : isSaslError(error) && error.code, String(error)).to.equal(c.outcome);
      });
      it(`${c.id} (${c.note}): client, real mechanism`, async () => {
        const { log, error } = await replayClient(exchange, (source, write) =>
          imapClientAuth({ ...c.client(capabilityLine(lines)), tag, lines: source, write }),
        );
        expect(log).to.deep.equal(exchange);
        expect(error === undefined ? undefined : isSaslError(error) && error.code, String(error)).to.equal(c.outcome);
      });
    }

    for (const id of [
      'imap-rfc9051-plain-ir',
      'imap-rfc4959-plain-no-ir',
      'imap-rfc4959-external-empty-ir',
      'imap-rfc4959-external-no-ir',
      'imap-rfc2195-cram-md5',
      'imap-rfc2831-digest-md5',
      'imap-rfc7628-oauthbearer-success',
      'imap-rfc7628-oauthbearer-failure',
    ]) {
      const lines = transcriptOf(id);
      const exchange = fromLine(lines, (line) => / AUTHENTICATE /.test(line));
      const script = scriptOf(exchange, IMAP_SCRIPT);
      const final = body(exchange[exchange.length - 1] ?? '');
      const [tag = '', status = '', ...text] = final.split(' ');
      const replies = status === 'OK' ? { success: text.join(' ') } : { failed: text.join(' ') };
      it(`${id}: server framing (scripted mechanism)`, async () => {
        const { log } = await replayServer(exchange, (command, source, write) =>
          imapServerAuth({ auth: new SASLAuth([scriptedMechanism(script)]), command, lines: source, write, replies }),
        );
        expect(log).to.deep.equal(exchange);
      });
      it(`${id}: client framing (scripted mechanism)`, async () => {
        const { log, error } = await replayClient(exchange, (source, write) =>
          imapClientAuth({
            tag,
            capabilities: capabilityLine(lines),
            mechanism: scriptedMechanism(script),
            credentials: new ClientCredentials('x', 'y'),
            lines: source,
            write,
          }),
        );
        expect(log).to.deep.equal(exchange);
        expect(error === undefined).to.equal(script.outcome === 'success');
      });
    }
  });

  describe('own client against own server', () => {
    const auth = SASLAuth.all();
    const capabilities = ['IMAP4rev1', ...imapCapabilityAtoms(advertisedMechanisms(auth))];
    for (const saslIr of [true, false]) {
      const caps = saslIr ? capabilities : capabilities.filter((atom) => atom !== 'SASL-IR');
      ownPairCases(converse, auth, {
        client: (mechanism, credentials, client) => ({ tag: 'a1', capabilities: caps, mechanism, credentials, client }),
        server: (auth, options) => ({ auth, options, capabilities: ['IMAP4rev1', 'IDLE'] }),
        service: 'imap',
        success: 'S: a1 OK [CAPABILITY IMAP4rev1 IDLE] AUTHENTICATE completed',
        failed: 'S: a1 NO [AUTHENTICATIONFAILED] Authentication failed',
        failedText: 'NO [AUTHENTICATIONFAILED] Authentication failed',
        ...(saslIr ? {} : { label: ' without SASL-IR' }),
        check: ({ client, log }, name) => {
          expect(client.value?.capabilities?.atoms).to.deep.equal(['IMAP4rev1', 'IDLE']);
          if (!saslIr) expect(log[0]).to.equal(`C: a1 AUTHENTICATE ${name}`);
        },
      });
    }

    it('maps [AUTHORIZATIONFAILED] to AUTHORIZATION_FAILED', async () => {
      const { client } = await converse(
        {
          tag: 'x',
          capabilities,
          mechanism: 'PLAIN',
          credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD, 'bob'),
        },
        { auth, options: demoServerOptions() },
      );
      expect(isSaslError(client.error) && client.error.code).to.equal('AUTHORIZATION_FAILED');
    });
  });

  describe('server: malformed and hostile input', () => {
    serverInputCases(serve, wire, [
      { name: 'missing tag', command: 'AUTHENTICATE', reply: `* ${SYNTAX}`, code: 'MALFORMED_MESSAGE' },
      {
        name: 'tag with a forbidden character',
        command: 'a+1 AUTHENTICATE PLAIN',
        reply: `* ${SYNTAX}`,
        code: 'MALFORMED_MESSAGE',
      },
      { name: 'another command', command: 'a1 LOGIN alice pass', reply: `a1 ${SYNTAX}`, code: 'MALFORMED_MESSAGE' },
      { name: 'no mechanism', command: 'a1 AUTHENTICATE', reply: `a1 ${SYNTAX}`, code: 'MALFORMED_MESSAGE' },
      { name: 'non-ASCII', command: 'a1 AUTHENTICATE PL\u00c4IN', reply: `a1 ${SYNTAX}`, code: 'MALFORMED_MESSAGE' },
      {
        name: 'padding alone as the initial response',
        command: 'a1 AUTHENTICATE PLAIN ===',
        reply: 'a1 BAD Invalid SASL response',
        code: 'MALFORMED_MESSAGE',
      },
    ]);
  });

  describe('client: server behaviour', () => {
    const againstLines = (serverLines: string[], args: Partial<ImapClientAuthOptions> = {}) =>
      against(serverLines, {
        tag: 'a1',
        capabilities: 'IMAP4rev1 AUTH=PLAIN',
        mechanism: 'PLAIN',
        credentials: new ClientCredentials('alice', 'alice-pass'),
        ...args,
      });

    it('sends no initial response without SASL-IR, and skips untagged lines, keeping capabilities', async () => {
      const { written, value } = await againstLines([
        '* OK still here',
        '+',
        '* CAPABILITY IMAP4rev1 IDLE',
        'a1 OK done',
      ]);
      expect(written).to.deep.equal(['a1 AUTHENTICATE PLAIN', 'AGFsaWNlAGFsaWNlLXBhc3M=']);
      expect(value?.capabilities?.atoms).to.deep.equal(['IMAP4rev1', 'IDLE']);
      expect(value?.text).to.equal('done');
    });

    it('accepts NO or BAD after its own cancellation (RFC 7628 shows NO, RFC 9051 asks for BAD)', async () => {
      for (const reply of ['a1 NO cancelled', 'a1 BAD cancelled']) {
        const cancelled = await againstLines(['+ ###', reply], {
          mechanism: 'CRAM-MD5',
          capabilities: 'AUTH=CRAM-MD5',
        });
        expect(cancelled.written).to.deep.equal(['a1 AUTHENTICATE CRAM-MD5', '*']);
        expect(cancelled.left).to.equal(0);
        expect(isSaslError(cancelled.error) && cancelled.error.code).to.equal('MALFORMED_MESSAGE');
      }
    });

    it('treats BYE as ABORTED and a foreign tag as UNEXPECTED_MESSAGE', async () => {
      const bye = await againstLines(['* BYE shutting down']);
      expect(isSaslError(bye.error) && bye.error.code).to.equal('ABORTED');
      const foreign = await againstLines(['zz OK what']);
      expect(isSaslError(foreign.error) && foreign.error.code).to.equal('UNEXPECTED_MESSAGE');
      const garbage = await againstLines(['a1 MAYBE']);
      expect(isSaslError(garbage.error) && garbage.error.code).to.equal('MALFORMED_MESSAGE');
    });

    it('refuses an invalid tag before writing anything', async () => {
      const { written, error } = await againstLines([], { tag: 'a b' });
      expect(written).to.deep.equal([]);
      expect(isSaslError(error) && error.code).to.equal('MALFORMED_MESSAGE');
    });
  });

  describe('over 127.0.0.1 sockets', function () {
    this.timeout(20000);

    it('accepts imapflow with PLAIN and LOGIN and refuses a wrong password', async () => {
      const server = await startImapServer();
      try {
        for (const loginMethod of ['AUTH=PLAIN', 'AUTH=LOGIN']) {
          const client = new ImapFlow({
            host: '127.0.0.1',
            port: server.port,
            secure: false,
            doSTARTTLS: false,
            logger: false,
            verifyOnly: true,
            auth: { user: DEMO_USER, pass: DEMO_PASSWORD, loginMethod },
            connectionTimeout: 5000,
            greetingTimeout: 5000,
            socketTimeout: 5000,
          });
          await client.connect();
          expect(client.authenticated).to.equal(true);
          const wrong = new ImapFlow({
            host: '127.0.0.1',
            port: server.port,
            secure: false,
            doSTARTTLS: false,
            logger: false,
            verifyOnly: true,
            auth: { user: DEMO_USER, pass: 'wrong-pass', loginMethod },
            connectionTimeout: 5000,
            greetingTimeout: 5000,
            socketTimeout: 5000,
          });
          const refused = await settle(wrong.connect());
          expect((refused.error as { authenticationFailed?: boolean }).authenticationFailed).to.equal(true);
          wrong.close();
        }
        expect(server.events).to.deep.equal([
          'PLAIN alice',
          'refused AUTHENTICATION_FAILED',
          'LOGIN alice',
          'refused AUTHENTICATION_FAILED',
        ]);
      } finally {
        await server.close();
      }
    });

    it('examples/imap-client.ts logs in to the test server with the strongest mechanism, and exits 1 when refused', async function () {
      this.timeout(90000);
      const server = await startImapServer();
      try {
        const port = String(server.port);
        const strongest = await runExample('imap-client.ts', ['127.0.0.1', port, DEMO_USER], {
          SASLKIT_PASSWORD: DEMO_PASSWORD,
        });
        expect(strongest.code, strongest.stderr).to.equal(0);
        expect(strongest.stdout).to.match(/^capabilities: IMAP4rev1 .*\bAUTH=PLAIN\b/m);
        expect(strongest.stdout).to.match(
          /^logged in as alice with SCRAM-SHA-512 in \d+ round trip\(s\), server verified: /m,
        );
        expect(strongest.stdout).to.match(/^capabilities after login: IMAP4rev1$/m);
        const refused = await runExample('imap-client.ts', ['127.0.0.1', port, DEMO_USER, 'CRAM-MD5'], {
          SASLKIT_PASSWORD: 'wrong-secret',
        });
        expect(refused.code).to.equal(1);
        expect(refused.stderr).to.match(/^login failed: AUTHENTICATION_FAILED: /m);
        expect(refused.stderr + refused.stdout).to.not.include('wrong-secret');
        expect(server.events).to.deep.equal(['SCRAM-SHA-512 alice', 'refused AUTHENTICATION_FAILED']);
      } finally {
        await server.close();
      }
    });

    it('own client logs in to own server over a socket with every offered mechanism', async () => {
      const server = await startImapServer();
      try {
        for (const name of advertisedMechanisms(SASLAuth.all())) {
          const socket = connect({ host: '127.0.0.1', port: server.port, noDelay: true });
          const lines = new LineReader(socket);
          const write = lineWriter(socket);
          try {
            await once(socket, 'connect');
            const greeting = await lines.next();
            const result = await imapClientAuth({
              tag: 'a1',
              capabilities: greeting.value as string,
              mechanism: name,
              credentials: demoCredentials(name),
              client: { host: 'localhost', service: 'imap' },
              lines,
              write,
            });
            expect(result.mechanism).to.equal(name);
            await write('a2 LOGOUT');
            expect((await lines.next()).value).to.equal('* BYE logging out');
          } finally {
            lines.close();
            socket.destroy();
          }
        }
      } finally {
        await server.close();
      }
    });
  });
});
