/**
 * The server side of LDAP's SASL bind (RFC 4511 section 4.2, RFC 4513 section 5.2), with what
 * `ldapwhoami` and `ldapsearch` need around it: the rootDSE's supportedSASLMechanisms, StartTLS
 * (RFC 4511 section 4.14) and "Who am I?" (RFC 4532). Everything else is refused with
 * unwillingToPerform. The server never owns a socket: it reads LDAPMessages from a byte source
 * and writes through a function; StartTLS calls back into the host, which starts TLS and hands
 * over the protected source and writer.
 *
 * A SASL bind runs on the one server loop (ldap-bind.ts has its framing); every bind first
 * resets the connection to anonymous.
 * @module
 */
import { EMPTY, utf8 } from '../core/bytes.js';
import type { SessionOptions } from '../core/core.js';
import {
  ExchangeAbortedError,
  MalformedMessageError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { ServerOptions } from '../core/options.js';
import { type SASLAuth, sendsSecretInClear } from '../core/registry.js';
import { LdapMessageReader } from '../transport/ber.js';
import { raceSignal } from '../transport/signal.js';
import type { MessageSource } from '../transport/source.js';
import type { LdapWriter } from './ldap-requester.js';
import {
  LDAP_OID,
  LDAP_RESULT,
  type LdapAttribute,
  type LdapMessage,
  type LdapProtocolOp,
  encodeLdapMessage,
  encodeLdapResultResponse,
  ldapResponseTagFor,
  parseLdapMessage,
} from './ldap-messages.js';
import { type LdapBindHost, LdapBindRestart, LdapBindRun, ldapResultFor, prepared } from './ldap-bind.js';
import { advertisedMechanisms } from './profile.js';

/** What the host hands over after starting TLS for StartTLS. */
export interface LdapServerTransport {
  /** The client's bytes, now through TLS. */
  readonly messages: MessageSource<Uint8Array>;
  /** Sends bytes to the client through TLS. */
  readonly write: LdapWriter;
  /** The server options from now on: with `channelBindingData` (and `externalIdentity` for a client certificate). Default: unchanged. */
  readonly options?: ServerOptions;
}

/** Arguments of {@link ldapServerAuth} and {@link LdapServerConnection}. */
export interface LdapServerAuthOptions {
  /** The mechanisms the server offers, in order. EXTERNAL is offered only with `options.externalIdentity`, -PLUS only with `options.channelBindingData`. */
  readonly auth: SASLAuth;
  /** Store, policy and channel binding for the server mechanisms (`service` defaults to `ldap`). */
  readonly options?: ServerOptions;
  /** The client's bytes (a socket), or a reader already in use. */
  readonly messages: LdapMessageReader | MessageSource<Uint8Array>;
  /** Sends bytes to the client. */
  readonly write: LdapWriter;
  /** Limits on messages and rounds of each bind, and a time limit (`signal`) that also ends a wait for the client. */
  readonly session?: SessionOptions;
  /** Largest LDAPMessage accepted when `messages` is not a reader already. Default 262144. */
  readonly maxMessageBytes?: number;
  /**
   * Starts TLS for the StartTLS extended operation, after the success response was written: the
   * host wraps its socket and returns the protected transport. Without it StartTLS is refused
   * (protocolError). The host must refuse bytes that reached its socket in the clear after the
   * request (the reader refuses those it holds).
   */
  readonly startTls?: () => Promise<LdapServerTransport>;
  /** True when the connection is TLS already (`ldaps://`): StartTLS is then refused. */
  readonly tls?: boolean;
  /**
   * Offer and accept PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 before StartTLS too. Default false:
   * while TLS is available (`startTls`) but not started, those mechanisms, which send the secret
   * itself, are neither listed nor run.
   */
  readonly allowPlaintext?: boolean;
  /** Failed binds {@link LdapServerConnection.serve} allows before it gives up. Default 10. */
  readonly maxFailedBinds?: number;
}

// The BindResponse of a failed bind: ldap-bind.ts, re-exported for the package index.
export { ldapResultFor };

const ROOT_DSE_OPERATIONAL = ['supportedSASLMechanisms', 'supportedLDAPVersion', 'supportedExtension'];

/**
 * One client connection of an LDAP server. {@link authenticate} serves requests until a SASL
 * bind succeeds; {@link serve} keeps serving (binds, "Who am I?", the rootDSE) until the client
 * unbinds or hangs up.
 */
export class LdapServerConnection {
  /** The reader of the client's messages. */
  readonly reader: LdapMessageReader;
  readonly #args: LdapServerAuthOptions;
  #write: LdapWriter;
  #options: ServerOptions;
  #tls: boolean;
  #bound: Authenticated | undefined;
  #closed = false;
  #fatal = false;
  // What a bind needs from this connection, made once.
  readonly #host: LdapBindHost;

  constructor(args: LdapServerAuthOptions) {
    this.#args = args;
    this.#host = {
      auth: args.auth,
      session: args.session,
      options: () => this.#options,
      mechanisms: () => this.mechanisms,
      canReply: () => !this.#closed && !this.#fatal,
      read: (mechanism) => this.#read(mechanism),
      respond: (id, code, text, creds) =>
        this.#result(id, 'bindResponse', code, text, creds === undefined ? {} : { serverSaslCreds: creds }),
    };
    this.reader =
      args.messages instanceof LdapMessageReader
        ? args.messages
        : new LdapMessageReader(args.messages, {
            peer: 'client',
            ...(args.maxMessageBytes === undefined ? {} : { maxMessageBytes: args.maxMessageBytes }),
          });
    this.#write = args.write;
    this.#options = prepared(args.options);
    this.#tls = args.tls === true;
  }

  /** The identity of the last successful bind, or undefined while anonymous. */
  get bound(): Authenticated | undefined {
    return this.#bound;
  }

  /** True once StartTLS succeeded or when the connection started with TLS. */
  get tls(): boolean {
    return this.#tls;
  }

  /** The mechanism names offered now (in the rootDSE) and accepted, given TLS, channel binding and `allowPlaintext`. */
  get mechanisms(): string[] {
    const options = this.#options;
    const names = advertisedMechanisms(this.#args.auth, {
      channelBinding: (options.channelBindingData?.types.length ?? 0) > 0,
      requireChannelBinding: options.requireChannelBinding === true,
    });
    const holdBack = !this.#tls && this.#args.startTls !== undefined && this.#args.allowPlaintext !== true;
    return names.filter(
      (name) =>
        (name !== 'EXTERNAL' || options.externalIdentity !== undefined) && !(holdBack && sendsSecretInClear(name)),
    );
  }

  async #send(messageId: number, op: LdapProtocolOp): Promise<void> {
    if (this.#closed) return;
    await this.#write(encodeLdapMessage({ messageId, op }));
  }

  async #result(
    messageId: number,
    type: 'bindResponse' | 'searchResultDone' | 'extendedResponse',
    resultCode: number,
    diagnosticMessage = '',
    extra: { serverSaslCreds?: Uint8Array; responseName?: string; responseValue?: Uint8Array } = {},
  ): Promise<void> {
    const result = { resultCode, matchedDN: '', diagnosticMessage };
    const op: LdapProtocolOp =
      type === 'bindResponse'
        ? { type, result, serverSaslCreds: extra.serverSaslCreds }
        : type === 'searchResultDone'
          ? { type, result }
          : { type, result, responseName: extra.responseName, responseValue: extra.responseValue };
    await this.#send(messageId, op);
  }

  async #read(mechanism?: string): Promise<LdapMessage> {
    let bytes: Uint8Array;
    try {
      bytes = await raceSignal(this.reader.readBytes(), this.#args.session?.signal, { mechanism, party: 'client' });
    } catch (error) {
      if (isSaslError(error) && error.code === 'ABORTED') this.#closed = true;
      else await this.#disconnect();
      throw error;
    }
    try {
      return parseLdapMessage(bytes, { party: 'client' });
    } catch (error) {
      await this.#disconnect();
      throw error;
    }
  }

  /** Sends a Notice of Disconnection (protocolError): the connection is out of step and must be closed. */
  async #disconnect(): Promise<void> {
    this.#fatal = true;
    try {
      await this.#send(0, {
        type: 'extendedResponse',
        result: { resultCode: LDAP_RESULT.PROTOCOL_ERROR, matchedDN: '', diagnosticMessage: 'malformed LDAP message' },
        responseName: LDAP_OID.NOTICE_OF_DISCONNECTION,
      });
    } catch {
      // The connection is gone; the error that brought us here is what we report.
    }
    this.#closed = true;
  }

  /**
   * Serves requests until a SASL bind succeeds and resolves with the verified identity. A
   * refused bind rejects with its typed error after the BindResponse was written (call again to
   * go on serving); an UnbindRequest or a hang-up rejects with ABORTED; a malformed LDAPMessage
   * rejects after a Notice of Disconnection, and the host must then close the connection.
   */
  async authenticate(): Promise<Authenticated> {
    let next: LdapMessage | undefined;
    for (;;) {
      const message = next ?? (await this.#read());
      next = undefined;
      const { messageId, op } = message;
      switch (op.type) {
        case 'bindRequest': {
          this.#bound = undefined;
          const outcome = await this.#bind(messageId, op);
          if (outcome === undefined) continue;
          if ('restart' in outcome) {
            next = outcome.restart;
            continue;
          }
          return outcome.authenticated;
        }
        case 'searchRequest':
          await this.#search(messageId, op);
          continue;
        case 'extendedRequest':
          await this.#extended(messageId, op.requestName);
          continue;
        case 'unbindRequest':
          this.#closed = true;
          throw new ExchangeAbortedError('the LDAP client unbound', { party: 'client' });
        case 'abandonRequest':
          continue;
        case 'other': {
          const tag = ldapResponseTagFor(op.tag);
          if (tag !== undefined) {
            if (!this.#closed)
              await this.#write(
                encodeLdapResultResponse(messageId, tag, {
                  resultCode: LDAP_RESULT.UNWILLING_TO_PERFORM,
                  matchedDN: '',
                  diagnosticMessage: 'this server only authenticates',
                }),
              );
            continue;
          }
          break;
        }
        default:
          break;
      }
      // A response from the client, or an IntermediateResponse: not a request at all.
      await this.#disconnect();
      throw new UnexpectedMessageError('the LDAP client sent a response where a request belongs', { party: 'client' });
    }
  }

  /**
   * Runs one bind. Undefined: answered, go on (an anonymous bind, a refused simple bind);
   * `restart`: the client began another bind mid-exchange; else the verified identity.
   */
  async #bind(
    messageId: number,
    op: Extract<LdapProtocolOp, { type: 'bindRequest' }>,
  ): Promise<{ authenticated: Authenticated } | { restart: LdapMessage } | undefined> {
    const bindResponse = (code: number, text = '', creds?: Uint8Array): Promise<void> =>
      this.#result(messageId, 'bindResponse', code, text, creds === undefined ? {} : { serverSaslCreds: creds });
    if (op.version !== 3) {
      await bindResponse(LDAP_RESULT.PROTOCOL_ERROR, 'only LDAPv3 is supported');
      return undefined;
    }
    const a = op.authentication;
    if ('simple' in a) {
      // An anonymous bind (no name, no password) is always fine; saslkit serves no other simple bind.
      if (op.name === '' && a.simple.length === 0) await bindResponse(LDAP_RESULT.SUCCESS);
      else
        await bindResponse(
          a.simple.length === 0 ? LDAP_RESULT.UNWILLING_TO_PERFORM : LDAP_RESULT.AUTH_METHOD_NOT_SUPPORTED,
          'use a SASL bind',
        );
      return undefined;
    }
    try {
      const authenticated = await new LdapBindRun(this.#host, messageId).start({ messageId, op });
      this.#bound = authenticated;
      return { authenticated };
    } catch (error) {
      if (error instanceof LdapBindRestart) return { restart: error.request };
      throw error;
    }
  }

  async #search(messageId: number, op: Extract<LdapProtocolOp, { type: 'searchRequest' }>): Promise<void> {
    if (op.baseObject !== '' || op.scope !== 0) {
      await this.#result(
        messageId,
        'searchResultDone',
        LDAP_RESULT.UNWILLING_TO_PERFORM,
        'this server only authenticates',
      );
      return;
    }
    const wanted = op.attributes.map((a) => a.toLowerCase());
    const all = wanted.includes('+');
    const values: Record<string, string[]> = {
      supportedSASLMechanisms: this.mechanisms,
      supportedLDAPVersion: ['3'],
      supportedExtension: [
        LDAP_OID.WHO_AM_I,
        ...(this.#args.startTls !== undefined && !this.#tls ? [LDAP_OID.START_TLS] : []),
      ],
    };
    const attributes: LdapAttribute[] = [];
    if (wanted.length === 0 || wanted.includes('*')) attributes.push({ type: 'objectClass', values: [utf8('top')] });
    for (const type of ROOT_DSE_OPERATIONAL) {
      const list = values[type] ?? [];
      if ((all || wanted.includes(type.toLowerCase())) && list.length > 0)
        attributes.push({ type, values: op.typesOnly ? [] : list.map(utf8) });
    }
    await this.#send(messageId, { type: 'searchResultEntry', objectName: '', attributes });
    await this.#result(messageId, 'searchResultDone', LDAP_RESULT.SUCCESS);
  }

  async #extended(messageId: number, requestName: string): Promise<void> {
    if (requestName === LDAP_OID.WHO_AM_I) {
      const bound = this.#bound;
      // RFC 4532: the response value is the authzId, empty (but present) for an anonymous connection.
      await this.#result(messageId, 'extendedResponse', LDAP_RESULT.SUCCESS, '', {
        responseValue: bound === undefined ? EMPTY : utf8(`u:${bound.authzid}`),
      });
      return;
    }
    if (requestName !== LDAP_OID.START_TLS) {
      // RFC 4511 section 4.12: an unrecognised extended operation is a protocolError.
      await this.#result(messageId, 'extendedResponse', LDAP_RESULT.PROTOCOL_ERROR, 'unsupported extended operation');
      return;
    }
    const startTls = this.#args.startTls;
    const refuse = (code: number, text: string): Promise<void> =>
      this.#result(messageId, 'extendedResponse', code, text, { responseName: LDAP_OID.START_TLS });
    if (this.#tls) return refuse(LDAP_RESULT.OPERATIONS_ERROR, 'TLS is already active');
    if (startTls === undefined) return refuse(LDAP_RESULT.PROTOCOL_ERROR, 'StartTLS is not available');
    // Once a client authenticated in the clear, TLS would not protect what it already sent.
    if (this.#bound !== undefined) return refuse(LDAP_RESULT.UNWILLING_TO_PERFORM, 'StartTLS after a bind');
    if (this.reader.buffered > 0) {
      await this.#disconnect();
      throw new MalformedMessageError('the LDAP client sent data after StartTLS before its answer', {
        party: 'client',
      });
    }
    await refuse(LDAP_RESULT.SUCCESS, '');
    const transport = await startTls();
    this.reader.switchSource(transport.messages);
    this.#write = transport.write;
    if (transport.options !== undefined) this.#options = prepared(transport.options);
    this.#tls = true;
  }

  /**
   * Serves the connection until the client unbinds or hangs up: binds (calling `onBind` after
   * each success), "Who am I?", the rootDSE and StartTLS. Resolves at the end; rejects after a
   * malformed message or too many failed binds (the host then closes the connection).
   */
  async serve(onBind?: (authenticated: Authenticated) => void | Promise<void>): Promise<void> {
    const maxFailed = this.#args.maxFailedBinds ?? 10;
    if (!Number.isInteger(maxFailed) || maxFailed < 1)
      throw new UsageError('maxFailedBinds must be a positive integer');
    let failed = 0;
    for (;;) {
      try {
        const who = await this.authenticate();
        await onBind?.(who);
      } catch (error) {
        if (this.#fatal) throw error;
        if (isSaslError(error) && error.code === 'ABORTED' && this.#closed) return;
        if (++failed >= maxFailed) throw error;
      }
    }
  }
}

/**
 * Serves one LDAP connection until a SASL bind succeeds (see {@link LdapServerConnection.authenticate}):
 * resolves with the verified identity and the connection, to go on serving with
 * {@link LdapServerConnection.serve} or `authenticate`.
 */
export async function ldapServerAuth(
  args: LdapServerAuthOptions,
): Promise<{ readonly authenticated: Authenticated; readonly connection: LdapServerConnection }> {
  const connection = new LdapServerConnection(args);
  return { authenticated: await connection.authenticate(), connection };
}
