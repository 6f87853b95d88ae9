/**
 * The one server loop (lib/protocols/server-loop.ts) through each framing that runs on it: SMTP
 * (the line framing), XMPP, PostgreSQL and LDAP. The same cases go through every framing:
 * malformed input, cancel, an abort while waiting, a message over the core's limit, an unknown
 * mechanism and a client that hangs up; each must end with the typed error and the framing's
 * failure reply (none to a peer that is gone). A message that is already buffered costs no
 * promise: counted with async_hooks, not timed.
 */
import { createHook } from 'node:async_hooks';
import { expect } from 'chai';
import { ClearIdentity, LineQueue, SASLAuth, isSaslError, smtpServerAuth } from '../../lib/index.js';
import type { Authenticated } from '../../lib/core/exchange.js';
import type { SessionOptions } from '../../lib/core/session.js';
import {
  type LdapProtocolOp,
  LDAP_RESULT,
  encodeLdapMessage,
  parseLdapMessage,
} from '../../lib/protocols/ldap-messages.js';
import { ldapServerAuth } from '../../lib/protocols/ldap-server.js';
import {
  buildPgSASLInitialResponse,
  buildPgSASLResponse,
  buildPgTerminate,
} from '../../lib/protocols/postgres-messages.js';
import { postgresServerAuth } from '../../lib/protocols/postgres-server.js';
import { buildXmppAbort, buildXmppAuth, buildXmppResponse } from '../../lib/protocols/xmpp-messages.js';
import { xmppServerAuth } from '../../lib/protocols/xmpp-server.js';

const utf8 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text));
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const PLAIN_OK = '\0alice\0alice-pass';
const accounts = new Map([['alice', new ClearIdentity('alice', 'alice-pass')]]);
const options = { lookup: (authcid: string) => accounts.get(authcid) };
const auth = SASLAuth.named(['PLAIN', 'LOGIN', 'CRAM-MD5']);

/** Items handed out in order; then the end (`end: true`) or a wait that never ends. */
class Feed<T> implements AsyncIterator<T> {
  constructor(
    private readonly items: T[],
    private readonly end: boolean,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    if (this.end) return Promise.resolve({ done: true, value: undefined });
    return new Promise(() => undefined);
  }
}

/** What a case sends, in each framing's own terms. */
type Step =
  | { readonly kind: 'open'; readonly mechanism: string; readonly initial?: string }
  | { readonly kind: 'response'; readonly data: string }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'cancel' };

interface Framing {
  readonly name: string;
  /** Runs a server over `steps`; `end`: the client hangs up after them (else it goes silent). */
  run(steps: Step[], end: boolean, session?: SessionOptions): { done: Promise<Authenticated>; replies: string[] };
}

const smtp: Framing = {
  name: 'SMTP (line framing)',
  run(steps, end, session) {
    const [open, ...rest] = steps;
    const lines = new LineQueue();
    const replies: string[] = [];
    for (const step of rest)
      lines.push(step.kind === 'response' ? b64(step.data) : step.kind === 'cancel' ? '*' : 'not base64!');
    if (end) lines.end();
    const command =
      open?.kind === 'open'
        ? `AUTH ${open.mechanism}${open.initial === undefined ? '' : ` ${b64(open.initial)}`}`
        : 'AUTH';
    const done = smtpServerAuth({
      command,
      auth,
      options,
      lines,
      write: (line) => void replies.push(line),
      limits: session ?? {},
    });
    return { done, replies: replies };
  },
};

const xmpp: Framing = {
  name: 'XMPP',
  run(steps, end, session) {
    const replies: string[] = [];
    const elements = steps.map((step) =>
      step.kind === 'open'
        ? buildXmppAuth(step.mechanism, step.initial === undefined ? undefined : utf8(step.initial))
        : step.kind === 'response'
          ? buildXmppResponse(utf8(step.data))
          : step.kind === 'cancel'
            ? buildXmppAbort()
            : "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>not base64!</response>",
    );
    const done = xmppServerAuth({
      auth,
      options,
      elements: new Feed(elements, end),
      write: (element) => void replies.push(element),
      session: session ?? {},
    });
    return { done, replies };
  },
};

const postgres: Framing = {
  name: 'PostgreSQL',
  run(steps, end, session) {
    const replies: string[] = [];
    const chunks = steps.map((step) =>
      step.kind === 'open'
        ? buildPgSASLInitialResponse(step.mechanism, step.initial === undefined ? undefined : utf8(step.initial))
        : step.kind === 'response'
          ? buildPgSASLResponse(utf8(step.data))
          : // PostgreSQL has no cancel; a message of another type is what breaks the exchange.
            buildPgTerminate(),
    );
    const done = postgresServerAuth({
      auth,
      options,
      startup: { user: 'alice' },
      messages: new Feed(chunks, end),
      write: (data) => void replies.push(String.fromCharCode(data[0] as number)),
      session: session ?? {},
    }).then((result) => result.authenticated);
    return { done, replies };
  },
};

