/**
 * lib/passwords/decoy.ts on its own: the clear-text decoy every unknown user is checked against
 * before a store has answered, and the fallback a server uses before it has learned any decoy.
 * The unknown-user matrix (spec/hostile/unknown-user.spec.ts) counts the work of each path; these
 * pin the decoy objects that work runs on.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import * as decoys from '../../lib/passwords/decoy.js';

// A copy of the module that has learned nothing yet (the rest of the suite teaches this one).
function freshDecoyModule(): typeof decoys {
  const load = createRequire(__filename);
  const path = load.resolve('../../lib/passwords/decoy.js');
  const cached = load.cache[path];
  Reflect.deleteProperty(load.cache, path);
  try {
    return load('../../lib/passwords/decoy.js') as typeof decoys;
  } finally {
    if (cached) load.cache[path] = cached;
  }
}

describe('passwords/decoy', () => {
  it('nobody() is one clear-text identity whose name no presented name can match', () => {
    const nobody = decoys.nobody();
    expect(nobody).to.equal(decoys.nobody());
    expect(nobody.authcid).to.equal('\u0000nobody');
    expect(nobody.compareAuthcid('nobody')).to.equal(false);
    expect(nobody.compareSecret('')).to.equal(false);
    expect(nobody.getClearSecret()).to.be.a('string').and.not.equal('');
  });

  it('before any store has answered, a server falls back to nobody: clear text, derives for SCRAM, no stored cost', () => {
    const fresh = freshDecoyModule();
    const learned = fresh.learnedFor({});
    expect(learned.decoy).to.equal(fresh.nobody());
    expect(learned.cost).to.equal(0);
    expect(learned.scram.derives).to.equal(true);
    expect(learned.scram.secrets.size).to.equal(0);
    expect(fresh.learnedFor({ lookup: () => undefined })).to.equal(learned);
  });
});
