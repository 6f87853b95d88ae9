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
import { ACCOUNTS, HOST, PORTS, requirePeer } from '../interop/peers.js';

const REPO = join(__dirname, '..', '..');
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  saslkit: join(REPO, 'lib', 'index.ts'),
  'saslkit/nodemailer': join(REPO, 'lib', 'integrations', 'nodemailer.ts'),
  'saslkit/smtp-server': join(REPO, 'lib', 'integrations', 'smtp-server.ts'),
};

/** The `runnable: <name>` blocks of docs/integrations.md, by name. */
function runnableBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  const text = readFileSync(join(REPO, 'docs', 'integrations.md'), 'utf8');
  for (const match of text.matchAll(/^```ts runnable: ([\w-]+)\n([\s\S]*?)^```$/gm)) blocks.set(match[1] ?? '', match[2] ?? '');
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
  writeFileSync(file, code.replace(/from '(saslkit(?:\/[\w-]+)?)'/g, (whole, name: string) => (ENTRY_POINTS[name] === undefined ? whole : `from ${JSON.stringify(ENTRY_POINTS[name])}`)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', file],
      { cwd: REPO, timeout: 60_000, env: { ...process.env, TS_NODE_PROJECT: join(REPO, 'tsconfig.json'), NODE_PATH: join(REPO, 'node_modules'), ...env } },
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

  it('has the two runnable examples', () => {
    expect([...blocks.keys()]).to.deep.equal(['nodemailer-submission', 'smtp-server']);
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
});
