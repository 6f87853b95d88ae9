/**
 * The CLI against the other interop peers: `login` to nodemailer's smtp-server, `serve` taking
 * curl's STARTTLS logins on SMTP and IMAP, and a `secret --format postgres` that PostgreSQL
 * accepts for a role psql then logs in as. Skipped on a developer machine without the peers or
 * tools; fails under CI.
 */
import { expect } from 'chai';
import { Client } from 'pg';
import { ACCOUNTS, HOST, PORTS, requirePeer } from '../interop/peers.js';
import { requireTool, runTool } from '../interop/tools.js';
import { loginWith, runCli, startServe, tempDir } from './support.js';

describe('cli against smtp-server (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'smtp-server');
  });
  const smtp = `smtp://${HOST}:${PORTS.smtp}`;

  it('login succeeds with PLAIN, LOGIN, CRAM-MD5 and XOAUTH2', async () => {
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const result = await loginWith(ACCOUNTS.alice.pass, [smtp, '--user', 'alice', '--mech', mech, '--timeout', '20']);
      expect(result.code, `${mech}: ${result.err}`).to.equal(0);
      expect(result.out).to.match(new RegExp(`^authenticated as alice with ${mech} without TLS;`));
    }
    const oauth = await runCli(['login', smtp, '--user', 'alice', '--mech', 'XOAUTH2', '--timeout', '20'], {
      env: {
        SASLKIT_TOKEN: ACCOUNTS.aliceToken,
      },
    });
    expect(oauth.code, oauth.err).to.equal(0);
    expect(oauth.out).to.match(/^authenticated as alice with XOAUTH2 without TLS;/);
  });

  it('a wrong password exits 1 with a one-line reason and no secret', async () => {
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const wrong = await loginWith('wrong-secret', [smtp, '--user', 'alice', '--mech', mech, '--timeout', '20']);
      expect(wrong.code, mech).to.equal(1);
      expect(wrong.err).to.match(
        /^saslkit login: AUTHENTICATION_FAILED: the SMTP server refused authentication: 535 [^\n]*\n$/,
      );
      expect(wrong.err + wrong.out).to.not.include('wrong-secret');
      expect(wrong.err + wrong.out).to.not.include(Buffer.from('wrong-secret').toString('base64'));
    }
  });
});

describe('cli serve accepting curl over STARTTLS (interop)', function () {
  this.timeout(60000);
  const files = tempDir();
  const users = files.write('users', `alice:{PLAIN}${ACCOUNTS.alice.pass}\n`);
  // curl reads the credentials from a config file, so they stay out of any argv.
  const good = files.write('good.curlrc', `user = "alice:${ACCOUNTS.alice.pass}"\n`);
  const bad = files.write('bad.curlrc', 'user = "alice:wrong-secret"\n');
  before(async function () {
    await requireTool(this, 'curl');
  });
  after(() => {
    files.cleanup();
  });

  // Each command only authenticates and then asks for something harmless.
  const cases = [
    ['smtp', (port: number) => [`smtp://127.0.0.1:${port}`, '-X', 'NOOP']],
    ['imap', (port: number) => [`imap://127.0.0.1:${port}/`, '-X', 'CAPABILITY']],
  ] as const;
  for (const [protocol, target] of cases) {
    for (const mech of ['PLAIN', 'LOGIN']) {
      it(`${protocol}: curl logs in with AUTH=${mech}, and a wrong password is refused`, async () => {
        const serve = await startServe(protocol, users, '--tls-self-signed');
        try {
          const curl = (config: string): ReturnType<typeof runTool> =>
            runTool(
              'curl',
              [
                '-sS',
                '--max-time',
                '20',
                '-K',
                config,
                '--ssl-reqd',
                '--insecure',
                '--login-options',
                `AUTH=${mech}`,
                ...target(serve.port),
              ],
              { timeoutMs: 30000 },
            );
          const ok = await curl(good);
          expect(ok.code, ok.stderr).to.equal(0);
          const refused = await curl(bad);
          expect(refused.code).to.equal(67);
          expect(refused.stderr).to.include('Login denied');
        } finally {
          expect(await serve.stop()).to.equal(0);
        }
        const log = serve.output.out();
        expect(log).to.match(new RegExp(`\\n\\S+Z 127\\.0\\.0\\.1:\\d+ ${protocol}\\+tls ${mech} user="alice" ok\\n`));
        expect(log).to.match(
          new RegExp(
            `\\n\\S+Z 127\\.0\\.0\\.1:\\d+ ${protocol}\\+tls ${mech} user="alice" failed AUTHENTICATION_FAILED\\n`,
          ),
        );
        expect(log + serve.output.err()).to.not.include('wrong-secret');
        expect(log + serve.output.err()).to.not.include(ACCOUNTS.alice.pass);
      });
    }
  }
});

describe('cli secret accepted by PostgreSQL (interop)', function () {
  this.timeout(60000);
  const role = 'saslkit_cli_made';
  let admin: Client | undefined;

  before(async function () {
    await requirePeer(this, 'postgres');
    await requireTool(this, 'psql');
    admin = new Client({
      host: HOST,
      port: PORTS.postgres,
      user: ACCOUNTS.postgresSuperuser.user,
      password: ACCOUNTS.postgresSuperuser.pass,
      database: 'postgres',
      connectionTimeoutMillis: 10_000,
      query_timeout: 10_000,
    });
    await admin.connect();
  });

  after(async () => {
    if (admin === undefined) return;
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('ALTER ROLE with `secret --scheme SCRAM-SHA-256 --format postgres`, then psql logs in with the password', async () => {
    const password = 'cli-made-pass';
    const made = await runCli(['secret', '--scheme', 'SCRAM-SHA-256', '--format', 'postgres'], {
      stdin: `${password}\n`,
    });
    expect(made.code, made.err).to.equal(0);
    const text = made.out.trim();
    expect(text).to.match(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(made.out + made.err).to.not.include(password);
    await admin!.query(`DROP ROLE IF EXISTS ${role}`);
    await admin!.query(`CREATE ROLE ${role} LOGIN`);
    // DDL takes no parameters; the text was just checked to hold no quote.
    await admin!.query(`ALTER ROLE ${role} PASSWORD '${text}'`);
    const stored = await admin!.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      role,
    ]);
    expect(stored.rows[0]!.rolpassword).to.equal(text);
    const conninfo = `host=${HOST} port=${PORTS.postgres} user=${role} dbname=postgres sslmode=disable`;
    const psql = (pass: string): ReturnType<typeof runTool> =>
      runTool('psql', [conninfo, '-XAtc', 'select current_user'], {
        env: { PGPASSWORD: pass, PGCONNECT_TIMEOUT: '10' },
        timeoutMs: 20000,
      });
    const ok = await psql(password);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal(role);
    const wrong = await psql('cli-made-wrong');
    expect(wrong.code).to.not.equal(0);
    expect(wrong.stderr).to.include('password authentication failed');
  });
});
