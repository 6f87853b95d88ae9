/**
 * The cases every line profile (SMTP, IMAP, POP3, ManageSieve) must pass, written once and run
 * over each profile's wire: hostile server input, a failing store, a client that goes away, and
 * the profile's own client logging in to its own server. A profile's spec gives its framing (how
 * a command, a response and a challenge look, and the replies) and keeps only its own cases.
 */
import { expect } from 'chai';
import {
  ClientCredentials,
  type ClientOptions,
  type SASLAuth,
  type ServerOptions,
  advertisedMechanisms,
  isSaslError,
} from '../../lib/index.js';
import { type Script, body, unb64 } from '../protocols/transcript.js';
import type { Conversation, Settled } from './conversation.js';
import { DEMO_PASSWORD, DEMO_USER, demoCredentials, demoServerOptions } from './demo-mail.js';
import { expectNoSecrets } from './helpers.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** A server run on a command and the client's lines, as `lineConversations(...).serve` gives it. */
export type Serve<A> = (
  command: string,
  clientLines: string[],
  args?: A,
) => Promise<{ written: string[] } & Settled<unknown>>;

/** One hostile input for a server and the last line and error code it must end with. */
export interface ServerInputCase<A = never> {
  readonly name: string;
  readonly command: string;
  readonly lines?: readonly string[];
  readonly reply: string;
  readonly code: string;
  /** Server arguments over the harness defaults (a lower line limit, say). */
  readonly args?: A;
}

/** How a line profile frames what the shared cases send, and what its server replies. */
export interface LineWire {
  /** The AUTH command for `mechanism`, with `initial` (already base64, or `=`) when given. */
  readonly command: (mechanism: string, initial?: string) => string;
  /** A client response line carrying `data` (base64, or `*` to cancel). */
  readonly response: (data: string) => string;
  /** A server challenge line carrying base64 `data`. */
  readonly challenge: (data: string) => string;
  /** The server's last line for each ending the shared cases reach. */
  readonly replies: {
    /** To an empty line where the command should be. */
    readonly emptyCommand: string;
    readonly unknownMechanism: string;
    /** To an initial response or a response that is not base64. */
    readonly badBase64: string;
    /** To an initial response with a server-first mechanism (CRAM-MD5). */
    readonly initialNotAllowed: string;
    readonly cancelled: string;
    readonly tooLong: string;
    /** To a wrong password. */
    readonly failed: string;
    /** When the credential store fails. */
    readonly unavailable: string;
  };
}

/** The shared hostile inputs in `wire`'s framing. */
function sharedInput(wire: LineWire): ServerInputCase[] {
  const { command, response, replies } = wire;
  return [
    {
      name: 'unknown mechanism',
      command: command('GSSAPI'),
      reply: replies.unknownMechanism,
      code: 'MECHANISM_UNAVAILABLE',
    },
    { name: 'empty command', command: '', reply: replies.emptyCommand, code: 'MALFORMED_MESSAGE' },
    {
      name: 'bad base64 initial response',
      command: command('PLAIN', '@@@@'),
      reply: replies.badBase64,
      code: 'MALFORMED_MESSAGE',
    },
    {
      name: 'bad base64 response',
      command: command('PLAIN'),
      lines: [response('%%%%')],
      reply: replies.badBase64,
      code: 'MALFORMED_MESSAGE',
    },
    {
      name: 'initial response with server-first CRAM-MD5',
      command: command('CRAM-MD5', 'dGVzdA=='),
      reply: replies.initialNotAllowed,
      code: 'UNEXPECTED_MESSAGE',
    },
    { name: 'cancel', command: command('LOGIN'), lines: [response('*')], reply: replies.cancelled, code: 'ABORTED' },
    {
      name: 'response line over 12288 octets',
      command: command('PLAIN'),
      lines: [response('A'.repeat(12300))],
      reply: replies.tooLong,
      code: 'LIMIT_EXCEEDED',
    },
    {
      name: 'wrong password',
      command: command('PLAIN', b64('\0alice\0wrong')),
      reply: replies.failed,
      code: 'AUTHENTICATION_FAILED',
    },
  ];
}

/**
 * Call inside a `describe`: the shared hostile inputs then the profile's `own`, each ending with
 * its reply and typed error and no secret in it; then a throwing and a rejecting store (the
 * temporary-failure reply and the store's error as it is) and a client that goes away after the
 * first challenge (ABORTED, blamed on the client, nothing more written).
 */
