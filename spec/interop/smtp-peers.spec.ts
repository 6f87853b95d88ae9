/**
 * saslkit's SMTP client (smtpClientAuth) logging in to nodemailer's smtp-server (PLAIN, LOGIN,
 * CRAM-MD5, XOAUTH2 and its error challenge) and to Dovecot's submission service (the
 * mechanisms smtp-server lacks). A logged-in session is proven by MAIL FROM, which both
 * servers refuse before authentication.
 */
import { expect } from 'chai';
import { ClientCredentials, type LineClientResult, SASLAuth, readSmtpReply, smtpClientAuth } from '../../lib/index.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';
import { type SmtpConnection, closeAll, openSmtp } from './connect.js';
import { ACCOUNTS, PORTS, requirePeer } from './peers.js';

const { alice, bob } = ACCOUNTS;

/** Runs AUTH on a fresh connection with the given mechanism. */
async function login(
  port: number,
  mechanism: string,
  user: string,
  secret: string,
  initialResponse = true,
): Promise<{ smtp: SmtpConnection; result: LineClientResult }> {
  const smtp = await openSmtp({ port });
  expect(smtp.ehlo.mechanisms).to.include(mechanism);
  const result = await smtpClientAuth({
    offered: smtp.ehlo.mechanisms,
    mechanism,
    credentials: new ClientCredentials(user, secret),
    client: { host: 'localhost', service: 'smtp' },
    initialResponse,
    lines: smtp.lines,
    write: smtp.write,
  });
  return { smtp, result };
}

/** The reply to MAIL FROM: 250 once authenticated, 530 before. */
async function mailFrom(smtp: SmtpConnection): Promise<number> {
  await smtp.write('MAIL FROM:<alice@example.org>');
  const reply = await readSmtpReply(smtp.lines);
  await smtp.write('QUIT');
  return reply.code;
}

describe('interop: saslkit SMTP client', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  describe("against nodemailer's smtp-server", function () {
    before(async function () {
      await requirePeer(this, 'smtp-server');
    });

    const logins = [
      { mechanism: 'PLAIN', user: alice.user, secret: alice.pass },
      { mechanism: 'LOGIN', user: bob.user, secret: bob.pass },
      { mechanism: 'CRAM-MD5', user: alice.user, secret: alice.pass },
      { mechanism: 'XOAUTH2', user: alice.user, secret: ACCOUNTS.aliceToken },
    ] as const;
    for (const { mechanism, user, secret } of logins) {
      for (const initialResponse of mechanism === 'CRAM-MD5' ? [false] : [true, false]) {
        it(`${mechanism} as ${user}${mechanism === 'CRAM-MD5' ? '' : initialResponse ? ', initial response on the AUTH line' : ', initial response after the empty 334'}`, async () => {
          const { smtp, result } = await login(PORTS.smtp, mechanism, user, secret, initialResponse);
          expect(result).to.include({ mechanism, serverVerified: false });
          expect(result.text).to.match(/Authentication successful/i);
          expect(await mailFrom(smtp)).to.equal(250);
        });
      }
    }

    it('without a named mechanism it picks the strongest offered password mechanism: CRAM-MD5', async () => {
      const smtp = await openSmtp();
      const auth = SASLAuth.named(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);
      const result = await smtpClientAuth({
        offered: smtp.ehlo.mechanisms,
        auth,
        credentials: new ClientCredentials(alice.user, alice.pass),
        lines: smtp.lines,
        write: smtp.write,
      });
      expect(result.mechanism).to.equal('CRAM-MD5');
      expect(await mailFrom(smtp)).to.equal(250);
    });

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
      it(`${mechanism} with a wrong password: AUTHENTICATION_FAILED from the server with its 535, without the password`, async () => {
        const wrong = 'not-alice-pass';
        const smtp = await openSmtp();
        const error = await expectSaslRejection(
          smtpClientAuth({
            mechanism,
            credentials: new ClientCredentials(alice.user, wrong),
            lines: smtp.lines,
            write: smtp.write,
          }),
          'AUTHENTICATION_FAILED',
        );
        expect(error).to.include({ party: 'server', mechanism, serverError: '535' });
        expect(error.message).to.include('535');
        expectNoSecrets(error, [wrong, alice.pass]);
        // The session is still usable and still not authenticated.
        expect(await mailFrom(smtp)).to.equal(530);
      });
    }

    it('XOAUTH2 with a bad token: the client answers the 334 JSON error challenge with an empty line, then reports the 535', async () => {
      const badToken = 'not-a-valid-token';
      const smtp = await openSmtp();
      const error = await expectSaslRejection(
        smtpClientAuth({
          mechanism: 'XOAUTH2',
          credentials: new ClientCredentials(alice.user, badToken),
          lines: smtp.lines,
          write: smtp.write,
        }),
        'AUTHENTICATION_FAILED',
      );
      // smtp-server's JSON says status 401; the 535 that followed is the cause.
      expect(error).to.include({ party: 'server', mechanism: 'XOAUTH2', serverError: '401' });
      expect((error.cause as { serverError?: string } | undefined)?.serverError).to.equal('535');
      expectNoSecrets(error, [badToken]);
      expect(await mailFrom(smtp)).to.equal(530);
    });
  });

  describe("against Dovecot's submission service", function () {
    before(async function () {
      await requirePeer(this, 'dovecot');
    });

    const logins = [
      { mechanism: 'SCRAM-SHA-256', user: bob.user, secret: bob.pass, verified: true },
      { mechanism: 'SCRAM-SHA-1', user: alice.user, secret: alice.pass, verified: true },
      { mechanism: 'DIGEST-MD5', user: alice.user, secret: alice.pass, verified: true },
      { mechanism: 'CRAM-MD5', user: ACCOUNTS.carol.user, secret: ACCOUNTS.carol.pass, verified: false },
      { mechanism: 'OAUTHBEARER', user: alice.user, secret: ACCOUNTS.aliceToken, verified: false },
    ] as const;
    for (const { mechanism, user, secret, verified } of logins) {
      it(`${mechanism} as ${user}${verified ? ', server verified' : ''}`, async () => {
        const { smtp, result } = await login(PORTS.submission, mechanism, user, secret);
        expect(result).to.include({ mechanism, serverVerified: verified });
        expect(await mailFrom(smtp)).to.equal(250);
      });
    }
  });
});
