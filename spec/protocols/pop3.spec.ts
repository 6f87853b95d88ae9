import { expect } from 'chai';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  DIGEST_MD5,
  type Mechanism,
  type Pop3ClientAuthOptions,
  type Pop3ServerAuthOptions,
  SASLAuth,
  advertisedMechanisms,
  cramMd5Server,
  isSaslError,
  parsePop3Capa,
  pop3ClientAuth,
  pop3SaslCapability,
  pop3ServerAuth,
} from '../../lib/index.js';
import { digestMd5Client, digestMd5Server } from '../../lib/mechanisms/digest-md5.js';
import { DEMO_PASSWORD, DEMO_USER, demoCredentials, demoServerOptions } from '../support/demo-mail.js';
import { lineConversations } from '../support/conversation.js';
import { type LineWire, type ScriptFraming, ownPairCases, scriptOf, serverInputCases } from '../support/line-cases.js';
import { ALICE, storeOf } from '../support/helpers.js';
import {
  body,
  fromLine,
  recordingSource,
  recordingWriter,
  replayClient,
  replayServer,
  scriptedMechanism,
  settle,
  startLineServer,
  transcriptOf,
  unb64,
  withLineClient,
} from './transcript.js';

/** Splits a transcript into its AUTH exchanges. */
function exchangesOf(id: string): string[][] {
  const lines = fromLine(transcriptOf(id), (line) => line.startsWith('C: AUTH'));
  const exchanges: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('C: AUTH')) exchanges.push([]);
    exchanges[exchanges.length - 1]?.push(line);
  }
  return exchanges;
}

const { converse, serve, against } = lineConversations({
  client: pop3ClientAuth,
  server: pop3ServerAuth,
  serveDefaults: { auth: SASLAuth.all(), options: { lookup: storeOf(ALICE) } },
});

const SYNTAX = '-ERR Syntax: AUTH mechanism [initial-response]';

/** How a POP3 exchange reads as a scripted mechanism's messages. */
const POP3_SCRIPT: ScriptFraming = { verb: 'AUTH', challenge: '+ ', success: (reply) => reply.startsWith('+OK') };

