/**
 * OpenLDAP's SHA-family userPassword schemes: values made by slappasswd (OpenLDAP 2.5, the
 * pw-sha2 module for the SHA-2 ones) verify, wrong passwords and malformed values do not, and
 * a value the hasher writes verifies.
 */
import { expect } from 'chai';
import { HashedIdentity } from '../../lib/index.js';
import { ShaPasswordHasher } from '../../lib/stores/ssha.js';
import { expectSaslError } from '../support/helpers.js';

// `slappasswd -h '{SSHA}' -s erin-pass` and friends, run once.
const FROM_SLAPPASSWD = [
  '{SSHA}twOtGM52zHPHqfwNd4k7weEDkdaDqOPn',
  '{SHA}2I1jMyNtUgCpOV+PRJpXYQkD7KE=',
  '{SSHA256}wSCM7QLG0QCoHZ6kR3NPx5dCxqZC2axEqqsKZadKPzBcSh5plukOUw==',
  '{SSHA512}EJECeMEqwO+15pAvNqdtB4I3UsQP9zYWIDXrD0HC9tdbr6MvK8tH4PG3Uq/lPbtj1K7zHjWY/I1ITgCGHmDOxmOUdO5YoI/g',
];

describe('stores/ssha: ShaPasswordHasher', () => {
  const hasher = new ShaPasswordHasher();
  for (const value of FROM_SLAPPASSWD) {
    it(`verifies slappasswd's ${value.slice(0, value.indexOf('}') + 1)} value, and only for the right password`, () => {
      expect(hasher.identify(value)).to.equal(true);
      expect(hasher.verify('erin-pass', value)).to.equal(true);
      expect(hasher.verify('erin-pasS', value)).to.equal(false);
      expect(hasher.cost(value)).to.equal(1);
    });
  }

  it('writes values that verify, salted with 8 random bytes, in the scheme asked for', () => {
    for (const scheme of ['SSHA', 'SSHA256', 'SSHA512', 'SHA'] as const) {
      const value = new ShaPasswordHasher(scheme).hash('s3cret');
      expect(value.startsWith(`{${scheme}}`)).to.equal(true);
      expect(hasher.verify('s3cret', value)).to.equal(true);
    }
    expect(hasher.hash('s3cret')).to.not.equal(hasher.hash('s3cret'));
    expect(HashedIdentity.create('erin', 'erin-pass', hasher).compareSecret('erin-pass')).to.equal(true);
  });

  const malformed: [string, string][] = [
    ['an unknown scheme', '{MD5}X03MO1qnZdYdgyfeuILPmQ=='],
    ['no salt for a salted scheme', '{SSHA}2I1jMyNtUgCpOV+PRJpXYQkD7KE='],
    ['a salt on an unsalted scheme', '{SHA}twOtGM52zHPHqfwNd4k7weEDkdaDqOPn'],
    ['a digest too short', '{SSHA}AAAA'],
    ['bad base64', '{SSHA}twOtGM52zHPHqfwNd4k7weEDkdaDqOP'],
    ['an oversized salt', `{SSHA}${Buffer.alloc(20 + 65).toString('base64')}`],
    ['no scheme', 'twOtGM52zHPHqfwNd4k7weEDkdaDqOPn'],
    ['text after the value', '{SSHA}twOtGM52zHPHqfwNd4k7weEDkdaDqOPn x'],
  ];
  for (const [what, value] of malformed) {
    it(`does not recognise or verify ${what}, and does not throw`, () => {
      expect(hasher.identify(value)).to.equal(false);
      expect(hasher.verify('erin-pass', value)).to.equal(false);
      expect(hasher.cost(value)).to.equal(undefined);
    });
  }

  it('refuses an unknown scheme or an empty secret with USAGE', () => {
    expectSaslError(() => new ShaPasswordHasher('MD5' as 'SHA'), 'USAGE');
    expectSaslError(() => hasher.hash(''), 'USAGE');
  });
});
