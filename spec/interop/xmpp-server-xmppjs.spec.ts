/**
 * saslkit's XMPP server profile (xmppServerAuth), inside a minimal c2s server on 127.0.0.1
 * (spec/interop/xmpp-server.ts: stream header, optional STARTTLS, features, SASL, restart,
 * resource binding), with xmpp.js's `@xmpp/client` logging in: its own PLAIN and SCRAM-SHA-1,
 * and SCRAM-SHA-256(-PLUS) through saslkit's plug-in, with channel binding over TLS 1.3
 * (tls-exporter) and TLS 1.2 (tls-unique) between two Node TLS stacks.
 *
 * xmpp.js 0.14 puts a `mechanism` attribute on `<response>`; saslkit's parser accepts and ignores
 * it, so the multi-step logins run against the server profile as it is.
 */
import { client } from '@xmpp/client';
import { expect } from 'chai';
import { ClearIdentity, SASLAuth, ScramIdentity, type ServerOptions, isSaslError } from '../../lib/index.js';
import { selfSignedCertificate } from '../../lib/cli/self-signed.js';
import { type XmppJsLogin, saslkitCredentials, useSaslkitMechanisms } from '../../lib/integrations/xmppjs.js';
import { type RunningXmppServer, type XmppServerOptions, extendXmppJsTls, startXmppServer } from './xmpp-server.js';

const STORE: ServerOptions = {
  lookup: (authcid) =>
    [
      new ClearIdentity('alice', 'alice-pass'),
      ScramIdentity.create('bob', 'bob-pass', { hashes: ['SHA-1', 'SHA-256'], iterations: 4096 }),
    ].find((identity) => identity.authcid === authcid),
};

interface Outcome {
  readonly jid?: string;
  readonly error?: unknown;
  readonly logins: XmppJsLogin[];
}

/** xmpp.js logs in, with its own mechanisms or (saslkit: true) with saslkit's; always stopped. */
async function xmppJsLogin(port: number, username: string, password: string, saslkit: boolean): Promise<Outcome> {
  const logins: XmppJsLogin[] = [];
  const service = `xmpp://127.0.0.1:${port}`;
  const xmpp = saslkit
    ? client({
        service,
        domain: 'localhost',
        credentials: saslkitCredentials({ username, password }, { onAuthenticated: (login) => logins.push(login) }),
      })
    : client({ service, domain: 'localhost', username, password });
  if (saslkit) useSaslkitMechanisms(xmpp);
  xmpp.reconnect.stop();
  xmpp.on('error', () => undefined);
  try {
    return { jid: (await xmpp.start()).toString(), logins };
  } catch (error) {
    return { error, logins };
  } finally {
    await xmpp.stop().catch(() => undefined);
  }
}

describe('interop: saslkit xmppServerAuth with xmpp.js (@xmpp/client) logging in', function () {
  const pem = selfSignedCertificate();
  let server: RunningXmppServer | undefined;
  let restoreTls: (() => void) | undefined;

  async function serve(settings: Partial<XmppServerOptions>): Promise<number> {
    server = await startXmppServer({
      auth: SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']),
      options: STORE,
      ...settings,
    });
    return server.port;
  }

  function capTls(maxVersion: 'TLSv1.2' | 'TLSv1.3'): void {
    restoreTls?.();
    restoreTls = extendXmppJsTls({ ca: pem.cert, maxVersion });
  }

  afterEach(async function () {
    restoreTls?.();
    restoreTls = undefined;
    await server?.close();
    server = undefined;
  });

  it("xmpp.js's own PLAIN over STARTTLS (the only PLAIN login that needs no <response>)", async function () {
    capTls('TLSv1.3');
    const port = await serve({ auth: SASLAuth.named(['PLAIN']), tls: pem, requireTls: true });
    const outcome = await xmppJsLogin(port, 'alice', 'alice-pass', false);
    expect(outcome.error).to.equal(undefined);
    expect(outcome.jid).to.equal('alice@localhost/saslkit');
    expect(server?.logins.map((user) => [user.mechanism, user.authcid])).to.deep.equal([['PLAIN', 'alice']]);
    expect(server?.tlsVersions).to.deep.equal(['TLSv1.3']);
  });

  it("xmpp.js's own SCRAM-SHA-1, against a stored SCRAM-SHA-1 secret", async function () {
    const port = await serve({ auth: SASLAuth.named(['SCRAM-SHA-1']) });
    const outcome = await xmppJsLogin(port, 'bob', 'bob-pass', false);
    expect(outcome.jid).to.equal('bob@localhost/saslkit');
    expect(server?.logins.map((user) => [user.mechanism, user.authcid])).to.deep.equal([['SCRAM-SHA-1', 'bob']]);
  });

  it("refuses xmpp.js's SCRAM-SHA-1 with a wrong password: <not-authorized/> for xmpp.js, AUTHENTICATION_FAILED on the server", async function () {
    const port = await serve({ auth: SASLAuth.named(['SCRAM-SHA-1']) });
    const outcome = await xmppJsLogin(port, 'bob', 'wrong-pass', false);
    expect(outcome.jid).to.equal(undefined);
    expect((outcome.error as { condition?: string }).condition).to.equal('not-authorized');
    expect(server?.logins).to.deep.equal([]);
    expect(server?.refusals.map((error) => (isSaslError(error) ? error.code : String(error)))).to.deep.equal([
      'AUTHENTICATION_FAILED',
    ]);
  });

  it('SCRAM-SHA-256 through the saslkit plug-in, without TLS', async function () {
    const port = await serve({});
    const outcome = await xmppJsLogin(port, 'bob', 'bob-pass', true);
    expect(outcome.jid).to.equal('bob@localhost/saslkit');
    expect(outcome.logins).to.deep.equal([{ mechanism: 'SCRAM-SHA-256', serverVerified: true, channelBinding: 'n' }]);
    expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-256']);
  });

  for (const [version, type] of [
    ['TLSv1.3', 'tls-exporter'],
    ['TLSv1.2', 'tls-unique'],
  ] as const) {
    it(`SCRAM-SHA-256-PLUS through the saslkit plug-in over STARTTLS with ${version} (${type})`, async function () {
      capTls(version);
      const port = await serve({ tls: pem, requireTls: true });
      const outcome = await xmppJsLogin(port, 'bob', 'bob-pass', true);
      expect(outcome.error).to.equal(undefined);
      expect(outcome.logins).to.deep.equal([
        { mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true, channelBinding: 'p' },
      ]);
      expect(server?.logins.map((user) => user.mechanism)).to.deep.equal(['SCRAM-SHA-256-PLUS']);
      expect(server?.tlsVersions).to.deep.equal([version]);
    });
  }

  it('a wrong password through the plug-in: AuthenticationFailedError on both sides', async function () {
    const port = await serve({});
    const outcome = await xmppJsLogin(port, 'bob', 'wrong-pass', true);
    expect(isSaslError(outcome.error) && outcome.error.code).to.equal('AUTHENTICATION_FAILED');
    expect(server?.refusals.map((error) => (isSaslError(error) ? error.code : String(error)))).to.deep.equal([
      'AUTHENTICATION_FAILED',
    ]);
  });
});
