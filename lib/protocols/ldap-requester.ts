/**
 * LDAP requests and their responses without a socket: {@link LdapRequester} numbers requests,
 * writes them and reads the responses that carry the same messageID, over any byte source and
 * writer. Requests run one at a time, in the order they are made: saslkit needs no concurrent
 * LDAP operations. lib/protocols/ldap-connection.ts puts it on a Node socket.
 * @module
 */
import {
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  UnexpectedMessageError,
} from '../core/errors.js';
import { LdapMessageReader } from '../transport/ber.js';
import { raceSignal } from '../transport/signal.js';
import type { MessageSource } from '../transport/source.js';
import {
  LDAP_OID,
  LDAP_RESULT,
  type LdapAttribute,
  type LdapControl,
  type LdapMessage,
  type LdapProtocolOp,
  type LdapResult,
  encodeLdapMessage,
  parseLdapMessage,
} from './ldap-messages.js';

/** Writes bytes to the peer; may return a promise (backpressure). */
export type LdapWriter = (data: Uint8Array) => void | Promise<void>;

/** Options of a request. */
export interface LdapRequestOptions {
  /** Controls to send with the request. */
  readonly controls?: readonly LdapControl[];
  /** Ends the wait for the response: TIMEOUT (or ABORTED) blamed on the server; the connection is then out of step. */
  readonly signal?: AbortSignal | undefined;
}

/** What a search returned. */
export interface LdapSearchResult {
  /** The entries, in the order they came. */
  readonly entries: readonly { readonly objectName: string; readonly attributes: readonly LdapAttribute[] }[];
  /** SearchResultReference URIs. */
  readonly references: readonly string[];
  /** The SearchResultDone result. */
  readonly result: LdapResult;
}

/** The searchRequest operation's fields. */
export type LdapSearchRequest = Omit<Extract<LdapProtocolOp, { type: 'searchRequest' }>, 'type'>;

/** The OID of the unsolicited notice a server sends before it drops the connection. */
const NOTICE_OF_DISCONNECTION = LDAP_OID.NOTICE_OF_DISCONNECTION;

/** Default of {@link LdapRequester}'s `maxEntries`: entries accepted in one search. */
export const DEFAULT_LDAP_MAX_ENTRIES = 1000;

/**
 * Sends LDAP requests with fresh messageIDs and reads their responses, one request at a time.
 * An unsolicited Notice of Disconnection (messageID 0) rejects with ABORTED; a response with
 * another messageID, or of the wrong kind, with UNEXPECTED_MESSAGE. IntermediateResponses are
 * skipped.
 */
