/**
 * The client side of LDAP's SASL bind (RFC 4511 section 4.2, RFC 4513 section 5.2): each step
 * is a BindRequest with SaslCredentials; the server answers saslBindInProgress (14) with the
 * next challenge in `serverSaslCreds`, or success (0), possibly with final data there (SCRAM's
 * server-final), which the mechanism verifies before the bind counts as done. Other result
 * codes become saslkit's typed errors ({@link ldapBindError}). {@link ldapClientAuth} works over
 * any byte source and writer; {@link ldapBind} runs it over an {@link LdapConnection}, with the
 * connection's TLS state and `tls-server-end-point` channel binding.
 * @module
 */
import { EMPTY, concat, utf8 } from '../core/bytes.js';
import type { ChannelBindingSource, ChannelBindingType } from '../channel-binding/tls-socket.js';
import type { SessionOptions } from '../core/core.js';
import type { ClientCredentials } from '../passwords/credentials.js';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  MalformedMessageError,
  MechanismUnavailableError,
  type SaslError,
  UnexpectedMessageError,
} from '../core/errors.js';
import type { ClientOptions } from '../core/mechanism.js';
import { SASLAuth } from '../core/registry.js';
import type { LdapMessageReader } from '../transport/ber.js';
import type { MessageSource } from '../transport/source.js';
import type { LdapConnection } from './ldap-connection.js';
import { LdapRequester, type LdapWriter, ldapSupportedMechanisms } from './ldap-requester.js';
import { LDAP_OID, LDAP_RESULT, type LdapControl, type LdapMessage, type LdapResult } from './ldap-messages.js';
import { type ClientFraming, runClientLoop } from './client-loop.js';

/** Names of the result codes saslkit maps, for messages and `serverError`. */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'operationsError',
  2: 'protocolError',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  13: 'confidentialityRequired',
  14: 'saslBindInProgress',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  80: 'other',
};

/** The name of an LDAP result code (`invalidCredentials`), or `resultCode N` for one saslkit does not name. */
export function ldapResultName(code: number): string {
  return RESULT_NAMES[code] ?? `resultCode ${code}`;
}

/**
 * The `cause` of an error {@link ldapBindError} builds: the server's LDAPResult. Its
 * `diagnosticMessage` is the server's text, kept out of the error's message because it is peer
 * data; it holds no secret of the client's.
 */
export class LdapResultInfo extends Error {
  /** The result code. */
  readonly resultCode: number;
  /** The server's diagnostic text. */
  readonly diagnosticMessage: string;
  /** The matchedDN. */
  readonly matchedDN: string;
  constructor(result: LdapResult) {
    super(`LDAP result ${ldapResultName(result.resultCode)} (${result.resultCode})`);
    this.resultCode = result.resultCode;
    this.diagnosticMessage = result.diagnosticMessage;
    this.matchedDN = result.matchedDN;
  }
  override get name(): string {
    return 'LdapResultInfo';
  }
}

/**
 * The saslkit error for a BindResponse that is neither success nor saslBindInProgress:
 * invalidCredentials (49) and inappropriateAuthentication (48) are AUTHENTICATION_FAILED with the
 * code's name in `serverError`; authMethodNotSupported (7), strongerAuthRequired (8) and
 * confidentialityRequired (13) MECHANISM_UNAVAILABLE; insufficientAccessRights (50)
 * AUTHORIZATION_FAILED; protocolError (2) MALFORMED_MESSAGE blamed on the local side; any other
 * code AUTHENTICATION_FAILED with its name in `serverError`. The server's LDAPResult is the
 * error's `cause` ({@link LdapResultInfo}).
 */
export function ldapBindError(result: LdapResult, mechanism?: string): SaslError {
  const name = ldapResultName(result.resultCode);
  const cause = new LdapResultInfo(result);
  const context = { mechanism, party: 'server' as const, cause };
  switch (result.resultCode) {
    case LDAP_RESULT.AUTH_METHOD_NOT_SUPPORTED:
    case LDAP_RESULT.STRONGER_AUTH_REQUIRED:
    case LDAP_RESULT.CONFIDENTIALITY_REQUIRED:
      return new MechanismUnavailableError(`the LDAP server refused the mechanism (${name})`, context);
    case LDAP_RESULT.INSUFFICIENT_ACCESS_RIGHTS:
      return new AuthorizationFailedError(undefined, context);
    case LDAP_RESULT.PROTOCOL_ERROR:
      return new MalformedMessageError('the LDAP server could not parse the bind request (protocolError)', {
        ...context,
        party: 'local',
      });
    default:
      return new AuthenticationFailedError(`the LDAP server refused the bind (${name})`, {
        ...context,
        serverError: name,
      });
  }
}

