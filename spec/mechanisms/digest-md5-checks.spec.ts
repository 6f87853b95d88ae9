// DIGEST-MD5 checks pinned after the StrykerJS run on 48fddb7 (issue 11; see mutation/RESULTS.md).
// Each case fails when one check of lib/mechanisms/digest-md5.ts is removed or loosened.
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  type Identity,
  type SaslError,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  computeDigestMd5,
  parseDigestMd5Directives,
} from '../../lib/index.js';
import { digestMd5Client, digestMd5Server } from '../../lib/mechanisms/digest-md5.js';
import { b, expectSaslError, s, storeOf } from '../support/helpers.js';

const blame = (error: SaslError): unknown => ({ code: error.code, mechanism: error.mechanism, party: error.party });
const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');

/** An identity with a clear secret of our choosing (empty, ill-formed) and a name check of our choosing. */
function rawIdentity(
  authcid: string,
  clear: string | undefined,
  owns: (name: string) => boolean = (name) => name === authcid,
): Identity {
  return { authcid, compareAuthcid: owns, compareSecret: () => false, getClearSecret: () => clear };
}

interface Claim {
  readonly username?: string;
  readonly password?: string;
  readonly nonce?: string;
  readonly realm?: string;
  readonly digestUri?: string;
  readonly charset?: boolean;
  readonly authzid?: string;
}

