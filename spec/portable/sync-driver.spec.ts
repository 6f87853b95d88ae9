/**
 * The sync driver in each runtime: a documented, runtime-specific expectation rather than a skip.
 * With node:crypto (Node, and Bun through the Node build) every mechanism runs synchronously;
 * with WebCrypto (the portable build in Deno, workerd and Chromium) hashes, HMACs and PBKDF2 are
 * asynchronous, so a SCRAM step under the sync driver is a UsageError that says to use an async
 * driver, while mechanisms without SHA work (PLAIN, LOGIN, and CRAM-MD5, whose MD5 is synchronous
 * everywhere).
 */
import { expect } from 'chai';
import {
  CRAM_MD5,
  ClearIdentity,
  ClientCredentials,
  PLAIN,
  SCRAM_SHA_256,
  SyncClientSession,
  SyncServerSession,
} from '../../lib/index.js';
import { RUNTIME, b, thrown } from './support.js';

/** Runtimes whose saslkit build has node:crypto's synchronous forms. */
const SYNC_CRYPTO = RUNTIME === 'node' || RUNTIME === 'bun';
const lookup = (authcid: string): ClearIdentity | undefined =>
  authcid === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined;

describe(`portable sync driver (${RUNTIME})`, () => {
  it('runs PLAIN synchronously', () => {
    const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
    const step = new SyncServerSession(PLAIN.server({ lookup }, client.start())).start();
    expect(step.done && step.outcome.authcid).to.equal('alice');
  });

  it('runs CRAM-MD5 synchronously (MD5 is synchronous in every provider)', () => {
    const client = new SyncClientSession(CRAM_MD5.client(new ClientCredentials('alice', 'alice-pass')));
    client.start();
    const server = new SyncServerSession(CRAM_MD5.server({ lookup }));
    const first = server.start();
    const done = server.respond(client.challenge(first.done ? b('') : first.challenge));
    expect(done.done && done.outcome.authcid).to.equal('alice');
  });

  if (SYNC_CRYPTO) {
    it('runs a SCRAM-SHA-256 client synchronously (node:crypto)', () => {
      const client = new SyncClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass'), { scram: { nonceForTesting: 'abc' } }),
      );
      client.start();
      expect(new TextDecoder().decode(client.challenge(b('r=abcdef,s=QSXCR+Q6sek8bf92,i=4096')))).to.match(
        /^c=biws,r=abcdef,p=/,
      );
    });
  } else {
    it('refuses a SCRAM-SHA-256 step with a UsageError naming the async drivers (WebCrypto is async)', () => {
      const client = new SyncClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass'), { scram: { nonceForTesting: 'abc' } }),
      );
      client.start();
      const error = thrown(() => client.challenge(b('r=abcdef,s=QSXCR+Q6sek8bf92,i=4096')), 'USAGE');
      expect(error.message).to.match(/async|promise|await/i);
      expect(error.message).to.not.include('alice-pass');
    });
  }
});
