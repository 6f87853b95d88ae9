import { expect } from 'chai';
import { runCli } from './support.js';

const COMMANDS = ['demo', 'mechs', 'login', 'serve', 'secret'];

describe('cli/main', () => {
  it('has --help for every command, with examples and the exit codes', async () => {
    for (const command of COMMANDS) {
      for (const argv of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const { code, out, err } = await runCli(argv);
        expect(code, argv.join(' ')).to.equal(0);
        expect(err).to.equal('');
        expect(out).to.match(new RegExp(`^Usage: saslkit ${command}`));
        expect(out).to.include('Examples:');
        expect(out).to.match(/Exit codes/);
      }
    }
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    for (const command of COMMANDS) expect(top.out).to.match(new RegExp(`\\n  ${command} `));
    expect(top.out).to.include('  5    the server failed to prove it knows the credentials');
  });

  it('exits 2 with usage for no command or an unknown one, and prints the version', async () => {
    const none = await runCli([]);
    expect(none.code).to.equal(2);
    expect(none.err).to.match(/^Usage: saslkit <command>/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.err).to.equal(
      'saslkit: unknown command "frobnicate"; commands: demo, mechs, login, serve, secret (saslkit --help)\n',
    );
    expect((await runCli(['__proto__'])).code).to.equal(2);
    const version = await runCli(['--version']);
    expect(version.out).to.match(/^saslkit \d+\.\d+\.\d+\n$/);
  });
});
