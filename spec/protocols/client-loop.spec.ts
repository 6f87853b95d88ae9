/**
 * The one client loop (lib/protocols/client-loop.ts) over a scripted framing: the server's
 * messages are given in advance, and the spec reads what the loop sent. Every client profile
 * runs on this loop; their own specs cover their wires.
 */
import { expect } from 'chai';
import { ClientCredentials, SASLAuth, isSaslError } from '../../lib/index.js';
import { type ClientFraming, type ClientStep, runClientLoop } from '../../lib/protocols/client-loop.js';
import { MalformedMessageError, AuthenticationFailedError } from '../../lib/core/errors.js';
import type { SessionOptions } from '../../lib/core/session.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const bytes = (value: string): Uint8Array => Uint8Array.from(Buffer.from(value, 'latin1'));
const credentials = new ClientCredentials('alice', 'alice-pass');
const auth = SASLAuth.named(['PLAIN', 'LOGIN']);

/** A framing fed `steps` (challenge data is latin1 text, `!bad` fails to decode); `sent` records what went out. */
function scripted(steps: ClientStep<string>[], options: { fits?: boolean; cancel?: boolean } = {}) {
  const sent: string[] = [];
  const framing: ClientFraming<string> = {
    initialResponseAllowed: true,
    open(mechanism, initial) {
      const fits = options.fits !== false || initial === undefined;
      sent.push(`open ${mechanism}${fits && initial !== undefined ? ` ${text(initial)}` : ''}`);
      return fits;
    },
    respond(data) {
      sent.push(`respond ${text(data)}`);
    },
    next() {
      const step = steps.shift();
      if (step === undefined) return Promise.reject(new Error('the script ran out'));
      return Promise.resolve(step);
    },
    decode(data) {
      if (data === '!bad') throw new MalformedMessageError('bad challenge', { party: 'server' });
      return bytes(data);
    },
    ...(options.cancel === false
      ? {}
      : {
          cancel() {
            sent.push('cancel');
            return Promise.resolve();
          },
        }),
  };
  return { framing, sent };
}

function run(name: string, framing: ClientFraming<string>, session?: SessionOptions, initialResponse?: boolean) {
  const mechanism = auth.getClient(name);
  if (mechanism === undefined) throw new Error(`no ${name}`);
  return runClientLoop(framing, mechanism.name, mechanism.client(credentials), session, initialResponse);
}

async function code(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
  } catch (error) {
    return isSaslError(error) ? error.code : String(error);
  }
  return 'succeeded';
}

describe('protocols/client-loop', () => {
  it('sends PLAIN with its initial response and resolves on success, in one round trip', async () => {
    const { framing, sent } = scripted([{ kind: 'success', data: undefined, text: 'ok' }]);
    const result = await run('PLAIN', framing);
    expect(sent).to.deep.equal(['open PLAIN \0alice\0alice-pass']);
    expect(result.roundTrips).to.equal(1);
    expect(result.text).to.equal('ok');
    expect(result.outcome.serverVerified).to.equal(false);
  });

  it('answers the empty challenge with an initial response the opening could not carry', async () => {
    const { framing, sent } = scripted(
      [
        { kind: 'challenge', data: '' },
        { kind: 'success', data: undefined },
      ],
      {
        fits: false,
      },
    );
    expect((await run('PLAIN', framing)).roundTrips).to.equal(2);
    expect(sent).to.deep.equal(['open PLAIN', 'respond \0alice\0alice-pass']);
  });

  it('refuses a non-empty first challenge, and success, before the held-back initial response', async () => {
    const early = scripted([{ kind: 'challenge', data: 'x' }], { fits: false });
    expect(await code(run('PLAIN', early.framing))).to.equal('UNEXPECTED_MESSAGE');
    expect(early.sent).to.deep.equal(['open PLAIN', 'cancel']);
    const success = scripted([{ kind: 'success', data: undefined }], { fits: false });
    expect(await code(run('PLAIN', success.framing))).to.equal('UNEXPECTED_MESSAGE');
  });

  it('sends no initial response when the host says so: LOGIN answers each challenge', async () => {
    const { framing, sent } = scripted([
      { kind: 'challenge', data: 'Username:' },
      { kind: 'challenge', data: 'Password:' },
      { kind: 'success', data: undefined },
    ]);
    expect((await run('LOGIN', framing, undefined, false)).roundTrips).to.equal(3);
    expect(sent).to.deep.equal(['open LOGIN', 'respond alice', 'respond alice-pass']);
  });

  it("rejects with the framing's failure, which the mechanism may refine", async () => {
    const refused = new AuthenticationFailedError('refused', { party: 'server' });
    const { framing } = scripted([{ kind: 'failure', error: refused }]);
    let caught: unknown;
    await run('PLAIN', framing).catch((error: unknown) => (caught = error));
    expect(caught).to.equal(refused);
  });

  it('cancels (where the framing can) when a challenge does not decode or the mechanism cannot answer it', async () => {
    const malformed = scripted([{ kind: 'challenge', data: '!bad' }]);
    expect(await code(run('LOGIN', malformed.framing))).to.equal('MALFORMED_MESSAGE');
    expect(malformed.sent).to.deep.equal(['open LOGIN', 'cancel']);
    // PLAIN is done after its initial response: a challenge then is the server's mistake.
    const extra = scripted([{ kind: 'challenge', data: 'more?' }], { cancel: false });
    expect(await code(run('PLAIN', extra.framing))).to.equal('UNEXPECTED_MESSAGE');
    expect(extra.sent).to.deep.equal(['open PLAIN \0alice\0alice-pass']);
  });

  it('leaves the limits to the core: a challenge over maxMessageBytes is LIMIT_EXCEEDED, then cancel', async () => {
    const { framing, sent } = scripted([{ kind: 'challenge', data: 'U'.repeat(100) }]);
    expect(await code(run('LOGIN', framing, { maxMessageBytes: 16 }))).to.equal('LIMIT_EXCEEDED');
    expect(sent).to.deep.equal(['open LOGIN', 'cancel']);
  });

  it('leaves the signal to the core: an aborted exchange sends nothing', async () => {
    const controller = new AbortController();
    controller.abort(new DOMException('too slow', 'TimeoutError'));
    const { framing, sent } = scripted([]);
    expect(await code(run('PLAIN', framing, { signal: controller.signal }))).to.equal('TIMEOUT');
    expect(sent).to.deep.equal([]);
  });

  it('passes on what the framing throws while reading (a hang-up) as it is', async () => {
    const { framing } = scripted([]);
    expect(await code(run('LOGIN', framing))).to.equal('Error: the script ran out');
  });
});
