/**
 * Secret hygiene, for every registered mechanism, both sides, on success and on failure (wrong
 * password or token, forged server message). Everything an exchange shows besides its wire
 * bytes is collected: errors from either side, every non-message value a generator yields
 * (effects), the results (Authenticated, ClientOutcome), the credentials and identities used,
 * the objects the exported parsers make from the wire messages, and all console and
 * stdout/stderr output. None may contain a secret: the password, the token, the other side's
 * guess, and for SCRAM the SaltedPassword, ClientKey, StoredKey, ServerKey and ClientProof (hex
 * and base64), for DIGEST-MD5 H(user:realm:password).
 */
import { expect } from 'chai';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  type ClientOptions,
  type Identity,
  type Mechanism,
  Pbkdf2Hasher,
  HashedIdentity,
  SASLAuth,
  type ScramMechanism,
  ScramIdentity,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
  isSaslError,
  staticChannelBinding,
} from '../../lib/index.js';
import * as lib from '../../lib/index.js';
import { expectNoSecrets, s } from '../support/helpers.js';
import { captureOutput, digestSecrets, scramSecrets, tap } from './capture.js';

const PASSWORD = 'Correct-Horse-7391';
const WRONG = 'Wrong-Battery-5204';
const REALM = 'mail.example.org';

/** Accounts with the same password stored three ways. */
const IDENTITIES: Identity[] = [
  new ClearIdentity('alice', PASSWORD),
  HashedIdentity.create('hashed', PASSWORD, new Pbkdf2Hasher({ rounds: 1000 })),
  ScramIdentity.create('scrammy', PASSWORD, { iterations: 4096 }),
];
const BINDING = staticChannelBinding({ 'tls-exporter': new Uint8Array(32).fill(3) });

function serverOptions(): ServerOptions {
  return {
    lookup: (authcid) => IDENTITIES.find((identity) => identity.authcid === authcid),
    // The token is the account's password here, so one secret list covers both kinds of mechanism.
    validateToken: ({ token, user }) =>
      token === PASSWORD ? { authcid: user === '' ? 'alice' : user } : { error: { status: 'invalid_token' } },
    hostname: REALM,
    // The clients below connect to 'localhost': DIGEST-MD5's digest-uri must name this server.
    hostAliases: ['localhost'],
    externalIdentity: 'alice',
    channelBindingData: BINDING,
    scramIterations: 4096,
  };
}

function clientOptions(mechanism: string): ClientOptions {
  return {
    host: 'localhost',
    service: 'imap',
    port: 143,
    ...(mechanism.endsWith('-PLUS') ? { channelBindingData: BINDING } : {}),
  };
}

/** What one exchange showed besides its wire bytes. */
interface Observed {
  readonly objects: unknown[];
  readonly output: string;
  /** The wire messages, as text, in order. */
  readonly transcript: string[];
  readonly serverOutcome: Authenticated | undefined;
  readonly errors: unknown[];
  /** How many messages the server sent. */
  readonly serverMessages: number;
}

/**
 * A forged server message: a server signature (`v=`, RFC 5802) or `rspauth=` (RFC 2831) that is
 * well-formed but wrong, else the message with its last bit flipped.
 */
function forgeMessage(data: Uint8Array): Uint8Array {
  const text = s(data);
  const scram = /^v=([A-Za-z0-9+/]+=*)$/.exec(text);
  if (scram)
    return Buffer.from(
      `v=${Buffer.from(Buffer.from(scram[1] as string, 'base64').map((byte, i) => (i === 0 ? byte ^ 0x80 : byte))).toString('base64')}`,
    );
  const digest = /^rspauth=([0-9a-f])([0-9a-f]{31})$/.exec(text);
  if (digest) return Buffer.from(`rspauth=${digest[1] === '0' ? '1' : '0'}${digest[2] as string}`);
  return Uint8Array.from(data, (byte, i) => (i === data.length - 1 ? byte ^ 0x01 : byte));
}

