/**
 * lib/passwords/store-effects.ts: the store's effects. A server configured with only
 * `verifyPassword` that is asked for a mechanism needing stored identities gets a usage error that
 * says why, so the host learns what to configure.
 */
import { expect } from 'chai';
import { lookupEffect } from '../../lib/passwords/store-effects.js';
import { expectSaslError } from '../support/helpers.js';

describe('passwords/store-effects', () => {
  it('a mechanism without a lookup option is a USAGE error; with verifyPassword set it says that serves PLAIN and LOGIN only', () => {
    const bare = expectSaslError(() => lookupEffect({}, 'SCRAM-SHA-256', 'alice'), 'USAGE');
    expect(bare.message).to.equal('SCRAM-SHA-256 needs a lookup option to find stored identities');
    const withVerifier = expectSaslError(
      () => lookupEffect({ verifyPassword: () => false }, 'CRAM-MD5', 'alice'),
      'USAGE',
    );
    expect(withVerifier.message).to.equal(
      'CRAM-MD5 needs a lookup option to find stored identities (verifyPassword serves only PLAIN and LOGIN, which receive the password itself)',
    );
    expect(withVerifier.mechanism).to.equal('CRAM-MD5');
  });
});
