/**
 * `serve`'s CRAM-MD5, which also answers accounts stored as Dovecot's {CRAM-MD5} states, run
 * in memory against the library's client (serve's end-to-end runs are in protocols.spec.ts).
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  CramMd5StateIdentity,
  HashedIdentity,
  Pbkdf2Hasher,
  SyncServerSession,
  dovecotCramMd5,
} from '../../lib/index.js';
import { CRAM_MD5_WITH_STATES } from '../../lib/cli/cram-md5-state.js';
import { b, expectNoSecrets, expectSaslError, runPair } from '../support/helpers.js';

const CAROL = new CramMd5StateIdentity('carol', dovecotCramMd5('carol-pass'));
const ALICE = new ClearIdentity('alice', 'alice-pass');
const DAVE = HashedIdentity.create('dave', 'dave-pass', new Pbkdf2Hasher({ rounds: 1000 }));
const lookups: string[] = [];
const options = {
  lookup: (authcid: string) => {
    lookups.push(authcid);
    return [CAROL, ALICE, DAVE].find((identity) => identity.authcid === authcid);
  },
};

const login = (user: string, password: string) =>
  runPair(CRAM_MD5_WITH_STATES.client(new ClientCredentials(user, password)), (initial) =>
    CRAM_MD5_WITH_STATES.server(options, initial),
  );

describe('cli: CRAM-MD5 with Dovecot {CRAM-MD5} states', () => {
  beforeEach(() => {
    lookups.length = 0;
  });

  it('logs in an account stored as states, and one stored in clear', () => {
    expect(login('carol', 'carol-pass').server).to.include({
      mechanism: 'CRAM-MD5',
      authcid: 'carol',
      authzid: 'carol',
    });
    expect(login('alice', 'alice-pass').server).to.include({ authcid: 'alice' });
    expect(lookups).to.deep.equal(['carol', 'alice']);
  });

  it('refuses a wrong password and an unknown user alike, without secrets', () => {
    const wrong = expectSaslError(() => login('carol', 'wrong-pass'), 'AUTHENTICATION_FAILED');
    const unknown = expectSaslError(() => login('mallory', 'wrong-pass'), 'AUTHENTICATION_FAILED');
    const clearWrong = expectSaslError(() => login('alice', 'wrong-pass'), 'AUTHENTICATION_FAILED');
    expect(wrong.message).to.equal(unknown.message);
    expect(clearWrong.message).to.equal(unknown.message);
    expectNoSecrets(wrong, ['wrong-pass', 'carol-pass', dovecotCramMd5('carol-pass').slice(10)]);
  });

  it('says that a hashed account cannot do CRAM-MD5', () => {
    expect(expectSaslError(() => login('dave', 'dave-pass'), 'MECHANISM_UNAVAILABLE').party).to.equal('local');
  });

  it('is server-first and keeps the library client', () => {
    expectSaslError(
      () => new SyncServerSession(CRAM_MD5_WITH_STATES.server(options, b('carol x'))).start(),
      'UNEXPECTED_MESSAGE',
    );
    expect(CRAM_MD5_WITH_STATES.clientFirst).to.equal(false);
    expect(CRAM_MD5_WITH_STATES.name).to.equal('CRAM-MD5');
  });
});
