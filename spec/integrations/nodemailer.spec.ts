/**
 * saslkit/nodemailer: saslkit's SCRAM and OAUTHBEARER as nodemailer customAuth handlers, sending
 * through Dovecot's submission service (STARTTLS; SCRAM-SHA-256, SCRAM-SHA-1, OAUTHBEARER) and
 * logging in to saslkit's own SMTP server over implicit TLS (SCRAM-SHA-256-PLUS with channel
 * binding, a server that forges its signature, refusals). Each refusal must be nodemailer's
 * EAUTH with saslkit's typed error as its cause, and hold no secret.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Server, type TLSSocket, createServer } from 'node:tls';
import nodemailer from 'nodemailer';
import {
  type Authenticated,
  ClearIdentity,
  type Identity,
  LineReader,
  SASLAuth,
  ScramIdentity,
  ScramSecret,
  type ServerOptions,
  advertisedMechanisms,
  formatSmtpReply,
  isSaslError,
  lineWriter,
  smtpAuthKeyword,
  smtpServerAuth,
  tlsChannelBinding,
} from '../../lib/index.js';
import {
  type NodemailerAuthContext,
  type NodemailerAuthHandler,
  createCustomAuth,
  createTlsGetSocket,
} from '../../lib/integrations/nodemailer.js';
import { expectNoSecrets } from '../support/helpers.js';
import { ACCOUNTS, HOST, PORTS, requirePeer } from '../interop/peers.js';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 20_000, socketTimeout: 20_000 } as const;

/** The handlers, each recording the method it ran and how it ended. */
function recordingAuth(
  handlers: Record<string, NodemailerAuthHandler>,
  ran: string[],
): Record<string, NodemailerAuthHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (context: NodemailerAuthContext): Promise<void> => {
        ran.push(name);
        await handler(context);
      },
    ]),
  );
}