/** A response to a challenge with nonce N and realm example.com, as a client would compute it. */
function responseText(claim: Claim = {}): string {
  const {
    username = 'chris',
    password = 'secret',
    nonce = 'N',
    realm = 'example.com',
    digestUri = 'imap/example.com',
    charset = true,
    authzid,
  } = claim;
  const { response } = computeDigestMd5({
    username,
    realm,
    password,
    nonce,
    cnonce: 'C',
    digestUri,
    authzid,
    utf8: charset,
  });
  const parts = [
    ...(charset ? ['charset=utf-8'] : []),
    `username="${username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    'nc=00000001',
    'cnonce="C"',
    `digest-uri="${digestUri}"`,
    `response=${response}`,
    'qop=auth',
  ];
  if (authzid !== undefined) parts.push(`authzid="${authzid}"`);
  return parts.join(',');
}

/** A server (nonce N, realm example.com) waiting for the response. */
function serverAt(options: ServerOptions): SyncServerSession {
  const session = new SyncServerSession(digestMd5Server({ hostname: 'example.com', ...options }, undefined, () => 'N'));
  session.start();
  return session;
}

/** The server's answer to a response: 'rspauth' when it accepted it, else the error. */
function answer(options: ServerOptions, message: Uint8Array): 'rspauth' | SaslError {
  const session = serverAt(options);
  try {
    const step = session.respond(message);
    return !step.done && s(step.challenge).startsWith('rspauth=') ? 'rspauth' : expect.fail('expected rspauth');
  } catch (error) {
    return error as SaslError;
  }
}

describe('DIGEST-MD5 checks: the directive parser', () => {
  const parse = (text: string, party?: 'client' | 'server'): unknown => parseDigestMd5Directives(latin1(text), party);
  const refused = (text: string, party?: 'client' | 'server'): SaslError =>
    expectSaslError(() => parse(text, party), 'MALFORMED_MESSAGE');

  it('returns exactly the directives, names lower-cased, values unquoted, tabs skipped like spaces', () => {
    expect(parse('A=b')).to.deep.equal([{ name: 'a', value: 'b' }]);
    expect(parse('a=b,\tc = "d"\t, ,e=f')).to.deep.equal([
      { name: 'a', value: 'b' },
      { name: 'c', value: 'd' },
      { name: 'e', value: 'f' },
    ]);
  });

  it('refuses a directive without a name, without "=", or with an empty token value', () => {
    for (const text of ['=x', 'a=b,=c', 'a:b', 'a=b,c:d', 'a=,b=c', 'a=']) refused(text);
  });

  it('quoted strings: a tab is allowed, DEL and other controls are not', () => {
    expect(parse('a="x\ty"')).to.deep.equal([{ name: 'a', value: 'x\ty' }]);
    for (const text of ['a="x\x7fy"', 'a="x\x01y"']) refused(text);
  });

  it('escapes: printable ASCII from space to "~" may be escaped, nothing outside it', () => {
    expect(parse('a="\\ \\~\\"\\\\"')).to.deep.equal([{ name: 'a', value: ' ~"\\' }]);
    for (const text of ['a="\\\x1f"', 'a="\\\x7f"', 'a="\\\xe9"', 'a="\\\t"']) refused(text);
  });

  it('an error is blamed on the client by default and for party client, on the server for party server', () => {
    expect(blame(refused('=x'))).to.deep.equal({ code: 'MALFORMED_MESSAGE', mechanism: 'DIGEST-MD5', party: 'client' });
    expect(blame(refused('=x', 'client'))).to.deep.equal({
      code: 'MALFORMED_MESSAGE',
      mechanism: 'DIGEST-MD5',
      party: 'client',
    });
    expect(blame(refused('=x', 'server'))).to.deep.equal({
      code: 'MALFORMED_MESSAGE',
      mechanism: 'DIGEST-MD5',
      party: 'server',
    });
  });
});

describe('DIGEST-MD5 checks: computeDigestMd5', () => {
  it('encodes the authzid in UTF-8 unless utf8 is false (the default is UTF-8)', () => {
    const base = {
      username: 'u',
      realm: 'r',
      password: 'p',
      nonce: 'n',
      cnonce: 'c',
      digestUri: 'imap/h',
      authzid: 'é',
    };
    const byDefault = computeDigestMd5(base);
    expect(byDefault).to.deep.equal(computeDigestMd5({ ...base, utf8: true }));
    expect(byDefault.response).to.not.equal(computeDigestMd5({ ...base, utf8: false }).response);
  });
});

describe('DIGEST-MD5 checks: the server', () => {
  const options: ServerOptions = { lookup: storeOf(new ClearIdentity('chris', 'secret')) };

  it('accepts the reference response (so every refusal below is due to its one change)', () => {
    expect(answer(options, b(responseText()))).to.equal('rspauth');
  });

  it('refuses a response computed for another nonce, even with a correct digest for it', () => {
    const error = answer(options, b(responseText({ nonce: 'M' })));
    expect(error !== 'rspauth' && blame(error)).to.deep.equal({
      code: 'AUTHENTICATION_FAILED',
      mechanism: 'DIGEST-MD5',
      party: 'client',
    });
  });

  it('without charset=utf-8 the names are ISO 8859-1 (a byte 0xE9 is é, not broken UTF-8)', () => {
    const jose = { lookup: storeOf(new ClearIdentity('josé', 'secret')) };
    expect(answer(jose, latin1(responseText({ username: 'josé', charset: false })))).to.equal('rspauth');
  });

  it('a stored identity that does not own the presented name does not log it in', () => {
    const bobForAlice: ServerOptions = { lookup: () => rawIdentity('bob', 'bob-pass') };
    const error = answer(bobForAlice, b(responseText({ username: 'alice', password: 'bob-pass' })));
    expect(error !== 'rspauth' && error.code).to.equal('AUTHENTICATION_FAILED');
  });

  it('an account with an empty or ill-formed clear secret never logs in, not even with the placeholder password', () => {
    for (const clear of ['', '\ud800']) {
      const store: ServerOptions = { lookup: () => rawIdentity('chris', clear) };
      for (const password of ['', 'saslkit-unknown-user-placeholder', clear]) {
        const error = answer(store, b(responseText({ password })));
        expect(error !== 'rspauth' && error.code, `${JSON.stringify(clear)} / ${JSON.stringify(password)}`).to.equal(
          'AUTHENTICATION_FAILED',
        );
      }
    }
  });

  it('an unknown user fails without a cause (only an unusable account has one)', () => {
    const error = answer(
      options,
      b(responseText({ username: 'mallory', password: 'saslkit-unknown-user-placeholder' })),
    );
    expect(error !== 'rspauth' && error.code).to.equal('AUTHENTICATION_FAILED');
    expect(error !== 'rspauth' && error.cause).to.equal(undefined);
  });

  it('a name that prepares to nothing or that SASLprep refuses is not looked up; one with an unassigned code point is', () => {
    const asked: string[] = [];
    const lookup = (name: string): Identity | undefined => {
      asked.push(name);
      return undefined;
    };
    for (const username of ['\u00ad', '\ue000', 'd\u0221']) {
      const error = answer({ lookup }, b(responseText({ username })));
      expect(error !== 'rspauth' && blame(error)).to.deep.equal({
        code: 'AUTHENTICATION_FAILED',
        mechanism: 'DIGEST-MD5',
        party: 'client',
      });
    }
    expect(asked).to.deep.equal(['d\u0221']);
  });

  it('host names compare by ASCII case only: an alias with U+017F (long s) does not match "s"', () => {
    const aliased: ServerOptions = { ...options, hostAliases: ['\u017f.example'] };
    const error = answer(aliased, b(responseText({ digestUri: 'imap/s.example' })));
    expect(error !== 'rspauth' && error.code).to.equal('AUTHENTICATION_FAILED');
    expect(
      answer({ ...options, hostAliases: ['S.Example.'] }, b(responseText({ digestUri: 'imap/s.example' }))),
    ).to.equal('rspauth');
  });

  it('bad options are USAGE errors of DIGEST-MD5 at start, never a crash', () => {
    const start = (extra: Record<string, unknown>, nonce = 'N'): SaslError =>
      expectSaslError(
        () =>
          new SyncServerSession(
            digestMd5Server({ ...options, hostname: 'example.com', ...extra }, undefined, () => nonce),
          ).start(),
        'USAGE',
      );
    const cases: [Record<string, unknown>, string?][] = [
      [{ service: ['imap'] }],
      [{ service: 'im4p' }],
      [{ hostAliases: ['a.example', 42] }],
      [{ hostAliases: 'a.example' }],
      [{ hostname: 'example\n.com' }],
      [{}, 'N\u0000'],
      [{}, ''],
    ];
    for (const [extra, nonce] of cases)
      expect(blame(start(extra, nonce)), JSON.stringify(extra)).to.deep.equal({
        code: 'USAGE',
        mechanism: 'DIGEST-MD5',
        party: 'local',
      });
  });
});

describe('DIGEST-MD5 checks: the client', () => {
  const challenge = 'realm="example.com",nonce="N",qop="auth",algorithm=md5-sess,charset=utf-8';
  const clientFor = (
    credentials: ClientCredentials,
    cnonce = 'C',
    options = { host: 'example.com', service: 'imap' },
  ): SyncClientSession => {
    const client = new SyncClientSession(digestMd5Client(credentials, options, () => cnonce));
    client.start();
    return client;
  };
  const usage = (fn: () => unknown): unknown => blame(expectSaslError(fn, 'USAGE'));
  const LOCAL_USAGE = { code: 'USAGE', mechanism: 'DIGEST-MD5', party: 'local' };

  it('refuses unusable options and credentials with a USAGE error of DIGEST-MD5', () => {
    const chris = new ClientCredentials('chris', 'secret');
    expect(
      usage(() => clientFor(chris, 'C', { host: 'example.com' } as { host: string; service: string })),
    ).to.deep.equal(LOCAL_USAGE);
    expect(usage(() => clientFor(chris, 'C', { host: 'bad host', service: 'imap' }))).to.deep.equal(LOCAL_USAGE);
    expect(usage(() => clientFor(new ClientCredentials('', 'secret')).challenge(b(challenge)))).to.deep.equal(
      LOCAL_USAGE,
    );
    expect(
      usage(() => clientFor(new ClientCredentials('chris', 'secret', 'x\ud800')).challenge(b(challenge))),
    ).to.deep.equal(LOCAL_USAGE);
    expect(usage(() => clientFor(chris, 'C\u0000').challenge(b(challenge)))).to.deep.equal(LOCAL_USAGE);
  });

  it('to a server without charset=utf-8, refuses an authzid outside ISO 8859-1 even when the user name fits', () => {
    const client = clientFor(new ClientCredentials('chris', 'secret', '\u0101dmin'));
    expect(
      usage(() => client.challenge(b('realm="example.com",nonce="N",qop="auth",algorithm=md5-sess'))),
    ).to.deep.equal(LOCAL_USAGE);
  });

  it('refuses a final message with rspauth twice, even when the first one is right', () => {
    const client = clientFor(new ClientCredentials('chris', 'secret'));
    client.challenge(b(challenge));
    const { rspauth } = computeDigestMd5({
      username: 'chris',
      realm: 'example.com',
      password: 'secret',
      nonce: 'N',
      cnonce: 'C',
      digestUri: 'imap/example.com',
    });
    expect(
      blame(
        expectSaslError(() => client.challenge(b(`rspauth=${rspauth},rspauth=${'0'.repeat(32)}`)), 'MALFORMED_MESSAGE'),
      ),
    ).to.deep.equal({ code: 'MALFORMED_MESSAGE', mechanism: 'DIGEST-MD5', party: 'server' });
  });

  it('success without data, or with empty data, or with a wrong rspauth is SERVER_NOT_VERIFIED of DIGEST-MD5', () => {
    for (const data of [undefined, new Uint8Array(0), b(`rspauth=${'0'.repeat(32)}`)]) {
      const client = clientFor(new ClientCredentials('chris', 'secret'));
      client.challenge(b(challenge));
      const error = expectSaslError(() => client.success(data), 'SERVER_NOT_VERIFIED');
      expect(error.mechanism).to.equal('DIGEST-MD5');
    }
  });
});