export function serverInputCases<A>(
  serve: Serve<A> & Serve<{ options: ServerOptions }>,
  wire: LineWire,
  own: ServerInputCase<A>[],
): void {
  for (const c of [...sharedInput(wire), ...own]) {
    it(`${c.name}: ${c.code}`, async () => {
      const { written, error } = await serve(c.command, [...(c.lines ?? [])], c.args);
      expect(written[written.length - 1]).to.equal(c.reply);
      expect(isSaslError(error) && error.code, String(error)).to.equal(c.code);
      expectNoSecrets(error, ['alice-pass', 'wrong']);
    });
  }

  const failing: [string, () => never | Promise<never>][] = [
    [
      'throws',
      () => {
        throw new Error('store down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('store down'))],
  ];
  for (const [how, lookup] of failing)
    it(`replies a temporary failure and rejects with the store's error when the store ${how}`, async () => {
      const { written, error } = await serve(wire.command('PLAIN', b64('\0alice\0alice-pass')), [], {
        options: { lookup },
      });
      expect(written).to.deep.equal([wire.replies.unavailable]);
      expect((error as Error).message).to.equal('store down');
    });

  it('rejects with ABORTED, blamed on the client, when the line source closes mid-exchange', async () => {
    const { written, error } = await serve(wire.command('LOGIN'), []);
    expect(written).to.deep.equal([wire.challenge(b64('Username:'))]);
    expect(isSaslError(error) && error.code).to.equal('ABORTED');
    expect(isSaslError(error) && error.party).to.equal('client');
  });
}

/** A conversation of the profile's own client and server, as `lineConversations(...).converse` gives it. */
export type Converse<C, S, R> = (client: C, server: S) => Promise<Conversation<R>>;

/** How the shared own-pair cases call one profile's client and server. */
export interface OwnPair<C, S, R> {
  /** The client arguments for `mechanism` and `credentials` (with `client` options for DIGEST-MD5). */
  client(mechanism: string, credentials: ClientCredentials, client: ClientOptions): C;
  /** The server arguments over `auth` and `options`. */
  server(auth: SASLAuth, options: ServerOptions): S;
  /** The service name DIGEST-MD5 uses. */
  readonly service: string;
  /** The server's success line, as the log shows it (`S: ...`). */
  readonly success: string | RegExp;
  /** The server's refusal of a wrong password, as the log shows it. */
  readonly failed: string;
  /** What the client's error message quotes of the refusal. */
  readonly failedText: string;
  /** Said after each mechanism's name in the case names (a variant of the same pair). */
  readonly label?: string;
  /** The profile's own checks of each successful conversation. */
  check?(conversation: Conversation<R>, mechanism: string): void;
}

/**
 * Call inside a `describe`: every mechanism `auth` advertises logs in (no error on either side,
 * the success line last, the client's mechanism and round trips as on the wire), and PLAIN and
 * LOGIN with a wrong password are refused on both sides without the secret in either error.
 */
export function ownPairCases<C, S, R extends { mechanism: string; roundTrips: number }>(
  converse: Converse<C, S, R>,
  auth: SASLAuth,
  pair: OwnPair<C, S, R>,
): void {
  const client = { host: 'localhost', service: pair.service };
  for (const name of advertisedMechanisms(auth)) {
    it(`${name} succeeds${pair.label ?? ''}`, async () => {
      const conversation = await converse(
        pair.client(name, demoCredentials(name), client),
        pair.server(auth, demoServerOptions()),
      );
      const { client: c, server: s, log } = conversation;
      expect(c.error, String(c.error)).to.equal(undefined);
      expect(s.error, String(s.error)).to.equal(undefined);
      if (typeof pair.success === 'string') expect(log[log.length - 1]).to.equal(pair.success);
      else expect(log[log.length - 1]).to.match(pair.success);
      expect(c.value?.mechanism).to.equal(name);
      expect(c.value?.roundTrips).to.equal(log.filter((line) => line.startsWith('C: ')).length);
      pair.check?.(conversation, name);
    });
  }

  if (pair.label !== undefined) return;
  for (const name of ['PLAIN', 'LOGIN'])
    it(`refuses a wrong password with ${name} on both sides, and neither error carries the secret`, async () => {
      const {
        client: c,
        server: s,
        log,
      } = await converse(
        pair.client(name, new ClientCredentials(DEMO_USER, 'wrong-secret'), client),
        pair.server(auth, demoServerOptions()),
      );
      expect(log[log.length - 1]).to.equal(pair.failed);
      expect(isSaslError(s.error) && s.error.code).to.equal('AUTHENTICATION_FAILED');
      const error = c.error;
      expect(isSaslError(error) && error.code).to.equal('AUTHENTICATION_FAILED');
      expect(isSaslError(error) && error.party).to.equal('server');
      expect((error as Error).message).to.include(pair.failedText);
      expectNoSecrets(error, ['wrong-secret', DEMO_PASSWORD]);
      expectNoSecrets(s.error, ['wrong-secret', DEMO_PASSWORD]);
    });
}

/** How one line profile's exchange reads as a {@link Script}. */
export interface ScriptFraming {
  /** The command's verb and the words before it (IMAP's tag). */
  readonly verb: string;
  readonly before?: number;
  /** What starts a server challenge line (`334 `, `+ `, IMAP's `+` which may stand alone). */
  readonly challenge: string;
  /** True for the server's success reply. */
  readonly success: (reply: string) => boolean;
}

/** The messages of one exchange (from the command to the final reply), for a scripted mechanism. */
export function scriptOf(exchange: readonly string[], framing: ScriptFraming): Script {
  const words = body(exchange[0] ?? '').split(' ');
  const [verb, name, ir] = words.slice(framing.before ?? 0);
  expect(verb).to.equal(framing.verb);
  const rounds: { challenge: Uint8Array; response?: Uint8Array }[] = [];
  let i = 1;
  for (; exchange[i]?.startsWith(`S: ${framing.challenge}`) === true; i += 2) {
    const response = body(exchange[i + 1] ?? '');
    rounds.push({
      // The data after the prefix and its space (none after a bare `+`).
      challenge: unb64(body(exchange[i] ?? '').slice(framing.challenge.trimEnd().length + 1)),
      ...(response === '*' ? {} : { response: unb64(response) }),
    });
  }
  return {
    name: name ?? '',
    ...(ir === undefined ? {} : { initial: ir === '=' ? new Uint8Array(0) : unb64(ir) }),
    rounds,
    outcome: framing.success(body(exchange[i] ?? '')) ? 'success' : 'failure',
  };
}
