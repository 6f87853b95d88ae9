/**
 * saslkit/xmpp.js: saslkit's mechanisms inside xmpp.js's `@xmpp/client` (the npm package, in this
 * process). Against Prosody (the interop peer): SCRAM-SHA-256 over STARTTLS with TLS 1.3,
 * SCRAM-SHA-256-PLUS with tls-unique over TLS 1.2, PLAIN, a wrong password. Against a local
 * server around saslkit's own XMPP server profile: a server that forges or leaves out its SCRAM
 * signature, or forges its first message, -PLUS with tls-exporter over TLS 1.3, OAUTHBEARER,
 * and the choice rules (no PLAIN without TLS).
 */
import { client } from '@xmpp/client';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  type SaslError,
  ScramIdentity,
  type ServerOptions,
  isSaslError,
} from '../../lib/index.js';
import { selfSignedCertificate } from '../../lib/cli/self-signed.js';
import {
  type SaslkitCredentialsOptions,
  XMPPJS_DEFAULT_MECHANISMS,
  type XmppJsCredentials,
  type XmppJsLogin,
  saslkitCredentials,
  useSaslkitMechanisms,
} from '../../lib/integrations/xmppjs.js';
import { expectNoSecrets } from '../support/helpers.js';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, XMPP_DOMAIN, requirePeer } from '../interop/peers.js';
import {
  type RunningXmppServer,
  type XmppServerOptions,
  extendXmppJsTls,
  startXmppServer,
} from '../interop/xmpp-server.js';

interface LoginResult {
  readonly jid?: string;
  readonly error?: unknown;
  readonly logins: XmppJsLogin[];
  /** The `<auth>` elements xmpp.js sent. */
  readonly sent: string[];
}

interface LoginSettings {
  readonly service: string;
  readonly domain?: string;
  readonly credentials: ClientCredentials | XmppJsCredentials;
  readonly saslkit?: SaslkitCredentialsOptions;
  /** false: the credentials function is saslkit's, but useSaslkitMechanisms is not called. */
  readonly register?: boolean;
}

/** One xmpp.js login with saslkit; the client is always stopped. */
async function login(settings: LoginSettings): Promise<LoginResult> {
  const logins: XmppJsLogin[] = [];
  const sent: string[] = [];
  const xmpp = client({
    service: settings.service,
    domain: settings.domain ?? XMPP_DOMAIN,
    credentials: saslkitCredentials(settings.credentials, {
      ...settings.saslkit,
      onAuthenticated: (result) => logins.push(result),
    }),
  });
  if (settings.register !== false) useSaslkitMechanisms(xmpp);
  xmpp.reconnect.stop();
  xmpp.on('error', () => undefined);
  xmpp.on('send', (element) => {
    if (element.name === 'auth') sent.push(element.toString());
  });
  try {
    const jid = await xmpp.start();
    return { jid: jid.toString(), logins, sent };
  } catch (error) {
    return { error, logins, sent };
  } finally {
    await xmpp.stop().catch(() => undefined);
  }
}

function expectCode(result: LoginResult, code: SaslError['code']): SaslError {
  expect(result.jid, 'the client went online').to.equal(undefined);
  expect(isSaslError(result.error), `a saslkit error, got ${String(result.error)}`).to.equal(true);
  const error = result.error as SaslError;
  expect(error.code).to.equal(code);
  return error;
}

const PASSWORD = 'pencil-Ü';
const ACCOUNTS_HERE = [
  ScramIdentity.create('juliet', PASSWORD, { hashes: ['SHA-1', 'SHA-256', 'SHA-512'], iterations: 4096 }),
  new ClearIdentity('romeo', 'romeo-pass'),
];
const TOKEN = 'juliet-bearer-token';
const STORE: ServerOptions = {
  lookup: (authcid) => ACCOUNTS_HERE.find((identity) => identity.authcid === authcid),
  validateToken: ({ token }) => (token === TOKEN ? { authcid: 'juliet' } : { error: { status: '401' } }),
};

