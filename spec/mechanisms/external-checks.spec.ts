// EXTERNAL checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { type SaslError, buildExternalResponse, parseExternalResponse } from '../../lib/index.js';
import { b, expectSaslError } from '../support/helpers.js';

const blame = (error: SaslError): unknown => ({ code: error.code, mechanism: error.mechanism, party: error.party });

describe('EXTERNAL checks (each pinned on its own)', () => {
  it('a NUL or invalid UTF-8 in the authzid is MALFORMED_MESSAGE blamed on the client', () => {
    for (const message of [b('a\0b'), Uint8Array.of(0x61, 0xff)]) {
      expect(blame(expectSaslError(() => parseExternalResponse(message), 'MALFORMED_MESSAGE'))).to.deep.equal({
        code: 'MALFORMED_MESSAGE',
        mechanism: 'EXTERNAL',
        party: 'client',
      });
    }
  });

  it('the client sends nothing by default and refuses a NUL as a USAGE error of EXTERNAL', () => {
    expect(buildExternalResponse().length).to.equal(0);
    expect(blame(expectSaslError(() => buildExternalResponse('a\0'), 'USAGE'))).to.deep.equal({
      code: 'USAGE',
      mechanism: 'EXTERNAL',
      party: 'local',
    });
  });
});