export class LdapRequester {
  /** The reader of the server's messages. */
  readonly reader: LdapMessageReader;
  readonly #write: LdapWriter;
  readonly #maxEntries: number;
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    messages: LdapMessageReader | MessageSource<Uint8Array>,
    write: LdapWriter,
    options: { readonly maxEntries?: number; readonly maxMessageBytes?: number } = {},
  ) {
    this.reader =
      messages instanceof LdapMessageReader
        ? messages
        : new LdapMessageReader(messages, {
            peer: 'server',
            ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
          });
    this.#write = write;
    this.#maxEntries = options.maxEntries ?? DEFAULT_LDAP_MAX_ENTRIES;
  }

  /** Runs `work` after every earlier request has settled. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #send(op: LdapProtocolOp, controls: readonly LdapControl[] | undefined): Promise<number> {
    const messageId = this.#nextId;
    // messageIDs are 1..2^31-1 and must not be reused while outstanding; wrap after the last.
    this.#nextId = messageId === 0x7fffffff ? 1 : messageId + 1;
    await this.#write(encodeLdapMessage({ messageId, op, ...(controls === undefined ? {} : { controls }) }));
    return messageId;
  }

  async #receive(messageId: number, signal: AbortSignal | undefined): Promise<LdapMessage> {
    for (;;) {
      const bytes = await raceSignal(this.reader.readBytes(), signal, { party: 'server' });
      const message = parseLdapMessage(bytes, { party: 'server' });
      if (
        message.messageId === 0 &&
        message.op.type === 'extendedResponse' &&
        message.op.responseName === NOTICE_OF_DISCONNECTION
      ) {
        throw new ExchangeAbortedError('the LDAP server sent a notice of disconnection', { party: 'server' });
      }
      if (message.messageId !== messageId)
        throw new UnexpectedMessageError('the LDAP server answered a request that was not made', { party: 'server' });
      if (message.op.type === 'other') continue; // IntermediateResponse
      return message;
    }
  }

  /** Sends one request and resolves with its single response (a bind, an extended operation). */
  request(op: LdapProtocolOp, options: LdapRequestOptions = {}): Promise<LdapMessage> {
    return this.#serial(async () => {
      const id = await this.#send(op, options.controls);
      return this.#receive(id, options.signal);
    });
  }

  /** Sends a request that has no response (UnbindRequest, AbandonRequest). */
  notify(op: LdapProtocolOp): Promise<void> {
    return this.#serial(async () => {
      await this.#send(op, undefined);
    });
  }

  /** Runs a search and collects its entries up to SearchResultDone (at most `maxEntries`). */
  search(request: LdapSearchRequest, options: LdapRequestOptions = {}): Promise<LdapSearchResult> {
    return this.#serial(async () => {
      const id = await this.#send({ type: 'searchRequest', ...request }, options.controls);
      const entries: { objectName: string; attributes: readonly LdapAttribute[] }[] = [];
      const references: string[] = [];
      for (;;) {
        const { op } = await this.#receive(id, options.signal);
        if (op.type === 'searchResultDone') return { entries, references, result: op.result };
        if (op.type === 'searchResultEntry') {
          if (entries.length >= this.#maxEntries)
            throw new LimitExceededError(
              'maxEntries',
              `the LDAP search returned more than ${this.#maxEntries} entries`,
              { party: 'server' },
            );
          entries.push({ objectName: op.objectName, attributes: op.attributes });
        } else if (op.type === 'searchResultReference') {
          if (references.length >= this.#maxEntries)
            throw new LimitExceededError(
              'maxEntries',
              `the LDAP search returned more than ${this.#maxEntries} references`,
              { party: 'server' },
            );
          references.push(...op.uris);
        } else {
          throw new UnexpectedMessageError('the LDAP server answered a search with another operation', {
            party: 'server',
          });
        }
      }
    });
  }
}

/** The values of an attribute in a search entry, matched case-insensitively, as UTF-8 text. */
export function ldapAttributeValues(attributes: readonly LdapAttribute[], name: string): string[] {
  const wanted = name.toLowerCase();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const out: string[] = [];
  for (const attribute of attributes) {
    if (attribute.type.toLowerCase() !== wanted) continue;
    for (const value of attribute.values) {
      try {
        out.push(decoder.decode(value));
      } catch {
        throw new MalformedMessageError(`LDAP attribute ${wanted.length <= 64 ? name : 'value'} is not valid UTF-8`, {
          party: 'server',
        });
      }
    }
  }
  return out;
}

/**
 * The rootDSE's `supportedSASLMechanisms` (RFC 4512 section 5.1): a base search on the empty
 * DN. An empty list when the server shows none (slapd hides it from anonymous users when its
 * ACLs say so).
 */
export async function ldapSupportedMechanisms(
  requester: LdapRequester,
  options: LdapRequestOptions = {},
): Promise<string[]> {
  const found = await requester.search(
    {
      baseObject: '',
      scope: 0,
      derefAliases: 0,
      sizeLimit: 1,
      timeLimit: 0,
      typesOnly: false,
      filter: { present: 'objectClass' },
      attributes: ['supportedSASLMechanisms'],
    },
    options,
  );
  if (found.result.resultCode !== LDAP_RESULT.SUCCESS) return [];
  return found.entries.flatMap((entry) => ldapAttributeValues(entry.attributes, 'supportedSASLMechanisms'));
}
