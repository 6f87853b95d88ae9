import { expect } from 'chai';
import { SASLAuth } from '../../lib/index.js';
import { runDemo } from '../../lib/cli/demo.js';
import { childEnv, runChild } from './support.js';

const MECHANISMS = SASLAuth.all().clientMechanisms.map((m) => m.name);

describe('cli/demo', function () {
  this.timeout(240000);

  it('logs in to SMTP and IMAP with every registered mechanism, -PLUS with channel binding', async () => {
    const secrets: string[] = [];
    const rows = await runDemo({ trace: (line) => secrets.push(line) });
    for (const protocol of ['smtp', 'imap'] as const) {
      const mine = rows.filter((row) => row.protocol === protocol);
      expect(mine.map((row) => row.label)).to.deep.equal([...MECHANISMS, 'SCRAM-SHA-256 (bob)']);
      for (const row of mine) {
        expect(row.ok, `${protocol} ${row.label}: ${row.result}`).to.equal(true);
        expect(row.roundTrips).to.be.a('number');
      }
      for (const row of mine.filter((r) => r.label.endsWith('-PLUS')))
        expect(row.result).to.equal('ok (server verified, tls-exporter)');
    }
    const trace = secrets.join('\n');
    expect(trace).to.include('[smtp PLAIN] C: AUTH PLAIN "\\0alice\\0[redacted]"');
    for (const secret of ['alice-pass', 'bob-pass', 'alice-oauth-token']) expect(trace).to.not.include(secret);
  });

  it('npm start runs the demo: exit 0, every mechanism in the table', async () => {
    const result = await runChild('npm', ['start', '--silent'], { env: childEnv(), timeoutMs: 230000 });
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    for (const mechanism of MECHANISMS) {
      expect(result.stdout).to.match(new RegExp(`\\nsmtp +${mechanism} +ok`));
      expect(result.stdout).to.match(new RegExp(`\\nimap +${mechanism} +ok`));
    }
    expect(result.stdout).to.match(/\nprotocol +mechanism +result +round trips +ms\n/);
    expect(result.stdout).to.match(/\nall 30 logins succeeded\n$/);
  });
});
