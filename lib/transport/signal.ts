/**
 * The one race between a peer's next message and an exchange's signal (its time limit or the
 * host's abort), shared by every reader that waits for a peer: the line input, the XMPP element
 * reader and the PostgreSQL message reader. The core ends a mechanism's own steps on the same
 * signal; this covers the waits between them.
 * @module
 */
import { ExchangeAbortedError, type Party, type SaslError, TimeoutError } from '../core/errors.js';

/** Error context of a wait: the mechanism once known, and who is blamed. @internal */
export interface WaitContext {
  readonly mechanism?: string | undefined;
  readonly party: Party;
}

/**
 * `pending`, or a {@link TimeoutError} (an {@link ExchangeAbortedError} for any other abort
 * reason) blamed on the peer as soon as `signal` fires: the exchange's time limit also covers
 * waiting for the peer's next message, not only the mechanism's own steps.
 */
export function raceSignal<T>(pending: Promise<T>, signal: AbortSignal | undefined, context: WaitContext): Promise<T> {
  if (signal === undefined) return pending;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(signalError(signal, context));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([pending, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

/** The error of a wait that `signal` ended: a timeout when its reason is a `TimeoutError`, else an abort. @internal */
export function signalError(signal: AbortSignal, context: WaitContext): SaslError {
  const timedOut = (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
  return timedOut
    ? new TimeoutError('the peer did not answer in time', context)
    : new ExchangeAbortedError(undefined, context);
}
