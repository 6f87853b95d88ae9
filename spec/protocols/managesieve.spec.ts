import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  DIGEST_MD5,
  type Mechanism,
  SASLAuth,
  advertisedMechanisms,
  isSaslError,
  manageSieveClientAuth,
  manageSieveSaslCapability,
  manageSieveServerAuth,
  parseManageSieveCapabilities,
  quoteSieveString,
} from '../../lib/index.js';
import { digestMd5Client, digestMd5Server } from '../../lib/mechanisms/digest-md5.js';
import { DEMO_PASSWORD, DEMO_USER, demoCredentials, demoServerOptions } from '../support/demo-mail.js';
import { lineConversations } from '../support/conversation.js';
import { type LineWire, ownPairCases, serverInputCases } from '../support/line-cases.js';
import { ALICE, storeOf } from '../support/helpers.js';
import {
  type Script,
  body,
  fromLine,
  replayClient,
  replayServer,
  scriptedMechanism,
  startLineServer,
  transcriptOf,
  unb64,
  withLineClient,
} from './transcript.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const unquote = (line: string): string => {
  expect(line).to.match(/^"[^"]*"$/);
  return line.slice(1, -1);
};

const { converse, serve, against } = lineConversations({
  client: manageSieveClientAuth,
  server: manageSieveServerAuth,
  serveDefaults: { auth: SASLAuth.all(), options: { lookup: storeOf(ALICE), externalIdentity: 'alice' } },
});

const SYNTAX = 'NO "Syntax: AUTHENTICATE \\"mechanism\\" [\\"initial-response\\"]"';

/** ManageSieve's framing of the cases all line profiles share: quoted strings. */
const wire: LineWire = {
  command: (mechanism, initial) =>
    initial === undefined ? `AUTHENTICATE "${mechanism}"` : `AUTHENTICATE "${mechanism}" "${initial}"`,
  response: (data) => `"${data}"`,
  challenge: (data) => `"${data}"`,
  replies: {
    emptyCommand: SYNTAX,
    unknownMechanism: 'NO "Unsupported authentication mechanism"',
    badBase64: 'NO "Invalid SASL response"',
    initialNotAllowed: 'NO "Initial response not allowed with this mechanism"',
    cancelled: 'NO "Authentication cancelled"',
    tooLong: 'NO "Line too long"',
    failed: 'NO "Authentication failed"',
    unavailable: 'NO (TRYLATER) "Temporary authentication failure"',
  },
};

