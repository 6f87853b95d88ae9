/**
 * A client exchange run against a server exchange in memory, and the typed-error assertions,
 * for the Node specs (spec/support/helpers.ts) and the portable ones (spec/portable/support.ts)
 * alike: only what every runtime has (no `node:` import, no `Buffer`, no timers), so that
 * spec/runtimes can bundle it for Bun, Deno, workerd and Chromium. The callers differ only in
 * how a message shows in a transcript and how an unexpected error is rendered, so both are
 * parameters.
 */
import { expect } from 'chai';
import {
  type Authenticated,
  type ClientExchange,
  type ClientOutcome,
  PromiseClientSession,
  PromiseServerSession,
  type SaslError,
  type ServerExchange,
  isSaslError,
} from '../../lib/index.js';

/** The result of running a client against a server in memory. */
export interface PairResult {
  readonly server: Authenticated;
  readonly client: ClientOutcome;
  /** Messages in order: `C: ...` / `S: ...`, each shown by the runner's `display`. */
  readonly transcript: string[];
}

/**
 * Runs a client exchange against a server exchange under the promise drivers (the drivers that
 * work with every crypto provider and with asynchronous stores). With `successData` the server's
 * final data travels with success, as in XMPP; otherwise as a last challenge, as in SMTP.
 */
export async function runPromisePair(
  client: ClientExchange,
  makeServer: (initial: Uint8Array | undefined) => ServerExchange,
  successData: boolean,
  display: (bytes: Uint8Array) => string,
): Promise<PairResult> {
  const transcript: string[] = [];
  const c = new PromiseClientSession(client);
  const initial = await c.start(true);
  if (initial !== undefined) transcript.push(`C: ${display(initial)}`);
  const server = new PromiseServerSession(makeServer(initial));
  let step = await server.start();
  for (;;) {
    if (step.done) {
      const extra = step.outcome.additionalData;
      if (extra !== undefined && !successData) {
        transcript.push(`S: ${display(extra)}`);
        expect((await c.challenge(extra)).length).to.equal(0);
        return { server: step.outcome, client: await c.success(), transcript };
      }
      return { server: step.outcome, client: await c.success(extra), transcript };
    }
    transcript.push(`S: ${display(step.challenge)}`);
    const response = await c.challenge(step.challenge);
    transcript.push(`C: ${display(response)}`);
    step = await server.respond(response);
  }
}

/** Asserts that `error` is a saslkit error with this code, and returns it; `render` shows anything else. */
function saslErrorOf(error: unknown, code: SaslError['code'], render: (value: unknown) => string): SaslError {
  if (!isSaslError(error)) throw new Error(`expected a SaslError ${code}, got ${render(error)}`, { cause: error });
  expect(error.code, error.message).to.equal(code);
  return error;
}

/** Asserts that `fn` throws a saslkit error with this code, and returns it. */
export function thrownSaslError(
  fn: () => unknown,
  code: SaslError['code'],
  render: (value: unknown) => string = String,
): SaslError {
  try {
    fn();
  } catch (error) {
    return saslErrorOf(error, code, render);
  }
  throw new Error(`expected a SaslError ${code}, but nothing was thrown`);
}

/** Asserts that a promise rejects with a saslkit error with this code, and returns it. */
export async function rejectedSaslError(
  promise: Promise<unknown>,
  code: SaslError['code'],
  render: (value: unknown) => string = String,
): Promise<SaslError> {
  try {
    await promise;
  } catch (error) {
    return saslErrorOf(error, code, render);
  }
  throw new Error(`expected a SaslError ${code}, but the promise resolved`);
}

/**
 * Asserts that no secret appears in `value`'s string form, JSON, and an error's message and
 * stack, nor in the `more` renderings the caller's runtime has (Node's `util.inspect`).
 */
export function expectNoSecretsIn(value: unknown, secrets: readonly string[], more: readonly string[] = []): void {
  const json = (JSON.stringify as (v: unknown) => string | undefined)(value);
  const renderings = [...more, String(value), json ?? ''];
  if (value instanceof Error) renderings.push(value.message, String(value.stack));
  for (const rendering of renderings) for (const secret of secrets) expect(rendering).to.not.include(secret);
}