/** POP3's framing of the cases all line profiles share. */
const wire: LineWire = {
  command: (mechanism, initial) => (initial === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial}`),
  response: (data) => data,
  challenge: (data) => `+ ${data}`,
  replies: {
    emptyCommand: SYNTAX,
    unknownMechanism: '-ERR Unsupported authentication mechanism',
    badBase64: '-ERR Invalid SASL response',
    initialNotAllowed: '-ERR Initial response not allowed with this mechanism',
    cancelled: '-ERR Authentication cancelled',
    tooLong: '-ERR Line too long',
    failed: '-ERR [AUTH] Authentication failed',
    unavailable: '-ERR [SYS/TEMP] Temporary authentication failure',
  },
};

describe('POP3 AUTH profile', function () {
  this.timeout(10000);

  describe('capabilities', () => {
    it('parses the CAPA reply of RFC 5034 and builds the same SASL line', () => {
      const lines = transcriptOf('pop3-rfc5034-plain-ir');
      const start = lines.lastIndexOf('C: CAPA') + 1;
      const capa = lines.slice(start, lines.indexOf('S: .', start) + 1).map(body);
      const parsed = parsePop3Capa(capa);
      expect(parsed.mechanisms).to.deep.equal(['PLAIN', 'DIGEST-MD5', 'GSSAPI', 'ANONYMOUS']);
      expect(parsed.capabilities.get('IMPLEMENTATION')).to.deep.equal(['BlurdyBlurp', 'POP3', 'server']);
      expect(pop3SaslCapability(parsed.mechanisms)).to.equal(capa[1]);
    });
  });

  describe('RFC transcripts replayed byte for byte', () => {
    const test = new ClearIdentity('test', 'test');
    const fixedDigest: Mechanism = {
      ...DIGEST_MD5,
      server: (options, initial) => digestMd5Server(options, initial, () => 'OA6MG9tEQGm2hh'),
      client: (credentials, options) => digestMd5Client(credentials, options, () => 'OA6MHXh6VqTrRk'),
    };
    const maildrop = { success: 'Maildrop locked and ready' };
    const cases: {
      id: string;
      note: string;
      server: () => Omit<Pop3ServerAuthOptions, 'command' | 'lines' | 'write'>;
      client: () => Omit<Pop3ClientAuthOptions, 'lines' | 'write'>;
    }[] = [
      {
        id: 'pop3-rfc5034-plain-ir',
        note: 'PLAIN with an initial response',
        server: () => ({ auth: SASLAuth.named(['PLAIN']), options: { lookup: storeOf(test) }, replies: maildrop }),
        client: () => ({ mechanism: 'PLAIN', credentials: new ClientCredentials('test', 'test', 'test') }),
      },
      {
        id: 'pop3-rfc5034-plain-no-ir',
        note: 'PLAIN after an empty continuation',
        server: () => ({ auth: SASLAuth.named(['PLAIN']), options: { lookup: storeOf(test) }, replies: maildrop }),
        client: () => ({
          mechanism: 'PLAIN',
          credentials: new ClientCredentials('test', 'test', 'test'),
          initialResponse: false,
        }),
      },
      {
        id: 'pop3-rfc5034-digest-md5',
        note: 'DIGEST-MD5 with the RFC nonce and cnonce',
        server: () => ({
          auth: new SASLAuth([fixedDigest]),
          options: { lookup: storeOf(new ClearIdentity('chris', 'secret')), hostname: 'elwood.innosoft.com' },
          replies: maildrop,
        }),
        client: () => ({
          mechanism: fixedDigest,
          credentials: new ClientCredentials('chris', 'secret'),
          client: { host: 'elwood.innosoft.com', service: 'pop' },
        }),
      },
    ];
    for (const c of cases) {
      const [exchange = []] = exchangesOf(c.id);
      it(`${c.id} (${c.note}): server, real mechanism`, async () => {
        const { log, error } = await replayServer(exchange, (command, lines, write) =>
          pop3ServerAuth({ ...c.server(), command, lines, write }),
        );
        expect(error).to.equal(undefined);
        expect(log).to.deep.equal(exchange);
      });
      it(`${c.id} (${c.note}): client, real mechanism`, async () => {
        const { log, error, value } = await replayClient(exchange, (lines, write) =>
          pop3ClientAuth({ ...c.client(), lines, write }),
        );
        expect(error).to.equal(undefined);
        expect(log).to.deep.equal(exchange);
        expect(value?.text).to.equal('Maildrop locked and ready');
      });
    }

    const derived = 'pop3-rfc4505-style-anonymous-derived';
    const [anonymous = [], cancelled = []] = exchangesOf(derived);
    const cramChallenge = unb64(body(cancelled[1] ?? '').slice(2));
    const fixedCram: Mechanism = {
      ...CRAM_MD5,
      server: (options, initial) => cramMd5Server(options, cramChallenge, initial),
    };

    it(`${derived}: server, real ANONYMOUS then real CRAM-MD5 cancelled, on one line source`, async () => {
      const all = [...anonymous, ...cancelled];
      const log = [all[0] ?? ''];
      const source = recordingSource(
        all
          .slice(1)
          .filter((line) => line.startsWith('C: '))
          .map(body),
        log,
        'C',
      );
      const args = {
        auth: new SASLAuth([SASLAuth.named(['ANONYMOUS']).serverMechanisms[0]!, fixedCram]),
        options: { lookup: storeOf(ALICE) },
        lines: source,
        write: recordingWriter(log, 'S'),
        replies: { success: 'Welcome' },
      };
      const first = await pop3ServerAuth({ ...args, command: body(all[0] ?? '') });
      expect(first).to.include({ mechanism: 'ANONYMOUS', trace: 'sirhc' });
      // The host's command loop reads the next command from the same source.
      const next = await source.next();
      const second = await settle(pop3ServerAuth({ ...args, command: next.value as string }));
      expect(isSaslError(second.error) && second.error.code).to.equal('ABORTED');
      expect(log).to.deep.equal(all);
    });

    it(`${derived}: client, real ANONYMOUS then a cancelling client, on one line source`, async () => {
      const all = [...anonymous, ...cancelled];
      const log: string[] = [];
      const source = recordingSource(all.filter((line) => line.startsWith('S: ')).map(body), log, 'S');
      const write = recordingWriter(log, 'C');
      const first = await pop3ClientAuth({
        mechanism: 'ANONYMOUS',
        credentials: new ClientCredentials('sirhc', ''),
        lines: source,
        write,
      });
      expect(first.text).to.equal('Welcome');
      const second = await settle(
        pop3ClientAuth({
          mechanism: scriptedMechanism(scriptOf(cancelled, POP3_SCRIPT)),
          credentials: new ClientCredentials('x', 'y'),
          lines: source,
          write,
        }),
      );
      expect(isSaslError(second.error) && second.error.code).to.equal('ABORTED');
      expect(log).to.deep.equal(all);
    });

    for (const id of ['pop3-rfc5034-plain-ir', 'pop3-rfc5034-plain-no-ir', 'pop3-rfc5034-digest-md5', derived]) {
      exchangesOf(id).forEach((exchange, n) => {
        const script = scriptOf(exchange, POP3_SCRIPT);
        const final = body(exchange[exchange.length - 1] ?? '');
        const text = final.slice(final.indexOf(' ') + 1);
        const replies = final.startsWith('+OK') ? { success: text } : { cancelled: text };
        it(`${id} #${n + 1}: server framing (scripted mechanism)`, async () => {
          const { log } = await replayServer(exchange, (command, lines, write) =>
            pop3ServerAuth({ auth: new SASLAuth([scriptedMechanism(script)]), command, lines, write, replies }),
          );
          expect(log).to.deep.equal(exchange);
        });
        it(`${id} #${n + 1}: client framing (scripted mechanism)`, async () => {
          const { log, error } = await replayClient(exchange, (lines, write) =>
            pop3ClientAuth({
              mechanism: scriptedMechanism(script),
              credentials: new ClientCredentials('x', 'y'),
              lines,
              write,
            }),
          );
          expect(log).to.deep.equal(exchange);
          expect(error === undefined).to.equal(script.outcome === 'success');
        });
      });
    }
  });

  describe('own client against own server', () => {
    const auth = SASLAuth.all();
    ownPairCases(converse, auth, {
      client: (mechanism, credentials, client) => ({ mechanism, credentials, client }),
      server: (auth, options) => ({ auth, options }),
      service: 'pop',
      success: 'S: +OK Authenticated',
      failed: 'S: -ERR [AUTH] Authentication failed',
      failedText: '-ERR [AUTH] Authentication failed',
    });

    it('keeps the AUTH command within 255 octets, sending a long initial response after the empty +', async () => {
      const long = 'p'.repeat(200);
      const store = storeOf(new ClearIdentity('alice', long));
      const { client, log } = await converse(
        { mechanism: 'PLAIN', credentials: new ClientCredentials('alice', long) },
        { auth, options: { lookup: store } },
      );
      expect(client.error).to.equal(undefined);
      expect(log.slice(0, 2)).to.deep.equal(['C: AUTH PLAIN', 'S: + ']);
      const fits = await converse(
        { mechanism: 'PLAIN', credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        { auth, options: demoServerOptions() },
      );
      expect(fits.log).to.have.length(2);
    });
  });

  describe('server: malformed and hostile input', () => {
    serverInputCases(serve, wire, [
      { name: 'bare AUTH (the RFC 1734 listing form)', command: 'AUTH', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      { name: 'non-ASCII', command: 'AUTH PLAIN \u00ff', reply: SYNTAX, code: 'MALFORMED_MESSAGE' },
      {
        name: 'base64 response with a space',
        command: 'AUTH LOGIN',
        lines: ['YWxp Y2U='],
        reply: '-ERR Invalid SASL response',
        code: 'MALFORMED_MESSAGE',
      },
    ]);
  });

  describe('client: server behaviour', () => {
    const againstLines = (serverLines: string[]) =>
      against(serverLines, { mechanism: 'LOGIN', credentials: new ClientCredentials('alice', 'alice-pass') });

    it('accepts a bare + as an empty challenge and rejects lines that are not replies', async () => {
      const bare = await againstLines(['+', '+ UGFzc3dvcmQ6', '+OK']);
      expect(bare.error).to.equal(undefined);
      expect(bare.written).to.deep.equal(['AUTH LOGIN', 'YWxpY2U=', 'YWxpY2UtcGFzcw==']);
      const garbage = await againstLines(['OK']);
      expect(isSaslError(garbage.error) && garbage.error.code).to.equal('MALFORMED_MESSAGE');
    });

    it('cancels a challenge that is not base64 and rejects with MALFORMED_MESSAGE', async () => {
      const { written, error } = await againstLines(['+ !!', '-ERR cancelled']);
      expect(written).to.deep.equal(['AUTH LOGIN', '*']);
      expect(isSaslError(error) && error.code).to.equal('MALFORMED_MESSAGE');
    });

    it('rejects with ABORTED when the server goes away', async () => {
      const { error } = await againstLines([]);
      expect(isSaslError(error) && error.code).to.equal('ABORTED');
    });
  });

  describe('over 127.0.0.1 sockets', function () {
    this.timeout(20000);

    it('own client logs in to own server with every offered mechanism, after CAPA', async () => {
      const auth = SASLAuth.all();
      const options = demoServerOptions();
      const events: string[] = [];
      const server = await startLineServer(async (lines, write) => {
        await write('+OK saslkit POP3 test server ready');
        let user: string | undefined;
        for (;;) {
          const next = await lines.next();
          if (next.done === true) return;
          const line = next.value;
          const verb = (line.split(' ')[0] ?? '').toUpperCase();
          if (verb === 'CAPA') {
            await write('+OK Capability list follows');
            await write(pop3SaslCapability(advertisedMechanisms(auth)));
            await write('.');
          } else if (verb === 'AUTH' && user === undefined) {
            try {
              user = (await pop3ServerAuth({ command: line, auth, options, lines, write })).authcid;
              events.push(`${line.split(' ')[1] ?? ''} ${user}`);
            } catch (error) {
              events.push(`refused ${isSaslError(error) ? error.code : 'store'}`);
            }
          } else if (verb === 'QUIT') {
            await write('+OK bye');
            return;
          } else {
            await write('-ERR Unknown command');
          }
        }
      });
      try {
        const names = advertisedMechanisms(auth);
        const attempts = [...names.map((name) => ({ name, wrong: false })), { name: 'PLAIN', wrong: true }];
        for (const { name, wrong } of attempts) {
          const outcome = await withLineClient(server.port, async (lines, write) => {
            expect((await lines.next()).value).to.match(/^\+OK /);
            await write('CAPA');
            const capa: string[] = [];
            for (let next = await lines.next(); next.done !== true && next.value !== '.'; next = await lines.next())
              capa.push(next.value);
            const offered = parsePop3Capa(capa).mechanisms;
            const credentials = wrong ? new ClientCredentials(DEMO_USER, 'wrong-secret') : demoCredentials(name);
            const result = await settle(
              pop3ClientAuth({
                offered,
                mechanism: name,
                credentials,
                client: { host: 'localhost', service: 'pop' },
                lines,
                write,
              }),
            );
            await write('QUIT');
            expect((await lines.next()).value).to.equal('+OK bye');
            return result;
          });
          if (wrong) expect(isSaslError(outcome.error) && outcome.error.code).to.equal('AUTHENTICATION_FAILED');
          else expect(outcome.value?.mechanism, String(outcome.error)).to.equal(name);
        }
        expect(events).to.deep.equal([
          ...names.map((name) => `${name} ${name === 'ANONYMOUS' ? 'anonymous' : DEMO_USER}`),
          'refused AUTHENTICATION_FAILED',
        ]);
      } finally {
        await server.close();
      }
    });
  });
});
