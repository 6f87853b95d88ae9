// GS2 header checks pinned after the StrykerJS runs (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { formatGs2Header, parseGs2Header } from '../../lib/mechanisms/gs2.js';

describe('GS2 checks (each pinned on its own)', () => {
  it('formatGs2Header without an authzid writes none: n,, and y,, (and round-trips through the parser)', () => {
    expect(formatGs2Header('n')).to.equal('n,,');
    expect(formatGs2Header('y')).to.equal('y,,');
    expect(formatGs2Header('p', 'tls-exporter')).to.equal('p=tls-exporter,,');
    expect(parseGs2Header(`${formatGs2Header('y')}rest`).header).to.deep.include({ flag: 'y', authzid: '' });
  });
});
