import { expect } from 'chai';
import { MECHANISM_NAME, isUpperCaseMechanismName } from '../../lib/core/mechanism.js';
import { MECHANISM_NAME as LINES_MECHANISM_NAME } from '../../lib/protocols/lines.js';

describe('mechanism names (RFC 4422 section 3.1)', () => {
  it('one pattern: the line protocols export the same object', () => {
    expect(LINES_MECHANISM_NAME).to.equal(MECHANISM_NAME);
  });

  it('1 to 20 of A-Z 0-9 - _, any case', () => {
    for (const good of ['PLAIN', 'scram-sha-256-plus', 'X_1', 'A'.repeat(20)])
      expect(MECHANISM_NAME.test(good), good).to.equal(true);
    for (const bad of ['', 'A'.repeat(21), 'PL AIN', 'PL.IN', 'PLAIN\n', '\u0131'])
      expect(MECHANISM_NAME.test(bad), bad).to.equal(false);
  });

  it('the upper-case form PostgreSQL and XMPP require', () => {
    for (const good of ['PLAIN', 'SCRAM-SHA-256-PLUS', 'X_1', '9'.repeat(20)])
      expect(isUpperCaseMechanismName(good), good).to.equal(true);
    for (const bad of ['plain', 'Plain', '', 'A'.repeat(21), 'PL AIN', 'PLAIN\n'])
      expect(isUpperCaseMechanismName(bad), bad).to.equal(false);
  });
});
