// CRAM-MD5 checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { CRAM_MD5, ClearIdentity, ClientCredentials } from '../../lib/index.js';
import { expectSaslError, runPair, storeOf } from '../support/helpers.js';

describe('CRAM-MD5 checks (each pinned on its own)', () => {
  it('an unknown user cannot log in with the (public) placeholder secret unknown users are checked against', () => {
    const options = { lookup: storeOf(new ClearIdentity('alice', 'alice-pass')) };
    const error = expectSaslError(() => runPair(CRAM_MD5.client(new ClientCredentials('nobody', 'saslkit-unknown-user-placeholder')), (ir) => CRAM_MD5.server(options, ir)), 'AUTHENTICATION_FAILED');
    expect({ mechanism: error.mechanism, party: error.party }).to.deep.equal({ mechanism: 'CRAM-MD5', party: 'client' });
  });
});