type Parser = (...args: unknown[]) => unknown;
// Every exported parser of messages, to collect the objects they build from the transcript.
const PARSERS: Parser[] = Object.entries(lib)
  .filter(([name, value]) => /^parse[A-Z]/.test(name) && typeof value === 'function')
  .map(([, value]) => value as Parser);

/**
 * Runs `mechanism` between a client presenting `secret` for `account` and the server, as SMTP
 * would (server-final data as a last challenge). `forge` corrupts the server's n-th message.
 */
function observe(mechanism: Mechanism, account: string, secret: string, forge?: number): Observed {
  const objects: unknown[] = [];
  const errors: unknown[] = [];
  const transcript: string[] = [];
  const wire: Uint8Array[] = [];
  let serverOutcome: Authenticated | undefined;
  const credentials = new ClientCredentials(account, secret);
  objects.push(credentials, ...IDENTITIES);
  const keep = (value: unknown): void => {
    // Messages are wire bytes; NO_INITIAL_RESPONSE is a bare symbol. Everything else (effects) is kept.
    if (!(value instanceof Uint8Array) && typeof value !== 'symbol') objects.push(value);
  };
  let serverIndex = 0;
  const fromServer = (data: Uint8Array): Uint8Array => {
    const out = serverIndex++ === forge ? forgeMessage(data) : data;
    transcript.push(s(out));
    wire.push(out);
    return out;
  };
  const toServer = (data: Uint8Array): Uint8Array => {
    transcript.push(s(data));
    wire.push(data);
    return data;
  };
  const { output } = captureOutput(() => {
    const client = new SyncClientSession(tap(mechanism.client(credentials, clientOptions(mechanism.name)), keep), {
      mechanism: mechanism.name,
    });
    // An object, because flow analysis does not see the assignment in the nested catch.
    const state = { serverFailed: false };
    try {
      const initial = client.start(true);
      const server = new SyncServerSession(
        tap(mechanism.server(serverOptions(), initial === undefined ? undefined : toServer(initial)), keep),
        { mechanism: mechanism.name },
      );
      let step;
      try {
        step = server.start();
        while (!step.done) {
          const response = client.challenge(fromServer(step.challenge));
          step = server.respond(toServer(response));
        }
      } catch (error) {
        state.serverFailed = !client.finished;
        throw error;
      }
      serverOutcome = step.outcome;
      objects.push(step.outcome);
      const extra = step.outcome.additionalData;
      if (extra !== undefined) expect(client.challenge(fromServer(extra)).length).to.equal(0);
      objects.push(client.success());
    } catch (error) {
      errors.push(error);
      if (state.serverFailed) {
        try {
          client.failure();
        } catch (failure) {
          errors.push(failure);
        }
      }
    }
  });
  // The objects the exported parsers build from each message (claimed credentials ...).
  // One argument only: a parser given the wrong second argument would build nonsense objects.
  const parsed: unknown[] = [];
  for (const message of wire) {
    for (const parse of PARSERS) {
      try {
        const result = parse(message);
        // Strings and arrays are the message's own text (EXTERNAL's authzid ...): wire content.
        if (typeof result === 'object' && result !== null && !Array.isArray(result)) parsed.push(result);
      } catch {
        // Parsers' errors from peer bytes are the fuzzers' business (spec/fuzz: no peer bytes in messages).
      }
    }
  }
  return {
    objects: [...objects, ...errors, ...parsed],
    output,
    transcript,
    serverOutcome,
    errors,
    serverMessages: serverIndex,
  };
}

/** The secrets an exchange with these passwords may have derived or seen. */
function secretsOf(mechanism: Mechanism, account: string, passwords: readonly string[], observed: Observed): string[] {
  const secrets = [...passwords];
  const hash = (mechanism as Partial<ScramMechanism>).hash;
  for (const password of passwords) {
    if (hash !== undefined) secrets.push(...scramSecrets(hash, password, observed.transcript));
    if (mechanism.name === 'DIGEST-MD5') secrets.push(...digestSecrets(account, REALM, password));
  }
  return secrets;
}

