/**
 * Smoke checks of the interop peers themselves: each one answers and offers the mechanisms
 * the other interop specs rely on. A failure here means the harness, not saslkit, is broken.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { LineClient } from './line-client.js';
import { ACCOUNTS, HOST, PORTS, requirePeer } from './peers.js';

/** Runs psql against the interop PostgreSQL; resolves with its exit code and output. */
function psql(
  user: string,
  password: string,
  extra: string,
  sql: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const conninfo = `host=${HOST} port=${PORTS.postgres} user=${user} dbname=postgres ${extra}`;
  return new Promise((resolve) => {
    execFile(
      'psql',
      [conninfo, '-XAtc', sql],
      { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout: stdout.trim(), stderr });
      },
    );
  });
}

/** Mechanism names from an SMTP EHLO `250[- ]AUTH A B C` line. */
const smtpMechanisms = (line: string): string[] => line.replace(/^250[- ]AUTH /, '').split(' ');

/** Mechanism names from an `AUTH=X` capability list (IMAP). */
const imapMechanisms = (capabilities: string): string[] =>
  capabilities
    .split(' ')
    .filter((word) => word.startsWith('AUTH='))
    .map((word) => word.slice(5));

const DOVECOT_MECHANISMS = [
  'PLAIN',
  'LOGIN',
  'CRAM-MD5',
  'DIGEST-MD5',
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'ANONYMOUS',
  'OAUTHBEARER',
  'XOAUTH2',
];

/** Connects to a peer's `port`, runs `talk` on the connection and closes it however `talk` ends. */
async function talkTo<T>(port: number, talk: (client: LineClient) => Promise<T>): Promise<T> {
  const client = await LineClient.connect(port);
  try {
    return await talk(client);
  } finally {
    client.close();
  }
}

/** The mechanisms an SMTP server at `port` lists in the AUTH line of its EHLO reply. */
function ehloMechanisms(port: number): Promise<string[]> {
  return talkTo(port, async (smtp) => {
    expect(await smtp.readLine()).to.match(/^220 /);
    smtp.send('EHLO localhost');
    const lines = await smtp.readUntil((line) => line.startsWith('250 '));
    const auth = lines.find((line) => /^250[- ]AUTH /.test(line));
    expect(auth, 'AUTH line').to.be.a('string');
    smtp.send('QUIT');
    return smtpMechanisms(auth!);
  });
}

describe('interop peers', function () {
  describe('Dovecot', function () {
    before(async function () {
      await requirePeer(this, 'dovecot');
    });

    it('IMAP greets and lists its SASL mechanisms with SASL-IR in CAPABILITY', async () => {
      await talkTo(PORTS.imap, async (imap) => {
        expect(await imap.readLine()).to.match(/^\* OK /);
        imap.send('a1 CAPABILITY');
        const lines = await imap.readUntil((line) => line.startsWith('a1 '));
        expect(lines.at(-1)).to.match(/^a1 OK/);
        const capability = lines.find((line) => line.startsWith('* CAPABILITY '));
        expect(capability, 'CAPABILITY line').to.be.a('string');
        expect(capability!.split(' ')).to.include('SASL-IR');
        expect(imapMechanisms(capability!)).to.have.members(DOVECOT_MECHANISMS);
        imap.send('a2 LOGOUT');
        await imap.readUntil((line) => line.startsWith('a2 '));
      });
    });

    it('POP3 greets and lists the same mechanisms in CAPA', async () => {
      await talkTo(PORTS.pop3, async (pop3) => {
        expect(await pop3.readLine()).to.match(/^\+OK/);
        pop3.send('CAPA');
        const lines = await pop3.readUntil((line) => line === '.');
        const sasl = lines.find((line) => line.startsWith('SASL '));
        expect(sasl, 'SASL line').to.be.a('string');
        expect(sasl!.split(' ').slice(1)).to.have.members(DOVECOT_MECHANISMS);
        pop3.send('QUIT');
      });
    });

    it('submission greets and lists the same mechanisms after EHLO', async () => {
      // Dovecot offers ANONYMOUS to IMAP and POP3 only: anonymous mail submission is refused.
      expect(await ehloMechanisms(PORTS.submission)).to.have.members(
        DOVECOT_MECHANISMS.filter((name) => name !== 'ANONYMOUS'),
      );
    });
  });

  describe('PostgreSQL', function () {
    before(async function () {
      await requirePeer(this, 'postgres');
    });

    it('logs alice in with SCRAM-SHA-256 through psql', async () => {
      const result = await psql(ACCOUNTS.alice.user, ACCOUNTS.alice.pass, 'sslmode=disable', 'select current_user');
      expect(result.stderr).to.equal('');
      expect(result).to.include({ code: 0, stdout: 'alice' });
    });

    it('logs alice in with SCRAM-SHA-256-PLUS (channel binding over TLS) through psql', async () => {
      const result = await psql(
        ACCOUNTS.alice.user,
        ACCOUNTS.alice.pass,
        'sslmode=require channel_binding=require',
        'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
      );
      expect(result.stderr).to.equal('');
      expect(result).to.include({ code: 0, stdout: 't' });
    });

    it('refuses a wrong password', async () => {
      const result = await psql(ACCOUNTS.bob.user, 'not-bob-pass', 'sslmode=disable', 'select 1');
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.include('password authentication failed for user "bob"');
    });
  });

  describe('smtp-server', function () {
    before(async function () {
      await requirePeer(this, 'smtp-server');
    });

    it('greets and offers AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 after EHLO', async () => {
      expect(await ehloMechanisms(PORTS.smtp)).to.have.members(['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2']);
    });
  });
});