const ldap: Framing = {
  name: 'LDAP',
  run(steps, end, session) {
    const replies: string[] = [];
    let id = 0;
    let mechanism = '';
    const chunks = steps.map((step): Uint8Array => {
      id += 1;
      if (step.kind === 'open') mechanism = step.mechanism;
      const credentials =
        step.kind === 'open'
          ? step.initial === undefined
            ? undefined
            : utf8(step.initial)
          : step.kind === 'response'
            ? utf8(step.data)
            : undefined;
      const op: LdapProtocolOp =
        step.kind === 'malformed'
          ? { type: 'unbindRequest' }
          : {
              type: 'bindRequest',
              version: 3,
              name: '',
              // An LDAP client cancels with a bind of another (here: no) mechanism.
              authentication: { sasl: { mechanism: step.kind === 'cancel' ? '' : mechanism, credentials } },
            };
      return encodeLdapMessage({ messageId: id, op });
    });
    const done = ldapServerAuth({
      auth,
      options,
      messages: new Feed(chunks, end),
      write: (data) => {
        const { op } = parseLdapMessage(data, { party: 'server' });
        replies.push(op.type === 'bindResponse' ? String(op.result.resultCode) : op.type);
      },
      session: session ?? {},
    }).then((result) => result.authenticated);
    return { done, replies };
  },
};

async function failure(done: Promise<Authenticated>): Promise<string> {
  try {
    await done;
  } catch (error) {
    return isSaslError(error) ? error.code : `not a SaslError: ${String(error)}`;
  }
  throw new Error('the exchange succeeded');
}

// The failure reply each framing writes last, by the error code it reports.
const LAST_REPLY: Record<string, Record<string, string>> = {
  'SMTP (line framing)': {
    AUTHENTICATION_FAILED: '535',
    MALFORMED_MESSAGE: '501',
    ABORTED: '501',
    TIMEOUT: '454',
    LIMIT_EXCEEDED: '500',
    MECHANISM_UNAVAILABLE: '504',
  },
  XMPP: {
    AUTHENTICATION_FAILED: 'not-authorized',
    MALFORMED_MESSAGE: 'incorrect-encoding',
    ABORTED: 'aborted',
    TIMEOUT: 'temporary-auth-failure',
    LIMIT_EXCEEDED: 'malformed-request',
    MECHANISM_UNAVAILABLE: 'invalid-mechanism',
  },
  PostgreSQL: {
    AUTHENTICATION_FAILED: 'E',
    MALFORMED_MESSAGE: 'E',
    UNEXPECTED_MESSAGE: 'E',
    TIMEOUT: 'E',
    LIMIT_EXCEEDED: 'E',
    MECHANISM_UNAVAILABLE: 'E',
  },
  LDAP: {
    AUTHENTICATION_FAILED: String(LDAP_RESULT.INVALID_CREDENTIALS),
    TIMEOUT: 'extendedResponse',
    LIMIT_EXCEEDED: String(LDAP_RESULT.OTHER),
    MECHANISM_UNAVAILABLE: String(LDAP_RESULT.AUTH_METHOD_NOT_SUPPORTED),
  },
};

// How each framing's challenge reads in `replies` (lastReply's form).
const CHALLENGE: Record<string, string> = {
  'SMTP (line framing)': '334',
  XMPP: "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>VXNlcm5hbWU6</challenge>",
  PostgreSQL: 'R',
  LDAP: String(LDAP_RESULT.SASL_BIND_IN_PROGRESS),
};

function lastReply(framing: Framing, replies: string[]): string {
  const last = replies[replies.length - 1] ?? '(none)';
  if (framing === smtp) return last.slice(0, 3);
  if (framing === xmpp) return /<([a-z-]+)\/>/.exec(last.replace(/^<failure[^>]*>/, ''))?.[1] ?? last;
  return last;
}

