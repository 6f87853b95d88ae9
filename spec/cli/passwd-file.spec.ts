import { expect } from 'chai';
import { ClearIdentity, HashedIdentity, Pbkdf2Hasher, ScramIdentity } from '../../lib/index.js';
import { parsePasswdFile, parseTokensFile, passwdLookup } from '../../lib/cli/passwd-file.js';
import { expectNoSecrets, expectSaslError } from '../support/helpers.js';

// Made with Dovecot 2.3.19 `doveadm pw -s SCHEME -p PASSWORD` (erin: `-r 20000`).
const DOVEADM = {
  bob: '{SCRAM-SHA-256}4096,j6dOQevYUNtIEKXSc6NJHQ==,xo7oQ7HAuvszxNw9nZcIG3ZFZ0sSSgZWI2LHikNcQRE=,+7mMU4qCJzo8YDga+OrXCoaFZzvBCCFYN5VjEWopVRg=',
  dave: '{SCRAM-SHA-1}4096,numxzMgOap0UgMDSJaXTcA==,RfF+CwD98LwHNOTNC971lU7qLCg=,PegxC8Ou/tEXlOysxrXavUcT1Eo=',
  carol: '{PBKDF2}$1$7YCyIYrURUIEdIc.$5000$47edd2bab15734050989263a48c0b63bb0539f4d',
  erin: '{PBKDF2}$1$/XUH.Kjx2VeDUex8$20000$6fe9ed3304bf13618e4d5108b2c5d02e03cdadf2',
};
// The start of pysasl's string for 1000 rounds and the salt "saltsaltsaltsalt".
const PYSASL_FRANK = '$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$';

const FILE = `# saslkit / Dovecot passwd-file
alice:{PLAIN}alice-pass::::::
bob:${DOVEADM.bob}
dave:${DOVEADM.dave}:1000:1000::/home/dave::userdb_quota_rule=*:storage=1G

carol:${DOVEADM.carol}
erin:${DOVEADM.erin}
`;