/** The error of a promise that must reject. */
async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; responseCode?: number; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('saslkit/nodemailer: customAuth handlers', function () {
  this.timeout(60_000);

  describe("sending through Dovecot's submission service (STARTTLS)", function () {
    before(async function () {
      await requirePeer(this, 'dovecot');
    });

    const send = async (auth: Record<string, unknown>, ran: string[]): Promise<{ accepted: unknown[] }> => {
      const transport = nodemailer.createTransport({
        host: HOST,
        port: PORTS.submission,
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth,
        customAuth: recordingAuth(createCustomAuth({ client: { host: 'localhost', port: PORTS.submission } }), ran),
        ...TIMEOUTS,
      });
      try {
        return await transport.sendMail({
          from: 'bob@example.org',
          to: 'alice@example.org',
          subject: 'saslkit/nodemailer',
          text: 'sent with SCRAM',
        });
      } finally {
        transport.close();
      }
    };

    it('SCRAM-SHA-256 as bob, whose account holds only SCRAM-SHA-256 keys: the message is accepted', async () => {
      const ran: string[] = [];
      const info = await send({ user: ACCOUNTS.bob.user, pass: ACCOUNTS.bob.pass, method: 'SCRAM-SHA-256' }, ran);
      expect(info.accepted).to.deep.equal(['alice@example.org']);
      expect(ran).to.deep.equal(['SCRAM-SHA-256']);
    });

    it("a wrong password: nodemailer rejects with EAUTH 535, saslkit's AUTHENTICATION_FAILED as the cause, no secret", async () => {
      const ran: string[] = [];
      const error = await rejection(
        send({ user: ACCOUNTS.bob.user, pass: 'not-bob-pass', method: 'SCRAM-SHA-256' }, ran),
      );
      expect(error).to.include({ code: 'EAUTH', responseCode: 535 });
      expect(error.message).to.match(
        /^SCRAM-SHA-256: the SMTP server refused authentication \(saslkit AUTHENTICATION_FAILED\): 535 /,
      );
      expect(isSaslError(error.cause) && error.cause.code).to.equal('AUTHENTICATION_FAILED');
      expectNoSecrets(error, ['not-bob-pass', ACCOUNTS.bob.pass]);
    });

    // After the refusal above Dovecot delays this address's next login by 2 s; a success resets it.
    it('SCRAM-SHA-1 as dave (SCRAM-SHA-1 keys only)', async () => {
      const ran: string[] = [];
      const info = await send({ user: ACCOUNTS.dave.user, pass: ACCOUNTS.dave.pass, method: 'SCRAM-SHA-1' }, ran);
      expect(info.accepted).to.deep.equal(['alice@example.org']);
      expect(ran).to.deep.equal(['SCRAM-SHA-1']);
    });

    it('OAUTHBEARER as alice, the token as pass', async () => {
      const ran: string[] = [];
      const info = await send({ user: ACCOUNTS.alice.user, pass: ACCOUNTS.aliceToken, method: 'OAUTHBEARER' }, ran);
      expect(info.accepted).to.deep.equal(['alice@example.org']);
      expect(ran).to.deep.equal(['OAUTHBEARER']);
    });
  });

  describe("against saslkit's SMTP server over implicit TLS", () => {
    interface Attempt {
      readonly outcome?: Authenticated;
      readonly error?: unknown;
    }
    let server: Server;
    let port = 0;
    let options: ServerOptions;
    const attempts: Attempt[] = [];
    const sockets = new Set<TLSSocket>();
    const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'OAUTHBEARER', 'PLAIN']);

    /** A secret whose StoredKey is carol's but whose ServerKey is not: the server accepts her proof and signs wrongly. */
    function forgedSigner(): Identity {
      const real = ScramSecret.fromPassword('SHA-256', 'carol-pass', { iterations: 4096 });
      const forged = ScramSecret.fromPassword('SHA-256', 'other-pass', { iterations: 4096, salt: real.salt });
      return new ScramIdentity(
        'carol',
        new ScramSecret('SHA-256', real.salt, real.iterations, real.storedKey, forged.serverKey),
      );
    }

    before(async () => {
      const accounts: Identity[] = [
        new ClearIdentity('alice', 'alice-pass'),
        ScramIdentity.create('bob', 'bob-pass', { hashes: ['SHA-256'], iterations: 4096 }),
        forgedSigner(),
      ];
      options = {
        lookup: (authcid) => accounts.find((account) => account.authcid === authcid),
        validateToken: ({ token }) =>
          token === ACCOUNTS.aliceToken ? { authcid: 'alice' } : { error: { status: 'invalid_token' } },
      };
      server = createServer(
        { cert: readFileSync(join(TLS_DIR, 'rsa-sha256.crt')), key: readFileSync(join(TLS_DIR, 'rsa-sha256.key')) },
        (socket) => {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
          const lines = new LineReader(socket);
          const write = lineWriter(socket);
          const binding = tlsChannelBinding(socket, 'server');
          const session = async (): Promise<void> => {
            await write('220 localhost ESMTP saslkit over TLS');
            for (;;) {
              const next = await lines.next();
              if (next.done === true) return;
              const line = next.value;
              const verb = (line.split(' ')[0] ?? '').toUpperCase();
              if (verb === 'EHLO') {
                for (const reply of formatSmtpReply(
                  250,
                  ['localhost', smtpAuthKeyword(advertisedMechanisms(auth, { channelBinding: true }))].join('\n'),
                ))
                  await write(reply);
              } else if (verb === 'AUTH') {
                try {
                  attempts.push({
                    outcome: await smtpServerAuth({
                      command: line,
                      auth,
                      options: { ...options, channelBindingData: binding },
                      lines,
                      write,
                    }),
                  });
                } catch (error) {
                  attempts.push({ error });
                }
              } else if (verb === 'QUIT') {
                await write('221 2.0.0 Bye');
                socket.end();
                return;
              } else {
                await write('502 5.5.1 Not implemented');
              }
            }
          };
          session()
            .catch(() => undefined)
            .finally(() => {
              lines.close();
            });
        },
      );
      await new Promise<void>((resolve) => {
        server.listen(0, HOST, resolve);
      });
      port = (server.address() as { port: number }).port;
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    });

    /** nodemailer's verify() (connect, EHLO, AUTH, QUIT) through a transport whose sockets come from createTlsGetSocket. */
    const verify = async (
      authData: Record<string, unknown>,
    ): Promise<{ result: unknown; attempt: Attempt | undefined }> => {
      const before = attempts.length;
      const transport = nodemailer.createTransport({
        host: HOST,
        port,
        secure: true,
        tls: { rejectUnauthorized: false },
        auth: authData,
        getSocket: createTlsGetSocket(),
        ...TIMEOUTS,
      });
      let result: unknown;
      try {
        result = await transport.verify();
      } catch (error) {
        result = error;
      } finally {
        transport.close();
      }
      for (let i = 0; i < 100 && attempts.length === before; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      return { result, attempt: attempts[before] };
    };

    it("SCRAM-SHA-256-PLUS binds the login to this connection's TLS channel", async () => {
      const { result, attempt } = await verify({ user: 'bob', pass: 'bob-pass', method: 'SCRAM-SHA-256-PLUS' });
      expect(result).to.equal(true);
      expect(attempt?.error).to.equal(undefined);
      expect(attempt?.outcome).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', authcid: 'bob' });
    });

    it('plain SCRAM-SHA-256 over the same kind of connection still works (GS2 flag n: nodemailer does not say whether -PLUS is offered)', async () => {
      const { result, attempt } = await verify({ user: 'alice', pass: 'alice-pass', method: 'SCRAM-SHA-256' });
      expect(result).to.equal(true);
      expect(attempt?.outcome).to.include({ mechanism: 'SCRAM-SHA-256', authcid: 'alice' });
    });

    it("a server whose signature is wrong: EAUTH with saslkit's SERVER_NOT_VERIFIED, though the server accepted the proof", async () => {
      const { result, attempt } = await verify({ user: 'carol', pass: 'carol-pass', method: 'SCRAM-SHA-256-PLUS' });
      const error = result as Error & { code?: string; cause?: unknown };
      expect(error).to.be.instanceOf(Error);
      expect(error.code).to.equal('EAUTH');
      expect(isSaslError(error.cause) && error.cause.code).to.equal('SERVER_NOT_VERIFIED');
      expect(error.message).to.match(/^SCRAM-SHA-256-PLUS: .*\(saslkit SERVER_NOT_VERIFIED\)/);
      // The client cancelled after the bad server-final: the server saw an aborted exchange.
      const serverError = attempt?.error;
      expect(isSaslError(serverError) && serverError.code).to.equal('ABORTED');
      expectNoSecrets(error, ['carol-pass']);
    });

    it("a wrong password: EAUTH 535 with saslkit's reason; an unknown token: EAUTH too", async () => {
      const wrong = await verify({ user: 'bob', pass: 'not-bob-pass', method: 'SCRAM-SHA-256-PLUS' });
      expect(wrong.result).to.include({ code: 'EAUTH', responseCode: 535 });
      expect(
        isSaslError((wrong.result as Error).cause) && ((wrong.result as Error).cause as { code: string }).code,
      ).to.equal('AUTHENTICATION_FAILED');
      expectNoSecrets(wrong.result, ['not-bob-pass', 'bob-pass']);
      const token = await verify({ user: 'alice', pass: 'stolen-token', method: 'OAUTHBEARER' });
      expect(token.result).to.include({ code: 'EAUTH' });
      expectNoSecrets(token.result, ['stolen-token']);
      expect((await verify({ user: 'alice', pass: ACCOUNTS.aliceToken, method: 'OAUTHBEARER' })).result).to.equal(true);
    });

    it('-PLUS without channel-binding data fails before anything is sent', async () => {
      const before = attempts.length;
      const transport = nodemailer.createTransport({
        host: HOST,
        port,
        secure: true,
        tls: { rejectUnauthorized: false },
        auth: { user: 'bob', pass: 'bob-pass', method: 'SCRAM-SHA-256-PLUS' },
        customAuth: createCustomAuth(),
        ...TIMEOUTS,
      });
      const error = await rejection(
        transport.verify().finally(() => {
          transport.close();
        }),
      );
      expect(error.code).to.equal('EAUTH');
      expect(isSaslError(error.cause)).to.equal(true);
      expect(attempts.length).to.equal(before);
    });
  });
});
