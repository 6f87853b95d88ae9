/**
 * SASLAuth.usableWith: the server mechanisms a set of ServerOptions can serve, so that a server
 * whose only backend checks passwords (verifyPassword) advertises PLAIN and LOGIN, not SCRAM.
 */
import { expect } from 'chai';
import { ClearIdentity, SASLAuth, type ServerMechanism } from '../../lib/index.js';

const names = (auth: SASLAuth): string[] => auth.serverMechanisms.map((m) => m.name);
const store = (): ClearIdentity => new ClearIdentity('alice', 'alice-pass');

describe('SASLAuth.usableWith', () => {
  it("a password-check backend alone: PLAIN and LOGIN, in the set's order", () => {
    expect(names(SASLAuth.all().usableWith({ verifyPassword: () => false }))).to.deep.equal(['PLAIN', 'LOGIN']);
  });

  it('a store: every password mechanism of the set, including SCRAM and -PLUS; no token or EXTERNAL mechanism', () => {
    const usable = names(SASLAuth.all().usableWith({ lookup: store }));
    expect(usable).to.include.members([
      'SCRAM-SHA-256-PLUS',
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'DIGEST-MD5',
      'CRAM-MD5',
      'PLAIN',
      'LOGIN',
    ]);
    expect(usable).to.not.include.members(['OAUTHBEARER']);
    expect(usable).to.not.include('XOAUTH2');
    expect(usable).to.not.include('EXTERNAL');
  });

  it('a token validator adds OAUTHBEARER and XOAUTH2; an external identity adds EXTERNAL; ANONYMOUS, which lets anyone in, never comes with them', () => {
    const usable = names(
      SASLAuth.all().usableWith({
        verifyPassword: () => false,
        validateToken: () => ({ authcid: 'alice' }),
        externalIdentity: 'alice',
      }),
    );
    expect(usable).to.include.members(['OAUTHBEARER', 'XOAUTH2', 'EXTERNAL', 'PLAIN', 'LOGIN']);
    expect(usable).to.not.include('ANONYMOUS');
    expect(usable.some((name) => name.startsWith('SCRAM'))).to.equal(false);
  });

  it('keeps only what the set has, and keeps a mechanism saslkit does not know', () => {
    const custom: ServerMechanism = {
      name: 'X-CUSTOM',
      clientFirst: true,
      priority: 1,
      *server() {
        return { mechanism: 'X-CUSTOM', authcid: 'x', authzid: 'x' };
      },
    };
    expect(names(new SASLAuth([custom, ...SASLAuth.defaults().serverMechanisms]).usableWith({}))).to.deep.equal([
      'X-CUSTOM',
    ]);
    expect(names(SASLAuth.named(['SCRAM-SHA-256', 'LOGIN']).usableWith({ verifyPassword: () => false }))).to.deep.equal(
      ['LOGIN'],
    );
  });
});
