/**
 * The connections of `saslkit/stores/ldap` (see ldap.ts): what the store needs of one, a small
 * pool that uses them in turn and replaces one that failed, and the simple bind that checks a
 * password.
 * @module
 */
import {
  type LdapMessage,
  type LdapProtocolOp,
  type LdapRequestOptions,
  type LdapSearchRequest,
  type LdapSearchResult,
  UsageError,
  isSaslError,
} from '../index.js';

/** What the store needs of a connection: saslkit's `LdapConnection` has it; specs pass fakes. */
export interface LdapStoreConnection {
  /** Sends requests, one at a time. */
  readonly requester: {
    search(request: LdapSearchRequest, options?: LdapRequestOptions): Promise<LdapSearchResult>;
    request(op: LdapProtocolOp, options?: LdapRequestOptions): Promise<LdapMessage>;
  };
  /** True when TLS protects it (`LdapConnection.encrypted`); simple binds need it unless `plaintextBinds`. */
  readonly encrypted?: boolean;
  /** Closes it at once. */
  close(): void;
}

/** A few connections, used in turn; one that failed is closed and opened again on next use. */
export class ConnectionPool {
  readonly #open: () => Promise<LdapStoreConnection>;
  readonly #slots: (Promise<LdapStoreConnection> | undefined)[];
  #next = 0;
  #closed = false;

  constructor(size: number, open: () => Promise<LdapStoreConnection>) {
    this.#open = open;
    this.#slots = Array.from({ length: size }, () => undefined);
  }

  /**
   * Runs `work` on the next connection. When a connection that had served before fails (the
   * server closed it while idle, say), `work` runs once more on a new one: searches and binds
   * can be repeated. A time limit that ran out is not retried.
   */
  async run<T>(work: (connection: LdapStoreConnection) => Promise<T>): Promise<T> {
    if (this.#closed) throw new UsageError('the LDAP store is closed');
    const i = this.#next;
    this.#next = (i + 1) % this.#slots.length;
    const reused = this.#slots[i] !== undefined;
    try {
      return await this.#runOn(i, work);
    } catch (error) {
      // close() may have run while the request was out: then no new connection is opened.
      if (!reused || this.#isClosed() || (isSaslError(error) && error.code === 'TIMEOUT')) throw error;
      return this.#runOn(i, work);
    }
  }

  #isClosed(): boolean {
    return this.#closed;
  }

  async #runOn<T>(i: number, work: (connection: LdapStoreConnection) => Promise<T>): Promise<T> {
    let slot = this.#slots[i];
    if (slot === undefined) {
      slot = this.#open();
      this.#slots[i] = slot;
      // A failed connect is not kept: the next use tries again.
      slot.catch(() => {
        if (this.#slots[i] === slot) this.#slots[i] = undefined;
      });
    }
    const connection = await slot;
    try {
      return await work(connection);
    } catch (error) {
      // A request that failed leaves the connection out of step: replace it.
      if (this.#slots[i] === slot) this.#slots[i] = undefined;
      connection.close();
      throw error;
    }
  }

  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) {
      if (slot !== undefined)
        void slot.then(
          (connection) => {
            connection.close();
          },
          () => undefined,
        );
    }
    for (let i = 0; i < this.#slots.length; i++) this.#slots[i] = undefined;
  }
}

/** Simple-binds `connection` as `dn`; the result code. */
export async function simpleBind(
  connection: LdapStoreConnection,
  dn: string,
  password: string,
  signal: AbortSignal,
): Promise<number> {
  const answer = await connection.requester.request(
    { type: 'bindRequest', version: 3, name: dn, authentication: { simple: password } },
    { signal },
  );
  if (answer.op.type !== 'bindResponse') throw new UsageError('the LDAP server answered a bind with another operation');
  return answer.op.result.resultCode;
}
