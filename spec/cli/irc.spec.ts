/**
 * The CLI's IRC (issue 15 item 5): `login` and `mechs` for irc:// and ircs://, `serve --protocol
 * irc`, against saslkit's own server in this process and against the CI's InspIRCd + Atheme.
 */
import { expect } from 'chai';
import { serveCommand } from '../../lib/cli/serve.js';
import { ACCOUNTS, PORTS, TLS_FILES, requirePeer } from '../interop/peers.js';
import { ALICE_USERS, CERT_FILE, SERVE_TLS, loginWith, memoryIo, runCli, serveDuring, startServe } from './support.js';

const ALICE = { SASLKIT_PASSWORD: 'alice-pass' };

describe('cli: serve --protocol irc with saslkit mechs and login', function () {
  this.timeout(60000);
  const servers = serveDuring(ALICE_USERS, {
    plain: ['irc', '--mechs', 'SCRAM-SHA-256,PLAIN', '--plaintext-auth'],
    secure: ['irc', ...SERVE_TLS, '--implicit-tls'],
  });

  it('mechs lists the sasl= value of CAP LS; there is no STARTTLS', async () => {
    const mechs = await runCli(['mechs', `irc://127.0.0.1:${servers.plain.port}`, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    const offer = JSON.parse(mechs.out) as { before: string[]; starttlsOffered: boolean; protocol: string };
    expect(offer).to.include({ protocol: 'irc', starttlsOffered: false });
    expect(offer.before).to.deep.equal(['SCRAM-SHA-256', 'PLAIN']);
    const starttls = await runCli(['mechs', `irc://127.0.0.1:${servers.plain.port}`, '--starttls']);
    expect(starttls.code).to.equal(2);
    expect(starttls.err).to.match(/use an ircs:\/\/ URL/);
  });

  it('login picks SCRAM-SHA-256 in clear, takes PLAIN when named, refuses a wrong password (exit 1); the trace hides the chunks', async () => {
    const url = `irc://127.0.0.1:${servers.plain.port}`;
    const scram = await runCli(['login', url, '--user', 'alice', '--trace'], { env: ALICE });
    expect(scram.code, scram.err).to.equal(0);
    expect(scram.out).to.match(
      /^authenticated as alice with SCRAM-SHA-256 without TLS; the server proved it knows the credentials; \d+ round trips/,
    );
    expect(scram.err).to.match(/C: AUTHENTICATE SCRAM-SHA-256\n/);
    expect(scram.err).to.match(/C: AUTHENTICATE \[\d+ characters, not shown\]/);
    expect(scram.err).to.match(/S: :localhost 903 alice :/);
    const named = await runCli(['login', url, '--user', 'alice', '--mech', 'PLAIN', '--nick', 'al1ce', '--trace'], {
      env: ALICE,
    });
    expect(named.code, named.err).to.equal(0);
    expect(named.err).to.match(/C: NICK al1ce/);
    // Neither the password nor its base64 (inside PLAIN's message) shows.
    expect(named.err).to.not.include('alice-pass');
    expect(named.err).to.not.include(Buffer.from('\0alice\0alice-pass').toString('base64'));
    const wrong = await loginWith('wrong-secret', [url, '--user', 'alice', '--mech', 'PLAIN']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.not.include('wrong-secret');
    const log = servers.plain.output.out();
    expect(log).to.match(/irc SCRAM-SHA-256 user="alice" ok/);
    expect(log).to.match(/irc PLAIN user="alice" ok/);
    expect(log).to.match(/irc PLAIN user="alice" failed AUTHENTICATION_FAILED/);
  });

  it('without TLS, login does not choose PLAIN itself (exit 3), and --nick is only for IRC', async () => {
    const noTls = await startServe('irc', servers.users, '--mechs', 'PLAIN');
    try {
      const refused = await runCli(['login', `irc://127.0.0.1:${noTls.port}`, '--user', 'alice'], { env: ALICE });
      expect(refused.code).to.equal(3);
      expect(refused.err).to.match(
        /use an ircs URL; or, to send it in clear anyway, pass --allow-plaintext or name the mechanism with --mech PLAIN/,
      );
    } finally {
      expect(await noTls.stop()).to.equal(0);
    }
    const nick = await runCli(['login', 'imap://127.0.0.1:1', '--user', 'alice', '--nick', 'x'], { env: ALICE });
    expect(nick.code).to.equal(2);
  });

  it('ircs: SCRAM-SHA-256-PLUS with channel binding and PLAIN; serve refuses a certificate without --implicit-tls', async () => {
    const url = `ircs://127.0.0.1:${servers.secure.port}`;
    const mechs = await runCli(['mechs', url, '--ca', CERT_FILE, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    expect((JSON.parse(mechs.out) as { after: string[] }).after).to.include.members(['SCRAM-SHA-256-PLUS', 'PLAIN']);
    const bound = await runCli(['login', url, '--ca', CERT_FILE, '--user', 'alice', '--channel-binding', 'require'], {
      env: ALICE,
    });
    expect(bound.code, bound.err).to.equal(0);
    expect(bound.out).to.match(
      /with SCRAM-SHA-\d+-PLUS over TLSv1\.3 with channel binding tls-exporter; the server proved/,
    );
    const named = await runCli(['login', url, '--ca', CERT_FILE, '--user', 'alice', '--mech', 'PLAIN'], { env: ALICE });
    expect(named.code, named.err).to.equal(0);
    const io = memoryIo();
    expect(await serveCommand(['--protocol', 'irc', '--users', servers.users, ...SERVE_TLS], io.io)).to.equal(2);
    expect(io.err()).to.match(/IRC has no STARTTLS/);
  });
});

describe('cli against InspIRCd + Atheme (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'irc');
  });

  it('mechs lists PLAIN and EXTERNAL; login with PLAIN in clear (named) and over TLS; a wrong password exits 1', async () => {
    const mechs = await runCli(['mechs', `irc://127.0.0.1:${PORTS.irc}`, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    expect((JSON.parse(mechs.out) as { before: string[] }).before).to.include.members(['PLAIN', 'EXTERNAL']);
    const env = { SASLKIT_PASSWORD: ACCOUNTS.alice.pass };
    const clear = await runCli(
      ['login', `irc://127.0.0.1:${PORTS.irc}`, '--user', ACCOUNTS.alice.user, '--mech', 'PLAIN'],
      { env },
    );
    expect(clear.code, clear.err).to.equal(0);
    expect(clear.out).to.match(/^authenticated as alice with PLAIN without TLS/);
    const tls = await runCli(
      ['login', `ircs://127.0.0.1:${PORTS.ircTls}`, '--user', ACCOUNTS.alice.user, '--insecure'],
      {
        env,
      },
    );
    expect(tls.code, tls.err).to.equal(0);
    expect(tls.out).to.match(/^authenticated as alice with PLAIN over TLSv1\.[23]/);
    const wrong = await loginWith('wrong-secret', [
      `irc://127.0.0.1:${PORTS.irc}`,
      '--user',
      ACCOUNTS.alice.user,
      '--mech',
      'PLAIN',
    ]);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.not.include('wrong-secret');
  });

  it("login with EXTERNAL and alice's client certificate over ircs", async () => {
    const external = await runCli([
      'login',
      `ircs://127.0.0.1:${PORTS.ircTls}`,
      '--insecure',
      '--mech',
      'EXTERNAL',
      '--cert',
      TLS_FILES.ircAliceCert,
      '--key',
      TLS_FILES.ircAliceKey,
    ]);
    expect(external.code, external.err).to.equal(0);
    expect(external.out).to.match(/^authenticated with EXTERNAL over TLSv1\.[23]/);
  });
});
