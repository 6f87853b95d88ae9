/**
 * Runs the `saslkit` lines of docs/cli.md's "ManageSieve, XMPP and PostgreSQL", "IRC" and
 * "LDAP" sections, as written, against the interop peers (issue 14 item 5, issue 15 item 5:
 * each documented example runs in CI against the real peer). Skipped without the peers on a
 * developer machine; fails under CI.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../lib/cli/main.js';
import { INTEROP_RUN, requirePeer } from '../interop/peers.js';
import { ROOT, memoryIo } from './support.js';

/** The `saslkit ...` lines of a section's sh blocks, as argument lists. */
function documentedCommands(heading: string): string[][] {
  const page = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
  const start = page.indexOf(heading);
  expect(start, 'the section exists').to.be.greaterThan(-1);
  const end = page.indexOf('\n## ', start + heading.length);
  const section = page.slice(start, end === -1 ? undefined : end);
  const commands: string[][] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.startsWith('saslkit '))
        commands.push(
          line
            .split(/\s+/)
            .slice(1)
            .map((word) => word.replace('/tmp/saslkit-interop', INTEROP_RUN)),
        );
    }
  }
  return commands;
}

describe('docs/cli.md: the ManageSieve, XMPP and PostgreSQL examples run against the peers (interop)', function () {
  this.timeout(120000);
  before(async function () {
    await requirePeer(this, 'dovecot-managesieve');
    await requirePeer(this, 'prosody');
    await requirePeer(this, 'postgres');
  });

  it('every documented command exits 0', async () => {
    const commands = documentedCommands('## ManageSieve, XMPP and PostgreSQL');
    expect(commands.map((argv) => `${argv[0] ?? ''} ${argv[1]?.replace(/:.*/, '') ?? ''}`)).to.include.members([
      'mechs sieve',
      'login sieve',
      'mechs xmpp',
      'login xmpp',
      'mechs postgres',
      'login postgres',
    ]);
    await runAll(commands);
  });
});

/** Runs each command with alice's password at hand; each exits 0, and a login says it logged in as alice. */
async function runAll(commands: readonly string[][]): Promise<void> {
  for (const argv of commands) {
    const io = memoryIo({ env: { SASLKIT_PASSWORD: 'alice-pass' } });
    const code = await main(argv, io.io);
    expect(code, `saslkit ${argv.join(' ')}: ${io.err()}`).to.equal(0);
    if (argv[0] === 'login')
      expect(io.out()).to.match(argv.includes('EXTERNAL') ? /^authenticated with EXTERNAL/ : /^authenticated as alice/);
  }
}

describe('docs/cli.md: the LDAP examples run against slapd (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'slapd');
  });

  it('every documented command exits 0', async () => {
    const commands = documentedCommands('## LDAP');
    expect(commands.map((argv) => `${argv[0] ?? ''} ${argv[1]?.replace(/:.*/, '') ?? ''}`)).to.include.members([
      'mechs ldap',
      'login ldap',
      'login ldaps',
    ]);
    await runAll(commands);
  });
});

describe('docs/cli.md: the IRC examples run against InspIRCd + Atheme (interop)', function () {
  this.timeout(60000);
  before(async function () {
    await requirePeer(this, 'irc');
  });

  it('every documented command exits 0', async () => {
    const commands = documentedCommands('## IRC');
    expect(commands.map((argv) => `${argv[0] ?? ''} ${argv[1]?.replace(/:.*/, '') ?? ''}`)).to.include.members([
      'mechs irc',
      'login irc',
      'login ircs',
    ]);
    await runAll(commands);
  });
});
