// CRAM-MD5 checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  CramMD5Credentials,
  type Identity,
  type SaslError,
  SyncServerSession,
  buildCramMd5Response,
  cramMd5Challenge,
  cramMd5Digest,
  cramMd5Server,
  parseCramMd5Response,
} from '../../lib/index.js';
import { ALICE, b, expectSaslError, runPair, s, storeOf } from '../support/helpers.js';

describe('CRAM-MD5 checks (each pinned on its own)', () => {
  it('draws every challenge from fresh random bits across block refills (three blocks of 64)', () => {
    const randomParts = new Set<string>();
    for (let i = 0; i < 3 * 64 + 1; i++) {
      const challenge = s(cramMd5Challenge('mail.example'));
      const match = /^<([0-9]+)\.[0-9]+@mail\.example>$/.exec(challenge);
      expect(match, challenge).to.not.equal(null);
      randomParts.add(match?.[1] ?? '');
    }
    expect(randomParts.size).to.equal(3 * 64 + 1);
  });

  it('an unknown user cannot log in with the (public) placeholder secret unknown users are checked against', () => {
    const options = { lookup: storeOf(new ClearIdentity('alice', 'alice-pass')) };
    const error = expectSaslError(
      () =>
        runPair(CRAM_MD5.client(new ClientCredentials('nobody', 'saslkit-unknown-user-placeholder')), (ir) =>
          CRAM_MD5.server(options, ir),
        ),
      'AUTHENTICATION_FAILED',
    );
    expect({ mechanism: error.mechanism, party: error.party }).to.deep.equal({
      mechanism: 'CRAM-MD5',
      party: 'client',
    });
  });
});

describe('CRAM-MD5 checks: blame and lookups (pinned after the second StrykerJS run)', () => {
  const challengeBytes = b('<1896.697170952@postoffice.example.net>');
  const blame = (error: SaslError): unknown => ({ code: error.code, mechanism: error.mechanism, party: error.party });
  const noClearSecret: Identity = {
    authcid: 'carol',
    compareAuthcid: (name) => name === 'carol',
    compareSecret: () => false,
    getClearSecret: () => undefined,
  };

  it('a host name with a space is a USAGE error of CRAM-MD5', () => {
    expect(blame(expectSaslError(() => cramMd5Challenge('bad host'), 'USAGE'))).to.deep.equal({
      code: 'USAGE',
      mechanism: 'CRAM-MD5',
      party: 'local',
    });
  });

  it('verify() of an account without a clear secret is MECHANISM_UNAVAILABLE, blamed on the local side', () => {
    const claimed = parseCramMd5Response(b(`carol ${'0'.repeat(32)}`), challengeBytes);
    expect(blame(expectSaslError(() => claimed.verify(noClearSecret), 'MECHANISM_UNAVAILABLE'))).to.deep.equal({
      code: 'MECHANISM_UNAVAILABLE',
      mechanism: 'CRAM-MD5',
      party: 'local',
    });
  });

  it('an unknown user is refused by verify() even with the digest of the empty key', () => {
    const claimed = new CramMD5Credentials('nobody', challengeBytes, cramMd5Digest('', challengeBytes));
    expect(claimed.verify(undefined)).to.equal(false);
  });

  it('the client refuses a user name that prepares to nothing with a USAGE error of CRAM-MD5', () => {
    expect(blame(expectSaslError(() => buildCramMd5Response('\u00ad', 'pw', challengeBytes), 'USAGE'))).to.deep.equal({
      code: 'USAGE',
      mechanism: 'CRAM-MD5',
      party: 'local',
    });
  });

  it('the client sends a user name with an unassigned code point (query profile)', () => {
    expect(s(buildCramMd5Response('d\u0221', 'pw', challengeBytes)).split(' ')[0]).to.equal('d\u0221');
  });

  it('an initial response is UNEXPECTED_MESSAGE blamed on the client', () => {
    const server = new SyncServerSession(cramMd5Server({ lookup: storeOf(ALICE) }, challengeBytes, b('alice x')));
    expect(blame(expectSaslError(() => server.start(), 'UNEXPECTED_MESSAGE'))).to.deep.equal({
      code: 'UNEXPECTED_MESSAGE',
      mechanism: 'CRAM-MD5',
      party: 'client',
    });
  });

  it('a name that prepares to nothing is not looked up; one with an unassigned code point is', () => {
    const asked: string[] = [];
    const lookup = (name: string): Identity | undefined => {
      asked.push(name);
      return undefined;
    };
    for (const user of ['\u00ad', '\ue000', 'd\u0221']) {
      const server = new SyncServerSession(cramMd5Server({ lookup }, challengeBytes));
      server.start();
      const error = expectSaslError(
        () => server.respond(b(`${user} ${cramMd5Digest('pw', challengeBytes)}`)),
        'AUTHENTICATION_FAILED',
      );
      expect(blame(error)).to.deep.equal({ code: 'AUTHENTICATION_FAILED', mechanism: 'CRAM-MD5', party: 'client' });
    }
    expect(asked).to.deep.equal(['d\u0221']);
  });

  it('an account without a clear secret fails like an unknown user, with the reason as cause', () => {
    const server = new SyncServerSession(cramMd5Server({ lookup: () => noClearSecret }, challengeBytes));
    server.start();
    const error = expectSaslError(() => server.respond(b(`carol ${'0'.repeat(32)}`)), 'AUTHENTICATION_FAILED');
    expect(blame(error)).to.deep.equal({ code: 'AUTHENTICATION_FAILED', mechanism: 'CRAM-MD5', party: 'client' });
    expect(blame(error.cause as SaslError)).to.deep.equal({
      code: 'MECHANISM_UNAVAILABLE',
      mechanism: 'CRAM-MD5',
      party: 'local',
    });
  });

  it('the key is SASLprep-ed with unassigned code points allowed: a mapped space next to one is still mapped', () => {
    expect(cramMd5Digest('a\u00a0\u0221', challengeBytes)).to.equal(cramMd5Digest('a \u0221', challengeBytes));
    expect(cramMd5Digest('a\u00a0\u0221', challengeBytes)).to.not.equal(cramMd5Digest('a\u00a0', challengeBytes));
  });

  it('CramMD5Credentials is inspected by its class name, without the digest', () => {
    const claimed = parseCramMd5Response(b(`alice ${'a'.repeat(32)}`), challengeBytes);
    expect(inspect(claimed)).to.match(/^CramMD5Credentials/);
    expect(inspect(claimed)).to.not.include('a'.repeat(32));
  });
});
