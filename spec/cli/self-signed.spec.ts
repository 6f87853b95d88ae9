import { expect } from 'chai';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { selfSignedCertificate } from '../../lib/cli/self-signed.js';

describe('cli/self-signed', function () {
  this.timeout(20000);

  it('makes a certificate for localhost and 127.0.0.1 that parses, with a positive minimal serial (a leading 0x00 once made "illegal padding")', () => {
    for (let i = 0; i < 200; i++) {
      const { cert, key } = selfSignedCertificate();
      const x509 = new X509Certificate(cert);
      expect(x509.serialNumber).to.match(/^[4-7][0-9A-F]{31}$/);
      expect(x509.checkHost('localhost')).to.equal('localhost');
      expect(x509.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(x509.checkPrivateKey(createPrivateKey(key))).to.equal(true);
    }
  });
});
