/**
 * The examples are written as a user writes them: they import the package by its name, so they
 * run against the built package (`npm run build`), not against lib/. Running them is the job
 * of .ci/examples.sh, after the build; this spec checks, without a build, that they stay that
 * way: imports, the CI script that runs each one, the documented command, and that no spec
 * loads an example (it would load dist/ next to lib/, two copies of every class).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const REPO = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');
const examples = readdirSync(join(REPO, 'examples'))
  .filter((name) => name.endsWith('.ts'))
  .sort();

/** Every module specifier in `import ... from '...'`, `export ... from '...'`, `import('...')` and `require('...')`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(
    /\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)|\brequire\s*\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm,
  )) {
    found.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  }
  return found;
}

/** Every .ts file under `dir`, relative to the repo. */
function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

const PACKAGE = JSON.parse(read('package.json')) as {
  exports: Record<string, unknown>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const SUBPATHS = new Set(Object.keys(PACKAGE.exports).map((key) => key.replace(/^\./, 'saslkit')));
const OPTIONAL_PEERS = new Set(
  Object.entries(PACKAGE.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta.optional === true)
    .map(([name]) => name),
);

/** True for `saslkit` and the subpaths its package.json exports (`saslkit/stores/postgres`). */
function isPackage(spec: string): boolean {
  return SUBPATHS.has(spec) && spec !== 'saslkit/package.json';
}

describe('examples', () => {
  it('exist', () => {
    expect(examples.length).to.be.greaterThan(0);
  });

  for (const name of examples) {
    describe(name, () => {
      const source = read(join('examples', name));

      it('imports saslkit by its name, node: built-ins and sibling examples only', () => {
        // Subpath exports of the package, and its optional peer dependencies (pg for the stores), are what a user imports too.
        const outside = specifiers(source).filter(
          (spec) =>
            !isPackage(spec) &&
            !spec.startsWith('node:') &&
            !/^\.\/[\w-]+\.js$/.test(spec) &&
            !OPTIONAL_PEERS.has(spec),
        );
        expect(outside).to.deep.equal([]);
        expect(specifiers(source).some(isPackage)).to.equal(true);
      });

      it('is run by .ci/examples.sh', () => {
        expect(read('.ci/examples.sh')).to.match(new RegExp(`examples/${name.replace('.', '\\.')}\\b`));
      });

      it('has its command in the examples table of docs/development.md', () => {
        const table = read('docs/development.md').split('\n## Examples')[1]?.split('\n## ')[0] ?? '';
        expect(table).to.include(`examples/${name}`);
      });
    });
  }

  it('are not imported by any spec (they load the built package)', () => {
    const importers = [...sources('spec'), ...sources('lib')].filter((file) =>
      specifiers(read(file)).some((spec) => spec.includes('examples/')),
    );
    expect(importers).to.deep.equal([]);
  });
});
