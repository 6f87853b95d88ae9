/**
 * `saslkit mechs` and `login` against the real ManageSieve, PostgreSQL and XMPP peers (issue 14
 * item 5): Dovecot's managesieved, PostgreSQL 15 and Prosody 0.12. Skipped on a developer
 * machine without the peers; fails under CI. Dovecot and PostgreSQL have certificates for
 * `localhost` without an IP address, so those runs pass --insecure (SCRAM-*-PLUS still binds the
 * channel); Prosody's is checked against its certificate with --domain localhost.
 */
import { expect } from 'chai';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, XMPP_DOMAIN, requirePeer } from '../interop/peers.js';
import { loginWith, runCli } from './support.js';

const ALICE = { SASLKIT_PASSWORD: ACCOUNTS.alice.pass };

describe('cli against Dovecot ManageSieve (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'dovecot-managesieve');
  });
  const url = `sieve://${HOST}:${PORTS.sieve}`;

  it('mechs lists the SASL capability before and after STARTTLS', async () => {
    const result = await runCli(['mechs', url, '--starttls', '--insecure', '--json']);
    expect(result.code, result.err).to.equal(0);
    const parsed = JSON.parse(result.out) as { before: string[]; after: string[]; starttlsOffered: boolean };
    expect(parsed.starttlsOffered).to.equal(true);
    expect(parsed.before).to.include.members(['PLAIN', 'SCRAM-SHA-256']);
    expect(parsed.after).to.include.members(['PLAIN', 'SCRAM-SHA-256']);
  });

  it('login after STARTTLS with SCRAM-SHA-256 (chosen) and PLAIN (named), bob with his SCRAM-only entry', async () => {
    const scram = await runCli(['login', url, '--starttls', '--insecure', '--user', 'alice', '--timeout', '20'], {
      env: ALICE,
    });
    expect(scram.code, scram.err).to.equal(0);
    expect(scram.out).to.match(
      /^authenticated as alice with SCRAM-SHA-256 over TLSv1\.[23] \(certificate not verified\); the server proved it knows the credentials;/,
    );
    const plain = await runCli(
      ['login', url, '--starttls', '--insecure', '--user', 'alice', '--mech', 'PLAIN', '--timeout', '20'],
      { env: ALICE },
    );
    expect(plain.code, plain.err).to.equal(0);
    expect(plain.out).to.match(/^authenticated as alice with PLAIN over TLS/);
    const bob = await loginWith(ACCOUNTS.bob.pass, [
      url,
      '--starttls',
      '--insecure',
      '--user',
      'bob',
      '--mech',
      'SCRAM-SHA-256',
      '--timeout',
      '20',
    ]);
    expect(bob.code, bob.err).to.equal(0);
  });
});

describe('cli against PostgreSQL (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'postgres');
  });
  const url = `postgres://${HOST}:${PORTS.postgres}/postgres`;

  it('mechs: SCRAM-SHA-256 in clear, SCRAM-SHA-256-PLUS added after SSLRequest', async () => {
    const result = await runCli([
      'mechs',
      `postgres://alice@${HOST}:${PORTS.postgres}`,
      '--starttls',
      '--insecure',
      '--json',
    ]);
    expect(result.code, result.err).to.equal(0);
    const parsed = JSON.parse(result.out) as { before: string[]; after: string[] };
    expect(parsed.before).to.deep.equal(['SCRAM-SHA-256']);
    expect(parsed.after).to.deep.equal(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
  });

  it('login with SCRAM-SHA-256 in clear and SCRAM-SHA-256-PLUS (tls-server-end-point) after SSLRequest', async () => {
    const plain = await runCli(['login', url, '--user', 'alice', '--json'], { env: ALICE });
    expect(plain.code, plain.err).to.equal(0);
    expect(JSON.parse(plain.out)).to.include({
      ok: true,
      protocol: 'postgres',
      tls: null,
      mechanism: 'SCRAM-SHA-256',
      serverVerified: true,
    });
    const plus = await runCli(
      ['login', url, '--starttls', '--insecure', '--user', 'alice', '--channel-binding', 'require'],
      { env: ALICE },
    );
    expect(plus.code, plus.err).to.equal(0);
    expect(plus.out).to.match(
      /^authenticated as alice with SCRAM-SHA-256-PLUS over TLSv1\.[23] with channel binding tls-server-end-point \(certificate not verified\); the server proved/,
    );
  });

  it('a wrong password exits 1 without the secret; a missing database exits 4 saying so', async () => {
    const wrong = await loginWith('wrong-secret', [url, '--starttls', '--insecure', '--user', 'alice']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.equal(
      'saslkit login: AUTHENTICATION_FAILED: the PostgreSQL server refused the login (28P01)\n',
    );
    const noDb = await runCli(['login', `postgres://${HOST}:${PORTS.postgres}/no_such_db`, '--user', 'alice'], {
      env: ALICE,
    });
    expect(noDb.code).to.equal(4);
    expect(noDb.err).to.match(
      /authenticated with SCRAM-SHA-256, but the PostgreSQL server did not start the session \(SQLSTATE 3D000\)/,
    );
  });
});

