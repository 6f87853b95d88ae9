import { expect } from 'chai';
import { DovecotPbkdf2Hasher, HashedIdentity, ScramIdentity, ScramSecret, detectHasher } from '../../lib/index.js';
import { main } from '../../lib/cli/main.js';
import { ARGV_SECRET_REFUSED } from '../../lib/cli/args.js';
import { parsePasswdFile } from '../../lib/cli/passwd-file.js';
import { childEnv, cliCommand, memoryIo, runChild, tempDir } from './support.js';

async function secret(
  argv: string[],
  stdin = 'bob-pass\n',
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo({ stdin, env });
  const code = await main(['secret', ...argv], io.io);
  return { code, out: io.out(), err: io.err() };
}

describe('cli/secret', function () {
  this.timeout(60000);

  it('prints an RFC 5803 SCRAM-SHA-256 secret by default that parses back and verifies', async () => {
    const { code, out, err } = await secret([]);
    expect(code, err).to.equal(0);
    expect(out).to.match(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}\n$/);
    const parsed = ScramSecret.parse(out.trim());
    expect(parsed.hash).to.equal('SHA-256');
    expect(parsed.format()).to.equal(out.trim());
    const identity = new ScramIdentity('bob', out.trim());
    // The trailing newline of the input is not part of the password.
    expect(identity.compareSecret('bob-pass')).to.equal(true);
    expect(identity.compareSecret('bob-pass\n')).to.equal(false);
    expect(out).to.not.include('bob-pass');
  });

  it('writes every scheme and format, each verified by the reader that consumes it', async () => {
    const scram1 = (
      await secret(['--scheme', 'scram-sha-1', '--format', 'dovecot', '--iterations', '10000'])
    ).out.trim();
    expect(scram1).to.match(/^\{SCRAM-SHA-1\}10000,/);
    expect(new ScramIdentity('bob', scram1).compareSecret('bob-pass')).to.equal(true);
    const scram512 = (await secret(['--scheme', 'SCRAM-SHA-512'])).out.trim();
    expect(ScramSecret.parse(scram512).iterations).to.equal(10000);
    expect(new ScramIdentity('bob', scram512).compareSecret('bob-pass')).to.equal(true);
    const postgres = (await secret(['--format', 'postgres'])).out.trim();
    expect(postgres).to.match(/^SCRAM-SHA-256\$4096:/);
    const dovecot = (await secret(['--scheme', 'PBKDF2'])).out.trim();
    expect(dovecot).to.match(/^\{PBKDF2\}\$1\$[./0-9A-Za-z]{16}\$5000\$[0-9a-f]{40}$/);
    expect(new DovecotPbkdf2Hasher().verify('bob-pass', dovecot.slice('{PBKDF2}'.length))).to.equal(true);
    const pysasl = (await secret(['--format', 'pysasl', '--iterations', '1000'])).out.trim();
    expect(pysasl).to.match(/^\$pbkdf2-sha256\$1000\$/);
    expect(new HashedIdentity('bob', pysasl, detectHasher(pysasl)).compareSecret('bob-pass')).to.equal(true);
    const sha512 = (await secret(['--scheme', 'PBKDF2-SHA512', '--iterations', '1000'])).out.trim();
    expect(sha512).to.match(/^\$pbkdf2-sha512\$1000\$/);
  });

  it('--user writes passwd-file lines that serve (and Dovecot) read', async () => {
    const lines = [
      (await secret(['--user', 'bob'])).out,
      (await secret(['--user', 'carol', '--scheme', 'PBKDF2'], 'carol-pass')).out,
      (await secret(['--user', 'dave', '--format', 'pysasl', '--iterations', '1000'], 'dave-pass')).out,
    ].join('');
    expect(lines.split('\n')[0]).to.match(/^bob:\{SCRAM-SHA-256\}4096,/);
    const entries = parsePasswdFile(lines);
    expect(entries.map((e) => e.scheme)).to.deep.equal(['SCRAM-SHA-256', 'PBKDF2', 'PYSASL']);
    expect(entries.map((e) => e.identity.compareSecret(`${e.user}-pass`))).to.deep.equal([true, true, true]);
  });

  it('refuses a password argument, an empty password and formats that do not fit the scheme', async () => {
    const argv = await secret(['--password', 'hunter2']);
    expect(argv.code).to.equal(2);
    expect(argv.err).to.equal(`saslkit secret: ${ARGV_SECRET_REFUSED}\n`);
    const positional = await secret(['hunter2']);
    expect(positional.code).to.equal(2);
    expect(positional.err).to.not.include('hunter2');
    expect((await secret([], '')).err).to.equal('saslkit secret: the password is empty\n');
    expect((await secret([], '\n')).code).to.equal(2);
    for (const bad of [
      ['--format', 'pysasl', '--scheme', 'SCRAM-SHA-256'],
      ['--format', 'postgres', '--scheme', 'SCRAM-SHA-1'],
      ['--scheme', 'PBKDF2', '--format', 'rfc5803'],
      ['--iterations', '100'],
      ['--iterations', '5000001'],
      ['--user', 'a:b'],
      ['--scheme', 'MD5'],
    ]) {
      expect((await secret(bad)).code, bad.join(' ')).to.equal(2);
    }
  });

  it('reads SASLKIT_PASSWORD and --password-file too', async () => {
    const files = tempDir();
    try {
      const file = files.write('pw', 'file-pass\r\n');
      const fromFile = (await secret(['--password-file', file], '')).out.trim();
      expect(new ScramIdentity('x', fromFile).compareSecret('file-pass')).to.equal(true);
      const fromEnv = (await secret([], '', { SASLKIT_PASSWORD: 'env-pass' })).out.trim();
      expect(new ScramIdentity('x', fromEnv).compareSecret('env-pass')).to.equal(true);
      const missing = await secret(['--password-file', files.path('nope')], '');
      expect(missing.err).to.equal('saslkit secret: cannot read the password file: ENOENT\n');
    } finally {
      files.cleanup();
    }
  });

  it('prompts twice on a terminal without echoing the password (python3 pty)', async () => {
    const [node, args] = cliCommand(['secret', '--user', 'tty']);
    // A tiny pty driver: answers each prompt, then prints everything the terminal showed.
    const driver = `
import os, pty, sys, json, select, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b''
answers = [b'tty-pass\\r', b'tty-pass\\r']
deadline = time.time() + 90
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
        if answers and seen.count(b'assword: ') > 2 - len(answers):
            os.write(fd, answers.pop(0))
_, status = os.waitpid(pid, 0)
print(json.dumps({'status': os.waitstatus_to_exitcode(status), 'seen': seen.decode('utf-8', 'replace')}))
`;
    const result = await runChild('python3', ['-c', driver, node, ...args], { env: childEnv(), timeoutMs: 120000 });
    const report = JSON.parse(result.stdout) as { status: number; seen: string };
    expect(report.status, report.seen + result.stderr).to.equal(0);
    expect(report.seen).to.include('Password: ');
    expect(report.seen).to.include('Retype password: ');
    expect(report.seen).to.not.include('tty-pass');
    const line = report.seen.split(/\r?\n/).find((text) => text.startsWith('tty:'));
    expect(parsePasswdFile(`${line ?? ''}\n`)[0]?.identity.compareSecret('tty-pass')).to.equal(true);
  });
});
