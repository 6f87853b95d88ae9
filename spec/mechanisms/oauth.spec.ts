import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  BearerCredentials,
  ClientCredentials,
  OAUTHBEARER,
  SyncClientSession,
  SyncServerSession,
  type TokenRequest,
  XOAUTH2,
  encodeTokenError,
  parseTokenError,
} from '../../lib/index.js';
import { parseBearerAuth, parseKeyValues } from '../../lib/mechanisms/oauth.js';
import { b, expectNoSecrets, expectSaslError, s } from '../support/helpers.js';
import { bytesOf, vector } from '../support/vectors.js';

describe('oauth (shared by XOAUTH2 and OAUTHBEARER)', () => {
  describe('parseKeyValues', () => {
    it('reads terminated pairs and the final terminator', () => {
      const pairs = parseKeyValues(b('a=1\x01bb=x=y\x01c=\x01\x01'), 'TEST');
      expect([...pairs]).to.deep.equal([
        ['a', '1'],
        ['bb', 'x=y'],
        ['c', ''],
      ]);
      expect(parseKeyValues(b('\x01'), 'TEST').size).to.equal(0);
    });

    const malformed: [string, Uint8Array][] = [
      ['an empty message', b('')],
      ['a missing final 0x01', b('a=1\x01')],
      ['no terminator at all', b('a=1')],
      ['a pair without =', b('a\x01\x01')],
      ['an empty key', b('=1\x01\x01')],
      ['a key with digits', b('a1=1\x01\x01')],
      ['a stray empty pair', b('a=1\x01\x01b=2\x01\x01')],
      ['a repeated key', b('a=1\x01a=1\x01\x01')],
      ['a control character in a value', b('a=1\x00\x01\x01')],
      ['invalid UTF-8', Uint8Array.of(0x61, 0x3d, 0xc3, 0x28, 1, 1)],
    ];
    for (const [name, message] of malformed) {
      it(`rejects ${name} with MALFORMED_MESSAGE`, () => {
        expectSaslError(() => parseKeyValues(message, 'TEST'), 'MALFORMED_MESSAGE');
      });
    }
  });

  describe('parseBearerAuth', () => {
    it('accepts Bearer in any case followed by one or more spaces', () => {
      expect(parseBearerAuth('Bearer abc.DEF-_~+/==', 'TEST')).to.equal('abc.DEF-_~+/==');
      expect(parseBearerAuth('bEARER   tok', 'TEST')).to.equal('tok');
    });
    for (const value of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      'Bearertok',
      'Bearer tok en',
      'Bearer t=k',
      'Bearer tök',
      '',
    ]) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        expectSaslError(() => parseBearerAuth(value, 'TEST'), 'MALFORMED_MESSAGE');
      });
    }
  });

  describe('error JSON', () => {
    it('encodes RFC 7628 and Google examples byte for byte', () => {
      const rfc = encodeTokenError({
        status: 'invalid_token',
        scope: 'example_scope',
        openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      });
      expect(s(rfc)).to.equal(s(bytesOf(vector('oauthbearer-rfc7628-imap-error-challenge').expected['message'])));
      const smtp = encodeTokenError({
        status: 'invalid_token',
        schemes: 'bearer mac',
        scope: 'https://mail.example.com/',
      });
      expect(s(smtp)).to.equal(s(bytesOf(vector('oauthbearer-rfc7628-smtp-error-challenge').expected['message'])));
      const google = encodeTokenError(
        { status: '401', schemes: 'bearer mac', scope: 'https://mail.google.com/' },
        true,
      );
      expect(s(google)).to.equal(s(bytesOf(vector('xoauth2-google-error-challenge').expected['challenge'])));
    });

    it('parses the published challenges', () => {
      expect(
        parseTokenError(bytesOf(vector('oauthbearer-rfc7628-imap-error-challenge').expected['message'])),
      ).to.deep.equal({
        status: 'invalid_token',
        scope: 'example_scope',
        openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      });
      expect(parseTokenError(bytesOf(vector('xoauth2-google-error-challenge').expected['challenge']))).to.deep.equal({
        status: '401',
        schemes: 'bearer mac',
        scope: 'https://mail.google.com/',
      });
    });

    it('parses tolerantly: garbage gives fewer fields, never an error', () => {
      expect(parseTokenError(b('not json'))).to.deep.equal({});
      expect(parseTokenError(b('[1,2]'))).to.deep.equal({});
      expect(parseTokenError(b('null'))).to.deep.equal({});
      expect(parseTokenError(Uint8Array.of(0xff, 0xfe))).to.deep.equal({});
      expect(parseTokenError(b('{"status":401,"scope":{"x":1}}'))).to.deep.equal({ status: '401' });
    });
  });

  // Issue 11 item 14, and the same hole in OAUTHBEARER's GS2 authzid: the user the client names
  // reaches validateToken, authorize() and the result's authzid, so no control character may.
  describe('the requested user never carries a control character', () => {
    const messages: [string, (user: string) => Uint8Array][] = [
      ['XOAUTH2 user=', (user) => b(`user=${user}\x01auth=Bearer tok\x01\x01`)],
      ['OAUTHBEARER a=', (user) => b(`n,a=${user},\x01auth=Bearer tok\x01\x01`)],
    ];
    for (const [where, build] of messages) {
      const mechanism = where.startsWith('XOAUTH2') ? XOAUTH2 : OAUTHBEARER;
      it(`${where}: CR, LF, HTAB, C1 and other controls are MALFORMED_MESSAGE before the validator and the policy run`, () => {
        const seen: TokenRequest[] = [];
        const asked: string[] = [];
        const options = {
          validateToken: (request: TokenRequest) => (seen.push(request), { authcid: 'alice' }),
          authorize: ({ authzid }: { authzid: string }) => (asked.push(authzid), true),
        };
        for (const control of ['\r', '\n', '\r\n', '\t', '\u0000', '\u001B', '\u007F', '\u0085', '\u009F']) {
          const error = expectSaslError(
            () => new SyncServerSession(mechanism.server(options, build(`bob${control}admin`))).start(),
            'MALFORMED_MESSAGE',
          );
          expect(error.party).to.equal('client');
        }
        expect(seen).to.have.length(0);
        expect(asked).to.have.length(0);
        const step = new SyncServerSession(mechanism.server(options, build('bob'))).start();
        expect(step.done && step.outcome.authzid).to.equal('bob');
      });
    }
  });

  it('BearerCredentials keeps the token out of inspect and JSON', () => {
    const claim = new BearerCredentials('alice', 'sekrit-token', 'imap.example.com', 993);
    expect(claim.token).to.equal('sekrit-token');
    expect(inspect(claim)).to.include('alice');
    expectNoSecrets(claim, ['sekrit-token']);
  });

  describe('validator verdicts', () => {
    const run = (verdict: unknown) => () =>
      new SyncServerSession(
        XOAUTH2.server({ validateToken: () => verdict as never }, b('user=alice\x01auth=Bearer tok\x01\x01')),
      ).start();
    for (const [name, verdict] of [
      ['undefined', undefined],
      ['an empty authcid', { authcid: '' }],
      ['an error without status', { error: {} }],
      ['an error with a non-string scope', { error: { status: 'x', scope: 1 } }],
      ['a string', 'alice'],
    ] as const) {
      it(`refuses ${name} with USAGE`, () => {
        expectSaslError(run(verdict), 'USAGE');
      });
    }
  });

  it('a validator that throws fails the exchange with its own error', () => {
    const session = new SyncServerSession(
      XOAUTH2.server(
        {
          validateToken: () => {
            throw new Error('db down');
          },
        },
        b('user=alice\x01auth=Bearer tok\x01\x01'),
      ),
    );
    expect(() => session.start()).to.throw('db down');
    expect(session.finished).to.equal(true);
  });

  it('the client surfaces the status of an error challenge, never the token', () => {
    const client = new SyncClientSession(XOAUTH2.client(new ClientCredentials('alice', 'sekrit-token')));
    client.start();
    expect(client.challenge(b('{"status":"invalid_token"}')).length).to.equal(0);
    const error = expectSaslError(() => client.failure(), 'AUTHENTICATION_FAILED');
    expect(error).to.have.property('serverError', 'invalid_token');
    expect(error.party).to.equal('server');
    expectNoSecrets(error, ['sekrit-token']);
  });
});
