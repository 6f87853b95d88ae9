import { expect } from 'chai';
import { escapeText, renderClientMessage, renderServerMessage } from '../../lib/cli/trace-messages.js';

// A SCRAM-SHA-256 proof has 32 bytes; the client-final parser refuses any other length.
const PROOF = Buffer.alloc(32, 7).toString('base64');

describe('cli/trace-messages', () => {
  it('escapes control characters, quotes and backslashes', () => {
    expect(escapeText('a\0b\x01c"d\\e\r\n\x7f\u0085é')).to.equal('a\\0b\\x01c\\"d\\\\e\\r\\n\\x7f\\x85é');
  });

  it("redacts each mechanism's secrets and keeps the rest readable", () => {
    const fresh = { clientMessages: 0, lastChallenge: undefined };
    expect(renderClientMessage('PLAIN', 'admin\0alice\0hunter2', fresh)).to.equal('"admin\\0alice\\0[redacted]"');
    // A message PLAIN's parser refuses is redacted whole, with the parser's fixed reason.
    expect(renderClientMessage('PLAIN', 'garbage-hunter2', fresh)).to.equal(
      '[redacted 15 bytes: PLAIN message must have exactly three NUL-separated fields]',
    );
    expect(renderClientMessage('LOGIN', 'alice', fresh)).to.equal('"alice"');
    expect(renderClientMessage('LOGIN', 'alice', { clientMessages: 0, lastChallenge: 'Username:' })).to.equal(
      '"alice"',
    );
    expect(renderClientMessage('LOGIN', 'hunter2', { clientMessages: 1, lastChallenge: 'Password:' })).to.equal(
      '[redacted]',
    );
    expect(renderClientMessage('LOGIN', 'hunter2', { clientMessages: 1, lastChallenge: 'anything else' })).to.equal(
      '[redacted]',
    );
    expect(renderClientMessage('CRAM-MD5', 'alice 0123456789abcdef0123456789abcdef', fresh)).to.equal(
      '"alice [redacted]"',
    );
    expect(renderClientMessage('DIGEST-MD5', 'username="alice",response=0123abcd,qop=auth', fresh)).to.equal(
      '"username=\\"alice\\",response=[redacted],qop=auth"',
    );
    expect(renderClientMessage('SCRAM-SHA-256-PLUS', 'p=tls-exporter,,n=alice,r=abc', fresh)).to.equal(
      '"p=tls-exporter,,n=alice,r=abc"',
    );
    expect(renderClientMessage('SCRAM-SHA-256', `c=biws,r=abcdef,p=${PROOF}`, fresh)).to.equal(
      '"c=biws,r=abcdef,p=[redacted]"',
    );
    expect(renderServerMessage('SCRAM-SHA-256', 'v=U2lnbmF0dXJl')).to.equal('"v=[redacted]"');
    expect(renderServerMessage('SCRAM-SHA-256', 'r=abcdef,s=c2FsdA==,i=4096')).to.equal('"r=abcdef,s=c2FsdA==,i=4096"');
    expect(renderServerMessage('DIGEST-MD5', 'rspauth=0123abcd')).to.equal('"rspauth=[redacted]"');
    expect(renderClientMessage('XOAUTH2', 'user=alice\x01auth=Bearer hunter2\x01\x01', fresh)).to.equal(
      '"user=alice\\x01auth=[redacted]\\x01\\x01"',
    );
    expect(
      renderClientMessage('OAUTHBEARER', 'n,a=alice,\x01host=h\x01port=1\x01auth=Bearer hunter2\x01\x01', fresh),
    ).to.equal('"n,a=alice,\\x01host=h\\x01port=1\\x01auth=[redacted]\\x01\\x01"');
    expect(renderClientMessage('ANONYMOUS', 'trace@example.com', fresh)).to.equal('"trace@example.com"');
    expect(renderClientMessage('X-UNKNOWN', 'hunter2', fresh)).to.equal('[7 bytes, not shown]');
  });
});