describe('protocols/server-loop', () => {
  for (const framing of [smtp, xmpp, postgres, ldap]) {
    describe(`through the ${framing.name} framing`, () => {
      const expectReply = (replies: string[], code: string): void => {
        expect(lastReply(framing, replies), replies.join(' | ')).to.equal(LAST_REPLY[framing.name]?.[code]);
      };

      it('runs LOGIN to success over two responses, and PLAIN with an initial response', async () => {
        const login = framing.run(
          [
            { kind: 'open', mechanism: 'LOGIN' },
            { kind: 'response', data: 'alice' },
            { kind: 'response', data: 'alice-pass' },
          ],
          false,
        );
        expect((await login.done).authcid).to.equal('alice');
        const plain = framing.run([{ kind: 'open', mechanism: 'PLAIN', initial: PLAIN_OK }], false);
        expect((await plain.done).authcid).to.equal('alice');
      });

      it('refuses a wrong password with AUTHENTICATION_FAILED and the failure reply', async () => {
        const run = framing.run([{ kind: 'open', mechanism: 'PLAIN', initial: '\0alice\0wrong' }], false);
        expect(await failure(run.done)).to.equal('AUTHENTICATION_FAILED');
        expectReply(run.replies, 'AUTHENTICATION_FAILED');
      });

      it('refuses a mechanism the server does not offer with MECHANISM_UNAVAILABLE', async () => {
        const run = framing.run([{ kind: 'open', mechanism: 'DIGEST-MD5' }], false);
        expect(await failure(run.done)).to.equal('MECHANISM_UNAVAILABLE');
        expectReply(run.replies, 'MECHANISM_UNAVAILABLE');
      });

      it('ends an exchange the client breaks (malformed input or cancel) with a typed error', async () => {
        for (const broken of [{ kind: 'malformed' }, { kind: 'cancel' }] as const) {
          const run = framing.run([{ kind: 'open', mechanism: 'LOGIN' }, broken], false);
          const code = await failure(run.done).catch((error: unknown) => String(error));
          if (framing === ldap) {
            // LDAP: an unbind ends the connection (no reply); another bind restarts binding, here an unknown mechanism.
            expect(code).to.be.oneOf(['ABORTED', 'MECHANISM_UNAVAILABLE']);
            continue;
          }
          expect(code, broken.kind).to.be.oneOf(['MALFORMED_MESSAGE', 'UNEXPECTED_MESSAGE', 'ABORTED']);
          expectReply(run.replies, code);
        }
      });

      it('ends a wait for the client with TIMEOUT when the signal fires, blaming the client', async () => {
        const controller = new AbortController();
        const run = framing.run([{ kind: 'open', mechanism: 'LOGIN' }], false, { signal: controller.signal });
        await new Promise((resolve) => setImmediate(resolve));
        controller.abort(new DOMException('too slow', 'TimeoutError'));
        let caught: unknown;
        await run.done.catch((error: unknown) => (caught = error));
        expect(isSaslError(caught) && caught.code).to.equal('TIMEOUT');
        expect(isSaslError(caught) && caught.party).to.equal('client');
        expectReply(run.replies, 'TIMEOUT');
      });

      it("enforces the core's message limit on responses (LIMIT_EXCEEDED)", async () => {
        const run = framing.run(
          [
            { kind: 'open', mechanism: 'LOGIN' },
            { kind: 'response', data: 'a'.repeat(64) },
          ],
          false,
          { maxMessageBytes: 16 },
        );
        expect(await failure(run.done)).to.equal('LIMIT_EXCEEDED');
        expectReply(run.replies, 'LIMIT_EXCEEDED');
      });

      it('writes no failure reply to a client that hung up', async () => {
        const run = framing.run([{ kind: 'open', mechanism: 'LOGIN' }], true);
        expect(await failure(run.done)).to.equal('ABORTED');
        // The first challenge went out, and nothing after it.
        expect(lastReply(framing, run.replies)).to.equal(CHALLENGE[framing.name]);
      });
    });
  }

  it('takes a buffered message without a promise: LOGIN over two buffered responses creates no more promises than PLAIN in one line', async () => {
    const count = async (command: string, responses: string[]): Promise<number> => {
      const lines = new LineQueue();
      for (const line of responses) lines.push(line);
      let promises = 0;
      const hook = createHook({
        init(_id, type) {
          if (type === 'PROMISE') promises += 1;
        },
      }).enable();
      try {
        const done = smtpServerAuth({ command, auth, options, lines, write: () => undefined });
        expect((await done).authcid).to.equal('alice');
      } finally {
        hook.disable();
      }
      return promises;
    };
    const plain = await count(`AUTH PLAIN ${b64(PLAIN_OK)}`, []);
    const login = await count('AUTH LOGIN', [b64('alice'), b64('alice-pass')]);
    expect(login).to.be.at.most(plain);
    // The host's promise, this spec's await and PLAIN's own, and nothing per step for a store in memory (the
    // loop over the promise driver before it made 8 for PLAIN and 16 for LOGIN).
    expect(plain).to.be.at.most(4);
  });
});