function expectClean(observed: Observed, secrets: readonly string[]): void {
  // All objects in one rendering (inspect, String and JSON of an array cover each element);
  // errors one by one, so that their message and stack are checked too.
  expectNoSecrets(observed.objects, secrets);
  for (const object of observed.objects) if (object instanceof Error) expectNoSecrets(object, secrets);
  for (const secret of secrets) expect(observed.output, 'console output').to.not.include(secret);
}

// A success that needs no credential (EXTERNAL: the transport vouches; ANONYMOUS).
const credentialFree = (outcome: Authenticated | undefined): boolean =>
  outcome !== undefined && (outcome.mechanism === 'EXTERNAL' || outcome.mechanism === 'ANONYMOUS');

describe('secret hygiene', () => {
  const mechanisms = SASLAuth.all().serverMechanisms.filter(
    (m): m is Mechanism => typeof (m as Partial<Mechanism>).client === 'function',
  );

  it('captures console and standard output while an exchange runs', () => {
    const { output } = captureOutput(() => {
      console.error('one %s', 'two');
      process.stdout.write('three');
    });
    expect(output).to.include('one two').and.to.include('three');
  });

  it('covers every registered mechanism', () => {
    expect(mechanisms.map((m) => m.name)).to.include.members([
      'PLAIN',
      'LOGIN',
      'CRAM-MD5',
      'SCRAM-SHA-256',
      'SCRAM-SHA-256-PLUS',
      'DIGEST-MD5',
      'OAUTHBEARER',
      'XOAUTH2',
    ]);
  });

  for (const mechanism of mechanisms) {
    describe(mechanism.name, () => {
      it('leaks nothing on success', () => {
        const observed = observe(mechanism, 'alice', PASSWORD);
        expect(observed.errors, 'the honest exchange failed').to.deep.equal([]);
        expect(observed.serverOutcome?.authcid).to.equal(mechanism.name === 'ANONYMOUS' ? 'anonymous' : 'alice');
        expectClean(observed, secretsOf(mechanism, 'alice', [PASSWORD], observed));
      });

      it('leaks nothing when the password or token is wrong', () => {
        for (const account of IDENTITIES.map((identity) => identity.authcid)) {
          const observed = observe(mechanism, account, WRONG);
          if (!credentialFree(observed.serverOutcome))
            expect(observed.errors.length, `${account}: a wrong secret was accepted`).to.be.greaterThan(0);
          expectClean(observed, secretsOf(mechanism, account, [PASSWORD, WRONG], observed));
        }
      });

      it('leaks nothing when the other stored forms are used, and when a server message is forged', () => {
        for (const account of IDENTITIES.map((identity) => identity.authcid)) {
          const honest = observe(mechanism, account, PASSWORD);
          expectClean(honest, secretsOf(mechanism, account, [PASSWORD], honest));
          // Forge each server message in turn: the last one is SCRAM's signature or DIGEST-MD5's rspauth.
          for (let n = 0; n < honest.serverMessages; n++) {
            const forged = observe(mechanism, account, PASSWORD, n);
            expectClean(forged, secretsOf(mechanism, account, [PASSWORD], forged));
          }
        }
      });
    });
  }

  it('a forged SCRAM server signature and DIGEST-MD5 rspauth are refused, without leaking the keys', () => {
    for (const name of ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'SCRAM-SHA-256-PLUS', 'DIGEST-MD5']) {
      const mechanism = SASLAuth.all().getServer(name) as Mechanism;
      const honest = observe(mechanism, 'alice', PASSWORD);
      // The server's last message carries its proof: SCRAM's v=, DIGEST-MD5's rspauth=.
      const forged = observe(mechanism, 'alice', PASSWORD, honest.serverMessages - 1);
      const codes = forged.errors.filter(isSaslError).map((e) => e.code);
      expect(codes, name).to.include('SERVER_NOT_VERIFIED');
      expectClean(forged, secretsOf(mechanism, 'alice', [PASSWORD], forged));
    }
  });
});
