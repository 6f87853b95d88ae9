/** Shared spec helpers: byte literals, an in-memory store, and a sync client/server pair runner. */
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  ClearIdentity,
  ClientCredentials,
  type ClientExchange,
  type Identity,
  type Mechanism,
  type SaslError,
  type ServerExchange,
  type ServerOptions,
  SyncClientSession,
  SyncServerSession,
} from '../../lib/index.js';
import { type PairResult, expectNoSecretsIn, rejectedSaslError, runPromisePair, thrownSaslError } from './pair.js';

export type { PairResult };

/** UTF-8 bytes of a string. */
export const b = (text: string): Uint8Array => Buffer.from(text, 'utf8');
/** UTF-8 text of bytes. */
export const s = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

/** A synchronous store over a list of identities. */
export function storeOf(...identities: Identity[]): (authcid: string) => Identity | undefined {
  return (authcid) => identities.find((identity) => identity.authcid === authcid);
}

/** An async store, as a database would be. */
export function asyncStoreOf(...identities: Identity[]): (authcid: string) => Promise<Identity | undefined> {
  const find = storeOf(...identities);
  return (authcid) =>
    new Promise((resolve) =>
      setImmediate(() => {
        resolve(find(authcid));
      }),
    );
}

/** The demo accounts. */
export const ALICE = new ClearIdentity('alice', 'alice-pass');
export const BOB = new ClearIdentity('bob', 'bob-pass');

/**
 * Runs a client exchange against a server exchange synchronously, as a protocol without
 * success data (SMTP) would: server additional data travels as a final challenge.
 */
export function runPair(
  client: ClientExchange,
  makeServer: (initial: Uint8Array | undefined) => ServerExchange,
  successData = false,
): PairResult {
  const transcript: string[] = [];
  const c = new SyncClientSession(client);
  const initial = c.start(true);
  if (initial !== undefined) transcript.push(`C: ${s(initial)}`);
  const server = new SyncServerSession(makeServer(initial));
  let step = server.start();
  for (;;) {
    if (step.done) {
      const extra = step.outcome.additionalData;
      if (extra !== undefined && !successData) {
        transcript.push(`S: ${s(extra)}`);
        const empty = c.challenge(extra);
        expect(empty.length).to.equal(0);
        return { server: step.outcome, client: c.success(), transcript };
      }
      return { server: step.outcome, client: c.success(extra), transcript };
    }
    transcript.push(`S: ${s(step.challenge)}`);
    const response = c.challenge(step.challenge);
    transcript.push(`C: ${s(response)}`);
    step = server.respond(response);
  }
}

/** {@link runPair} under the promise drivers, so stores and validators may be asynchronous; bytes show as UTF-8 (U+FFFD for what is not). */
export function runPairAsync(
  client: ClientExchange,
  makeServer: (initial: Uint8Array | undefined) => ServerExchange,
  successData = false,
): Promise<PairResult> {
  return runPromisePair(client, makeServer, successData, s);
}

/**
 * `mechanism`'s client as `user` with `password` against its server with `options`, under the
 * promise drivers; the SCRAM client cache is off, so every login derives its keys.
 */
export function loginWith(
  mechanism: Mechanism,
  options: ServerOptions,
  user: string,
  password: string,
): Promise<PairResult> {
  return runPairAsync(mechanism.client(new ClientCredentials(user, password), { scram: { cache: false } }), (initial) =>
    mechanism.server(options, initial),
  );
}

/** Asserts that `fn` throws a saslkit error with this code, and returns it. */
export function expectSaslError(fn: () => unknown, code: SaslError['code']): SaslError {
  return thrownSaslError(fn, code, (value) => inspect(value));
}

/** Asserts that a promise rejects with a saslkit error with this code, and returns it. */
export function expectSaslRejection(promise: Promise<unknown>, code: SaslError['code']): Promise<SaslError> {
  return rejectedSaslError(promise, code, (value) => inspect(value));
}

/** Asserts that none of `secrets` appears in any rendering of `value`, `util.inspect`'s included. */
export function expectNoSecrets(value: unknown, secrets: readonly string[]): void {
  expectNoSecretsIn(value, secrets, [inspect(value, { depth: 10, showHidden: true })]);
}
