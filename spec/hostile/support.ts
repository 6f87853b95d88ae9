/** Helpers for the hostile-peer specs: a server stepper that records effects, counting identities. */
import {
  type Authenticated,
  type Identity,
  type SaslError,
  type ServerExchange,
  type ServerYield,
  isEffect,
  isSaslError,
} from '../../lib/index.js';

/** What a server exchange did: the effects it asked for, in order, and how it ended. */
export interface ServerTrace {
  /** Effect kinds in order, with a `|` where a message went to the client. */
  readonly steps: string[];
  /** The error the exchange threw, if it did. */
  readonly error: SaslError | undefined;
}

/** The client's side in {@link traceServer}: responses in order, or a function of each challenge. */
export type Responder = readonly Uint8Array[] | ((challenge: Uint8Array) => Uint8Array);

/**
 * Steps a server exchange by hand, answering effects synchronously and answering each challenge
 * from `responses`, and records every effect it yielded.
 */
export function traceServer(exchange: ServerExchange, responses: Responder): ServerTrace {
  const steps: string[] = [];
  const queue = typeof responses === 'function' ? undefined : [...responses];
  let input: { mode: 'next'; value: unknown } | { mode: 'throw'; error: unknown } = { mode: 'next', value: undefined };
  try {
    for (;;) {
      const result: IteratorResult<ServerYield, Authenticated> =
        input.mode === 'next' ? exchange.next(input.value) : exchange.throw(input.error);
      if (result.done) return { steps, error: undefined };
      if (isEffect(result.value)) {
        steps.push(result.value.kind);
        try {
          input = { mode: 'next', value: result.value.runSync() };
        } catch (error) {
          input = { mode: 'throw', error };
        }
        continue;
      }
      steps.push('|');
      const next: Uint8Array | undefined =
        queue === undefined ? (responses as (challenge: Uint8Array) => Uint8Array)(result.value) : queue.shift();
      if (next === undefined) throw new Error('the exchange asked for more responses than the spec gave');
      input = { mode: 'next', value: next };
    }
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return { steps, error };
  }
}

/** An identity that records the names of the methods called on it, delegating to `inner`. */
export function countingIdentity(inner: Identity, calls: string[]): Identity {
  return {
    authcid: inner.authcid,
    compareAuthcid(authcid) {
      calls.push('compareAuthcid');
      return inner.compareAuthcid(authcid);
    },
    compareSecret(secret) {
      calls.push('compareSecret');
      return inner.compareSecret(secret);
    },
    getClearSecret() {
      calls.push('getClearSecret');
      return inner.getClearSecret();
    },
  };
}
