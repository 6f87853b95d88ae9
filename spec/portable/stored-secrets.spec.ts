/** SCRAM stored secrets (RFC 5803, PostgreSQL and Dovecot forms): written, parsed, verified with the async API. */
import { expect } from 'chai';
import { ScramIdentity, ScramSecret, toBase64 } from '../../lib/index.js';
import { RUNTIME, bytesOf, textOf, thrown, vector } from './support.js';

// Written by real software for the password "pencil" (as in spec/passwords/scram-secret.spec.ts):
// `doveadm pw -s SCRAM-SHA-256 -p pencil` (Dovecot 2.3) and PostgreSQL 15's pg_authid.rolpassword.
const DOVECOT_SHA256 =
  '{SCRAM-SHA-256}4096,ePU+dn9lb5RI3jjMAHDEDA==,vyfxHRVXy3PZCMVBEj7jZ0aZXdWmTfZjs8b23qdt83k=,/y4oKkHB5wRM+ffFs3z1/hpgrfBQgZoT0jzUvjrYq8A=';
const DOVECOT_SHA1 =
  '{SCRAM-SHA-1}4096,eyFHuy3YASUh6bDN/uGfiA==,eJeMBEbmTQ9dc/usOid2lpNgtSs=,TaYfGQoRLKuUpBWxXzeq+9dSrno=';
const POSTGRES_PENCIL =
  'SCRAM-SHA-256$4096:Z8+2c+saufhTCrP3QprCMA==$iIQAI2q/MnOuXAzaO2BVobOzwQRuyRbTh/2FIeW1Dwc=:p1i1dVfhIF2dn3Eed+aPdIG4e889YcqUJwK+0xjBbHo=';
/** PostgreSQL, password E'I\u00adX' (SASLprep maps the soft hyphen to nothing). */
const POSTGRES_SOFT_HYPHEN =
  'SCRAM-SHA-256$4096:2WSKHRDfp2VvchFY/uEgKg==$7sED5iP35UCJfZM3gqXWvlHgnjyM2tOiPv62BayuBXw=:lVhlQLgQa+K0qQEUWCY34xoKLyvZ8e7uRdEetW+j05Y=';

/** A stored-secret vector's expected text, and the secret derived from its password, salt and iterations. */
async function fromVector(id: string, hash: 'SHA-1' | 'SHA-256'): Promise<{ stored: string; secret: ScramSecret }> {
  const v = vector(id);
  const secret = await ScramSecret.fromPasswordAsync(hash, textOf(v.inputs['password']), {
    salt: bytesOf(v.inputs['salt']),
    iterations: v.inputs['iterations'] as number,
  });
  return { stored: textOf(v.expected['stored']), secret };
}

describe(`portable SCRAM stored secrets (${RUNTIME})`, () => {
  it('scram-stored-rfc5803-sha1: writes, parses and verifies the RFC 5803 form', async () => {
    const { stored, secret } = await fromVector('scram-stored-rfc5803-sha1', 'SHA-1');
    expect(secret.format('rfc5803')).to.equal(stored);
    const parsed = ScramSecret.parse(stored);
    expect(parsed).to.include({ hash: 'SHA-1', iterations: 4096 });
    expect(toBase64(parsed.storedKey)).to.equal(
      (vector('scram-sha-1-rfc5802').expected['StoredKey'] as { base64: string }).base64,
    );
    expect(toBase64(parsed.serverKey)).to.equal(
      (vector('scram-sha-1-rfc5802').expected['ServerKey'] as { base64: string }).base64,
    );
    expect(await parsed.verifyNormalizedAsync('pencil')).to.equal(true);
    expect(await parsed.verifyNormalizedAsync('pencil!')).to.equal(false);
  });

  it('scram-stored-postgresql-sha256: writes, parses and verifies the pg_authid form', async () => {
    const { stored, secret } = await fromVector('scram-stored-postgresql-sha256', 'SHA-256');
    expect(secret.format('postgresql')).to.equal(stored);
    expect(await ScramSecret.parse(stored).verifyNormalizedAsync('pencil')).to.equal(true);
  });

  it('reads what PostgreSQL 15 and Dovecot wrote, SASLprep included', async () => {
    expect(await new ScramIdentity('u', POSTGRES_PENCIL).compareSecretAsync('pencil')).to.equal(true);
    expect(await new ScramIdentity('u', POSTGRES_PENCIL).compareSecretAsync('Pencil')).to.equal(false);
    expect(await new ScramIdentity('u', POSTGRES_SOFT_HYPHEN).compareSecretAsync('I\u00ADX')).to.equal(true);
    const dovecot = new ScramIdentity('user', [DOVECOT_SHA256, DOVECOT_SHA1]);
    expect(dovecot.hashes).to.deep.equal(['SHA-256', 'SHA-1']);
    expect(await dovecot.compareSecretAsync('pencil')).to.equal(true);
    expect(await dovecot.compareSecretAsync('pencil2')).to.equal(false);
    expect(dovecot.format('dovecot')).to.deep.equal([DOVECOT_SHA256, DOVECOT_SHA1]);
    expect(ScramSecret.parse(POSTGRES_PENCIL).format('postgresql')).to.equal(POSTGRES_PENCIL);
  });

  it('refuses malformed stored secrets with a typed error that does not echo them', () => {
    for (const text of [
      '',
      'SCRAM-SHA-256$',
      'SCRAM-SHA-256$0:AAAA$AAAA:AAAA',
      'SCRAM-MD5$4096:AAAA$AAAA:AAAA',
      '{SCRAM-SHA-1}4096,,,',
      POSTGRES_PENCIL.slice(0, -8),
    ]) {
      const error = thrown(() => ScramSecret.parse(text), 'USAGE');
      if (text.length > 20) expect(error.message).to.not.include(text);
    }
    expect(ScramSecret.tryParse('not a secret')).to.equal(undefined);
  });
});