describe('cli against Prosody (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'prosody');
  });
  const url = `xmpp://${HOST}:${PORTS.xmpp}`;
  const ca = `${INTEROP_RUN}/prosody/cert.pem`;
  const jid = `alice@${XMPP_DOMAIN}`;

  it('mechs: nothing before STARTTLS; SCRAM and PLAIN after it, and -PLUS with TLS 1.2', async () => {
    const tls13 = await runCli(['mechs', url, '--domain', XMPP_DOMAIN, '--starttls', '--ca', ca, '--json']);
    expect(tls13.code, tls13.err).to.equal(0);
    const parsed = JSON.parse(tls13.out) as {
      before: string[];
      after: string[];
      tls: { certificateVerified: boolean };
    };
    expect(parsed.before).to.deep.equal([]);
    expect(parsed.after).to.have.members(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    expect(parsed.tls.certificateVerified).to.equal(true);
    const tls12 = await runCli([
      'mechs',
      url,
      '--domain',
      XMPP_DOMAIN,
      '--starttls',
      '--ca',
      ca,
      '--tls-max',
      '1.2',
      '--json',
    ]);
    expect((JSON.parse(tls12.out) as { after: string[] }).after).to.include.members([
      'SCRAM-SHA-256-PLUS',
      'SCRAM-SHA-1-PLUS',
    ]);
  });

  it('login: SCRAM-SHA-256 over TLS 1.3, SCRAM-SHA-256-PLUS with tls-unique over TLS 1.2', async () => {
    const scram = await runCli(['login', url, '--starttls', '--ca', ca, '--user', jid], { env: ALICE });
    expect(scram.code, scram.err).to.equal(0);
    expect(scram.out).to.match(
      /^authenticated as alice@localhost with SCRAM-SHA-256 over TLSv1\.3; the server proved it knows the credentials;/,
    );
    const plus = await runCli(['login', url, '--starttls', '--ca', ca, '--tls-max', '1.2', '--user', jid, '--json'], {
      env: ALICE,
    });
    expect(plus.code, plus.err).to.equal(0);
    expect(JSON.parse(plus.out)).to.include({
      mechanism: 'SCRAM-SHA-256-PLUS',
      tls: 'TLSv1.2',
      channelBinding: 'tls-unique',
      serverVerified: true,
      certificateVerified: true,
    });
  });

  it('a wrong password exits 1; without STARTTLS, exit 3 says to add --starttls', async () => {
    const wrong = await loginWith('wrong-secret', [url, '--starttls', '--ca', ca, '--user', jid]);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.match(/^saslkit login: AUTHENTICATION_FAILED: [^\n]*not-authorized[^\n]*\n$/);
    expect(wrong.err).to.not.include('wrong-secret');
    const clear = await runCli(['login', url, '--user', jid], { env: ALICE });
    expect(clear.code).to.equal(3);
    expect(clear.err).to.match(/offers nothing before TLS: add --starttls/);
  });
});
