// credentials.ts checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { inspect } from 'node:util';
import { ClientCredentials, PlainCredentials } from '../../lib/index.js';

describe('credentials checks (each pinned on its own)', () => {
  it('an empty secret is of kind none, any other a password, unless the kind is given', () => {
    expect(new ClientCredentials('a', '').kind).to.equal('none');
    expect(new ClientCredentials('a', 'pw').kind).to.equal('password');
    expect(new ClientCredentials('a', 'tok', '', { kind: 'token' }).kind).to.equal('token');
  });

  it('ClientCredentials and PlainCredentials show names, never the secret, under their own names', () => {
    expect(JSON.parse(JSON.stringify(new ClientCredentials('alice', 'pw-secret', 'bob')))).to.deep.equal({
      authcid: 'alice',
      authzid: 'bob',
    });
    const claimed = new PlainCredentials('alice', 'pw-secret', 'bob');
    expect(inspect(claimed))
      .to.match(/^PlainCredentials/)
      .and.include('alice')
      .and.include('bob')
      .and.not.include('pw-secret');
  });
});
