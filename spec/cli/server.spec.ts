import { expect } from 'chai';
import { once } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { ClientCredentials, SASLAuth, isSaslError } from '../../lib/index.js';
import { MailClient } from '../../lib/cli/mail-client.js';
import { DEMO_PASSWORD, demoCredentials, demoServerOptions } from '../../lib/cli/demo.js';
import { type AuthAttempt, type RunningAuthServer, parseImapStrings, startAuthServer } from '../../lib/cli/server.js';
import { CLI_PROTOCOLS, type CliProtocol, type Target } from '../../lib/cli/url.js';
import { expectNoSecrets } from '../support/helpers.js';
import { CERT, KEY } from './support.js';

const target = (protocol: CliProtocol, port: number, implicitTls = false): Target => ({
  protocol,
  implicitTls,
  host: '127.0.0.1',
  port,
  user: undefined,
});

/** Talks to a server over a raw socket: sends `text`, collects everything until the server closes or `ms` pass. */
async function raw(port: number, steps: readonly string[], ms = 1500): Promise<{ text: string; closed: boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  const state = { text: '', closed: false };
  socket.on('data', (chunk: Buffer) => (state.text += chunk.toString('latin1')));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  for (const step of steps) {
    socket.write(step);
    await new Promise((r) => setTimeout(r, 150));
  }
  const deadline = Date.now() + ms;
  while (!state.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  socket.destroy();
  return state;
}

describe('cli/server and cli/client', function () {
  this.timeout(60000);
  const servers: RunningAuthServer[] = [];
  const start = async (...args: Parameters<typeof startAuthServer>): Promise<RunningAuthServer> => {
    const server = await startAuthServer(...args);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  for (const protocol of CLI_PROTOCOLS) {
    it(`${protocol}: holds cleartext mechanisms back until STARTTLS, then logs in with every mechanism`, async () => {
      const attempts: AuthAttempt[] = [];
      const server = await start({
        protocol,
        options: demoServerOptions(),
        tls: { cert: CERT, key: KEY },
        onAuth: (a) => attempts.push(a),
      });
      expect(server.mechanisms).to.not.include.members(['PLAIN']);
      expect(server.mechanisms.some((name) => name.endsWith('-PLUS'))).to.equal(false);
      expect(server.mechanismsWithTls).to.include.members(['PLAIN', 'LOGIN', 'SCRAM-SHA-256-PLUS', 'XOAUTH2']);
      for (const mechanism of SASLAuth.all().clientMechanisms.map((m) => m.name)) {
        const client = await MailClient.connect({ target: target(protocol, server.port), ca: CERT, timeoutMs: 10000 });
        try {
          expect(client.startTlsOffered).to.equal(true);
          expect(client.mechanisms).to.deep.equal(server.mechanisms);
          await client.startTls();
          expect(client.tls?.authorized).to.equal(true);
          expect(client.startTlsOffered).to.equal(false);
          expect(client.mechanisms).to.deep.equal(server.mechanismsWithTls);
          const result = await client.authenticate({ credentials: demoCredentials(mechanism), mechanism });
          expect(result.mechanism).to.equal(mechanism);
          expect(result.serverVerified).to.equal(mechanism.startsWith('SCRAM-') || mechanism === 'DIGEST-MD5');
        } finally {
          await client.quit();
        }
      }
      expect(attempts.every((a) => a.ok && a.tls && a.protocol === protocol)).to.equal(true);
      expect(attempts.map((a) => a.mechanism)).to.deep.equal(SASLAuth.all().clientMechanisms.map((m) => m.name));
    });
  }

  it('picks the strongest mechanism, with channel binding over TLS, and reports failures without secrets', async () => {
    const attempts: AuthAttempt[] = [];
    const server = await start({
      protocol: 'smtp',
      options: demoServerOptions(),
      tls: { cert: CERT, key: KEY },
      onAuth: (a) => attempts.push(a),
    });
    const client = await MailClient.connect({ target: target('smtp', server.port), ca: CERT });
    await client.startTls();
    const result = await client.authenticate({ credentials: new ClientCredentials('alice', DEMO_PASSWORD) });
    expect(result.mechanism).to.equal('SCRAM-SHA-512-PLUS');
    await client.quit();
    const second = await MailClient.connect({ target: target('smtp', server.port), ca: CERT });
    await second.startTls();
    let error: unknown;
    try {
      await second.authenticate({ credentials: new ClientCredentials('alice', 'wrong-secret'), mechanism: 'PLAIN' });
    } catch (caught) {
      error = caught;
    }
    await second.quit();
    expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
    expectNoSecrets(error, ['wrong-secret']);
    expect(attempts[1]).to.deep.include({
      mechanism: 'PLAIN',
      user: 'alice',
      ok: false,
      code: 'AUTHENTICATION_FAILED',
      tls: true,
    });
    expectNoSecrets(attempts, ['wrong-secret', DEMO_PASSWORD]);
  });

  it('binds the channel only for mechanisms whose -PLUS variant is on offer (RFC 5802 GS2 flags)', async () => {
    const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1']);
    const server = await start({ protocol: 'imap', auth, options: demoServerOptions(), tls: { cert: CERT, key: KEY } });
    for (const mechanism of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1']) {
      const client = await MailClient.connect({ target: target('imap', server.port), ca: CERT });
      await client.startTls();
      // SCRAM-SHA-256 while -PLUS is offered: the client says "n"; SCRAM-SHA-1 has no -PLUS here: "y", accepted.
      const result = await client.authenticate({ credentials: new ClientCredentials('bob', 'bob-pass'), mechanism });
      expect(result.mechanism).to.equal(mechanism);
      await client.quit();
    }
  });

  it('refuses hidden mechanisms and clear-text logins before TLS, on every protocol', async () => {
    const options = { options: demoServerOptions(), tls: { cert: CERT, key: KEY } };
    const plain = Buffer.from('\0alice\0alice-pass').toString('base64');
    const smtp = await start({ protocol: 'smtp', ...options });
    expect((await raw(smtp.port, ['EHLO x\r\n', `AUTH PLAIN ${plain}\r\n`, 'QUIT\r\n'])).text).to.match(
      /250 AUTH [^\r]*\r\n504 5\.5\.4 Unrecognized authentication type\r\n221 /,
    );
    const imap = await start({ protocol: 'imap', ...options });
    const imapText = (
      await raw(imap.port, ['a LOGIN alice alice-pass\r\n', `b AUTHENTICATE PLAIN ${plain}\r\n`, 'c LOGOUT\r\n'])
    ).text;
    expect(imapText).to.include('LOGINDISABLED');
    expect(imapText).to.include('a NO [PRIVACYREQUIRED]');
    expect(imapText).to.include('b NO Unsupported authentication mechanism');
    expect(imapText).to.include('c OK LOGOUT completed');
    const pop3 = await start({ protocol: 'pop3', ...options });
    const pop3Text = (await raw(pop3.port, ['CAPA\r\n', 'USER alice\r\n', 'AUTH\r\n', 'QUIT\r\n'])).text;
    expect(pop3Text).to.include('STLS\r\n');
    expect(pop3Text).to.not.include('USER\r\n');
    expect(pop3Text).to.include('-ERR [AUTH] Plaintext authentication is disabled before STLS');
    expect(pop3Text).to.match(/\+OK\r\nSCRAM-SHA-512\r\n[^.]*\.\r\n\+OK Bye/);
  });

  it('drops a connection that pipelines commands after STARTTLS (command injection)', async () => {
    for (const protocol of CLI_PROTOCOLS) {
      const server = await start({ protocol, options: demoServerOptions(), tls: { cert: CERT, key: KEY } });
      const command =
        protocol === 'smtp'
          ? 'STARTTLS\r\nAUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M=\r\n'
          : protocol === 'imap'
            ? 'a STARTTLS\r\nb CAPABILITY\r\n'
            : 'STLS\r\nCAPA\r\n';
      const result = await raw(server.port, [command], 3000);
      expect(result.closed, protocol).to.equal(true);
      expect(result.text, protocol).to.not.match(/Ready to start TLS|Begin TLS|235 /);
    }
  });

  it('serves implicit TLS (smtps, imaps, pop3s) with -PLUS and cleartext mechanisms from the first line', async () => {
    for (const protocol of CLI_PROTOCOLS) {
      const server = await start({
        protocol,
        options: demoServerOptions(),
        tls: { cert: CERT, key: KEY },
        implicitTls: true,
      });
      const client = await MailClient.connect({ target: target(protocol, server.port, true), ca: CERT });
      expect(client.tls?.version).to.match(/^TLSv1\.[23]$/);
      expect(client.startTlsOffered).to.equal(false);
      expect(client.mechanisms).to.include.members(['PLAIN', 'SCRAM-SHA-256-PLUS']);
      const result = await client.authenticate({
        credentials: new ClientCredentials('bob', 'bob-pass'),
        channelBinding: 'require',
      });
      expect(result.mechanism).to.equal('SCRAM-SHA-512-PLUS');
      await client.quit();
    }
  });

  it('the client refuses an untrusted certificate unless told, and a server that injects data after STARTTLS', async () => {
    const server = await start({
      protocol: 'imap',
      options: demoServerOptions(),
      tls: { cert: CERT, key: KEY },
      implicitTls: true,
    });
    let error: unknown;
    try {
      await MailClient.connect({ target: target('imap', server.port, true) });
    } catch (caught) {
      error = caught;
    }
    expect((error as { code?: string }).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
    const insecure = await MailClient.connect({ target: target('imap', server.port, true), insecure: true });
    expect(insecure.tls?.authorized).to.equal(false);
    await insecure.quit();

    const fake: Server = createServer((socket: Socket) => {
      socket.write('220 fake ESMTP\r\n');
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (text.startsWith('EHLO')) socket.write('250-fake\r\n250 STARTTLS\r\n');
        if (text.startsWith('STARTTLS')) socket.write('220 go ahead\r\n250 AUTH PLAIN\r\n');
      });
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    try {
      const client = await MailClient.connect({
        target: target('smtp', (fake.address() as { port: number }).port),
        insecure: true,
      });
      let injected: unknown;
      try {
        await client.startTls();
      } catch (caught) {
        injected = caught;
      }
      client.close();
      expect(isSaslError(injected) && injected.code).to.equal('UNEXPECTED_MESSAGE');
      expect((injected as Error).message).to.equal('the server sent data after accepting STARTTLS');
    } finally {
      fake.close();
    }
  });

  it('the client gives up on a silent server with a TIMEOUT error', async () => {
    const silent: Server = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      let error: unknown;
      try {
        await MailClient.connect({
          target: target('pop3', (silent.address() as { port: number }).port),
          timeoutMs: 300,
        });
      } catch (caught) {
        error = caught;
      }
      expect(isSaslError(error) && error.code).to.equal('TIMEOUT');
    } finally {
      silent.close();
    }
  });

  it('parses IMAP atoms and quoted strings, and refuses literals', () => {
    expect(parseImapStrings('alice "pass word"')).to.deep.equal(['alice', 'pass word']);
    expect(parseImapStrings('"a\\"b" "c\\\\d"')).to.deep.equal(['a"b', 'c\\d']);
    expect(parseImapStrings('alice {5}')).to.equal(undefined);
    expect(parseImapStrings('"unterminated')).to.equal(undefined);
    expect(parseImapStrings('')).to.deep.equal([]);
  });
});
