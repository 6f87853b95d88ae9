import { expect } from 'chai';
import {
  ClientCredentials,
  PLAIN,
  PromiseServerSession,
  SCRAM_HASHES,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  ScramIdentity,
  ScramSecret,
  SyncServerSession,
  deriveEffect,
  fromBase64,
  isScramKeySource,
  scramNormalizePassword,
  toBase64,
} from '../../lib/index.js';
import { ALICE, asyncStoreOf, b, expectNoSecrets, expectSaslError, runPair, storeOf } from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

// Written by real software, for the password "pencil" unless noted:
// `doveadm pw -s SCRAM-SHA-256 -p pencil` and `-s SCRAM-SHA-1` (Dovecot 2.3), and PostgreSQL 15's
// pg_authid.rolpassword after `ALTER ROLE ... PASSWORD 'pencil'` (password_encryption=scram-sha-256).
const DOVECOT_SHA256 =
  '{SCRAM-SHA-256}4096,ePU+dn9lb5RI3jjMAHDEDA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=,/y4oKkHB5wRM+ffFs3z1/hpgrfBQgZoT0jzUvjrYq8A=';
const DOVECOT_SHA1 =
  '{SCRAM-SHA-1}4096,eyFHuy3YASUh6bDN/uGfiA==,eJeMBEbmTQ9dc/usOid2lpNgtSs=,TaYfGQoRLKuUpBWxXzeq+9dSrno=';
/** `doveadm pw -s SCRAM-SHA-256 -p pässwörd`. */
const DOVECOT_NON_ASCII =
  '{SCRAM-SHA-256}4096,Y13uFeyE+2CXgTrvqiPWyw==,B7jXnm2K1aI0w4CLv9a+BOYWGOcde8uu1Oh6Ab3q71g=,E3BxvSB90J12cohn8gcPZKhldjCI4XDIgLLEGuTVHno=';
const POSTGRES_PENCIL =
  'SCRAM-SHA-256$4096:Z8+2c+saufhTCrP3QprCMA==$iIQAI2q/MnOuXAzaO2BVobOzwQRuyRbTh/2FIeW1Dwc=:p1i1dVfhIF2dn3Eed+aPdIG4e889YcqUJwK+0xjBbHo=';
/** PostgreSQL, password E'I\u00adX' (SASLprep maps the soft hyphen to nothing). */
const POSTGRES_SOFT_HYPHEN =
  'SCRAM-SHA-256$4096:2WSKHRDfp2VvchFY/uEgKg==$7sED5iP35UCJfZM3gqXWvlHgnjyM2tOiPv62BayuBXw=:lVhlQLgQa+K0qQEUWCY34xoKLyvZ8e7uRdEetW+j05Y=';

