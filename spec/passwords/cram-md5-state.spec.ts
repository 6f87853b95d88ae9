import { expect } from 'chai';
import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { CramMd5StateIdentity, UsageError, dovecotCramMd5, isSaslError } from '../../lib/index.js';
import { expectNoSecrets } from '../support/helpers.js';

// Written by Dovecot 2.3's `doveadm pw -s CRAM-MD5 -p <password>`.
const DOVEADM: readonly (readonly [string, string])[] = [
  ['carol-pass', '{CRAM-MD5}c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9'],
  ['pässwörd', '{CRAM-MD5}4a60bd37924fc5d45b4c92ce695bac86cb234bc3028aab2a71a225cb0dedfbb9'],
  // Longer than HMAC's 64-byte block: the key is MD5(password) first.
  ['x'.repeat(70), '{CRAM-MD5}8103bb3a2a4b96a9ca9cce4efecc8d22ebe7163dff7401afb5aa16d4edcf9f1f'],
  ['', '{CRAM-MD5}00747cf2ffaf11c5ea4a64979c3901fc1d20dee13f480bb598f7d8575b23e61b'],
];

describe('passwords/cram-md5-state (Dovecot {CRAM-MD5} HMAC-MD5 states)', () => {
  it('dovecotCramMd5 writes what doveadm writes', () => {
    for (const [password, line] of DOVEADM) expect(dovecotCramMd5(password), password).to.equal(line);
  });

  it('answers CRAM-MD5 from the states: HMAC-MD5(password, challenge), for passwords of 0..130 bytes', () => {
    for (let length = 0; length <= 130; length += 7) {
      const password = randomBytes(length).toString('base64').slice(0, length);
      const identity = new CramMd5StateIdentity('carol', dovecotCramMd5(password));
      const challenge = randomBytes(length % 50);
      expect(identity.cramMd5Digest(challenge), `length ${length}`).to.equal(
        createHmac('md5', password).update(challenge).digest('hex'),
      );
    }
  });

  it('checks a clear password against the states (PLAIN, LOGIN), the key as given (no SASLprep)', () => {
    for (const [password, line] of DOVEADM) {
      const identity = new CramMd5StateIdentity('carol', line);
      expect(identity.compareSecret(password), password).to.equal(true);
      expect(identity.compareSecret(`${password}x`), password).to.equal(false);
    }
    // SASLprep maps U+00A0 to a space; Dovecot keys the HMAC with the bytes as typed.
    const identity = new CramMd5StateIdentity('erin', dovecotCramMd5('a\u00a0b'));
    expect(identity.compareSecret('a\u00a0b')).to.equal(true);
    expect(identity.compareSecret('a b')).to.equal(false);
  });

  it('takes the secret with or without the prefix, in either case of hex; names compare exactly; no clear secret', () => {
    const hex = 'c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9';
    for (const secret of [hex, hex.toUpperCase(), `{CRAM-MD5}${hex}`]) {
      const identity = new CramMd5StateIdentity('carol', secret);
      expect(identity.compareSecret('carol-pass'), secret).to.equal(true);
      expect(identity.getClearSecret()).to.equal(undefined);
    }
    const identity = new CramMd5StateIdentity('carol', hex);
    expect(identity.compareAuthcid('carol')).to.equal(true);
    expect(identity.compareAuthcid('Carol')).to.equal(false);
  });

  it('refuses a malformed secret with a UsageError that does not repeat it', () => {
    const hex = 'c889a69e954e5120cd16eee9af705e1e520ff19cf8b4d580468433af6f0ffce9';
    const malformed = [
      '',
      '{CRAM-MD5}',
      hex.slice(0, 63),
      `${hex}0`,
      `${hex.slice(0, 63)}g`,
      `{cram-md5}${hex}`,
      `{PLAIN}${hex}`,
      ` ${hex}`,
      `${hex}\n`,
      `{CRAM-MD5}{CRAM-MD5}${hex}`,
    ];
    for (const secret of malformed) {
      let caught: unknown;
      try {
        new CramMd5StateIdentity('carol', secret);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(secret)).to.be.instanceOf(UsageError);
      expect(isSaslError(caught) && caught.code).to.equal('USAGE');
      if (secret.length > 12) expect((caught as Error).message).to.not.include(secret.trim().slice(-12));
    }
  });

  it('never shows the states in inspect, String or JSON', () => {
    const [password, line] = DOVEADM[0] ?? ['', ''];
    const identity = new CramMd5StateIdentity('carol', line);
    expectNoSecrets(identity, [line.slice('{CRAM-MD5}'.length), line.slice(10, 30), line.slice(-20), password]);
    expect(inspect(identity)).to.equal('CramMd5StateIdentity { authcid: "carol", states: "[redacted]" }');
    expect(JSON.parse(JSON.stringify(identity))).to.deep.equal({ type: 'CramMd5StateIdentity', authcid: 'carol' });
  });
});
