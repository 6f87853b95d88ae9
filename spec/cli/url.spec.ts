import { expect } from 'chai';
import { ARGV_SECRET_REFUSED } from '../../lib/cli/args.js';
import { formatTarget, parseTarget, serviceName } from '../../lib/cli/url.js';
import { expectSaslError } from '../support/helpers.js';

/** The message of the usage error `run` throws. */
const usage = (run: () => unknown): string => expectSaslError(run, 'USAGE').message;

describe('cli/url', () => {
  it('maps each scheme to its protocol, TLS mode and default port', () => {
    const cases: [string, string, boolean, number][] = [
      ['smtp://mail.example.com', 'smtp', false, 25],
      ['submission://mail.example.com', 'smtp', false, 587],
      ['smtps://mail.example.com', 'smtp', true, 465],
      ['imap://mail.example.com', 'imap', false, 143],
      ['IMAPS://mail.example.com', 'imap', true, 993],
      ['pop3://mail.example.com', 'pop3', false, 110],
      ['pop3s://mail.example.com', 'pop3', true, 995],
    ];
    for (const [url, protocol, implicitTls, port] of cases) {
      expect(parseTarget(url), url).to.deep.include({
        protocol,
        implicitTls,
        port,
        host: 'mail.example.com',
        user: undefined,
      });
    }
  });

  it('reads ports, IPv6 hosts and a user name', () => {
    expect(parseTarget('imap://al%40ice@127.0.0.1:1143/')).to.deep.equal({
      protocol: 'imap',
      implicitTls: false,
      host: '127.0.0.1',
      port: 1143,
      user: 'al@ice',
    });
    const v6 = parseTarget('smtps://[::1]:4650');
    expect(v6.host).to.equal('::1');
    expect(formatTarget(v6)).to.equal('smtps://[::1]:4650');
    expect(serviceName('pop3')).to.equal('pop');
  });

  it('refuses a password in the URL, other schemes, paths and junk', () => {
    expect(usage(() => parseTarget('smtp://alice:hunter2@host'))).to.equal(ARGV_SECRET_REFUSED);
    expect(usage(() => parseTarget('http://host'))).to.match(/unsupported URL scheme/);
    expect(usage(() => parseTarget('imap://host/INBOX'))).to.match(/path/);
    expect(usage(() => parseTarget('not a url'))).to.match(/expected a URL/);
    expect(usage(() => parseTarget('imap://%E0%A4%A@host'))).to.match(/user name/);
  });
});
