/**
 * sasl-scram-sha-1 (the SCRAM-SHA-1 client @xmpp/sasl-scram-sha-1 uses), driven as @xmpp drives
 * it: `response(cred)` for client-first, `challenge(serverFirst)`, `await response(cred)` for
 * client-final, then `challenge(serverFinal)` and `response(cred)`.
 *
 * Since 1.4.0 every HMAC goes through async WebCrypto, PBKDF2 included: Hi() is 4096 awaited
 * `importKey` + `sign` pairs. The package computes the server signature but never compares it
 * (its final stage returns '' with a "TODO: Signal errors"), so the harness compares it here
 * (a few microseconds against a login of about 0.7 s) to count only real logins. It caches
 * nothing unless the caller hands back `mech.cache` as credentials (not done here).
 */
import { createRequire } from 'node:module';
import { timingSafeEqual } from 'node:crypto';
import { check } from '../harness.js';
import type { FixedScramServer } from './fixed-server.js';

interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface ScramSha1Mechanism {
  response(cred: Credentials): string | Promise<string>;
  challenge(chal: string): ScramSha1Mechanism;
  /** Private state the package keeps; read only to check the server signature it ignores. */
  readonly _serverSignature?: Uint8Array;
  readonly _verifier?: string;
}

const load = createRequire(__filename);
const Mechanism = load('sasl-scram-sha-1') as new () => ScramSha1Mechanism;

/** The installed package's version, for the report. */
export const SASL_SCRAM_SHA_1_VERSION = (load('sasl-scram-sha-1/package.json') as { version: string }).version;

/**
 * One login against the fixed SCRAM-SHA-1 server. The server verifies the proof (it throws
 * otherwise); the harness, not the package, checks the server signature.
 */
export async function saslScramSha1Login(server: FixedScramServer, cred: Credentials): Promise<void> {
  const mech = new Mechanism();
  const clientFirst = await mech.response(cred);
  mech.challenge(server.first(Buffer.from(clientFirst, 'utf8')).toString('utf8'));
  const clientFinal = await mech.response(cred);
  mech.challenge(server.final(Buffer.from(clientFinal, 'utf8')).toString('utf8'));
  check((await mech.response(cred)) === '', 'sasl-scram-sha-1 final stage');
  const expected = mech._serverSignature;
  const received = Buffer.from(mech._verifier ?? '', 'base64');
  check(
    expected !== undefined && received.length === expected.length && timingSafeEqual(received, expected),
    'server signature matches (checked by the harness)',
  );
}
