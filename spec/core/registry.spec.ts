/**
 * How a client picks its mechanism and its channel-binding flag (issue 11, items 8, 10 and 15):
 * what the credentials hold, whether the transport is encrypted, and RFC 5802 section 6's GS2
 * flag, decided in one place (SASLAuth.negotiateClient) and used by every client profile.
 */
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  ClientCredentials,
  type ChooseOptions,
  type ClientOptions,
  LineQueue,
  PromiseClientSession,
  SASLAuth,
  type SaslError,
  buildPgAuthenticationSASL,
  fromBase64,
  imapClientAuth,
  isSaslError,
  manageSieveClientAuth,
  parseImapCapabilities,
  parsePgSASLInitialResponse,
  parseXmppSaslElement,
  pop3ClientAuth,
  postgresClientAuth,
  smtpClientAuth,
  staticChannelBinding,
  xmppClientAuth,
} from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';

const PASSWORD = new ClientCredentials('alice', 'alice-pass');
const TOKEN = new ClientCredentials('alice', 'tok-alice-0123456789', '', { kind: 'token' });
const NOTHING = new ClientCredentials('', '');
const binding = (): ClientOptions['channelBindingData'] =>
  staticChannelBinding({ 'tls-server-end-point': new Uint8Array(32).fill(7) });
const names = (offered: readonly string[], options: ChooseOptions): string | undefined =>
  SASLAuth.all().chooseClient(offered, options)?.name;