describe('ManageSieve AUTHENTICATE profile', function () {
  this.timeout(10000);
  const transcript = transcriptOf('managesieve-rfc5804-digest-md5');
  const exchange = fromLine(transcript, (line) => /^C: authenticate /i.test(line));

  describe('capabilities', () => {
    it('parses the RFC 5804 capability listing and builds the same SASL line', () => {
      const listing = transcript.slice(0, transcript.indexOf('S: OK') + 1).map(body);
      const parsed = parseManageSieveCapabilities(listing);
      expect(parsed.mechanisms).to.deep.equal(['DIGEST-MD5', 'GSSAPI']);
      expect(parsed.capabilities.get('IMPLEMENTATION')).to.equal('Example1 ManageSieved v001');
      expect(parsed.capabilities.has('STARTTLS')).to.equal(true);
      expect(parsed.capabilities.get('STARTTLS')).to.equal(undefined);
      expect(manageSieveSaslCapability(parsed.mechanisms)).to.equal(listing[1]);
    });

    it('compares capability names in any case (the draft example writes "SASl") and unescapes strings', () => {
      const parsed = parseManageSieveCapabilities([
        '"SASl" "PLAIN"',
        '"IMPLEMENTATION" "say \\"hi\\" \\\\o/"',
        'not a capability',
        'OK',
      ]);
      expect(parsed.mechanisms).to.deep.equal(['PLAIN']);
      expect(parsed.capabilities.get('IMPLEMENTATION')).to.equal('say "hi" \\o/');
      expect(quoteSieveString('say "hi" \\o/')).to.equal('"say \\"hi\\" \\\\o/"');
    });
  });

  describe('the RFC 5804 transcript', () => {
    const script: Script = {
      name: 'DIGEST-MD5',
      rounds: [
        { challenge: unb64(unquote(body(exchange[1] ?? ''))), response: unb64(unquote(body(exchange[2] ?? ''))) },
      ],
      final: unb64(/SASL "([^"]*)"/.exec(exchange[3] ?? '')?.[1] ?? ''),
      outcome: 'success',
    };

    it('server framing, byte for byte (scripted mechanism: the example digest does not verify, see discrepancy 1)', async () => {
      const { log, error } = await replayServer(exchange, (command, lines, write) =>
        manageSieveServerAuth({
          auth: new SASLAuth([scriptedMechanism(script)]),
          command,
          lines,
          write,
          replies: { success: '' },
        }),
      );
      expect(error).to.equal(undefined);
      expect(log).to.deep.equal(exchange);
    });

    it('client framing, byte for byte but for the verb, which ManageSieve compares in any case', async () => {
      const { log, error } = await replayClient(exchange, (lines, write) =>
        manageSieveClientAuth({
          mechanism: scriptedMechanism(script),
          credentials: new ClientCredentials('x', 'y'),
          lines,
          write,
        }),
      );
      expect(error).to.equal(undefined);
      expect(log[0]).to.equal('C: AUTHENTICATE "DIGEST-MD5"');
      expect([exchange[0]?.replace(/^C: Authenticate/, 'C: AUTHENTICATE'), ...exchange.slice(1)]).to.deep.equal(log);
    });

    // The same exchange with the digests corrected (response c6257d..., rspauth e54a89...),
    // run by the real DIGEST-MD5 on both sides.
    const corrected = exchange.map((line) => {
      const quoted = /"([A-Za-z0-9+/=]+)"/.exec(line);
      if (quoted?.[1] === undefined) return line;
      const text = Buffer.from(quoted[1], 'base64')
        .toString()
        .replace('d388dad90d4bbd760a152321f2143af7', 'c6257d129db9de38e119c4062b4889a3')
        .replace('ea40f60335c427b5527b84dbabcdfffd', 'e54a89e0814285dcad61ff1932fccf79');
      return line.replace(quoted[1], b64(text));
    });
    const fixed: Mechanism = {
      ...DIGEST_MD5,
      server: (options, initial) => digestMd5Server(options, initial, () => 'OA6MG9tEQGm2hh'),
      client: (credentials, options) => digestMd5Client(credentials, options, () => 'OA6MHXh6VqTrRk'),
    };

    it('client, real DIGEST-MD5, corrected digests: verifies the rspauth sent in OK (SASL ...)', async () => {
      const { log, error, value } = await replayClient(corrected, (lines, write) =>
        manageSieveClientAuth({
          mechanism: fixed,
          credentials: new ClientCredentials('chris', 'secret'),
          client: { host: 'elwood.innosoft.example.com', service: 'sieve' },
          lines,
          write,
        }),
      );
      expect(error).to.equal(undefined);
      expect(value?.serverVerified).to.equal(true);
      expect(log.slice(1)).to.deep.equal(corrected.slice(1));
    });

    it('server, real DIGEST-MD5, corrected digests: sends rspauth as a last challenge, then OK', async () => {
      const asChallenge = [
        corrected[0] ?? '',
        corrected[1] ?? '',
        corrected[2] ?? '',
        `S: ${/\(SASL ("[^"]*")\)/.exec(corrected[3] ?? '')?.[1] ?? ''}`,
        'C: ""',
        'S: OK',
      ];
      const { log, error } = await replayServer(asChallenge, (command, lines, write) =>
        manageSieveServerAuth({
          auth: new SASLAuth([fixed]),
          options: { lookup: storeOf(new ClearIdentity('chris', 'secret')), hostname: 'elwood.innosoft.example.com' },
          command,
          lines,
          write,
          replies: { success: '' },
        }),
      );
      expect(error).to.equal(undefined);
      expect(log).to.deep.equal(asChallenge);
    });

    it('a wrong client response cannot pass: the published digest is refused', async () => {
      const { log, error } = await replayServer(exchange, (command, lines, write) =>
        manageSieveServerAuth({
          auth: new SASLAuth([fixed]),
          options: { lookup: storeOf(new ClearIdentity('chris', 'secret')), hostname: 'elwood.innosoft.example.com' },
          command,
          lines,
          write,
        }),
      );
      expect(log.slice(0, 3)).to.deep.equal(exchange.slice(0, 3));
      expect(log[3]).to.equal('S: NO "Authentication failed"');
      expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
    });
  });

  describe('own client against own server', () => {
    const auth = SASLAuth.all();
    ownPairCases(converse, auth, {
      client: (mechanism, credentials, client) => ({ mechanism, credentials, client }),
      server: (auth, options) => ({ auth, options }),
      service: 'sieve',
      success: /^S: OK (\(SASL "[A-Za-z0-9+/=]+"\) )?"Authentication successful"$/,
      failed: 'S: NO "Authentication failed"',
      failedText: 'NO Authentication failed',
    });

    it('returns SCRAM server-final data in OK (SASL ...) and the client verifies it', async () => {
      const { client, log } = await converse(
        { mechanism: 'SCRAM-SHA-256', credentials: new ClientCredentials(DEMO_USER, DEMO_PASSWORD) },
        { auth, options: demoServerOptions() },
      );
      expect(client.value?.serverVerified).to.equal(true);
      const data = /^S: OK \(SASL "([^"]+)"\)/.exec(log[log.length - 1] ?? '')?.[1];
      expect(Buffer.from(data ?? '', 'base64').toString()).to.match(/^v=/);
      expect(log.filter((line) => line.startsWith('C: '))).to.have.length(2);
    });

    it('sends strings over 1024 characters as {n+} literals, which the server reads', async () => {
      const token = 't'.repeat(1200);
      const options = {
        validateToken: (request: { token: string }) =>
          request.token === token ? { authcid: 'alice' } : { error: { status: 'invalid_token' } },
      };
      const { client, log } = await converse(
        { mechanism: 'OAUTHBEARER', credentials: new ClientCredentials('alice', token) },
        { auth, options },
      );
      expect(client.error).to.equal(undefined);
      expect(log[0]).to.match(/^C: AUTHENTICATE "OAUTHBEARER" \{\d+\+\}$/);
      expect(log[1]).to.match(/^C: [A-Za-z0-9+/=]{1025,}$/);
    });
  });

  describe('server: strings and literals', () => {
    const plain = b64('\0alice\0alice-pass');

    it('takes the mechanism and the initial response as literals', async () => {
      const { written, value } = await serve('AUTHENTICATE {5+}', [`PLAIN {${plain.length}+}`, plain]);
      expect(written).to.deep.equal(['OK "Authentication successful"']);
      expect(value).to.include({ authcid: 'alice' });
    });

    it('takes a response as a literal, and {0+} as an empty response', async () => {
      const literal = await serve('authenticate "PLAIN"', [`{${plain.length}+}`, plain]);
      expect(literal.written).to.deep.equal(['""', 'OK "Authentication successful"']);
      const empty = await serve('AUTHENTICATE "EXTERNAL"', ['{0+}', '']);
      expect(empty.written).to.deep.equal(['""', 'OK "Authentication successful"']);
    });

    it('takes "" and "=" as an empty initial response', async () => {
      for (const ir of ['""', '"="']) {
        const { written, value } = await serve(`AUTHENTICATE "EXTERNAL" ${ir}`, []);
        expect(written).to.deep.equal(['OK "Authentication successful"']);
        expect(value).to.include({ authcid: 'alice' });
      }
    });
  });

  describe('server: malformed and hostile input', () => {
    serverInputCases(serve, wire, [
      {
        name: 'another command',
        command: 'LISTSCRIPTS',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'no mechanism',
        command: 'AUTHENTICATE',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'mechanism as an atom',
        command: 'AUTHENTICATE PLAIN',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'unterminated string',
        command: 'AUTHENTICATE "PLAIN',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'invalid escape',
        command: 'AUTHENTICATE "PL\\AIN"',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'data after the last string',
        command: 'AUTHENTICATE "PLAIN" "" x',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'non-ASCII',
        command: 'AUTHENTICATE "PLAIN" "\u00e9"',
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'literal over the line limit',
        command: 'AUTHENTICATE {99999+}',
        reply: 'NO "Line too long"',
        code: 'LIMIT_EXCEEDED',
      },
      {
        name: 'literal ending inside a line break',
        command: 'AUTHENTICATE "PLAIN"',
        lines: ['{4+}', 'abc'],
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
      {
        name: 'response that is not a string',
        command: 'AUTHENTICATE "PLAIN"',
        lines: ['AGFsaWNl'],
        reply: SYNTAX,
        code: 'MALFORMED_MESSAGE',
      },
    ]);

    it('rejects with ABORTED when the line source closes inside a literal', async () => {
      const { written, error } = await serve('AUTHENTICATE {5+}', []);
      expect(written).to.deep.equal([]);
      expect(isSaslError(error) && error.code).to.equal('ABORTED');
    });
  });

  describe('client: server responses', () => {
    const againstLines = (serverLines: string[], mechanism = 'LOGIN') =>
      against(serverLines, { mechanism, credentials: new ClientCredentials('alice', 'alice-pass') });

    it('reads literal challenges ({n} and {n+}) and a literal OK text', async () => {
      const user = b64('Username:');
      const { written, value, error } = await againstLines([
        `{${user.length}}`,
        user,
        `{${user.length}+}`,
        user,
        'OK {5}',
        'hello',
      ]);
      expect(error).to.equal(undefined);
      expect(written).to.deep.equal(['AUTHENTICATE "LOGIN"', `"${b64('alice')}"`, `"${b64('alice-pass')}"`]);
      expect(value?.text).to.equal('hello');
    });

    it('maps NO (AUTH-TOO-WEAK) to MECHANISM_UNAVAILABLE, NO to AUTHENTICATION_FAILED and BYE to ABORTED', async () => {
      const weak = await againstLines(['NO (AUTH-TOO-WEAK) "use SCRAM"']);
      expect(isSaslError(weak.error) && weak.error.code).to.equal('MECHANISM_UNAVAILABLE');
      const no = await againstLines(['NO "bad"']);
      expect(isSaslError(no.error) && no.error.code).to.equal('AUTHENTICATION_FAILED');
      expect((no.error as Error).message).to.include('NO bad');
      const bye = await againstLines(['BYE "Too many failed authentication attempts"']);
      expect(isSaslError(bye.error) && bye.error.code).to.equal('ABORTED');
    });

    it('cancels with "*" when a challenge is not base64, and rejects unknown responses', async () => {
      const cancelled = await againstLines(['"!!"', 'NO "cancelled"']);
      expect(cancelled.written).to.deep.equal(['AUTHENTICATE "LOGIN"', '"*"']);
      expect(isSaslError(cancelled.error) && cancelled.error.code).to.equal('MALFORMED_MESSAGE');
      const unknown = await againstLines(['MAYBE']);
      expect(isSaslError(unknown.error) && unknown.error.code).to.equal('MALFORMED_MESSAGE');
      const gone = await againstLines([]);
      expect(isSaslError(gone.error) && gone.error.code).to.equal('ABORTED');
    });
  });

  describe('over 127.0.0.1 sockets', function () {
    this.timeout(20000);

    it('own client logs in to own server with every offered mechanism, from the capability greeting', async () => {
      const auth = SASLAuth.all();
      const options = demoServerOptions();
      const events: string[] = [];
      const server = await startLineServer(async (lines, write) => {
        await write('"IMPLEMENTATION" "saslkit test"');
        await write(manageSieveSaslCapability(advertisedMechanisms(auth)));
        await write('"VERSION" "1.0"');
        await write('OK');
        let authenticated = false;
        for (;;) {
          const next = await lines.next();
          if (next.done === true) return;
          const line = next.value;
          const verb = (/^[A-Za-z]+/.exec(line)?.[0] ?? '').toUpperCase();
          if (verb === 'AUTHENTICATE' && !authenticated) {
            try {
              const result = await manageSieveServerAuth({ command: line, auth, options, lines, write });
              authenticated = true;
              events.push(result.mechanism);
            } catch (error) {
              events.push(`refused ${isSaslError(error) ? error.code : 'store'}`);
            }
          } else if (verb === 'LOGOUT') {
            await write('OK "bye"');
            return;
          } else {
            await write('NO "Unknown command"');
          }
        }
      });
      try {
        const names = advertisedMechanisms(auth);
        for (const name of names) {
          const result = await withLineClient(server.port, async (lines, write) => {
            const greeting: string[] = [];
            for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
              greeting.push(next.value);
              if (next.value === 'OK') break;
            }
            const offered = parseManageSieveCapabilities(greeting).mechanisms;
            const outcome = await manageSieveClientAuth({
              offered,
              mechanism: name,
              credentials: demoCredentials(name),
              client: { host: 'localhost', service: 'sieve' },
              lines,
              write,
            });
            await write('LOGOUT');
            expect((await lines.next()).value).to.equal('OK "bye"');
            return outcome;
          });
          expect(result.mechanism).to.equal(name);
        }
        expect(events).to.deep.equal(names);
      } finally {
        await server.close();
      }
    });
  });
});
