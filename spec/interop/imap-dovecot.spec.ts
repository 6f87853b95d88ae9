/**
 * saslkit's IMAP and POP3 clients (imapClientAuth, pop3ClientAuth) logging in to Dovecot 2.3:
 * every mechanism Dovecot offers, for the users whose stored secret allows it, with and
 * without SASL-IR, over plain TCP and after STARTTLS. SCRAM and DIGEST-MD5 must also prove the
 * server (serverVerified). Dovecot delays the next login after a failed one (about 4 s here),
 * so there are only two refusals, each followed by a successful login that absorbs the delay.
 */
import { expect } from 'chai';
import {
  ANONYMOUS,
  ClientCredentials,
  type ClientMechanism,
  type ImapClientResult,
  type LineClientResult,
  imapClientAuth,
  pop3ClientAuth,
} from '../../lib/index.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';
import { closeAll, openImap, openPop3 } from './connect.js';
import { ACCOUNTS, requirePeer } from './peers.js';

const { alice, bob, carol, dave } = ACCOUNTS;
/** DIGEST-MD5 builds its digest-uri from these; OAUTHBEARER sends the host. */
const CLIENT = { host: 'localhost', service: 'imap' } as const;

/** Who logs in with which mechanism, and whether the server must prove itself. */
interface Login {
  readonly mechanism: string | ClientMechanism;
  readonly user: string;
  readonly secret: string;
  readonly verified: boolean;
}

const LOGINS: readonly Login[] = [
  { mechanism: 'PLAIN', user: alice.user, secret: alice.pass, verified: false },
  { mechanism: 'LOGIN', user: alice.user, secret: alice.pass, verified: false },
  { mechanism: 'CRAM-MD5', user: alice.user, secret: alice.pass, verified: false },
  { mechanism: 'DIGEST-MD5', user: alice.user, secret: alice.pass, verified: true },
  { mechanism: 'SCRAM-SHA-1', user: alice.user, secret: alice.pass, verified: true },
  { mechanism: 'SCRAM-SHA-256', user: alice.user, secret: alice.pass, verified: true },
  { mechanism: 'OAUTHBEARER', user: alice.user, secret: ACCOUNTS.aliceToken, verified: false },
  { mechanism: 'XOAUTH2', user: alice.user, secret: ACCOUNTS.aliceToken, verified: false },
  // The trace (an email address by RFC 4505's suggestion) travels as the authcid; Dovecot logs in as "anonymous".
  { mechanism: ANONYMOUS, user: 'interop@example.org', secret: '', verified: false },
  // Stored as {SCRAM-SHA-256} only: SCRAM-SHA-256, and PLAIN/LOGIN checked against the SCRAM keys.
  { mechanism: 'SCRAM-SHA-256', user: bob.user, secret: bob.pass, verified: true },
  { mechanism: 'PLAIN', user: bob.user, secret: bob.pass, verified: false },
  { mechanism: 'LOGIN', user: bob.user, secret: bob.pass, verified: false },
  // Stored as {CRAM-MD5} (the HMAC-MD5 states) and {SCRAM-SHA-1} only.
  { mechanism: 'CRAM-MD5', user: carol.user, secret: carol.pass, verified: false },
  { mechanism: 'SCRAM-SHA-1', user: dave.user, secret: dave.pass, verified: true },
];

const nameOf = (mechanism: string | ClientMechanism): string =>
  typeof mechanism === 'string' ? mechanism : mechanism.name;

/** Opens a connection, runs one AUTHENTICATE, checks the session is logged in, logs out. */
async function imapLogin(
  login: Login,
  options: { readonly initialResponse?: boolean; readonly starttls?: boolean } = {},
): Promise<ImapClientResult> {
  const imap = await openImap({ starttls: options.starttls === true });
  expect(imap.capabilities.mechanisms).to.include(nameOf(login.mechanism));
  const result = await imapClientAuth({
    tag: 'a1',
    capabilities: imap.capabilities,
    mechanism: login.mechanism,
    credentials: new ClientCredentials(login.user, login.secret),
    client: CLIENT,
    lines: imap.lines,
    write: imap.write,
    ...(options.initialResponse === undefined ? {} : { initialResponse: options.initialResponse }),
  });
  // A command only a logged-in session may run: Dovecot answers it only after a real login.
  expect((await imap.command('a2', 'SELECT INBOX')).at(-1)).to.match(/^a2 OK/);
  await imap.command('a3', 'LOGOUT');
  imap.close();
  return result;
}

