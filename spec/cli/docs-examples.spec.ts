/**
 * Runs the `saslkit` lines of docs/cli.md's "ManageSieve, XMPP and PostgreSQL", "IRC" and
 * "LDAP" sections, as written, against the interop peers (issue 14 item 5, issue 15 item 5:
 * each documented example runs in CI against the real peer). Skipped without the peers on a
 * developer machine; fails under CI.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTEROP_RUN, type PeerName, requirePeer } from '../interop/peers.js';
import { ROOT, runCli } from './support.js';

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

/** Each section of docs/cli.md whose commands run against peers: the peers, and the commands it must show. */
const SECTIONS: readonly {
  readonly heading: string;
  readonly peers: readonly PeerName[];
  readonly shows: readonly string[];
}[] = [
  {
    heading: '## ManageSieve, XMPP and PostgreSQL',
    peers: ['dovecot-managesieve', 'prosody', 'postgres'],
    shows: ['mechs sieve', 'login sieve', 'mechs xmpp', 'login xmpp', 'mechs postgres', 'login postgres'],
  },
  { heading: '## LDAP', peers: ['slapd'], shows: ['mechs ldap', 'login ldap', 'login ldaps'] },
  { heading: '## IRC', peers: ['irc'], shows: ['mechs irc', 'login irc', 'login ircs'] },
];

for (const { heading, peers, shows } of SECTIONS) {
  describe(`docs/cli.md: the examples of "${heading.slice(3)}" run against ${peers.join(', ')} (interop)`, function () {
    this.timeout(120000);
    before(async function () {
      for (const peer of peers) await requirePeer(this, peer);
    });

    it('every documented command exits 0', async () => {
      const commands = documentedCommands(heading);
      expect(commands.map((argv) => `${argv[0] ?? ''} ${argv[1]?.replace(/:.*/, '') ?? ''}`)).to.include.members([
        ...shows,
      ]);
      await runAll(commands);
    });
  });
}

/** Runs each command with alice's password at hand; each exits 0, and a login says it logged in as alice. */
async function runAll(commands: readonly string[][]): Promise<void> {
  for (const argv of commands) {
    const { code, out, err } = await runCli(argv, { env: { SASLKIT_PASSWORD: 'alice-pass' } });
    expect(code, `saslkit ${argv.join(' ')}: ${err}`).to.equal(0);
    if (argv[0] === 'login')
      expect(out).to.match(argv.includes('EXTERNAL') ? /^authenticated with EXTERNAL/ : /^authenticated as alice/);
  }
}
