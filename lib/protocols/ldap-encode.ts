/**
 * Encoding of the LDAP messages lib/protocols/ldap-messages.ts reads: minimal definite lengths,
 * and only the forms RFC 4511 section 5.1 allows (BOOLEAN true as 0xFF, defaults left out).
 * @module
 */
import { concat } from '../core/bytes.js';
import { UsageError } from '../core/errors.js';
import {
  BER_CLASS,
  BER_CONSTRUCTED,
  BER_TAG,
  encodeBer,
  encodeBerBoolean,
  encodeBerConstructed,
  encodeBerInteger,
  encodeBerOctetString,
} from '../transport/ber.js';
import { LDAP_OP_TAG, type LdapFilter, type LdapMessage, type LdapProtocolOp, type LdapResult } from './ldap-types.js';

const MAX_INT = 0x7fffffff;

function octets(value: Uint8Array | string, tag: number = BER_TAG.OCTET_STRING): Uint8Array {
  return encodeBerOctetString(value, tag);
}

function encodeResult(result: LdapResult): Uint8Array[] {
  const parts = [
    encodeBerInteger(result.resultCode, BER_TAG.ENUMERATED),
    octets(result.matchedDN),
    octets(result.diagnosticMessage),
  ];
  if (result.referral !== undefined)
    parts.push(
      encodeBerConstructed(
        BER_CLASS.CONTEXT | 3,
        result.referral.map((uri) => octets(uri)),
      ),
    );
  return parts;
}

/** Encodes a search filter. */
export function encodeLdapFilter(filter: LdapFilter): Uint8Array {
  if ('and' in filter) return encodeBerConstructed(0x80, filter.and.map(encodeLdapFilter));
  if ('or' in filter) return encodeBerConstructed(0x81, filter.or.map(encodeLdapFilter));
  if ('not' in filter) return encodeBerConstructed(0x82, [encodeLdapFilter(filter.not)]);
  if ('equality' in filter)
    return encodeBerConstructed(0x83, [octets(filter.equality.attribute), octets(filter.equality.value)]);
  if ('present' in filter) return octets(filter.present, 0x87);
  throw new UsageError('saslkit does not encode this kind of LDAP filter');
}

function optional(value: Uint8Array | string | undefined, tag: number): Uint8Array[] {
  return value === undefined ? [] : [octets(value, tag)];
}

function encodeOp(op: LdapProtocolOp): Uint8Array {
  switch (op.type) {
    case 'bindRequest': {
      const a = op.authentication;
      const auth =
        'simple' in a
          ? octets(a.simple, 0x80)
          : encodeBerConstructed(BER_CLASS.CONTEXT | 3, [
              octets(a.sasl.mechanism),
              ...optional(a.sasl.credentials, BER_TAG.OCTET_STRING),
            ]);
      return encodeBerConstructed(0x40, [encodeBerInteger(op.version), octets(op.name), auth]);
    }
    case 'bindResponse':
      return encodeBerConstructed(0x41, [...encodeResult(op.result), ...optional(op.serverSaslCreds, 0x87)]);
    case 'unbindRequest':
      return encodeBer(LDAP_OP_TAG.unbindRequest, new Uint8Array(0));
    case 'searchRequest':
      return encodeBerConstructed(0x43, [
        octets(op.baseObject),
        encodeBerInteger(op.scope, BER_TAG.ENUMERATED),
        encodeBerInteger(op.derefAliases, BER_TAG.ENUMERATED),
        encodeBerInteger(op.sizeLimit),
        encodeBerInteger(op.timeLimit),
        encodeBerBoolean(op.typesOnly),
        encodeLdapFilter(op.filter),
        encodeBerConstructed(
          BER_TAG.SEQUENCE & ~BER_CONSTRUCTED,
          op.attributes.map((a) => octets(a)),
        ),
      ]);
    case 'searchResultEntry':
      return encodeBerConstructed(0x44, [
        octets(op.objectName),
        encodeBerConstructed(
          0x10,
          op.attributes.map((a) =>
            encodeBerConstructed(0x10, [
              octets(a.type),
              encodeBerConstructed(
                0x11,
                a.values.map((v) => octets(v)),
              ),
            ]),
          ),
        ),
      ]);
    case 'searchResultDone':
      return encodeBerConstructed(0x45, encodeResult(op.result));
    case 'searchResultReference':
      return encodeBerConstructed(
        0x53,
        op.uris.map((uri) => octets(uri)),
      );
    case 'extendedRequest':
      return encodeBerConstructed(0x57, [octets(op.requestName, 0x80), ...optional(op.requestValue, 0x81)]);
    case 'extendedResponse':
      return encodeBerConstructed(0x58, [
        ...encodeResult(op.result),
        ...optional(op.responseName, 0x8a),
        ...optional(op.responseValue, 0x8b),
      ]);
    case 'abandonRequest':
      return encodeBerInteger(op.messageId, LDAP_OP_TAG.abandonRequest);
    case 'other':
      throw new UsageError('saslkit does not encode this LDAP operation');
  }
}

/** Encodes an LDAPMessage. */
export function encodeLdapMessage(message: LdapMessage): Uint8Array {
  if (!Number.isInteger(message.messageId) || message.messageId < 0 || message.messageId > MAX_INT)
    throw new UsageError('an LDAP messageID is 0..2147483647');
  const controls = message.controls ?? [];
  const parts = [encodeBerInteger(message.messageId), encodeOp(message.op)];
  if (controls.length > 0) {
    parts.push(
      encodeBerConstructed(
        0x80,
        controls.map((c) =>
          encodeBerConstructed(0x10, [
            octets(c.type),
            ...(c.criticality ? [encodeBerBoolean(true)] : []),
            ...optional(c.value, BER_TAG.OCTET_STRING),
          ]),
        ),
      ),
    );
  }
  return encodeBerConstructed(0x10, parts);
}

/** The response identifier octet of a request saslkit does not serve (modify -> modifyResponse ...), or undefined. */
export function ldapResponseTagFor(requestTag: number): number | undefined {
  switch (requestTag) {
    case LDAP_OP_TAG.modifyRequest:
    case LDAP_OP_TAG.addRequest:
    case LDAP_OP_TAG.modDNRequest:
    case LDAP_OP_TAG.compareRequest:
      return requestTag + 1;
    case LDAP_OP_TAG.delRequest:
      return 0x6b;
    default:
      return undefined;
  }
}

/** Encodes an LDAPResult-shaped response with any response tag (for refusals of requests saslkit does not serve). */
export function encodeLdapResultResponse(messageId: number, responseTag: number, result: LdapResult): Uint8Array {
  return encodeBerConstructed(0x10, [
    encodeBerInteger(messageId),
    encodeBer(responseTag, concat(...encodeResult(result))),
  ]);
}