describe('interop: saslkit IMAP and POP3 clients against Dovecot', function () {
  this.timeout(30_000);

  before(async function () {
    await requirePeer(this, 'dovecot');
  });
  afterEach(closeAll);

  it('Dovecot offers SASL-IR and the mechanisms these specs log in with', async () => {
    const imap = await openImap();
    expect(imap.capabilities.initialResponse).to.equal(true);
    const wanted = new Set(LOGINS.map((login) => nameOf(login.mechanism)));
    expect(imap.capabilities.mechanisms).to.include.members([...wanted]);
  });

  describe('IMAP AUTHENTICATE', function () {
    for (const login of LOGINS) {
      const name = nameOf(login.mechanism);
      for (const initialResponse of [true, false]) {
        it(`${name} as ${login.user}, ${initialResponse ? 'with' : 'without'} an initial response${login.verified ? ', server verified' : ''}`, async () => {
          const result = await imapLogin(login, { initialResponse });
          expect(result.mechanism).to.equal(name);
          expect(result.serverVerified).to.equal(login.verified);
          // Dovecot announces the post-login capabilities in the tagged OK: no more AUTH= there.
          expect(result.capabilities?.atoms ?? []).to.not.be.empty;
          expect(result.capabilities?.mechanisms).to.deep.equal([]);
        });
      }
    }

    it('SCRAM-SHA-256 after STARTTLS (Dovecot 2.3 has no -PLUS, so the plain variant is chosen)', async () => {
      const imap = await openImap({ starttls: true });
      expect(imap.tls?.encrypted).to.equal(true);
      imap.close();
      const result = await imapLogin(
        { mechanism: 'SCRAM-SHA-256', user: alice.user, secret: alice.pass, verified: true },
        { starttls: true },
      );
      expect(result.serverVerified).to.equal(true);
    });

    it('the strongest offered mechanism when none is named: SCRAM-SHA-256', async () => {
      const imap = await openImap();
      const result = await imapClientAuth({
        tag: 'a1',
        capabilities: imap.capabilities,
        credentials: new ClientCredentials(alice.user, alice.pass),
        client: CLIENT,
        lines: imap.lines,
        write: imap.write,
      });
      expect(result).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    });
  });

  describe('IMAP refusals (one at a time, between logins)', function () {
    it('a wrong SCRAM-SHA-256 password: AUTHENTICATION_FAILED blamed on the server side, with its NO text, without the password', async () => {
      const imap = await openImap();
      const wrong = 'not-bob-pass';
      const error = await expectSaslRejection(
        imapClientAuth({
          tag: 'a1',
          capabilities: imap.capabilities,
          mechanism: 'SCRAM-SHA-256',
          credentials: new ClientCredentials(bob.user, wrong),
          lines: imap.lines,
          write: imap.write,
        }),
        'AUTHENTICATION_FAILED',
      );
      expect(error).to.include({ party: 'server', mechanism: 'SCRAM-SHA-256' });
      expect((error as { serverError?: string }).serverError).to.equal('NO');
      expect(error.message).to.match(/AUTHENTICATIONFAILED/);
      expectNoSecrets(error, [wrong, bob.pass]);
      // A login right after the refusal takes Dovecot's delay here, not in a later spec.
      await imapLogin({ mechanism: 'PLAIN', user: alice.user, secret: alice.pass, verified: false });
    });

    it('a bad OAUTHBEARER token: the client answers the JSON error challenge, then reports the refusal', async () => {
      const imap = await openImap();
      const badToken = 'not-a-valid-token';
      const error = await expectSaslRejection(
        imapClientAuth({
          tag: 'a1',
          capabilities: imap.capabilities,
          mechanism: 'OAUTHBEARER',
          credentials: new ClientCredentials(alice.user, badToken),
          client: CLIENT,
          lines: imap.lines,
          write: imap.write,
        }),
        'AUTHENTICATION_FAILED',
      );
      // serverError comes from the RFC 7628 JSON challenge the client answered with \x01; the cause holds the tagged NO.
      expect(error).to.include({ party: 'server', mechanism: 'OAUTHBEARER', serverError: 'invalid_token' });
      expect((error.cause as { serverError?: string } | undefined)?.serverError).to.equal('NO');
      expectNoSecrets(error, [badToken]);
      // The connection is back in step: the failed AUTHENTICATE ended with its tagged reply.
      expect((await imap.command('a2', 'NOOP')).at(-1)).to.match(/^a2 OK/);
      await imapLogin({ mechanism: 'XOAUTH2', user: alice.user, secret: ACCOUNTS.aliceToken, verified: false });
    });
  });

  describe('POP3 AUTH', function () {
    const pop3Logins: readonly Login[] = [
      { mechanism: 'PLAIN', user: alice.user, secret: alice.pass, verified: false },
      { mechanism: 'CRAM-MD5', user: carol.user, secret: carol.pass, verified: false },
      { mechanism: 'DIGEST-MD5', user: alice.user, secret: alice.pass, verified: true },
      { mechanism: 'SCRAM-SHA-256', user: bob.user, secret: bob.pass, verified: true },
      { mechanism: 'XOAUTH2', user: alice.user, secret: ACCOUNTS.aliceToken, verified: false },
    ];
    for (const login of pop3Logins) {
      const name = nameOf(login.mechanism);
      it(`${name} as ${login.user}${login.verified ? ', server verified' : ''}`, async () => {
        const pop3 = await openPop3();
        expect(pop3.capa.mechanisms).to.include(name);
        const result: LineClientResult = await pop3ClientAuth({
          offered: pop3.capa.mechanisms,
          mechanism: login.mechanism,
          credentials: new ClientCredentials(login.user, login.secret),
          client: { ...CLIENT, service: 'pop' },
          lines: pop3.lines,
          write: pop3.write,
        });
        expect(result).to.include({ mechanism: name, serverVerified: login.verified });
        // STAT works only in the TRANSACTION state, that is after a real login.
        await pop3.write('STAT');
        expect(await pop3.readLine()).to.match(/^\+OK \d+ \d+/);
        await pop3.write('QUIT');
      });
    }
  });
});
