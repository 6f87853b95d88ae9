/**
 * The LDAP messages saslkit speaks (RFC 4511), as types and constants: BindRequest (simple and
 * SASL), BindResponse with `serverSaslCreds`, UnbindRequest, SearchRequest (with the filters a
 * credential store and the rootDSE need), SearchResultEntry, SearchResultReference,
 * SearchResultDone, ExtendedRequest and ExtendedResponse (StartTLS, "Who am I?"), AbandonRequest,
 * and the other requests recognised by tag only, so that a server can refuse them with the
 * matching response. The parser is in ldap-parse.ts, the encoders in ldap-encode.ts, and
 * ldap-messages.ts is the one import for all three.
 * @module
 */
/** LDAP result codes saslkit reads or sends (RFC 4511 appendix A). */
export const LDAP_RESULT = {
  SUCCESS: 0,
  OPERATIONS_ERROR: 1,
  PROTOCOL_ERROR: 2,
  AUTH_METHOD_NOT_SUPPORTED: 7,
  STRONGER_AUTH_REQUIRED: 8,
  UNAVAILABLE_CRITICAL_EXTENSION: 12,
  CONFIDENTIALITY_REQUIRED: 13,
  SASL_BIND_IN_PROGRESS: 14,
  NO_SUCH_OBJECT: 32,
  INAPPROPRIATE_AUTHENTICATION: 48,
  INVALID_CREDENTIALS: 49,
  INSUFFICIENT_ACCESS_RIGHTS: 50,
  BUSY: 51,
  UNAVAILABLE: 52,
  UNWILLING_TO_PERFORM: 53,
  OTHER: 80,
} as const;

/** Object identifiers of the extended operations saslkit knows. */
export const LDAP_OID = {
  /** StartTLS (RFC 4511 section 4.14). */
  START_TLS: '1.3.6.1.4.1.1466.20037',
  /** "Who am I?" (RFC 4532). */
  WHO_AM_I: '1.3.6.1.4.1.4203.1.11.3',
  /** Notice of Disconnection (RFC 4511 section 4.4.1), sent with messageID 0. */
  NOTICE_OF_DISCONNECTION: '1.3.6.1.4.1.1466.20036',
} as const;

/** Identifier octets of the protocol operations. */
export const LDAP_OP_TAG = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  modifyRequest: 0x66,
  addRequest: 0x68,
  delRequest: 0x4a,
  modDNRequest: 0x6c,
  compareRequest: 0x6e,
  abandonRequest: 0x50,
  searchResultReference: 0x73,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
  intermediateResponse: 0x79,
} as const;

/** LDAPResult (RFC 4511 section 4.1.9). Peer text: show it, never trust it. */
export interface LdapResult {
  /** The result code, e.g. {@link LDAP_RESULT}.INVALID_CREDENTIALS. */
  readonly resultCode: number;
  /** The matchedDN. */
  readonly matchedDN: string;
  /** The server's diagnostic text. */
  readonly diagnosticMessage: string;
  /** Referral URIs, when the result code is referral (10). */
  readonly referral?: readonly string[];
}

/** A control (RFC 4511 section 4.1.11). */
export interface LdapControl {
  /** The control's OID. */
  readonly type: string;
  /** Whether the operation must fail when the control is not understood. */
  readonly criticality: boolean;
  /** The control's value, when present. */
  readonly value?: Uint8Array;
}

/** The search filters saslkit builds and reads; the other kinds are kept by tag only. */
export type LdapFilter =
  | { readonly and: readonly LdapFilter[] }
  | { readonly or: readonly LdapFilter[] }
  | { readonly not: LdapFilter }
  | { readonly equality: { readonly attribute: string; readonly value: Uint8Array | string } }
  | { readonly present: string }
  | { readonly other: number };

/** A BindRequest's authentication: a simple password or SASL credentials. */
export type LdapAuthentication =
  | { readonly simple: Uint8Array | string }
  | { readonly sasl: { readonly mechanism: string; readonly credentials?: Uint8Array | undefined } };

/** One attribute of a SearchResultEntry. */
export interface LdapAttribute {
  /** The attribute description, e.g. `supportedSASLMechanisms`. */
  readonly type: string;
  /** Its values, as sent. */
  readonly values: readonly Uint8Array[];
}

/** Search scopes (RFC 4511 section 4.5.1.2). */
export const LDAP_SCOPE = { BASE_OBJECT: 0, SINGLE_LEVEL: 1, WHOLE_SUBTREE: 2 } as const;

/** The protocol operations saslkit reads and writes. */
export type LdapProtocolOp =
  | {
      readonly type: 'bindRequest';
      readonly version: number;
      readonly name: string;
      readonly authentication: LdapAuthentication;
    }
  | { readonly type: 'bindResponse'; readonly result: LdapResult; readonly serverSaslCreds?: Uint8Array | undefined }
  | { readonly type: 'unbindRequest' }
  | {
      readonly type: 'searchRequest';
      readonly baseObject: string;
      readonly scope: number;
      readonly derefAliases: number;
      readonly sizeLimit: number;
      readonly timeLimit: number;
      readonly typesOnly: boolean;
      readonly filter: LdapFilter;
      readonly attributes: readonly string[];
    }
  | { readonly type: 'searchResultEntry'; readonly objectName: string; readonly attributes: readonly LdapAttribute[] }
  | { readonly type: 'searchResultDone'; readonly result: LdapResult }
  | { readonly type: 'searchResultReference'; readonly uris: readonly string[] }
  | { readonly type: 'extendedRequest'; readonly requestName: string; readonly requestValue?: Uint8Array | undefined }
  | {
      readonly type: 'extendedResponse';
      readonly result: LdapResult;
      readonly responseName?: string | undefined;
      readonly responseValue?: Uint8Array | undefined;
    }
  | { readonly type: 'abandonRequest'; readonly messageId: number }
  /** A request or response saslkit does not read (modify, add, ...), by its identifier octet. */
  | { readonly type: 'other'; readonly tag: number };

/** An LDAPMessage. */
export interface LdapMessage {
  /** The messageID: 1..2^31-1 for requests and their responses, 0 for unsolicited notifications. */
  readonly messageId: number;
  /** The operation. */
  readonly op: LdapProtocolOp;
  /** Controls, when any were sent. */
  readonly controls?: readonly LdapControl[];
}
