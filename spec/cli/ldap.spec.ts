/**
 * The CLI's LDAP (issue 15 item 5): `login` and `mechs` for ldap:// (with --starttls) and
 * ldaps://, `serve --protocol ldap`, against saslkit's own server in this process (also with
 * OpenLDAP's ldapwhoami) and against the CI's slapd.
 */
import { expect } from 'chai';
import { ACCOUNTS, PORTS, TLS_FILES, requirePeer } from '../interop/peers.js';
import { requireTool, runTool } from '../interop/tools.js';
import { ALICE_USERS, CERT_FILE, SERVE_TLS, loginWith, runCli, serveDuring } from './support.js';

const ALICE = { SASLKIT_PASSWORD: 'alice-pass' };

describe('cli: serve --protocol ldap with saslkit mechs and login', function () {
  this.timeout(60000);
  const servers = serveDuring(ALICE_USERS, {
    serve: ['ldap', ...SERVE_TLS],
    ldaps: ['ldap', ...SERVE_TLS, '--implicit-tls'],
  });
  const url = (): string => `ldap://127.0.0.1:${servers.serve.port}`;

  it('mechs reads the rootDSE before and after StartTLS: -PLUS only over TLS, PLAIN not at all (only over ldaps)', async () => {
    const mechs = await runCli(['mechs', url(), '--starttls', '--ca', CERT_FILE, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    const offer = JSON.parse(mechs.out) as { before: string[]; after: string[]; protocol: string };
    expect(offer.protocol).to.equal('ldap');
    expect(offer.before).to.include('SCRAM-SHA-256').and.not.include('SCRAM-SHA-256-PLUS');
    expect(offer.before).to.not.include('PLAIN');
    expect(offer.after).to.include.members(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']).and.not.include('PLAIN');
    expect(servers.serve.output.out()).to.match(/after TLS: SCRAM-SHA-512-PLUS .*CRAM-MD5\n/);
    const secure = await runCli(['mechs', `ldaps://127.0.0.1:${servers.ldaps.port}`, '--ca', CERT_FILE, '--json']);
    expect(secure.code, secure.err).to.equal(0);
    expect((JSON.parse(secure.out) as { after: string[] }).after).to.include.members(['SCRAM-SHA-256-PLUS', 'PLAIN']);
  });

  it('login: SCRAM in clear, SCRAM-*-PLUS after StartTLS (tls-server-end-point), PLAIN over ldaps; a wrong password exits 1 and is logged', async () => {
    const scram = await runCli(['login', url(), '--user', 'alice'], { env: ALICE });
    expect(scram.code, scram.err).to.equal(0);
    expect(scram.out).to.match(
      /^authenticated as alice with SCRAM-SHA-512 without TLS; the server proved it knows the credentials/,
    );
    const bound = await runCli(
      ['login', url(), '--user', 'alice', '--starttls', '--ca', CERT_FILE, '--channel-binding', 'require', '--trace'],
      { env: ALICE },
    );
    expect(bound.code, bound.err).to.equal(0);
    expect(bound.out).to.match(
      /with SCRAM-SHA-512-PLUS over TLSv1\.3 with channel binding tls-server-end-point; the server proved/,
    );
    expect(bound.err).to.include('-- S: Who am I? "u:alice"');
    expect(bound.err).to.not.include('alice-pass');
    const plain = await runCli(
      ['login', `ldaps://127.0.0.1:${servers.ldaps.port}`, '--user', 'alice', '--ca', CERT_FILE, '--mech', 'PLAIN'],
      { env: ALICE },
    );
    expect(plain.code, plain.err).to.equal(0);
    const wrong = await loginWith('wrong-secret', [url(), '--user', 'alice', '--mech', 'SCRAM-SHA-256']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.match(/invalidCredentials/);
    expect(wrong.err).to.not.include('wrong-secret');
    const log = servers.serve.output.out();
    expect(log).to.match(/ldap SCRAM-SHA-512 user="alice" ok/);
    expect(log).to.match(/ldap\+tls SCRAM-SHA-512-PLUS user="alice" ok/);
    expect(log).to.match(/ldap SCRAM-SHA-256 user="alice" failed AUTHENTICATION_FAILED/);
    expect(servers.ldaps.output.out()).to.match(/ldap\+tls PLAIN user="alice" ok/);
  });

  it('ldapwhoami (OpenLDAP, Cyrus SASL) logs in with SCRAM-SHA-256 after StartTLS and gets u:alice; a wrong password exits 49', async function () {
    await requireTool(this, 'ldapwhoami');
    const env = { LDAPTLS_CACERT: CERT_FILE };
    const ok = await runTool(
      'ldapwhoami',
      ['-H', url(), '-ZZ', '-Y', 'SCRAM-SHA-256', '-U', 'alice', '-w', 'alice-pass'],
      { env },
    );
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal('u:alice');
    const wrong = await runTool(
      'ldapwhoami',
      ['-H', url(), '-Y', 'SCRAM-SHA-256', '-U', 'alice', '-w', 'wrong-secret'],
      { env },
    );
    expect(wrong.code).to.equal(49);
    expect(servers.serve.output.out()).to.match(/ldap\+tls SCRAM-SHA-256 user="alice" ok/);
  });
});

describe('cli against slapd (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'slapd');
  });
  const ldap = `ldap://127.0.0.1:${PORTS.ldap}`;
  const env = { SASLKIT_PASSWORD: ACCOUNTS.alice.pass };

  it('mechs lists supportedSASLMechanisms, and -PLUS after StartTLS', async () => {
    const mechs = await runCli(['mechs', ldap, '--starttls', '--ca', TLS_FILES.ldapCa, '--json']);
    expect(mechs.code, mechs.err).to.equal(0);
    const offer = JSON.parse(mechs.out) as { before: string[]; after: string[] };
    expect(offer.before).to.include.members(['SCRAM-SHA-256', 'DIGEST-MD5', 'PLAIN']);
    expect(offer.after).to.include('SCRAM-SHA-256-PLUS');
  });

  it('login: SCRAM chosen in clear, SCRAM-*-PLUS after StartTLS, DIGEST-MD5, PLAIN over ldaps, EXTERNAL by certificate; a wrong password exits 1', async () => {
    const scram = await runCli(['login', ldap, '--user', 'alice'], { env });
    expect(scram.code, scram.err).to.equal(0);
    expect(scram.out).to.match(/with SCRAM-SHA-\d+ without TLS; the server proved/);
    const bound = await runCli(
      ['login', ldap, '--user', 'alice', '--starttls', '--ca', TLS_FILES.ldapCa, '--channel-binding', 'require'],
      { env },
    );
    expect(bound.code, bound.err).to.equal(0);
    expect(bound.out).to.match(/with SCRAM-SHA-\d+-PLUS over TLSv1\.3 with channel binding tls-server-end-point/);
    const digest = await runCli(['login', ldap, '--user', 'alice', '--mech', 'DIGEST-MD5'], { env });
    expect(digest.code, digest.err).to.equal(0);
    const plain = await runCli(
      ['login', `ldaps://127.0.0.1:${PORTS.ldaps}`, '--user', 'alice', '--ca', TLS_FILES.ldapCa, '--mech', 'PLAIN'],
      { env },
    );
    expect(plain.code, plain.err).to.equal(0);
    const external = await runCli([
      'login',
      `ldaps://127.0.0.1:${PORTS.ldaps}`,
      '--ca',
      TLS_FILES.ldapCa,
      '--mech',
      'EXTERNAL',
      '--cert',
      TLS_FILES.ldapAliceCert,
      '--key',
      TLS_FILES.ldapAliceKey,
    ]);
    expect(external.code, external.err).to.equal(0);
    expect(external.out).to.match(/^authenticated with EXTERNAL over TLSv1\.3/);
    const wrong = await loginWith('wrong-secret', [ldap, '--user', 'alice', '--mech', 'SCRAM-SHA-256']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.not.include('wrong-secret');
  });
});
