// PLAIN's checks, each pinned with its blame so that loosening it fails a spec (issue 11, found
// by mutation testing: see mutation/RESULTS.md).
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  PLAIN,
  SASLAuth,
  type SaslError,
  SyncClientSession,
  SyncServerSession,
  buildPlainResponse,
  parsePlainResponse,
} from '../../lib/index.js';
import { b, expectSaslError, storeOf } from '../support/helpers.js';

function blamed(fn: () => unknown, code: SaslError['code'], party: SaslError['party']): SaslError {
  const error = expectSaslError(fn, code);
  expect({ mechanism: error.mechanism, party: error.party }, error.message).to.deep.equal({
    mechanism: 'PLAIN',
    party,
  });
  return error;
}

describe('PLAIN checks (each pinned on its own)', () => {
  it('is client-first (it sends its only message as the initial response), priority 20', () => {
    expect(PLAIN).to.include({ name: 'PLAIN', clientFirst: true, priority: 20 });
    expect(SASLAuth.defaults().getServer('plain')).to.equal(PLAIN);
  });

  it('a malformed message is blamed on the client, through the server and through the parser', () => {
    const options = { lookup: storeOf(new ClearIdentity('alice', 'alice-pass')) };
    for (const message of ['alice\0alice-pass', '\0alice\0pass\0', 'a\0\0pass', 'a\0alice\0']) {
      blamed(() => new SyncServerSession(PLAIN.server(options, b(message))).start(), 'MALFORMED_MESSAGE', 'client');
      blamed(() => parsePlainResponse(b(message)), 'MALFORMED_MESSAGE', 'client');
    }
    blamed(() => parsePlainResponse(Uint8Array.of(0, 0x61, 0, 0xc3, 0x28)), 'MALFORMED_MESSAGE', 'client');
    blamed(() => parsePlainResponse(b('\0alice\0pass'), { maxFieldBytes: 3 }), 'LIMIT_EXCEEDED', 'client');
  });

  it('each field may be exactly maxFieldBytes long', () => {
    const parsed = parsePlainResponse(b('abc\0def\0ghi'), { maxFieldBytes: 3 });
    expect([parsed.authzid, parsed.authcid]).to.deep.equal(['abc', 'def']);
    for (const message of ['abcd\0def\0ghi', 'abc\0defg\0ghi', 'abc\0def\0ghij'])
      blamed(() => parsePlainResponse(b(message), { maxFieldBytes: 3 }), 'LIMIT_EXCEEDED', 'client');
  });

  it('the client refuses a NUL in any field locally', () => {
    for (const [authcid, secret, authzid] of [
      ['a\0', 'p', ''],
      ['a', 'p\0', ''],
      ['a', 'p', 'z\0'],
    ]) {
      blamed(() => buildPlainResponse(authcid as string, secret as string, authzid), 'USAGE', 'local');
    }
  });

  it('the client takes success with no data or empty data, and refuses data or a challenge (blamed on the server)', () => {
    const started = (): SyncClientSession => {
      const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
      client.start();
      return client;
    };
    expect(started().success()).to.deep.equal({ serverVerified: false });
    expect(started().success(new Uint8Array(0))).to.deep.equal({ serverVerified: false });
    blamed(() => started().success(b('x')), 'UNEXPECTED_MESSAGE', 'server');
    blamed(() => started().challenge(b('')), 'UNEXPECTED_MESSAGE', 'server');
  });
  it('an authzid equal to the presented authcid means no authzid, even when SASLprep changes the name', () => {
    const options = { lookup: storeOf(new ClearIdentity('alice', 'alice-pass')) };
    for (const name of ['alice', 'al\u00ADice']) {
      const step = new SyncServerSession(PLAIN.server(options, b(`${name}\0${name}\0alice-pass`))).start();
      expect(step.done && [step.outcome.authcid, step.outcome.authzid]).to.deep.equal(['alice', 'alice']);
    }
  });
});
