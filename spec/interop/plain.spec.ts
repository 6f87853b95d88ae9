/**
 * saslkit's PLAIN client against real servers: Dovecot (IMAP with and without SASL-IR, POP3,
 * submission, a master user acting as alice) and nodemailer's smtp-server. The protocol
 * framing here is the minimum each protocol needs; saslkit supplies every SASL message.
 * Dovecot penalises failed logins from 127.0.0.1 for seconds, so refusals are tested against
 * smtp-server only.
 */
import { expect } from 'chai';
import {
  ClientCredentials,
  type ClientOutcome,
  PLAIN,
  SyncClientSession,
  fromBase64,
  toBase64,
} from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';
import { LineClient } from './line-client.js';
import { ACCOUNTS, PORTS, requirePeer } from './peers.js';

type Reply =
  | { readonly kind: 'challenge'; readonly data: Uint8Array }
  | { readonly kind: 'success' }
  | { readonly kind: 'failure' }
  | undefined;

/** How one protocol carries SASL: its command, and how it marks challenges and outcomes. */
interface Framing {
  /** The command that starts the exchange, with the initial response when there is one. */
  command(mechanism: string, initial: Uint8Array | undefined): string;
  /** A server line read as a challenge or an outcome; undefined for lines to skip. */
  parse(line: string): Reply;
}

/** Base64 as these protocols send it: `=` stands for an empty initial response. */
const initialArg = (initial: Uint8Array | undefined): string =>
  initial === undefined ? '' : ` ${initial.length === 0 ? '=' : toBase64(initial)}`;
const challengeOf = (text: string): Reply => ({ kind: 'challenge', data: fromBase64(text.trim()) });

const IMAP: Framing = {
  command: (mechanism, initial) => `a1 AUTHENTICATE ${mechanism}${initialArg(initial)}`,
  parse: (line) => {
    if (line === '+' || line.startsWith('+ ')) return challengeOf(line.slice(1));
    if (line.startsWith('a1 OK')) return { kind: 'success' };
    if (line.startsWith('a1 ')) return { kind: 'failure' };
    return undefined;
  },
};

const POP3: Framing = {
  command: (mechanism, initial) => `AUTH ${mechanism}${initialArg(initial)}`,
  parse: (line) => {
    if (line.startsWith('+OK')) return { kind: 'success' };
    if (line.startsWith('-ERR')) return { kind: 'failure' };
    if (line === '+' || line.startsWith('+ ')) return challengeOf(line.slice(1));
    return undefined;
  },
};

const SMTP: Framing = {
  command: (mechanism, initial) => `AUTH ${mechanism}${initialArg(initial)}`,
  parse: (line) => {
    if (line.startsWith('334')) return challengeOf(line.slice(3));
    if (line.startsWith('235 ')) return { kind: 'success' };
    if (/^[45]\d\d /.test(line)) return { kind: 'failure' };
    return undefined;
  },
};

/** Runs a saslkit client exchange over a connected, greeted protocol session. */
async function authenticate(
  connection: LineClient,
  framing: Framing,
  session: SyncClientSession,
  canSendInitial = true,
): Promise<ClientOutcome> {
  connection.send(framing.command('PLAIN', session.start(canSendInitial)));
  for (;;) {
    const reply = framing.parse(await connection.readLine());
    if (reply === undefined) continue;
    if (reply.kind === 'success') return session.success();
    if (reply.kind === 'failure') session.failure();
    else connection.send(toBase64(session.challenge(reply.data)));
  }
}

const plainClient = (user: string, pass: string, authzid?: string): SyncClientSession =>
  new SyncClientSession(PLAIN.client(new ClientCredentials(user, pass, authzid)));

/** Opens a connection and reads the greeting (and for SMTP, the EHLO reply). */
async function open(port: number, smtp = false): Promise<LineClient> {
  const connection = await LineClient.connect(port);
  await connection.readLine();
  if (smtp) {
    connection.send('EHLO localhost');
    await connection.readUntil((line) => line.startsWith('250 '));
  }
  return connection;
}

describe('interop: saslkit PLAIN client', function () {
  const connections: LineClient[] = [];
  const connect = async (port: number, smtp = false): Promise<LineClient> => {
    const connection = await open(port, smtp);
    connections.push(connection);
    return connection;
  };
  afterEach(() => {
    for (const connection of connections.splice(0)) connection.close();
  });

  describe('against Dovecot', function () {
    before(async function () {
      await requirePeer(this, 'dovecot');
    });

    it('logs in to IMAP with an initial response (SASL-IR)', async () => {
      const imap = await connect(PORTS.imap);
      const outcome = await authenticate(imap, IMAP, plainClient(ACCOUNTS.alice.user, ACCOUNTS.alice.pass));
      expect(outcome.serverVerified).to.equal(false);
    });

    it('logs in to IMAP without an initial response, answering the empty continuation', async () => {
      // bob is stored as {SCRAM-SHA-256} only: Dovecot verifies PLAIN against the SCRAM keys.
      const imap = await connect(PORTS.imap);
      const session = plainClient(ACCOUNTS.bob.user, ACCOUNTS.bob.pass);
      await authenticate(imap, IMAP, session, false);
      expect(session.finished).to.equal(true);
    });

    it('lets the master user admin act as alice through the authzid', async () => {
      const imap = await connect(PORTS.imap);
      const outcome = await authenticate(
        imap,
        IMAP,
        plainClient(ACCOUNTS.admin.user, ACCOUNTS.admin.pass, ACCOUNTS.alice.user),
      );
      expect(outcome.serverVerified).to.equal(false);
    });

    it('logs in to POP3 and to submission', async () => {
      const pop3 = await connect(PORTS.pop3);
      await authenticate(pop3, POP3, plainClient(ACCOUNTS.alice.user, ACCOUNTS.alice.pass));
      const submission = await connect(PORTS.submission, true);
      await authenticate(submission, SMTP, plainClient(ACCOUNTS.alice.user, ACCOUNTS.alice.pass));
    });
  });

  describe('against smtp-server', function () {
    before(async function () {
      await requirePeer(this, 'smtp-server');
    });

    it('logs in with and without an initial response', async () => {
      const first = await connect(PORTS.smtp, true);
      await authenticate(first, SMTP, plainClient(ACCOUNTS.alice.user, ACCOUNTS.alice.pass));
      const second = await connect(PORTS.smtp, true);
      await authenticate(second, SMTP, plainClient(ACCOUNTS.bob.user, ACCOUNTS.bob.pass), false);
    });

    it('reports a refused password as AUTHENTICATION_FAILED from the server, without the password', async () => {
      const smtp = await connect(PORTS.smtp, true);
      let failure: unknown;
      await authenticate(smtp, SMTP, plainClient(ACCOUNTS.alice.user, 'not-alice-pass')).catch((error: unknown) => {
        failure = error;
      });
      const error = expectSaslError(() => {
        throw failure;
      }, 'AUTHENTICATION_FAILED');
      expect(error.party).to.equal('server');
      expect(error.message).to.not.include('not-alice-pass');
    });
  });
});