describe('registry: how a client picks its mechanism', () => {
  describe('chooseClient keeps the pysasl face', () => {
    it('ranks by priority, honours preference and channelBinding as before, and is blind to credentials when not told', () => {
      expect(names(['PLAIN', 'SCRAM-SHA-1', 'CRAM-MD5'], {})).to.equal('SCRAM-SHA-1');
      expect(names(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'], {})).to.equal('SCRAM-SHA-256');
      expect(names(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'], { channelBinding: true })).to.equal('SCRAM-SHA-256-PLUS');
      expect(names(['SCRAM-SHA-256', 'PLAIN'], { preference: ['PLAIN'] })).to.equal('PLAIN');
      expect(names(['SCRAM-SHA-256', 'OAUTHBEARER'], {})).to.equal('SCRAM-SHA-256');
      expect(names(['PLAIN', 'LOGIN'], {})).to.equal('PLAIN');
    });
  });

  describe('what the credentials hold (item 15)', () => {
    it('ClientCredentials say what their secret is: a password by default, nothing when empty, a token when told', () => {
      expect(PASSWORD.kind).to.equal('password');
      expect(TOKEN.kind).to.equal('token');
      expect(NOTHING.kind).to.equal('none');
      expect(TOKEN.secret).to.equal('tok-alice-0123456789');
      expect(inspect(TOKEN)).to.not.include('tok-alice');
      expect(JSON.stringify(TOKEN)).to.not.include('tok-alice');
      expectSaslError(() => new ClientCredentials('alice', 'x', '', { kind: 'cookie' as 'token' }), 'USAGE');
    });

    it('a token gets only OAUTHBEARER or XOAUTH2, a password only password mechanisms, both the strongest of either', () => {
      const offered = ['SCRAM-SHA-256', 'OAUTHBEARER', 'XOAUTH2', 'PLAIN', 'EXTERNAL', 'ANONYMOUS'];
      expect(names(offered, { credentials: TOKEN })).to.equal('OAUTHBEARER');
      expect(names(offered, { credentials: 'token' })).to.equal('OAUTHBEARER');
      expect(names(['XOAUTH2', 'SCRAM-SHA-1'], { credentials: TOKEN })).to.equal('XOAUTH2');
      expect(names(['SCRAM-SHA-256', 'PLAIN'], { credentials: TOKEN })).to.equal(undefined);
      expect(names(offered, { credentials: PASSWORD })).to.equal('SCRAM-SHA-256');
      expect(names(['OAUTHBEARER', 'XOAUTH2', 'PLAIN'], { credentials: PASSWORD })).to.equal('PLAIN');
      expect(names(['OAUTHBEARER', 'ANONYMOUS'], { credentials: PASSWORD })).to.equal(undefined);
      expect(names(offered, { credentials: ['password', 'token'] })).to.equal('SCRAM-SHA-256');
      expect(names(['OAUTHBEARER', 'PLAIN'], { credentials: ['password', 'token'] })).to.equal('OAUTHBEARER');
      expect(names(offered, { credentials: NOTHING })).to.equal('EXTERNAL');
      expect(names(['ANONYMOUS', 'PLAIN'], { credentials: NOTHING })).to.equal('ANONYMOUS');
    });

    it('negotiateClient takes the kind from the credentials; a named mechanism is used as named', () => {
      const auth = SASLAuth.all();
      expect(auth.negotiateClient(['SCRAM-SHA-256', 'OAUTHBEARER'], { credentials: TOKEN }).mechanism.name).to.equal(
        'OAUTHBEARER',
      );
      expect(auth.negotiateClient(['SCRAM-SHA-256', 'OAUTHBEARER'], { credentials: PASSWORD }).mechanism.name).to.equal(
        'SCRAM-SHA-256',
      );
      expect(
        auth.negotiateClient(['SCRAM-SHA-256', 'OAUTHBEARER'], { credentials: TOKEN, mechanism: 'scram-sha-256' })
          .mechanism.name,
      ).to.equal('SCRAM-SHA-256');
      const error = expectSaslError(
        () => auth.negotiateClient(['SCRAM-SHA-256', 'PLAIN'], { credentials: TOKEN }),
        'MECHANISM_UNAVAILABLE',
      );
      expect(error.party).to.equal('server');
      expect(error.message).to.match(/token/);
      expect(error.message).to.not.include('tok-alice');
    });
  });

  describe('clear-text secrets over an unencrypted transport (item 8)', () => {
    it('never picks PLAIN, LOGIN, OAUTHBEARER or XOAUTH2 when the host says the transport is not encrypted', () => {
      expect(names(['PLAIN', 'LOGIN'], { credentials: PASSWORD, encrypted: false })).to.equal(undefined);
      expect(names(['PLAIN', 'LOGIN', 'CRAM-MD5'], { credentials: PASSWORD, encrypted: false })).to.equal('CRAM-MD5');
      expect(names(['SCRAM-SHA-256', 'PLAIN'], { credentials: PASSWORD, encrypted: false })).to.equal('SCRAM-SHA-256');
      expect(names(['OAUTHBEARER', 'XOAUTH2'], { credentials: TOKEN, encrypted: false })).to.equal(undefined);
      expect(names(['PLAIN', 'LOGIN'], { encrypted: false })).to.equal(undefined);
    });

    it('picks them with allowPlaintext, over an encrypted transport, or when the host does not say', () => {
      expect(names(['PLAIN', 'LOGIN'], { credentials: PASSWORD, encrypted: false, allowPlaintext: true })).to.equal(
        'PLAIN',
      );
      expect(names(['OAUTHBEARER'], { credentials: TOKEN, encrypted: false, allowPlaintext: true })).to.equal(
        'OAUTHBEARER',
      );
      expect(names(['PLAIN', 'LOGIN'], { credentials: PASSWORD, encrypted: true })).to.equal('PLAIN');
      expect(names(['PLAIN', 'LOGIN'], { credentials: PASSWORD })).to.equal('PLAIN');
    });

    it('negotiateClient says why and how to opt in; naming the mechanism is consent', () => {
      const auth = SASLAuth.all();
      const error = expectSaslError(
        () => auth.negotiateClient(['PLAIN', 'LOGIN'], { credentials: PASSWORD, choose: { encrypted: false } }),
        'MECHANISM_UNAVAILABLE',
      );
      expect(error.message).to.include('not encrypted');
      expect(error.message).to.include('allowPlaintext');
      expect(error.message).to.not.include('alice-pass');
      expect(
        auth.negotiateClient(['PLAIN', 'LOGIN'], {
          credentials: PASSWORD,
          choose: { encrypted: false, allowPlaintext: true },
        }).mechanism.name,
      ).to.equal('PLAIN');
      expect(
        auth.negotiateClient(['PLAIN', 'LOGIN'], {
          credentials: PASSWORD,
          mechanism: 'LOGIN',
          choose: { encrypted: false },
        }).mechanism.name,
      ).to.equal('LOGIN');
    });
  });

  describe('the GS2 channel-binding flag (item 10)', () => {
    const both = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'];

    async function firstMessage(choice: ReturnType<SASLAuth['negotiateClient']>): Promise<string> {
      const session = new PromiseClientSession(choice.mechanism.client(PASSWORD, choice.client));
      const initial = await session.start(true);
      session.abort();
      return Buffer.from(initial ?? []).toString('utf8');
    }

    it('binds (p) with -PLUS when the client has binding data and the server offers it', async () => {
      const data = binding();
      const choice = SASLAuth.all().negotiateClient(both, {
        credentials: PASSWORD,
        client: { channelBindingData: data },
      });
      expect(choice.mechanism.name).to.equal('SCRAM-SHA-256-PLUS');
      expect(choice.channelBinding).to.equal('p');
      expect(choice.client.channelBindingData).to.equal(data);
      expect(await firstMessage(choice)).to.match(/^p=tls-server-end-point,,n=alice,r=/);
    });

    it('sends n, not y, when plain SCRAM is picked although the server offers its -PLUS variant', async () => {
      const client: ClientOptions = { channelBindingData: binding(), scramNonceForTesting: 'abcdefghijklmnop' };
      for (const args of [
        { choose: { preference: ['SCRAM-SHA-256'] } },
        { choose: { channelBinding: false } },
        { mechanism: 'SCRAM-SHA-256' },
        { mechanism: SASLAuth.all().getClient('SCRAM-SHA-256')! },
      ]) {
        const choice = SASLAuth.all().negotiateClient(both, { credentials: PASSWORD, client, ...args });
        expect(choice.mechanism.name).to.equal('SCRAM-SHA-256');
        expect(choice.channelBinding).to.equal('n');
        expect(choice.client.channelBindingData).to.equal(undefined);
        expect(choice.client.scramNonceForTesting).to.equal('abcdefghijklmnop');
        expect(await firstMessage(choice)).to.match(/^n,,n=alice,r=/);
      }
      // The offered names are compared in any case.
      expect(
        SASLAuth.all().negotiateClient(['scram-sha-256-plus', 'scram-sha-256'], {
          credentials: PASSWORD,
          client,
          mechanism: 'SCRAM-SHA-256',
        }).channelBinding,
      ).to.equal('n');
    });

    it('sends y only when the client could bind and the server does not offer the -PLUS variant (or its list is unknown)', async () => {
      const data = binding();
      const choice = SASLAuth.all().negotiateClient(['SCRAM-SHA-256', 'PLAIN'], {
        credentials: PASSWORD,
        client: { channelBindingData: data },
      });
      expect(choice.mechanism.name).to.equal('SCRAM-SHA-256');
      expect(choice.channelBinding).to.equal('y');
      expect(choice.client.channelBindingData).to.equal(data);
      expect(await firstMessage(choice)).to.match(/^y,,n=alice,r=/);
      expect(
        SASLAuth.all().negotiateClient(undefined, {
          credentials: PASSWORD,
          mechanism: 'SCRAM-SHA-256',
          client: { channelBindingData: data },
        }).channelBinding,
      ).to.equal('y');
    });

    it('sends n without binding data or with the policy disable, and never picks -PLUS then', async () => {
      const none = SASLAuth.all().negotiateClient(both, { credentials: PASSWORD });
      expect([none.mechanism.name, none.channelBinding]).to.deep.equal(['SCRAM-SHA-256', 'n']);
      const disabled = SASLAuth.all().negotiateClient(both, {
        credentials: PASSWORD,
        client: { channelBinding: 'disable', channelBindingData: binding() },
      });
      expect([disabled.mechanism.name, disabled.channelBinding]).to.deep.equal(['SCRAM-SHA-256', 'n']);
      expect(await firstMessage(disabled)).to.match(/^n,,/);
    });

    it('the policy require picks only -PLUS, and says so when there is none', () => {
      const required: ClientOptions = { channelBinding: 'require', channelBindingData: binding() };
      expect(
        SASLAuth.all().negotiateClient(['PLAIN', ...both], { credentials: PASSWORD, client: required }).mechanism.name,
      ).to.equal('SCRAM-SHA-256-PLUS');
      const error: SaslError = expectSaslError(
        () => SASLAuth.all().negotiateClient(['SCRAM-SHA-256', 'PLAIN'], { credentials: PASSWORD, client: required }),
        'MECHANISM_UNAVAILABLE',
      );
      expect(error.message).to.match(/channel binding is required/);
    });
  });
});

describe('every client profile negotiates through the registry', () => {
  interface Sent {
    readonly mechanism: string;
    /** The initial response, decoded. */
    readonly message: string;
  }
  interface Run {
    readonly credentials?: ClientCredentials;
    readonly offered: readonly string[];
    readonly choose?: ChooseOptions;
    readonly client?: ClientOptions;
    /** Only the mechanisms of `auth` (PostgreSQL has no `choose`). */
    readonly auth?: SASLAuth;
  }
  const text = (b64: string | undefined): string => Buffer.from(fromBase64(b64 ?? '')).toString('utf8');

  // Each runs a client against a server that hangs up after the client's first message, and
  // returns that message (which mechanism, and its initial response), or the error when the
  // client sent nothing.
  type Outcome =
    { readonly sent: Sent; readonly error?: undefined } | { readonly sent?: undefined; readonly error: unknown };
  async function lineFirst(
    run: (lines: LineQueue, write: (line: string) => void) => Promise<unknown>,
    parse: (line: string) => Sent,
  ): Promise<Outcome> {
    const lines = new LineQueue();
    lines.end();
    const written: string[] = [];
    let error: unknown;
    await run(lines, (line) => {
      written.push(line);
    }).catch((thrown: unknown) => {
      error = thrown;
    });
    return written.length === 0 ? { error } : { sent: parse(written[0] ?? '') };
  }
  const authLine = (line: string): Sent => {
    const [, mechanism, ir] = line.split(' ');
    return { mechanism: mechanism ?? '', message: text(ir) };
  };
  function opts(r: Run): { choose?: ChooseOptions; client?: ClientOptions; auth?: SASLAuth } {
    return {
      ...(r.choose ? { choose: r.choose } : {}),
      ...(r.client ? { client: r.client } : {}),
      ...(r.auth ? { auth: r.auth } : {}),
    };
  }

  const PROFILES: Record<string, (run: Run) => Promise<Outcome>> = {
    SMTP: (r) =>
      lineFirst(
        (lines, write) =>
          smtpClientAuth({ credentials: r.credentials ?? PASSWORD, offered: r.offered, ...opts(r), lines, write }),
        authLine,
      ),
    POP3: (r) =>
      lineFirst(
        (lines, write) =>
          pop3ClientAuth({ credentials: r.credentials ?? PASSWORD, offered: r.offered, ...opts(r), lines, write }),
        authLine,
      ),
    IMAP: (r) =>
      lineFirst(
        (lines, write) =>
          imapClientAuth({
            tag: 'A1',
            capabilities: parseImapCapabilities(
              `* CAPABILITY IMAP4rev1 SASL-IR ${r.offered.map((m) => `AUTH=${m}`).join(' ')}`,
            ),
            credentials: r.credentials ?? PASSWORD,
            ...opts(r),
            lines,
            write,
          }),
        (line) => authLine(line.slice('A1 '.length).replace(/^AUTHENTICATE/, 'AUTH')),
      ),
    ManageSieve: (r) =>
      lineFirst(
        (lines, write) =>
          manageSieveClientAuth({
            credentials: r.credentials ?? PASSWORD,
            offered: r.offered,
            ...opts(r),
            lines,
            write,
          }),
        (line) => {
          const match = /^AUTHENTICATE "([^"]+)"(?: "([^"]*)")?$/.exec(line);
          return { mechanism: match?.[1] ?? '', message: text(match?.[2]) };
        },
      ),
    XMPP: async (r) => {
      const elements = new LineQueue();
      elements.end();
      const written: string[] = [];
      let error: unknown;
      const { auth, ...rest } = opts(r);
      await xmppClientAuth({
        auth: auth ?? SASLAuth.all(),
        credentials: r.credentials ?? PASSWORD,
        mechanisms: r.offered,
        ...rest,
        elements,
        write: (e) => {
          written.push(e);
        },
      }).catch((thrown: unknown) => {
        error = thrown;
      });
      if (written.length === 0) return { error };
      const element = parseXmppSaslElement(written[0] ?? '', 'client');
      if (element.kind !== 'auth') throw new Error('expected <auth>');
      return { sent: { mechanism: element.mechanism, message: Buffer.from(element.data ?? []).toString('utf8') } };
    },
    PostgreSQL: async (r) => {
      const written: Uint8Array[] = [];
      const messages = (async function* () {
        yield await Promise.resolve(buildPgAuthenticationSASL(r.offered));
      })();
      let error: unknown;
      await postgresClientAuth({
        messages,
        write: (data) => {
          written.push(Uint8Array.from(data));
        },
        user: 'alice',
        password: 'alice-pass',
        ...(r.auth ? { auth: r.auth } : {}),
        ...(r.client ? { client: r.client } : {}),
      }).catch((thrown: unknown) => {
        error = thrown;
      });
      const frame = written.find((data) => data[0] === 'p'.charCodeAt(0));
      if (frame === undefined) return { error };
      const parsed = parsePgSASLInitialResponse(frame.subarray(5));
      return { sent: { mechanism: parsed.mechanism, message: Buffer.from(parsed.data ?? []).toString('utf8') } };
    },
  };

  const both = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'];
  for (const [profile, run] of Object.entries(PROFILES)) {
    const first = async (r: Run): Promise<Sent> => {
      const outcome = await run(r);
      if (outcome.sent === undefined) throw outcome.error;
      return outcome.sent;
    };
    describe(profile, () => {
      it('binds (p=) with -PLUS when it was given binding data and the server offers -PLUS', async () => {
        const sent = await first({ offered: both, client: { channelBindingData: binding() } });
        expect(sent.mechanism).to.equal('SCRAM-SHA-256-PLUS');
        expect(sent.message).to.match(/^p=tls-server-end-point,,n=/);
      });

      it('sends n (not y) when the host keeps to plain SCRAM-SHA-256 although the server offers -PLUS', async () => {
        const sent = await first({
          offered: both,
          client: { channelBindingData: binding() },
          auth: SASLAuth.named(['SCRAM-SHA-256']),
          choose: { preference: ['SCRAM-SHA-256'] },
        });
        expect(sent.mechanism).to.equal('SCRAM-SHA-256');
        expect(sent.message).to.match(/^n,,n=/);
      });

      it('sends y when it could bind but the server offers no -PLUS', async () => {
        const sent = await first({ offered: ['SCRAM-SHA-256'], client: { channelBindingData: binding() } });
        expect(sent.mechanism).to.equal('SCRAM-SHA-256');
        expect(sent.message).to.match(/^y,,n=/);
      });

      if (profile !== 'PostgreSQL') {
        it('a token picks OAUTHBEARER over SCRAM; a password picks SCRAM over OAUTHBEARER', async () => {
          expect(
            (await first({ offered: ['SCRAM-SHA-256', 'OAUTHBEARER', 'PLAIN'], credentials: TOKEN })).mechanism,
          ).to.equal('OAUTHBEARER');
          expect(
            (await first({ offered: ['OAUTHBEARER', 'SCRAM-SHA-256'], credentials: PASSWORD })).mechanism,
          ).to.equal('SCRAM-SHA-256');
        });

        it('sends nothing and says why when told the transport is not encrypted and only PLAIN or LOGIN is offered; allowPlaintext opts in', async () => {
          const refused = await run({ offered: ['PLAIN', 'LOGIN'], choose: { encrypted: false } });
          expect(refused.sent).to.equal(undefined);
          expect(isSaslError(refused.error) && refused.error.code).to.equal('MECHANISM_UNAVAILABLE');
          expect((refused.error as Error).message).to.include('allowPlaintext');
          expect(
            (await first({ offered: ['PLAIN', 'LOGIN'], choose: { encrypted: false, allowPlaintext: true } }))
              .mechanism,
          ).to.equal('PLAIN');
        });
      }
    });
  }
});
