/**
 * One LDAP SASL bind (RFC 4513 section 5.2.1.2) as the framing of the one server loop
 * (server-loop.ts): the BindRequest opens, each challenge goes out as saslBindInProgress (14)
 * with `serverSaslCreds`, the client's next BindRequest of the same mechanism carries the
 * response, and success (0) carries the mechanism's final data. A BindRequest naming another
 * mechanism, or any other request, ends the bind: it is handed back to the connection, which
 * serves it afresh.
 * @module
 */
import { EMPTY, utf8 } from '../core/bytes.js';
import type { ChannelBindingSource, ChannelBindingType } from '../channel-binding/tls-socket.js';
import { NO_OPTIONS, type SessionOptions } from '../core/core.js';
import { isSaslError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { ServerMechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import type { SASLAuth } from '../core/registry.js';
import { LDAP_RESULT, type LdapMessage, type LdapProtocolOp } from './ldap-messages.js';
import { OPENLDAP_CB_NAME, openLdapChannelBinding } from './ldap-client.js';
import { PromisedInput, serverOptionsFor, unwrapFailure } from './profile.js';
import { ServerLoop, type ServerOpening, type Written } from './server-loop.js';

/** The OpenLDAP-style binding ({@link openLdapChannelBinding}) beside the standard types, so that both ldapwhoami (`p=ldap`) and RFC 5802 clients bind. */
function withOpenLdapBinding(source: ChannelBindingSource | undefined): ChannelBindingSource | undefined {
  if (source === undefined) return undefined;
  const openldap = openLdapChannelBinding(source);
  const name = OPENLDAP_CB_NAME as ChannelBindingType;
  return {
    get types() {
      return [...source.types, ...openldap.types];
    },
    data: (type) => (type === name ? openldap.data(type) : source.data(type)),
  };
}

/** The options binds run with: service `ldap`, and both kinds of channel binding. @internal */
export function prepared(options: ServerOptions | undefined): ServerOptions {
  const withService = serverOptionsFor(options, 'ldap');
  if (withService.channelBindingData === undefined) return withService;
  return { ...withService, channelBindingData: withOpenLdapBinding(withService.channelBindingData) };
}

/** The result code and fixed diagnostic text a server sends for a failed bind. */
export function ldapResultFor(error: unknown): { readonly resultCode: number; readonly diagnosticMessage: string } {
  if (!isSaslError(error))
    return { resultCode: LDAP_RESULT.OTHER, diagnosticMessage: 'authentication could not be completed' };
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
      return { resultCode: LDAP_RESULT.INVALID_CREDENTIALS, diagnosticMessage: 'authentication failed' };
    case 'AUTHORIZATION_FAILED':
      return {
        resultCode: LDAP_RESULT.INSUFFICIENT_ACCESS_RIGHTS,
        diagnosticMessage: 'not authorized to use the requested authorization identity',
      };
    case 'MECHANISM_UNAVAILABLE':
      return { resultCode: LDAP_RESULT.AUTH_METHOD_NOT_SUPPORTED, diagnosticMessage: 'mechanism not supported' };
    case 'TIMEOUT':
      return { resultCode: LDAP_RESULT.BUSY, diagnosticMessage: 'the bind took too long' };
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
    case 'LIMIT_EXCEEDED':
      // As slapd does for Cyrus SASL's "bad protocol": the SASL message, not the LDAP PDU, was wrong.
      return { resultCode: LDAP_RESULT.OTHER, diagnosticMessage: 'invalid SASL message' };
    default:
      return { resultCode: LDAP_RESULT.OTHER, diagnosticMessage: 'authentication could not be completed' };
  }
}

const GS2_P = utf8('p=');

/**
 * The mechanism to run for a bind naming `name`. Cyrus SASL 2.1.28 clients (ldapwhoami with
 * `-Y SCRAM-SHA-256-PLUS`) name the mechanism without `-PLUS` in the BindRequest while their
 * GS2 header asks for binding (`p=ldap`). The -PLUS variant is run then, when it is offered: the
 * client asked for binding itself and its proof covers the header and the binding data, so this
 * is the stronger check, never a downgrade.
 */
function cyrusPlusName(name: string, initial: Uint8Array | undefined, offered: readonly string[]): string {
  const plus = `${name}-PLUS`;
  if (!name.startsWith('SCRAM-') || name.endsWith('-PLUS') || !offered.includes(plus) || initial === undefined)
    return name;
  return initial.length > 2 && initial[0] === GS2_P[0] && initial[1] === GS2_P[1] ? plus : name;
}

/** What a bind needs from its connection. @internal */
export interface LdapBindHost {
  /** The mechanisms the server offers. */
  readonly auth: SASLAuth;
  /** The options the mechanisms run with now (they change with StartTLS). */
  options(): ServerOptions;
  /** The limits and time limit of each bind. */
  readonly session: SessionOptions | undefined;
  /** The mechanism names offered now. */
  mechanisms(): readonly string[];
  /** False once the connection is closed or out of step: no BindResponse then. */
  canReply(): boolean;
  /** Reads the client's next LDAPMessage, within the time limit. */
  read(mechanism: string | undefined): Promise<LdapMessage>;
  /** Writes a BindResponse. */
  respond(messageId: number, resultCode: number, diagnosticMessage: string, creds?: Uint8Array): Promise<void>;
}

/** Ends a bind when the client sent another request in the middle of it: the request, to be served afresh. @internal */
export class LdapBindRestart extends Error {
  constructor(readonly request: LdapMessage) {
    super('the client sent another request during the bind');
  }
}

type BindRequest = Extract<LdapProtocolOp, { type: 'bindRequest' }>;

interface LdapOpening extends ServerOpening {
  readonly initial: Uint8Array | undefined;
}

/** One SASL bind: resolves with the verified identity, rejects with the typed error or an {@link LdapBindRestart}. @internal */
export class LdapBindRun extends ServerLoop<LdapMessage, LdapOpening> {
  protected readonly input: PromisedInput<LdapMessage>;
  protected get successCarriesData(): boolean {
    return true;
  }

  protected override get unknownMechanismText(): string {
    return 'the client chose a mechanism the server did not offer';
  }
  readonly #host: LdapBindHost;
  // The message the next BindResponse answers: each step of a bind is its own request.
  #messageId: number;
  // The mechanism as the BindRequest named it: each later step must name it too.
  #name = '';

  constructor(host: LdapBindHost, messageId: number) {
    super();
    this.#host = host;
    this.#messageId = messageId;
    // The connection's read races its signal itself (a wait that times out disconnects), so none here.
    this.input = new PromisedInput((context) => host.read(context.mechanism), undefined);
  }

  start(message: LdapMessage): Promise<Authenticated> {
    return this.run(message);
  }

  protected open(message: LdapMessage): LdapOpening {
    const authentication = (message.op as BindRequest).authentication;
    // The connection opens a run only for a SASL bind.
    const sasl = 'sasl' in authentication ? authentication.sasl : { mechanism: '', credentials: undefined };
    this.#name = sasl.mechanism;
    return { mechanism: sasl.mechanism, initial: sasl.credentials };
  }

  protected select(opening: LdapOpening): ServerMechanism | undefined {
    const offered = this.#host.mechanisms();
    const name = opening.mechanism;
    if (!offered.includes(name)) return undefined;
    return this.#host.auth.getServer(cyrusPlusName(name, opening.initial, offered));
  }

  protected initial(opening: LdapOpening): Uint8Array | undefined {
    return opening.initial;
  }

  protected serverOptions(): ServerOptions {
    return this.#host.options();
  }

  protected limits(): SessionOptions {
    return this.#host.session ?? NO_OPTIONS;
  }

  protected challenge(data: Uint8Array): Written {
    return this.#host.respond(this.#messageId, LDAP_RESULT.SASL_BIND_IN_PROGRESS, '', data);
  }

  protected response(message: LdapMessage): Uint8Array {
    const op = message.op;
    if (op.type !== 'bindRequest' || !('sasl' in op.authentication) || op.authentication.sasl.mechanism !== this.#name)
      throw new LdapBindRestart(message);
    this.#messageId = message.messageId;
    return op.authentication.sasl.credentials ?? EMPTY;
  }

  protected success(outcome: Authenticated): Promise<Authenticated> {
    return this.#host.respond(this.#messageId, LDAP_RESULT.SUCCESS, '', outcome.additionalData).then(() => outcome);
  }

  protected failure(thrown: unknown): Written {
    if (thrown instanceof LdapBindRestart || !this.#host.canReply()) return undefined;
    const { resultCode, diagnosticMessage } = ldapResultFor(unwrapFailure(thrown));
    return this.#host.respond(this.#messageId, resultCode, diagnosticMessage);
  }
}
