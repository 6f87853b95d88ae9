/**
 * The CLI against Dovecot 2.3 (spec/interop peers): `login` and `mechs` against its IMAP, POP3
 * and submission services, `serve` with the very passwd-file Dovecot uses, and `secret` output
 * checked by `doveadm pw -t`. Skipped on a developer machine without the peers; fails under CI.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, requirePeer } from '../interop/peers.js';
import { loginWith, runChild, runCli, startServe } from './support.js';

describe('cli against Dovecot (interop)', function () {
  this.timeout(120000);
  before(async function () {
    await requirePeer(this, 'dovecot');
  });
  const imap = `imap://${HOST}:${PORTS.imap}`;
  // Dovecot's own self-signed certificate names localhost only: trust it blindly here.
  const tls = ['--starttls', '--insecure', '--timeout', '30'];

  it('mechs lists what Dovecot advertises before and after STARTTLS', async () => {
    const result = await runCli(['mechs', imap, ...tls, '--json']);
    expect(result.code, result.err).to.equal(0);
    const report = JSON.parse(result.out) as { before: string[]; after: string[]; tls: { channelBinding: string[] } };
    expect(report.after).to.include.members(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'OAUTHBEARER']);
    // Dovecot 2.3 has no channel binding: no -PLUS even over TLS.
    expect(report.after.some((name) => name.endsWith('-PLUS'))).to.equal(false);
  });

  it('login: the strongest mechanism, named ones, proxy authorization and a token, on IMAP, POP3 and submission', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        [imap, ...tls, '--user', 'alice'],
        { SASLKIT_PASSWORD: ACCOUNTS.alice.pass },
        /^authenticated as alice with SCRAM-SHA-256 over TLSv1\.[23] \(certificate not verified\); the server proved/,
      ],
      [
        [`pop3://${HOST}:${PORTS.pop3}`, ...tls, '--user', 'bob'],
        { SASLKIT_PASSWORD: ACCOUNTS.bob.pass },
        /with SCRAM-SHA-256 /,
      ],
      [
        [`submission://${HOST}:${PORTS.submission}`, ...tls, '--user', 'dave', '--mech', 'SCRAM-SHA-1'],
        { SASLKIT_PASSWORD: ACCOUNTS.dave.pass },
        /with SCRAM-SHA-1 /,
      ],
      [
        [`imaps://${HOST}:${PORTS.imaps}`, '--insecure', '--user', 'alice', '--mech', 'DIGEST-MD5'],
        { SASLKIT_PASSWORD: ACCOUNTS.alice.pass },
        /with DIGEST-MD5 over TLS/,
      ],
      [
        [imap, ...tls, '--user', 'admin', '--authzid', 'alice', '--mech', 'PLAIN'],
        { SASLKIT_PASSWORD: ACCOUNTS.admin.pass },
        /^authenticated as admin \(acting as alice\) with PLAIN/,
      ],
      [
        [imap, ...tls, '--user', 'alice', '--mech', 'OAUTHBEARER'],
        { SASLKIT_TOKEN: ACCOUNTS.aliceToken },
        /with OAUTHBEARER /,
      ],
    ];
    for (const [argv, env, expected] of cases) {
      const result = await runCli(['login', ...argv], { env });
      expect(result.code, `${argv.join(' ')}: ${result.err}`).to.equal(0);
      expect(result.out).to.match(expected);
    }
    // One failure, last: Dovecot delays the next attempt from this address after it.
    const wrong = await loginWith('wrong-secret', [imap, ...tls, '--user', 'alice', '--mech', 'PLAIN']);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.match(
      /^saslkit login: AUTHENTICATION_FAILED: the IMAP server refused authentication: NO \[AUTHENTICATIONFAILED\]/,
    );
    expect(wrong.err).to.not.include('wrong-secret');
  });

  it('serve reads the passwd-file Dovecot uses; its accounts log in through saslkit login', async () => {
    const serve = await startServe(
      'imap',
      join(INTEROP_RUN, 'dovecot', 'users'),
      '--tls-self-signed',
      '--mechs',
      'SCRAM-SHA-256-PLUS,SCRAM-SHA-256,SCRAM-SHA-1,PLAIN',
    );
    try {
      // carol is stored as Dovecot's {CRAM-MD5} HMAC states: read too, she logs in with PLAIN (CRAM-MD5 is in spec/cli/protocols.spec.ts).
      expect(serve.output.err()).to.not.match(/"carol" left out/);
      const url = `imap://127.0.0.1:${serve.port}`;
      for (const [user, mech, pass] of [
        ['alice', 'PLAIN', ACCOUNTS.alice.pass],
        ['bob', 'SCRAM-SHA-256-PLUS', ACCOUNTS.bob.pass],
        ['dave', 'SCRAM-SHA-1', ACCOUNTS.dave.pass],
        ['carol', 'PLAIN', ACCOUNTS.carol.pass],
      ] as const) {
        const result = await loginWith(pass, [url, ...tls, '--user', user, '--mech', mech]);
        expect(result.code, `${user}: ${result.err}`).to.equal(0);
      }
    } finally {
      expect(await serve.stop()).to.equal(0);
    }
  });

  it('secret output is accepted by doveadm pw -t', async () => {
    for (const argv of [
      ['--format', 'dovecot'],
      ['--scheme', 'SCRAM-SHA-1', '--format', 'dovecot'],
      ['--scheme', 'PBKDF2'],
      ['--scheme', 'PBKDF2', '--iterations', '12345'],
    ]) {
      const made = await runCli(['secret', ...argv], { stdin: 'bob-pass\n' });
      expect(made.code, made.err).to.equal(0);
      const stored = made.out.trim();
      const ok = await runChild('doveadm', ['pw', '-t', stored, '-p', 'bob-pass'], { timeoutMs: 30000 });
      expect(ok.code, `${argv.join(' ')}: ${ok.stderr}`).to.equal(0);
      expect(ok.stdout).to.include('(verified)');
      const bad = await runChild('doveadm', ['pw', '-t', stored, '-p', 'bob-pas'], { timeoutMs: 30000 });
      expect(bad.code).to.not.equal(0);
    }
  });
});