describe('saslkit/xmpp.js (xmpp.js @xmpp/client)', function () {
  describe('useSaslkitMechanisms', function () {
    it("puts saslkit's mechanisms first, strongest first, in place of xmpp.js's SCRAM-SHA-1 and PLAIN", function () {
      const xmpp = client({ service: 'xmpp://127.0.0.1:1', domain: 'localhost' });
      const factory = (xmpp as unknown as { saslFactory: { _mechs: { name: string; mech: unknown }[] } }).saslFactory;
      const before = factory._mechs.map((entry) => entry.name);
      expect(before).to.deep.equal(['SCRAM-SHA-1', 'PLAIN', 'ANONYMOUS']);
      const xmppScramSha1 = factory._mechs[0]?.mech;
      useSaslkitMechanisms(xmpp);
      expect(factory._mechs.map((entry) => entry.name)).to.deep.equal([...XMPPJS_DEFAULT_MECHANISMS, 'ANONYMOUS']);
      expect(factory._mechs.some((entry) => entry.mech === xmppScramSha1)).to.equal(false);
    });

    it('refuses a value that is not an xmpp.js client, and names that are no client-first mechanism', function () {
      expect(() => {
        useSaslkitMechanisms({});
      }).to.throw(/no saslFactory/);
      const xmpp = client({ service: 'xmpp://127.0.0.1:1', domain: 'localhost' });
      expect(() => {
        useSaslkitMechanisms(xmpp, ['CRAM-MD5', 'NOPE']);
      }).to.throw(/client-first/);
    });
  });

  describe('against a local server (saslkit xmppServerAuth)', function () {
    let server: RunningXmppServer | undefined;
    let restoreTls: (() => void) | undefined;
    const pem = selfSignedCertificate();

    async function serve(settings: Partial<XmppServerOptions> = {}): Promise<string> {
      server = await startXmppServer({
        auth: SASLAuth.named([
          'SCRAM-SHA-512-PLUS',
          'SCRAM-SHA-256-PLUS',
          'SCRAM-SHA-512',
          'SCRAM-SHA-256',
          'SCRAM-SHA-1',
          'OAUTHBEARER',
          'PLAIN',
        ]),
        options: STORE,
        ...settings,
      });
      return `xmpp://127.0.0.1:${server.port}`;
    }

    before(function () {
      restoreTls = extendXmppJsTls({ ca: pem.cert });
    });

    after(function () {
      restoreTls?.();
    });

    afterEach(async function () {
      await server?.close();
      server = undefined;
    });

    it('logs in with the strongest SCRAM offered (SCRAM-SHA-512 without TLS) and checks the server signature', async function () {
      const result = await login({ service: await serve(), credentials: { username: 'juliet', password: PASSWORD } });
      expect(result.error).to.equal(undefined);
      expect(result.jid).to.equal('juliet@localhost/saslkit');
      expect(result.logins).to.deep.equal([{ mechanism: 'SCRAM-SHA-512', serverVerified: true, channelBinding: 'n' }]);
      expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-512']);
      expectNoSecrets(result.sent, [PASSWORD]);
    });

    it('refuses a server that forges its SCRAM signature in <success>, where xmpp.js alone goes online', async function () {
      const forge = (element: string): string => {
        const match = /^<success xmlns='[^']+'>([^<]+)<\/success>$/.exec(element);
        if (match === null) return element;
        const forged = Buffer.from(
          Buffer.from(match[1] ?? '', 'base64')
            .toString()
            .replace(/^v=./, (v) => (v.endsWith('A') ? 'v=B' : 'v=A')),
        ).toString('base64');
        return element.replace(match[1] ?? '', forged);
      };
      const service = await serve({ tamper: forge });
      const result = await login({ service, credentials: { username: 'juliet', password: PASSWORD } });
      const error = expectCode(result, 'SERVER_NOT_VERIFIED');
      expect(error.message).to.equal('SCRAM server signature is wrong');
      expect(result.logins).to.deep.equal([]);
      // The server let the client in: only the client's check stopped the login.
      expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-512']);

      // xmpp.js's own SCRAM-SHA-1 does not look at the signature (xmpp.js #1019).
      const plain = client({ service, domain: 'localhost', username: 'juliet', password: PASSWORD });
      plain.reconnect.stop();
      plain.on('error', () => undefined);
      try {
        const jid = await plain.start();
        expect(jid.toString()).to.equal('juliet@localhost/saslkit');
      } finally {
        await plain.stop().catch(() => undefined);
      }
      expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-512', 'SCRAM-SHA-1']);
    });

    it('refuses <success> without the server signature', async function () {
      const service = await serve({
        tamper: (element) =>
          element.startsWith('<success') ? `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>` : element,
      });
      const result = await login({ service, credentials: { username: 'juliet', password: PASSWORD } });
      expectCode(result, 'SERVER_NOT_VERIFIED');
    });

    it('refuses a forged server-first message and sends <abort/>, so the server does not wait', async function () {
      // An iteration count below SCRAM's minimum of 4096 (a cheap attack on the password).
      const weaken = (element: string): string => {
        const match = /^<challenge xmlns='[^']+'>([^<]+)<\/challenge>$/.exec(element);
        if (match === null) return element;
        const weak = Buffer.from(
          Buffer.from(match[1] ?? '', 'base64')
            .toString()
            .replace(/,i=\d+/, ',i=1'),
        ).toString('base64');
        return element.replace(match[1] ?? '', weak);
      };
      const result = await login({
        service: await serve({ tamper: weaken }),
        credentials: { username: 'juliet', password: PASSWORD },
      });
      const error = expectCode(result, 'LIMIT_EXCEEDED');
      expect(error.party).to.equal('server');
      expect(server?.logins).to.deep.equal([]);
      expect(server?.refusals.map((refusal) => (isSaslError(refusal) ? refusal.code : String(refusal)))).to.deep.equal([
        'ABORTED',
      ]);
    });

    it('refuses a wrong password with AuthenticationFailedError, and says nothing secret', async function () {
      const result = await login({
        service: await serve(),
        credentials: { username: 'juliet', password: 'wrong-password' },
      });
      const error = expectCode(result, 'AUTHENTICATION_FAILED');
      expect(error.mechanism).to.equal('SCRAM-SHA-512');
      expectNoSecrets(error, ['wrong-password', PASSWORD]);
    });

    it('does not choose PLAIN on a stream without TLS unless allowPlaintext', async function () {
      const service = await serve({ auth: SASLAuth.named(['PLAIN']) });
      const refused = await login({ service, credentials: { username: 'romeo', password: 'romeo-pass' } });
      const error = expectCode(refused, 'MECHANISM_UNAVAILABLE');
      expect(error.message).to.match(/in clear/);
      expect(refused.sent).to.deep.equal([]);
      const allowed = await login({
        service,
        credentials: { username: 'romeo', password: 'romeo-pass' },
        saslkit: { choose: { allowPlaintext: true } },
      });
      expect(allowed.logins).to.deep.equal([{ mechanism: 'PLAIN', serverVerified: false, channelBinding: 'n' }]);
    });

    it('binds SCRAM-SHA-512-PLUS to the TLS 1.3 connection (tls-exporter) after STARTTLS', async function () {
      const service = await serve({ tls: pem, requireTls: true });
      const result = await login({ service, credentials: new ClientCredentials('juliet', PASSWORD) });
      expect(result.error).to.equal(undefined);
      expect(result.logins).to.deep.equal([
        { mechanism: 'SCRAM-SHA-512-PLUS', serverVerified: true, channelBinding: 'p' },
      ]);
      expect(server?.tlsVersions).to.deep.equal(['TLSv1.3']);
      const gs2 = Buffer.from(/>([^<]+)</.exec(result.sent[0] ?? '')?.[1] ?? '', 'base64').toString();
      expect(gs2.startsWith('p=tls-exporter,,')).to.equal(true);
    });

    it("with channelBinding 'require' refuses a server that offers no -PLUS", async function () {
      const service = await serve({ auth: SASLAuth.named(['SCRAM-SHA-256']) });
      const result = await login({
        service,
        credentials: { username: 'juliet', password: PASSWORD },
        saslkit: { client: { channelBinding: 'require' } },
      });
      expectCode(result, 'MECHANISM_UNAVAILABLE');
      expect(result.sent).to.deep.equal([]);
    });

    it('runs OAUTHBEARER with a bearer token over TLS', async function () {
      const service = await serve({ tls: pem, requireTls: true });
      const result = await login({ service, credentials: { username: 'juliet', token: TOKEN } });
      expect(result.logins).to.deep.equal([{ mechanism: 'OAUTHBEARER', serverVerified: false, channelBinding: 'n' }]);
      expect(server?.logins.map((user) => [user.mechanism, user.authcid])).to.deep.equal([['OAUTHBEARER', 'juliet']]);
    });

    describe('over XEP-0388 (SASL2), where xmpp.js hands <additional-data> to the mechanism', function () {
      it('logs in with SCRAM-SHA-512 and checks the signature', async function () {
        const result = await login({
          service: await serve({ sasl2: true }),
          credentials: { username: 'juliet', password: PASSWORD },
        });
        expect(result.error).to.equal(undefined);
        expect(result.jid).to.equal('juliet@localhost/saslkit');
        expect(result.logins).to.deep.equal([
          { mechanism: 'SCRAM-SHA-512', serverVerified: true, channelBinding: 'n' },
        ]);
      });

      it('refuses a forged signature in <additional-data>', async function () {
        const forge = (element: string): string =>
          element.replace(
            /<additional-data>([^<]+)</,
            (_, data: string) =>
              `<additional-data>${Buffer.from(
                Buffer.from(data, 'base64')
                  .toString()
                  .replace(/^v=./, (v) => (v.endsWith('A') ? 'v=B' : 'v=A')),
              ).toString('base64')}<`,
          );
        const result = await login({
          service: await serve({ sasl2: true, tamper: forge }),
          credentials: { username: 'juliet', password: PASSWORD },
        });
        const error = expectCode(result, 'SERVER_NOT_VERIFIED');
        expect(error.message).to.equal('SCRAM server signature is wrong');
        expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-512']);
      });

      it('refuses <success> without <additional-data>', async function () {
        const strip = (element: string): string => element.replace(/<additional-data>[^<]*<\/additional-data>/, '');
        const result = await login({
          service: await serve({ sasl2: true, tamper: strip }),
          credentials: { username: 'juliet', password: PASSWORD },
        });
        expectCode(result, 'SERVER_NOT_VERIFIED');
      });
    });

    it("fails with a UsageError when the client's factory has none of saslkit's mechanisms", async function () {
      const result = await login({
        service: await serve(),
        credentials: { username: 'juliet', password: PASSWORD },
        register: false,
      });
      expectCode(result, 'USAGE');
      expect(result.sent).to.deep.equal([]);
    });
  });

  describe('against Prosody (interop peer)', function () {
    let restoreTls: (() => void) | undefined;
    const service = `xmpp://${HOST}:${PORTS.xmpp}`;
    const alice = { username: ACCOUNTS.alice.user, password: ACCOUNTS.alice.pass };

    before(async function () {
      await requirePeer(this, 'prosody');
      restoreTls = extendXmppJsTls({ ca: readFileSync(`${INTEROP_RUN}/prosody/cert.pem`) });
    });

    after(function () {
      restoreTls?.();
    });

    function tlsMax(version: 'TLSv1.2' | 'TLSv1.3'): () => void {
      restoreTls?.();
      const again = extendXmppJsTls({ ca: readFileSync(`${INTEROP_RUN}/prosody/cert.pem`), maxVersion: version });
      return again;
    }

    it('logs in with SCRAM-SHA-256 over STARTTLS (TLS 1.3) and checks the server signature', async function () {
      restoreTls = tlsMax('TLSv1.3');
      const result = await login({ service, credentials: alice });
      expect(result.error).to.equal(undefined);
      expect(result.jid).to.match(/^alice@localhost\//);
      // Prosody offers no -PLUS on TLS 1.3 (no tls-exporter): 'y' says the client could bind.
      expect(result.logins).to.deep.equal([{ mechanism: 'SCRAM-SHA-256', serverVerified: true, channelBinding: 'y' }]);
    });

    it('logs in with SCRAM-SHA-256-PLUS (tls-unique) when TLS is capped at 1.2', async function () {
      restoreTls = tlsMax('TLSv1.2');
      const result = await login({ service, credentials: alice });
      expect(result.error).to.equal(undefined);
      expect(result.logins).to.deep.equal([
        { mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true, channelBinding: 'p' },
      ]);
      const gs2 = Buffer.from(/>([^<]+)</.exec(result.sent[0] ?? '')?.[1] ?? '', 'base64').toString();
      expect(gs2.startsWith('p=tls-unique,,n=alice,')).to.equal(true);
    });

    it('refuses a wrong password with AuthenticationFailedError (not-authorized)', async function () {
      restoreTls = tlsMax('TLSv1.3');
      const result = await login({ service, credentials: { username: 'bob', password: 'not-bobs-pass' } });
      const error = expectCode(result, 'AUTHENTICATION_FAILED');
      expect(error.mechanism).to.equal('SCRAM-SHA-256');
      expectNoSecrets(error, ['not-bobs-pass', ACCOUNTS.bob.pass]);
    });

    it('logs in with PLAIN when asked for it (TLS), and with SCRAM-SHA-1', async function () {
      restoreTls = tlsMax('TLSv1.3');
      const bob = { username: ACCOUNTS.bob.user, password: ACCOUNTS.bob.pass };
      const plain = await login({ service, credentials: bob, saslkit: { mechanism: 'PLAIN' } });
      expect(plain.logins).to.deep.equal([{ mechanism: 'PLAIN', serverVerified: false, channelBinding: 'n' }]);
      const sha1 = await login({ service, credentials: bob, saslkit: { choose: { preference: ['SCRAM-SHA-1'] } } });
      expect(sha1.logins).to.deep.equal([{ mechanism: 'SCRAM-SHA-1', serverVerified: true, channelBinding: 'y' }]);
    });
  });
});