/** The cb-name OpenLDAP (through Cyrus SASL) sends and expects with SCRAM-*-PLUS, whatever the binding type. */
export const OPENLDAP_CB_NAME = 'ldap';

/**
 * Channel binding as OpenLDAP and Cyrus SASL do it: the GS2 cb-name is `ldap` for every type,
 * and the binding data is the type's name, a colon, then the data (`tls-server-end-point:` and
 * the certificate hash; RFC 5056's prefixed form). slapd refuses RFC 5802's `p=tls-server-end-point`
 * ("Expected: ldap"), and ldapwhoami sends `p=ldap`. `type` picks the data from `source`.
 */
export function openLdapChannelBinding(
  source: ChannelBindingSource,
  type: ChannelBindingType = 'tls-server-end-point',
): ChannelBindingSource {
  // The cb-name travels where a ChannelBindingType goes: scram.ts sends the first type as the
  // cb-name and looks a client's cb-name up in `types`. 'ldap' is not one of RFC 5929's names.
  const name = OPENLDAP_CB_NAME as ChannelBindingType;
  const data = (): Uint8Array | undefined => {
    const raw = source.types.includes(type) ? source.data(type) : undefined;
    return raw === undefined ? undefined : concat(utf8(`${type}:`), raw);
  };
  return {
    get types() {
      return data() === undefined ? [] : [name];
    },
    data: (asked) => (asked === name ? data() : undefined),
  };
}

/** Which channel binding a client sends with SCRAM-*-PLUS over LDAP. */
export type LdapChannelBindingStyle = 'openldap' | 'rfc5802';

/** What every LDAP bind needs, whatever carries it. */
export interface LdapBindOptions {
  /** The user's credentials (authcid, password or token, optional authzid). EXTERNAL needs none: `new ClientCredentials('', '')`. */
  readonly credentials: ClientCredentials;
  /** The mechanism to use, as named (naming PLAIN is consent to send the password). Without it, one is chosen from `offered`. */
  readonly mechanism?: string;
  /** What the server offers; without it and without `mechanism`, the rootDSE's supportedSASLMechanisms is read first. */
  readonly offered?: readonly string[];
  /** The mechanisms the client may use. Default {@link SASLAuth.all} (choosing from `offered` picks the strongest the credentials can use). */
  readonly auth?: SASLAuth;
  /** Mechanism options: `host` for DIGEST-MD5's digest-uri, SCRAM's `channelBinding` policy, `scram.maxIterations`. */
  readonly client?: ClientOptions;
  /** The BindRequest's `name` (a DN); SASL binds leave it empty, as ldapwhoami does. */
  readonly name?: string;
  /** Controls to send with each BindRequest. */
  readonly controls?: readonly LdapControl[];
  /** Limits on messages and rounds, and the exchange's time limit (`signal`), which also ends a wait for the server. */
  readonly session?: SessionOptions;
  /** Whether the connection is encrypted: when false, PLAIN and LOGIN are not chosen from `offered` (naming them still works). */
  readonly encrypted?: boolean;
  /**
   * {@link ldapBind} only: how the connection's `tls-server-end-point` data is sent with -PLUS.
   * `openldap` (default): cb-name `ldap` and prefixed data, as OpenLDAP, Cyrus SASL and saslkit's
   * LDAP server take it ({@link openLdapChannelBinding}); `rfc5802`: cb-name
   * `tls-server-end-point` and the bare hash.
   */
  readonly channelBindingStyle?: LdapChannelBindingStyle;
}

/** Arguments of {@link ldapClientAuth}. */
export interface LdapClientAuthOptions extends LdapBindOptions {
  /** The server's bytes (a socket), a reader or a requester already in use. */
  readonly messages: LdapRequester | LdapMessageReader | MessageSource<Uint8Array>;
  /** Sends bytes to the server (unused when `messages` is a requester). */
  readonly write: LdapWriter;
}

/** The result of a successful bind. */
export interface LdapBindResult {
  /** The mechanism used. */
  readonly mechanism: string;
  /** True when the server proved that it knows the credentials (SCRAM's server signature, DIGEST-MD5's rspauth). */
  readonly serverVerified: boolean;
  /** BindRequests sent. */
  readonly roundTrips: number;
  /** The requester, for the operations that follow (a "Who am I?", a search). */
  readonly requester: LdapRequester;
}

/**
 * Runs a SASL bind over a byte source and a writer. Resolves once the server answered success
 * and the mechanism verified it; rejects with {@link ldapBindError}'s typed error for a refusal,
 * or with the mechanism's error (SERVER_NOT_VERIFIED when SCRAM's server signature is wrong).
 */
