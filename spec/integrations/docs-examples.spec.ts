/**
 * The complete examples of docs/integrations.md (blocks whose info string says `runnable: <name>`),
 * run as the programs they are, against the real peers: the nodemailer one sends through
 * Dovecot's submission service with SCRAM-SHA-256; the smtp-server one runs smtp-server and
 * nodemailer in one process. Each block is written to a temporary file with its `saslkit`
 * imports pointed at lib/ (the snippet check type-checks the same blocks against the build) and
 * run with ts-node in a child process, whose exit code and output are checked.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, XMPP_DOMAIN, requirePeer } from '../interop/peers.js';

const REPO = join(__dirname, '..', '..');
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  saslkit: join(REPO, 'lib', 'index.ts'),
  'saslkit/nodemailer': join(REPO, 'lib', 'integrations', 'nodemailer.ts'),
  'saslkit/smtp-server': join(REPO, 'lib', 'integrations', 'smtp-server.ts'),
  'saslkit/xmpp.js': join(REPO, 'lib', 'integrations', 'xmppjs.ts'),
};

/** The `runnable: <name>` blocks of docs/integrations.md, by name. */
function runnableBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  const text = readFileSync(join(REPO, 'docs', 'integrations.md'), 'utf8');
  for (const match of text.matchAll(/^```ts runnable: ([\w-]+)\n([\s\S]*?)^```$/gm))
    blocks.set(match[1] ?? '', match[2] ?? '');
  return blocks;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a block as a program; its saslkit imports load lib/, everything else the repo's node_modules. */
function runBlock(code: string, env: Readonly<Record<string, string>>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-docs-example-'));
  const file = join(dir, 'example.ts');
  writeFileSync(
    file,
    code.replace(/from '(saslkit(?:\/[\w.-]+)?)'/g, (whole, name: string) =>
      ENTRY_POINTS[name] === undefined ? whole : `from ${JSON.stringify(ENTRY_POINTS[name])}`,
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', file],
      {
        cwd: REPO,
        timeout: 60_000,
        env: {
          ...process.env,
          TS_NODE_PROJECT: join(REPO, 'tsconfig.json'),
          NODE_PATH: join(REPO, 'node_modules'),
          ...env,
        },
      },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      },
    );
  });
}

describe('docs/integrations.md: the complete examples run', function () {
  this.timeout(90_000);
  const blocks = runnableBlocks();

  it('has the three runnable examples', () => {
    expect([...blocks.keys()]).to.deep.equal(['nodemailer-submission', 'smtp-server', 'xmppjs-prosody']);
  });

  it("nodemailer-submission: sends through Dovecot's submission service with SCRAM-SHA-256 as bob", async function () {
    await requirePeer(this, 'dovecot');
    const run = await runBlock(blocks.get('nodemailer-submission') ?? '', {
      SMTP_HOST: HOST,
      SMTP_PORT: String(PORTS.submission),
      SMTP_USER: ACCOUNTS.bob.user,
      SMTP_PASS: ACCOUNTS.bob.pass,
      SMTP_TLS_INSECURE: '1',
    });
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^sent with SCRAM-SHA-256: 250 /);
  });

  it('smtp-server: three kinds of stored accounts log in, a wrong password is refused with 535', async () => {
    const run = await runBlock(blocks.get('smtp-server') ?? '', {});
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    expect(run.stdout.trim().split('\n')).to.deep.equal([
      'message from alice',
      'CRAM-MD5 as alice: sent',
      'message from carol',
      'LOGIN as carol: sent',
      'message from bob',
      'PLAIN as bob: sent',
      'PLAIN as bob: refused, Invalid login: 535 5.7.8 Authentication credentials invalid',
    ]);
  });

  it('xmppjs-prosody: @xmpp/client with saslkit logs in to Prosody with SCRAM-SHA-256 and checks the signature; a wrong password exits 1', async function () {
    await requirePeer(this, 'prosody');
    // xmpp.js trusts only the system CAs: Prosody's self-signed certificate comes in as an extra CA, as the docs say.
    const env = {
      XMPP_SERVICE: `xmpp://${XMPP_DOMAIN}:${String(PORTS.xmpp)}`,
      XMPP_DOMAIN,
      XMPP_USER: ACCOUNTS.alice.user,
      NODE_EXTRA_CA_CERTS: `${INTEROP_RUN}/prosody/cert.pem`,
    };
    const run = await runBlock(blocks.get('xmppjs-prosody') ?? '', { ...env, XMPP_PASSWORD: ACCOUNTS.alice.pass });
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    const [login, online, ...rest] = run.stdout.trim().split('\n');
    expect(login).to.equal('SCRAM-SHA-256, server verified: true, GS2 flag y');
    expect(online).to.match(new RegExp(`^online as ${ACCOUNTS.alice.user}@${XMPP_DOMAIN}/\\S+$`));
    expect(rest).to.deep.equal([]);
    const refused = await runBlock(blocks.get('xmppjs-prosody') ?? '', { ...env, XMPP_PASSWORD: 'not-the-password' });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/AuthenticationFailedError/);
    expect(refused.stderr + refused.stdout).to.not.include('not-the-password');
  });
});