describe('SCRAM stored secrets', () => {
  describe('vectors', () => {
    it('scram-stored-rfc5803-sha1: writes, parses and verifies the RFC 5803 form', () => {
      const v = vector('scram-stored-rfc5803-sha1');
      const stored = textOf(v.expected['stored']);
      const secret = ScramSecret.fromPassword('SHA-1', textOf(v.inputs['password']), {
        salt: bytesOf(v.inputs['salt']),
        iterations: v.inputs['iterations'] as number,
      });
      expect(secret.format('rfc5803')).to.equal(stored);
      expect(textOf(v.inputs['scheme'])).to.equal(`SCRAM-${secret.hash}`);
      const parsed = ScramSecret.parse(stored);
      expect(parsed).to.include({ hash: 'SHA-1', iterations: 4096 });
      expect(toBase64(parsed.salt)).to.equal((v.inputs['salt'] as { base64: string }).base64);
      expect(parsed.format()).to.equal(stored);
      expect(parsed.verifyNormalized('pencil')).to.equal(true);
      expect(parsed.verifyNormalized('pencil!')).to.equal(false);
      // StoredKey and ServerKey are the RFC 5802 example's.
      expect(toBase64(parsed.storedKey)).to.equal(
        (vector('scram-sha-1-rfc5802').expected['StoredKey'] as { base64: string }).base64,
      );
      expect(toBase64(parsed.serverKey)).to.equal(
        (vector('scram-sha-1-rfc5802').expected['ServerKey'] as { base64: string }).base64,
      );
    });

    it('scram-stored-postgresql-sha256: writes, parses and verifies the pg_authid form', () => {
      const v = vector('scram-stored-postgresql-sha256');
      const stored = textOf(v.expected['stored']);
      const secret = ScramSecret.fromPassword('SHA-256', textOf(v.inputs['password']), {
        salt: bytesOf(v.inputs['salt']),
        iterations: v.inputs['iterations'] as number,
      });
      expect(secret.format('postgresql')).to.equal(stored);
      expect(ScramSecret.parse(stored).verifyNormalized('pencil')).to.equal(true);
    });

    it('reads what PostgreSQL 15 wrote, SASLprep included', () => {
      expect(new ScramIdentity('u', POSTGRES_PENCIL).compareSecret('pencil')).to.equal(true);
      expect(new ScramIdentity('u', POSTGRES_PENCIL).compareSecret('Pencil')).to.equal(false);
      const hyphen = new ScramIdentity('u', POSTGRES_SOFT_HYPHEN);
      expect(hyphen.compareSecret('IX')).to.equal(true);
      expect(hyphen.compareSecret('I\u00ADX')).to.equal(true);
      expect(ScramSecret.parse(POSTGRES_PENCIL).format('postgresql')).to.equal(POSTGRES_PENCIL);
    });

    it('reads and writes what Dovecot wrote (SCRAM-SHA-1 and SCRAM-SHA-256)', () => {
      const identity = new ScramIdentity('user', [DOVECOT_SHA256, DOVECOT_SHA1]);
      expect(identity.hashes).to.deep.equal(['SHA-256', 'SHA-1']);
      expect(identity.compareSecret('pencil')).to.equal(true);
      expect(identity.compareSecret('pencil2')).to.equal(false);
      expect(identity.format('dovecot')).to.deep.equal([DOVECOT_SHA256, DOVECOT_SHA1]);
      expect(identity.getScramSecret('SHA-1')?.verifyNormalized('pencil')).to.equal(true);
      const nonAscii = new ScramIdentity('user', DOVECOT_NON_ASCII);
      expect(nonAscii.compareSecret('pässwörd')).to.equal(true);
      // NFKC: the decomposed spelling is the same password.
      expect(nonAscii.compareSecret('pa\u0308sswo\u0308rd')).to.equal(true);
    });

    it('a Dovecot secret serves SCRAM-SHA-1 and SCRAM-SHA-256 exchanges', () => {
      const options = { lookup: storeOf(new ScramIdentity('user', [DOVECOT_SHA256, DOVECOT_SHA1])) };
      for (const mechanism of [SCRAM_SHA_1, SCRAM_SHA_256]) {
        const result = runPair(mechanism.client(new ClientCredentials('user', 'pencil')), (ir) =>
          mechanism.server(options, ir),
        );
        expect(result.server.authcid).to.equal('user');
        expect(result.transcript[1]).to.include(
          mechanism === SCRAM_SHA_1 ? 's=eyFHuy3YASUh6bDN/uGfiA==,i=4096' : 's=ePU+dn9lb5RI3jjMAHDEDA==,i=4096',
        );
      }
    });
  });

  describe('ScramSecret', () => {
    it('derives with a random 16-byte salt and the per-hash default count; async gives the same keys', async () => {
      const a = ScramSecret.fromPassword('SHA-256', 'pw');
      const c = ScramSecret.fromPassword('SHA-256', 'pw');
      expect(a.salt).to.have.length(16);
      expect(toBase64(a.salt)).to.not.equal(toBase64(c.salt));
      expect(a.iterations).to.equal(SCRAM_HASHES['SHA-256'].defaultIterations);
      expect(ScramSecret.fromPassword('SHA-512', 'pw').iterations).to.equal(10000);
      const sync = ScramSecret.fromPassword('SHA-512', 'pw', { salt: a.salt, iterations: 4096 });
      const async = await ScramSecret.fromPasswordAsync('SHA-512', 'pw', { salt: a.salt, iterations: 4096 });
      expect(async.format()).to.equal(sync.format());
      expect(await async.verifyNormalizedAsync('pw')).to.equal(true);
      expect(await async.verifyNormalizedAsync('pw2')).to.equal(false);
    });

    it('refuses bad parts with USAGE', () => {
      const key = new Uint8Array(32);
      expectSaslError(() => new ScramSecret('SHA-256', new Uint8Array(16), 4096, key, new Uint8Array(20)), 'USAGE');
      expectSaslError(() => new ScramSecret('SHA-256', new Uint8Array(0), 4096, key, key), 'USAGE');
      expectSaslError(() => new ScramSecret('SHA-256', new Uint8Array(16), 0, key, key), 'USAGE');
      expectSaslError(() => new ScramSecret('SHA-256', new Uint8Array(16), 1.5, key, key), 'USAGE');
      expectSaslError(() => new ScramSecret('MD5' as 'SHA-256', new Uint8Array(16), 4096, key, key), 'USAGE');
      expectSaslError(() => ScramSecret.fromPassword('SHA-256', 'pw', { salt: new Uint8Array(0) }), 'USAGE');
      expectSaslError(() => deriveEffect('SHA-256', 'pw', new Uint8Array(16), 0), 'USAGE');
    });

    const malformed = [
      '',
      'SCRAM-SHA-256',
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=',
      'SCRAM-SHA-384$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$04096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$9999999999:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$4096:$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=',
      'scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=$x',
      '{SCRAM-SHA-256}4096,ePU+dn9lb5RI3jjMAHDEDA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=',
      '{SCRAM-SHA-256}4096,ePU+dn9lb5RI3jjMAHDEDA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=,/y4oKkHB5wRM+ffFs3z1/hpgrfBQgZoT0jzUvjrYq8A=,extra',
      '{SCRAM-SHA-256} 4096,ePU+dn9lb5RI3jjMAHDEDA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=,/y4oKkHB5wRM+ffFs3z1/hpgrfBQgZoT0jzUvjrYq8A=',
      '{SCRAM-SHA-1}4096,eyFHuy3YASUh6bDN/uGfiA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=,/y4oKkHB5wRM+ffFs3z1/hpgrfBQgZoT0jzUvjrYq8A=',
      '{PLAIN}pencil',
    ];
    for (const text of malformed) {
      it(`refuses ${JSON.stringify(text.slice(0, 48))}... with USAGE, without echoing it`, () => {
        expect(ScramSecret.tryParse(text)).to.equal(undefined);
        const error = expectSaslError(() => ScramSecret.parse(text), 'USAGE');
        if (text.length > 0) expectNoSecrets(error, [text]);
        expectSaslError(() => new ScramIdentity('u', text), 'USAGE');
      });
    }

    it('keeps its keys out of inspect and JSON', () => {
      const secret = ScramSecret.parse(POSTGRES_PENCIL);
      expectNoSecrets(secret, [toBase64(secret.storedKey), toBase64(secret.serverKey), POSTGRES_PENCIL]);
      expect(JSON.parse(JSON.stringify(secret))).to.deep.equal({
        type: 'ScramSecret',
        hash: 'SHA-256',
        iterations: 4096,
      });
    });

    it('copies its inputs, so later writes to them change nothing', () => {
      const salt = fromBase64('W22ZaJ0SNY7soEsUEjb6gQ==');
      const secret = ScramSecret.fromPassword('SHA-256', 'pencil', { salt, iterations: 4096 });
      salt.fill(0);
      expect(secret.format()).to.equal(textOf(vector('scram-stored-postgresql-sha256').expected['stored']));
    });
  });

  describe('ScramIdentity', () => {
    it('creates secrets for every hash by default, and serves them by hash', () => {
      const identity = ScramIdentity.create('alice', 'alice-pass');
      expect(identity.hashes).to.deep.equal(['SHA-1', 'SHA-256', 'SHA-512']);
      expect(identity.getScramSecret('SHA-512')?.iterations).to.equal(10000);
      expect(identity.getClearSecret()).to.equal(undefined);
      expect(isScramKeySource(identity)).to.equal(true);
      expect(isScramKeySource(ALICE)).to.equal(false);
      const one = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'], iterations: 5000 });
      expect(one.hashes).to.deep.equal(['SHA-256']);
      expect(one.getScramSecret('SHA-256')?.iterations).to.equal(5000);
      expect(one.getScramSecret('SHA-1')).to.equal(undefined);
    });

    it('compares passwords for PLAIN and LOGIN: constant-time StoredKey check, sync and async', async () => {
      const identity = await ScramIdentity.createAsync('alice', 'I\u00ADX', { hashes: ['SHA-256'] });
      expect(identity.compareSecret('IX')).to.equal(true);
      expect(identity.compareSecret('\u2168')).to.equal(true);
      expect(identity.compareSecret('IY')).to.equal(false);
      expect(identity.compareSecret('')).to.equal(false);
      expect(identity.compareSecret('\u00AD')).to.equal(false);
      expect(identity.compareSecret('bad\u0007')).to.equal(false);
      expect(identity.compareSecret('\uD800')).to.equal(false);
      expect(await identity.compareSecretAsync('IX')).to.equal(true);
      expect(await identity.compareSecretAsync('IY')).to.equal(false);
    });

    it('serves PLAIN under the sync and the promise driver', async () => {
      const identity = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-1'] });
      expect(
        new SyncServerSession(PLAIN.server({ lookup: storeOf(identity) }, b('\0alice\0alice-pass'))).start().done,
      ).to.equal(true);
      expectSaslError(
        () => new SyncServerSession(PLAIN.server({ lookup: storeOf(identity) }, b('\0alice\0wrong'))).start(),
        'AUTHENTICATION_FAILED',
      );
      const step = await new PromiseServerSession(
        PLAIN.server({ lookup: asyncStoreOf(identity) }, b('\0alice\0alice-pass')),
      ).start();
      expect(step.done && step.outcome.identity).to.equal(identity);
    });

    it('compares the authcid with SASLprep', () => {
      const identity = new ScramIdentity('alice', POSTGRES_PENCIL);
      expect(identity.compareAuthcid('al\u00ADice')).to.equal(true);
      expect(identity.compareAuthcid('bob')).to.equal(false);
    });

    it('refuses duplicate hashes, no secrets, and passwords SASLprep rejects', () => {
      expectSaslError(() => new ScramIdentity('u', [POSTGRES_PENCIL, DOVECOT_SHA256]), 'USAGE');
      expectSaslError(() => new ScramIdentity('u', []), 'USAGE');
      const prohibited = expectSaslError(() => ScramIdentity.create('u', 'bad\u0007pass'), 'USAGE');
      expectNoSecrets(prohibited, ['bad\u0007pass']);
      expectSaslError(() => ScramIdentity.create('u', 'x\uD800'), 'USAGE');
    });

    it('keeps secrets out of inspect and JSON', () => {
      const identity = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'] });
      const secret = identity.getScramSecret('SHA-256')!;
      expectNoSecrets(identity, ['alice-pass', toBase64(secret.storedKey), toBase64(secret.serverKey)]);
      expect(JSON.parse(JSON.stringify(identity))).to.deep.equal({
        type: 'ScramIdentity',
        authcid: 'alice',
        hashes: ['SHA-256'],
      });
    });
  });

  it('scramNormalizePassword applies the stored profile', () => {
    expect(scramNormalizePassword('I\u00ADX')).to.equal('IX');
    expect(scramNormalizePassword('\u2168')).to.equal('IX');
    expect(scramNormalizePassword('a\u00A0b')).to.equal('a b');
    expectSaslError(() => scramNormalizePassword('a\u0007'), 'USAGE');
    // Unassigned code points are refused for stored strings (RFC 4013 section 2.5).
    expectSaslError(() => scramNormalizePassword('\u0221'), 'USAGE');
  });
});
