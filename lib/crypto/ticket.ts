/**
 * The ticket that lets an exchange drop a key derivation still waiting in a queue (Node's KDF
 * pool): portable, so that the SCRAM code that holds one needs no Node module.
 * @module
 */

/**
 * Lets the code that submitted a job drop it while it waits: SCRAM's derive helper calls
 * {@link KdfTicket.cancel} from a `finally` block, which runs when the exchange is closed
 * (aborted, timed out) before its PBKDF2 started. @internal
 */
export class KdfTicket {
  #cancel: (() => void) | undefined;

  /** Called by the pool while the job waits; cleared when it starts. @internal */
  set canceller(cancel: (() => void) | undefined) {
    this.#cancel = cancel;
  }

  /** Drops the job if it still waits; otherwise nothing. */
  cancel(): void {
    const cancel = this.#cancel;
    this.#cancel = undefined;
    cancel?.();
  }
}
