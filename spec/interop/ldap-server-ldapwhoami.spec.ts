/**
 * OpenLDAP's ldapwhoami (ldap-utils 2.5, Cyrus SASL 2.1.28) against saslkit's LDAP server
 * (serveLdapSocket on 127.0.0.1, started and closed by this spec): PLAIN, SCRAM-SHA-256,
 * DIGEST-MD5, CRAM-MD5, SCRAM-SHA-256-PLUS after StartTLS (OpenLDAP's `p=ldap` binding, named
 * without -PLUS by Cyrus), EXTERNAL with alice's client certificate after StartTLS, an anonymous
 * simple bind, and wrong passwords refused with invalidCredentials (exit 49). Runs where slapd
 * runs: the suite needs the slapd peer's CA and alice's certificate, and ldapwhoami.
 */
import { expect } from 'chai';
import { type Server, type Socket, createServer } from 'node:net';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Authenticated, ClearIdentity, SASLAuth, serveLdapSocket } from '../../lib/index.js';
import { ACCOUNTS, HOST, TLS_FILES, requirePeer } from './peers.js';
import { requireTool, runTool } from './tools.js';

const { alice } = ACCOUNTS;
const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');

describe('interop: ldapwhoami against the saslkit LDAP server', function () {
  this.timeout(60_000);
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const binds: Authenticated[] = [];
  let url = '';

  before(async function () {
    // alice's client certificate and the CA that signed it come from the slapd peer.
    await requirePeer(this, 'slapd');
    await requireTool(this, 'ldapwhoami');
    const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'EXTERNAL']);
    const accounts = new Map<string, ClearIdentity>([[alice.user, new ClearIdentity(alice.user, alice.pass)]]);
    const tls = {
      key: readFileSync(join(TLS_DIR, 'rsa-sha256.key')),
      cert: readFileSync(join(TLS_DIR, 'rsa-sha256.crt')),
      ca: readFileSync(TLS_FILES.ldapCa),
    };
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      const certificateIdentity = (secure: import('node:tls').TLSSocket): string | undefined => {
        const subject = secure.getPeerCertificate().subject as Record<string, unknown> | undefined;
        return typeof subject?.['CN'] === 'string' ? subject['CN'] : undefined;
      };
      // Cyrus names the server by its reverse-DNS name (this machine's) in DIGEST-MD5's digest-uri.
      const options = {
        lookup: (authcid: string) => accounts.get(authcid),
        hostname: 'localhost',
        hostAliases: [hostname()],
      };
      serveLdapSocket(
        socket,
        {
          auth,
          options,
          tls,
          requestCert: true,
          certificateIdentity,
          session: { signal: AbortSignal.timeout(20_000) },
        },
        (who) => {
          binds.push(who);
        },
      ).catch(() => undefined);
    });
    await new Promise<void>((resolve) => server?.listen(0, HOST, resolve));
    const address = server.address();
    url = `ldap://${HOST}:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      if (server === undefined) resolve();
      else
        server.close(() => {
          resolve();
        });
    });
  });

  beforeEach(() => {
    binds.length = 0;
  });

  // The password is on the command line (-w) because ldapwhoami has no other non-interactive
  // way for SASL; it is a public test fixture. -Q (quiet SASL) does not go with -x.
  const whoami = (args: string[], env: Record<string, string> = {}) =>
    runTool('ldapwhoami', [...(args.includes('-x') ? [] : ['-Q']), ...args, '-H', url], {
      env: { LDAPTLS_REQCERT: 'never', ...env },
    });

  const passwordMechanisms: [string, string[]][] = [
    // PLAIN sends the password itself: the server offers it only after StartTLS.
    ['PLAIN', ['-ZZ']],
    ['SCRAM-SHA-256', []],
    ['DIGEST-MD5', []],
    ['CRAM-MD5', []],
  ];
  for (const [mechanism, extra] of passwordMechanisms) {
    it(`ldapwhoami -Y ${mechanism}: u:alice`, async () => {
      const run = await whoami([...extra, '-Y', mechanism, '-U', alice.user, '-w', alice.pass]);
      expect(run.stderr).to.equal('');
      expect(run.stdout.trim()).to.equal('u:alice');
      expect(run.code).to.equal(0);
      expect(binds.map((who) => [who.mechanism, who.authcid])).to.deep.equal([[mechanism, alice.user]]);
    });

    it(`ldapwhoami -Y ${mechanism} with a wrong password: invalidCredentials (49)`, async () => {
      const run = await whoami([...extra, '-Y', mechanism, '-U', alice.user, '-w', 'not-alice-pass']);
      expect(run.code).to.equal(49);
      expect(run.stderr).to.include('Invalid credentials (49)');
      expect(binds).to.deep.equal([]);
    });
  }

  it('ldapwhoami -ZZ -Y SCRAM-SHA-256-PLUS (StartTLS, tls-server-end-point as OpenLDAP sends it)', async () => {
    const run = await whoami(['-ZZ', '-Y', 'SCRAM-SHA-256-PLUS', '-U', alice.user, '-w', alice.pass], {
      LDAPSASL_CBINDING: 'tls-endpoint',
    });
    expect(run.stdout.trim()).to.equal('u:alice');
    expect(binds.map((who) => who.mechanism)).to.deep.equal(['SCRAM-SHA-256-PLUS']);
  });

  it("ldapwhoami -ZZ -Y EXTERNAL with alice's client certificate", async () => {
    const run = await whoami(['-ZZ', '-Y', 'EXTERNAL'], {
      LDAPTLS_CERT: TLS_FILES.ldapAliceCert,
      LDAPTLS_KEY: TLS_FILES.ldapAliceKey,
    });
    expect(run.stdout.trim()).to.equal('u:alice');
    expect(binds.map((who) => [who.mechanism, who.authcid])).to.deep.equal([['EXTERNAL', 'alice']]);
  });

  it('ldapwhoami -ZZ -Y EXTERNAL without a certificate: not offered, no bind', async () => {
    const run = await whoami(['-ZZ', '-Y', 'EXTERNAL']);
    expect(run.code).not.to.equal(0);
    expect(run.stdout).to.equal('');
    expect(binds).to.deep.equal([]);
  });

  it('ldapwhoami -x (anonymous simple bind): anonymous', async () => {
    const run = await whoami(['-x']);
    expect(run.code).to.equal(0);
    expect(run.stdout.trim()).to.equal('anonymous');
  });
});
