import { expect } from 'chai';
import {
  ANONYMOUS,
  ClientCredentials,
  PromiseServerSession,
  SASLAuth,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  buildAnonymousMessage,
  parseAnonymousMessage,
} from '../../lib/index.js';
import { b, expectSaslError, runPair, s } from '../support/helpers.js';
import { bytesOf, textOf, vector } from '../support/vectors.js';

function serverStart(initial: Uint8Array | undefined, options: ServerOptions = {}) {
  return new SyncServerSession(ANONYMOUS.server(options, initial)).start();
}

describe('ANONYMOUS', () => {
  it('anonymous-rfc4505: client sends the trace and the server reports it', () => {
    const v = vector('anonymous-rfc4505');
    const client = new SyncClientSession(ANONYMOUS.client(new ClientCredentials(textOf(v.inputs['trace']), '')));
    const message = client.start()!;
    expect(Buffer.from(message).equals(Buffer.from(bytesOf(v.expected['message'])))).to.equal(true);
    const step = serverStart(message);
    expect(step.done && step.outcome).to.deep.equal({
      mechanism: 'ANONYMOUS',
      authcid: 'anonymous',
      authzid: 'anonymous',
      trace: 'sirhc',
    });
    expect(client.success().serverVerified).to.equal(false);
  });

  it('runs client against server, after the empty challenge when there is no initial response', () => {
    const result = runPair(ANONYMOUS.client(new ClientCredentials('fred@example.com', '')), (ir) =>
      ANONYMOUS.server({}, ir),
    );
    expect(result.transcript).to.deep.equal(['C: fred@example.com']);
    expect(result.server.trace).to.equal('fred@example.com');

    const session = new SyncServerSession(ANONYMOUS.server({}));
    const first = session.start();
    expect(!first.done && first.challenge.length).to.equal(0);
    const done = session.respond(b('sirhc'));
    expect(done.done && done.outcome.trace).to.equal('sirhc');
  });

  it('accepts an empty trace (empty initial response)', () => {
    const client = new SyncClientSession(ANONYMOUS.client(new ClientCredentials('', '')));
    const message = client.start()!;
    expect(message.length).to.equal(0);
    const step = serverStart(message);
    expect(step.done && step.outcome).to.include({ authcid: 'anonymous', trace: '' });
  });

  it('is opt-in, client-first, priority 0', () => {
    expect(SASLAuth.defaults().getServer('ANONYMOUS')).to.equal(undefined);
    expect(SASLAuth.named(['anonymous']).getServer('ANONYMOUS')).to.equal(ANONYMOUS);
    expect(ANONYMOUS.clientFirst).to.equal(true);
    expect(ANONYMOUS.priority).to.equal(0);
  });

  describe('trace profile', () => {
    const good: [string, string][] = [
      ['spaces and punctuation', 'hello world, #42!'],
      ['255 characters', 'x'.repeat(255)],
      ['255 three-byte characters', '\u20ac'.repeat(255)],
      ['255 astral characters (1020 octets)', '\u{1F600}'.repeat(255)],
      ['a right-to-left string', '\u05e9\u05dc\u05d5\u05dd'],
      ['right-to-left with digits inside', '\u05e9 1 \u05dd'],
      ['unassigned code points (allowed by the profile)', 'a\u{30000}'],
    ];
    for (const [name, trace] of good) {
      it(`accepts ${name}`, () => {
        expect(parseAnonymousMessage(b(trace))).to.equal(trace);
        expect(s(buildAnonymousMessage(trace))).to.equal(trace);
      });
    }

    const bad: [string, string][] = [
      ['256 characters', 'x'.repeat(256)],
      ['C.2.1 ASCII control', 'a\u0007b'],
      ['C.2.1 DEL', 'a\u007f'],
      ['C.2.2 non-ASCII control', 'a\u0085'],
      ['C.2.2 zero width joiner', 'a\u200db'],
      ['C.2.2 musical symbol format', 'a\u{1D173}'],
      ['C.3 private use', 'a\ue000'],
      ['C.3 supplementary private use', 'a\u{100000}'],
      ['C.4 non-character', 'a\ufdd0'],
      ['C.4 plane-1 non-character', 'a\u{1fffe}'],
      ['C.4 plane-14 non-character', 'a\u{effff}'],
      ['C.6 replacement character', 'a\ufffd'],
      ['C.8 right-to-left override', 'a\u202e'],
      ['C.8 combining tone mark', 'a\u0341'],
      ['C.9 tag', 'a\u{e0041}'],
      ['mixed RandALCat and LCat', '\u05e9abc\u05dd'],
      ['RandALCat not at the end', '\u05e9\u05dc1'],
      ['RandALCat not at the start', '1\u05e9\u05dc'],
    ];
    for (const [name, trace] of bad) {
      it(`rejects ${name}: MALFORMED_MESSAGE on the server, USAGE on the client`, () => {
        const error = expectSaslError(() => serverStart(b(trace)), 'MALFORMED_MESSAGE');
        expect(error).to.include({ mechanism: 'ANONYMOUS', party: 'client' });
        expectSaslError(
          () => new SyncClientSession(ANONYMOUS.client(new ClientCredentials(trace, ''))).start(),
          'USAGE',
        );
      });
    }

    it('rejects a lone surrogate on the client and its encoding on the server', () => {
      expectSaslError(() => buildAnonymousMessage('a\ud800'), 'USAGE');
      expectSaslError(() => serverStart(Uint8Array.of(0x61, 0xed, 0xa0, 0x80)), 'MALFORMED_MESSAGE');
    });

    it('rejects invalid UTF-8 with MALFORMED_MESSAGE', () => {
      expectSaslError(() => serverStart(Uint8Array.of(0x61, 0xc3)), 'MALFORMED_MESSAGE');
    });

    it('rejects a message over maxFieldBytes with LIMIT_EXCEEDED', () => {
      expectSaslError(() => serverStart(b('x'.repeat(2000))), 'LIMIT_EXCEEDED');
      expectSaslError(() => serverStart(b('x'.repeat(11)), { maxFieldBytes: 10 }), 'LIMIT_EXCEEDED');
    });
  });

  describe('client', () => {
    it('takes the trace from authcid, ignores the secret and refuses an authzid', () => {
      expect(s(new SyncClientSession(ANONYMOUS.client(new ClientCredentials('trace', 'ignored'))).start())).to.equal(
        'trace',
      );
      expectSaslError(
        () => new SyncClientSession(ANONYMOUS.client(new ClientCredentials('trace', '', 'bob'))).start(),
        'USAGE',
      );
    });

    it('refuses a challenge after its message, and additional data with success', () => {
      const client = new SyncClientSession(ANONYMOUS.client(new ClientCredentials('', '')));
      client.start();
      expectSaslError(() => client.challenge(b('more?')), 'UNEXPECTED_MESSAGE');
      const other = new SyncClientSession(ANONYMOUS.client(new ClientCredentials('', '')));
      other.start();
      expectSaslError(() => other.success(b('data')), 'UNEXPECTED_MESSAGE');
    });

    it('sends its message after the empty challenge when it cannot send an initial response', () => {
      const client = new SyncClientSession(ANONYMOUS.client(new ClientCredentials('sirhc', '')));
      expect(client.start(false)).to.equal(undefined);
      expect(s(client.challenge(new Uint8Array(0)))).to.equal('sirhc');
    });
  });

  it('refuses a response after the exchange finished', () => {
    const session = new SyncServerSession(ANONYMOUS.server({}));
    session.start();
    session.respond(new Uint8Array(0));
    expectSaslError(() => session.respond(new Uint8Array(0)), 'USAGE');
  });

  it('runs under the promise driver', async () => {
    const step = await new PromiseServerSession(ANONYMOUS.server({}, b('sirhc'))).start();
    expect(step.done && step.outcome.trace).to.equal('sirhc');
  });
});
