/**
 * Assertions on what saslkit's test server (spec/interop/saslkit-server.ts) recorded while a real
 * client logged in, shared by the interop specs of its protocols.
 */
import { expect } from 'chai';
import { type SaslError, isSaslError } from '../../lib/index.js';
import type { AuthAttempt } from '../interop/saslkit-server.js';
import { expectNoSecrets } from './helpers.js';

/**
 * The one attempt a client made: asserts it succeeded as `authcid`, recorded under `mechanism`
 * (IMAP's LOGIN command is recorded under its own name, its outcome under the PLAIN rules it was
 * checked with), and, if given, whether an initial response came with the command.
 */
export function expectLogin(
  attempts: readonly AuthAttempt[],
  mechanism: string,
  authcid: string,
  initialResponse?: boolean,
): void {
  expect(attempts).to.have.length(1);
  const [attempt] = attempts;
  expect(attempt?.error, String(attempt?.error)).to.equal(undefined);
  expect(attempt?.mechanism).to.equal(mechanism);
  if (mechanism !== 'LOGIN command') expect(attempt?.outcome?.mechanism).to.equal(mechanism);
  expect(attempt?.outcome?.authcid).to.equal(authcid);
  if (initialResponse !== undefined) expect(attempt?.initialResponse).to.equal(initialResponse);
}

/** The one attempt a client made: asserts saslkit refused it, blaming the client, without the secrets. */
export function expectRefusal(
  attempts: readonly AuthAttempt[],
  mechanism: string,
  secrets: readonly string[],
): SaslError {
  expect(attempts).to.have.length(1);
  const error = attempts[0]?.error;
  if (!isSaslError(error)) throw new Error(`expected a saslkit error, got ${String(error)}`);
  expect(error).to.include({ code: 'AUTHENTICATION_FAILED', party: 'client', mechanism });
  expectNoSecrets(error, secrets);
  return error;
}