describe('cli/passwd-file', () => {
  it('reads Dovecot schemes written by doveadm, skipping comments, blank lines and extra fields', () => {
    const entries = parsePasswdFile(FILE);
    expect(entries.map((e) => [e.user, e.scheme])).to.deep.equal([
      ['alice', 'PLAIN'],
      ['bob', 'SCRAM-SHA-256'],
      ['dave', 'SCRAM-SHA-1'],
      ['carol', 'PBKDF2'],
      ['erin', 'PBKDF2'],
    ]);
    const lookup = passwdLookup(entries);
    expect(lookup('alice')).to.be.instanceOf(ClearIdentity);
    expect(lookup('bob')).to.be.instanceOf(ScramIdentity);
    expect(lookup('carol')).to.be.instanceOf(HashedIdentity);
    expect(lookup('nobody')).to.equal(undefined);
    for (const [user, password] of [
      ['alice', 'alice-pass'],
      ['bob', 'bob-pass'],
      ['dave', 'dave-pass'],
      ['carol', 'carol-pass'],
      ['erin', 'pässwörd'],
    ] as const) {
      const identity = lookup(user)!;
      expect(identity.compareSecret(password), user).to.equal(true);
      expect(identity.compareSecret(`${password}x`), user).to.equal(false);
    }
    expect((lookup('bob') as ScramIdentity).getScramSecret('SHA-256')?.iterations).to.equal(4096);
  });

  it('reads pysasl PBKDF2 strings without a scheme prefix', () => {
    const digest = new Pbkdf2Hasher({ rounds: 1000 }).hash('frank-pass', Buffer.from('saltsaltsaltsalt'));
    expect(digest.startsWith(PYSASL_FRANK)).to.equal(true);
    const [entry] = parsePasswdFile(`frank:${digest}\n`);
    expect(entry?.scheme).to.equal('PYSASL');
    expect(entry?.identity.compareSecret('frank-pass')).to.equal(true);
    expect(entry?.identity.compareSecret('frank-pas')).to.equal(false);
  });

  it('rejects bad lines with a usage error that names the line and never the secret', () => {
    const cases: [string, RegExp][] = [
      ['alice:{MD5-CRYPT}$1$abc$topsecretvalue\n', /line 1: unsupported scheme \{MD5-CRYPT\}/],
      ['# c\nalice:topsecretvalue\n', /line 2: the password has no \{SCHEME\} prefix/],
      ['alice:{SCRAM-SHA-256}4096,topsecretvalue\n', /line 1: the \{SCRAM-SHA-256\} secret does not parse/],
      ['alice:{PBKDF2}topsecretvalue\n', /line 1: the \{PBKDF2\} secret does not parse/],
      [
        'alice:{PBKDF2}{PBKDF2}$1$topsecretvalue$5000$' + '0'.repeat(40) + '\n',
        /line 1: the \{PBKDF2\} secret does not parse/,
      ],
      ['alice:{PLAIN}topsecretvalue\nalice:{PLAIN}topsecretvalue2\n', /line 2: the user is listed twice/],
      [':{PLAIN}topsecretvalue\n', /line 1: no valid user name/],
      ['alice\n', /line 1: no password/],
    ];
    for (const [text, message] of cases) {
      const error = expectSaslError(() => parsePasswdFile(text), 'USAGE');
      expect(error.message).to.match(message);
      expectNoSecrets(error, ['topsecretvalue']);
    }
  });

  it('leaves out and reports accounts with an unsupported scheme when asked to', () => {
    const skipped: unknown[] = [];
    const entries = parsePasswdFile('alice:{PLAIN}a\ncarol:{CRYPT}c889a69e\nbob:{SSHA512}topsecretvalue\n', {
      onUnsupported: (entry) => skipped.push(entry),
    });
    expect(entries.map((e) => e.user)).to.deep.equal(['alice']);
    expect(skipped).to.deep.equal([
      { line: 2, user: 'carol', scheme: 'CRYPT' },
      { line: 3, user: 'bob', scheme: 'SSHA512' },
    ]);
    // Dovecot's {CRAM-MD5} states are read (64 hex digits); a short one does not parse.
    expect(
      parsePasswdFile('carol:{CRAM-MD5}c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9\n').map(
        (e) => e.scheme,
      ),
    ).to.deep.equal(['CRAM-MD5']);
    expect(
      expectSaslError(() => parsePasswdFile('carol:{CRAM-MD5}c889a69e\n', { onUnsupported: () => undefined }), 'USAGE')
        .message,
    ).to.match(/does not parse/);
    // A scheme it reads but cannot parse stays an error.
    expect(
      expectSaslError(
        () => parsePasswdFile('bob:{PBKDF2}topsecretvalue\n', { onUnsupported: () => undefined }),
        'USAGE',
      ).message,
    ).to.match(/does not parse/);
  });

  it('parses a tokens file into a validator that maps a token to its user', () => {
    const validate = parseTokensFile('alice:alice-oauth-token\nbob:bob-token\n');
    expect(validate({ mechanism: 'OAUTHBEARER', token: 'bob-token', user: '' })).to.deep.equal({ authcid: 'bob' });
    expect(validate({ mechanism: 'XOAUTH2', token: 'alice-oauth-token', user: 'alice' })).to.deep.equal({
      authcid: 'alice',
    });
    // A token for alice presented as bob is refused.
    expect(validate({ mechanism: 'XOAUTH2', token: 'alice-oauth-token', user: 'bob' })).to.have.property('error');
    expect(validate({ mechanism: 'XOAUTH2', token: 'nope', user: 'alice' })).to.deep.equal({
      error: { status: 'invalid_token', schemes: 'bearer', scope: 'mail' },
    });
    expect(expectSaslError(() => parseTokensFile('alice\n'), 'USAGE').message).to.match(/tokens file line 1: no token/);
  });
});
