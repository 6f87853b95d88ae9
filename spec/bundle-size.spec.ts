/**
 * The bundle budgets of issue 13, enforced in the test phase: scripts/bundle-size.mjs builds the
 * client-only bundles with esbuild (--platform=browser --minify) from the sources of
 * `saslkit/client`, and an esbuild bundle of the Node entry for --platform=node that must run a
 * SCRAM login. Sizes are byte counts, not timings.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

interface Measured {
  readonly name: string;
  readonly raw: number;
  readonly min: number;
  readonly gzip: number;
  readonly budget?: number;
  readonly leaks: string[];
}

interface Report {
  readonly results: Measured[];
  readonly node: { readonly ok: boolean; readonly why: string };
  readonly failed: boolean;
}

describe('bundle sizes (scripts/bundle-size.mjs)', function () {
  this.timeout(120000);
  let report: Report;

  before(async () => {
    const script = join(__dirname, '..', 'scripts', 'bundle-size.mjs');
    // Exit status 1 (over budget) still prints the report: read it either way.
    const run = await promisify(execFile)(process.execPath, [script, '--json'], { encoding: 'utf8' }).catch(
      (error: unknown) => ({ stdout: (error as { stdout?: string }).stdout ?? '' }),
    );
    report = JSON.parse(run.stdout) as Report;
  });

  const find = (name: string): Measured => {
    const found = report.results.find((r) => r.name === name);
    if (found === undefined) throw new Error(`no bundle named ${name}`);
    return found;
  };

  it('PLAIN client: at most 3 KB gzip, no server side, hashers, stored secrets or Node', () => {
    const plain = find('PLAIN client (mechanism and credentials)');
    expect(plain.gzip).to.be.at.most(3 * 1024);
    expect(plain.leaks).to.deep.equal([]);
  });

  it('PLAIN client with the promise driver: at most 4 KB gzip', () => {
    const plain = find('PLAIN client with the promise driver');
    expect(plain.gzip).to.be.at.most(4 * 1024);
    expect(plain.leaks).to.deep.equal([]);
  });

  it('PLAIN + SCRAM-SHA-256 clients with SASLprep: at most 16 KB gzip, no server side or Node', () => {
    const both = find('PLAIN + SCRAM-SHA-256 clients, with SASLprep');
    expect(both.gzip).to.be.at.most(16 * 1024);
    expect(both.leaks).to.deep.equal([]);
    // SASLprep's tables are in it: the bundle is more than the mechanisms.
    expect(both.gzip).to.be.greaterThan(find('PLAIN client with the promise driver').gzip);
  });

  it('an esbuild bundle of the Node entry for --platform=node runs a SCRAM login', () => {
    expect(report.node).to.deep.equal({ ok: true, why: 'ok user' });
    expect(report.failed).to.equal(false);
  });
});