export async function ldapClientAuth(args: LdapClientAuthOptions): Promise<LdapBindResult> {
  const requester =
    args.messages instanceof LdapRequester ? args.messages : new LdapRequester(args.messages, args.write);
  return bindOver(requester, args);
}

/**
 * Runs a SASL bind on a connection: the connection's TLS state decides whether PLAIN may be
 * chosen from the server's list, and once TLS is up its `tls-server-end-point` data is offered
 * to SCRAM-*-PLUS (the binding slapd's `sasl-cbinding tls-endpoint` uses).
 */
export function ldapBind(connection: LdapConnection, options: LdapBindOptions): Promise<LdapBindResult> {
  const raw = connection.channelBindingData;
  const binding = raw === undefined || options.channelBindingStyle === 'rfc5802' ? raw : openLdapChannelBinding(raw);
  const client: ClientOptions = {
    ...options.client,
    ...(options.client?.channelBindingData === undefined && binding !== undefined
      ? { channelBindingData: binding }
      : {}),
  };
  const session: SessionOptions = options.session ?? { signal: connection.signal() };
  return bindOver(connection.requester, {
    ...options,
    client,
    session,
    encrypted: options.encrypted ?? connection.encrypted,
  });
}

async function bindOver(requester: LdapRequester, args: LdapBindOptions): Promise<LdapBindResult> {
  const auth = args.auth ?? SASLAuth.all();
  const signal = args.session?.signal;
  let offered = args.offered;
  if (offered === undefined && args.mechanism === undefined)
    offered = await ldapSupportedMechanisms(requester, { signal });
  const { mechanism, client } = auth.negotiateClient(offered, {
    mechanism: args.mechanism,
    credentials: args.credentials,
    client: { service: 'ldap', ...args.client },
    peer: 'the LDAP server',
    choose: args.encrypted === undefined ? undefined : { encrypted: args.encrypted },
  });
  const context = { mechanism: mechanism.name, party: 'server' as const };
  // Each step of a bind is a request of its own; the framing hands its answer to the loop.
  let answer: Promise<LdapMessage> | undefined;
  const bind = (credentials: Uint8Array | undefined): void => {
    answer = requester.request(
      {
        type: 'bindRequest',
        version: 3,
        name: args.name ?? '',
        authentication: { sasl: { mechanism: mechanism.name, credentials } },
      },
      { signal, ...(args.controls === undefined ? {} : { controls: args.controls }) },
    );
  };
  const framing: ClientFraming<Uint8Array> = {
    initialResponseAllowed: true,
    open(_name, initial) {
      bind(initial);
      return true;
    },
    respond: bind,
    async next() {
      const message = await (answer as Promise<LdapMessage>);
      if (message.op.type !== 'bindResponse')
        throw new UnexpectedMessageError('the LDAP server answered a bind with another operation', context);
      const { result, serverSaslCreds } = message.op;
      // Absent serverSaslCreds is an empty challenge (RFC 4513 5.2.1.2 allows either).
      if (result.resultCode === LDAP_RESULT.SASL_BIND_IN_PROGRESS)
        return { kind: 'challenge', data: serverSaslCreds ?? EMPTY };
      if (result.resultCode === LDAP_RESULT.SUCCESS) return { kind: 'success', data: serverSaslCreds };
      return { kind: 'failure', error: ldapBindError(result, mechanism.name) };
    },
    decode: (data) => data,
  };
  const { outcome, roundTrips } = await runClientLoop(
    framing,
    mechanism.name,
    mechanism.client(args.credentials, client),
    args.session,
  );
  return { mechanism: mechanism.name, serverVerified: outcome.serverVerified, roundTrips, requester };
}

/**
 * The "Who am I?" extended operation (RFC 4532): the authorization identity the server holds
 * for this connection (`dn:...`, `u:...`, or empty when anonymous).
 */
export async function ldapWhoAmI(
  requester: LdapRequester,
  options: { readonly signal?: AbortSignal } = {},
): Promise<string> {
  const answer = await requester.request({ type: 'extendedRequest', requestName: LDAP_OID.WHO_AM_I }, options);
  if (answer.op.type !== 'extendedResponse')
    throw new UnexpectedMessageError('the LDAP server answered "Who am I?" with another operation', {
      party: 'server',
    });
  if (answer.op.result.resultCode !== LDAP_RESULT.SUCCESS) throw ldapBindError(answer.op.result);
  const value = answer.op.responseValue ?? EMPTY;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new MalformedMessageError('the LDAP server\'s "Who am I?" answer is not valid UTF-8', { party: 'server' });
  }
}
