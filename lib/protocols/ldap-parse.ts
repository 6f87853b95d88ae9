/**
 * Parsing of the LDAP messages lib/protocols/ldap-types.ts declares, built on the strict BER
 * codec of lib/transport/ber.ts: every parser ends in a value or a typed error.
 * @module
 */
import { MalformedMessageError, type Party } from '../core/errors.js';
import {
  BER_CLASS,
  BER_CONSTRUCTED,
  BER_TAG,
  type BerElement,
  type BerLimits,
  berBoolean,
  berChildren,
  berInteger,
  berIsConstructed,
  berNull,
  decodeBer,
} from '../transport/ber.js';
import {
  LDAP_OP_TAG,
  type LdapControl,
  type LdapFilter,
  type LdapMessage,
  type LdapProtocolOp,
  type LdapResult,
} from './ldap-types.js';

/** Options of {@link parseLdapMessage}. */
export interface LdapParseOptions {
  /** Who sent the message; errors are attributed to that party. Default `local`. */
  readonly party?: Party;
  /** Deepest element nesting accepted (filters nest). Default 32. */
  readonly maxDepth?: number;
}

const MAX_INT = 0x7fffffff;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(what: string, party: Party): MalformedMessageError {
  return new MalformedMessageError(`LDAP ${what}`, { party });
}

/** Reads the elements of a constructed element in order, with typed checks. */
class Fields {
  #at = 0;
  constructor(
    readonly items: readonly BerElement[],
    readonly what: string,
    readonly ctx: Context,
  ) {}

  /** The next element, which must have `tag`. */
  take(tag: number, name: string): BerElement {
    const item = this.items[this.#at];
    if (item === undefined || item.tag !== tag) throw malformed(`${this.what} has no valid ${name}`, this.ctx.party);
    this.#at++;
    return item;
  }

  /** The next element when it has `tag`, else undefined. */
  optional(tag: number): BerElement | undefined {
    const item = this.items[this.#at];
    if (item === undefined || item.tag !== tag) return undefined;
    this.#at++;
    return item;
  }

  /** The next element whatever its tag. */
  any(name: string): BerElement {
    const item = this.items[this.#at];
    if (item === undefined) throw malformed(`${this.what} has no ${name}`, this.ctx.party);
    this.#at++;
    return item;
  }

  end(): void {
    if (this.#at !== this.items.length) throw malformed(`${this.what} has unexpected elements`, this.ctx.party);
  }
}

interface Context {
  readonly party: Party;
  readonly limits: BerLimits;
}

function fields(element: BerElement, depth: number, what: string, ctx: Context): Fields {
  if (!berIsConstructed(element)) throw malformed(`${what} is not constructed`, ctx.party);
  return new Fields(berChildren(element, depth, ctx.limits), what, ctx);
}

function text(element: BerElement, what: string, party: Party): string {
  try {
    return strictUtf8.decode(element.contents);
  } catch {
    throw malformed(`${what} is not valid UTF-8`, party);
  }
}

function int(element: BerElement, what: string, party: Party, min = 0, max = MAX_INT): number {
  const value = berInteger(element, party);
  if (value < min || value > max) throw malformed(`${what} is out of range`, party);
  return value;
}

function parseResult(f: Fields, ctx: Context): LdapResult {
  const resultCode = int(f.take(BER_TAG.ENUMERATED, 'resultCode'), 'resultCode', ctx.party);
  const matchedDN = text(f.take(BER_TAG.OCTET_STRING, 'matchedDN'), 'matchedDN', ctx.party);
  const diagnosticMessage = text(f.take(BER_TAG.OCTET_STRING, 'diagnosticMessage'), 'diagnosticMessage', ctx.party);
  const referralElement = f.optional(BER_CLASS.CONTEXT | BER_CONSTRUCTED | 3);
  if (referralElement === undefined) return { resultCode, matchedDN, diagnosticMessage };
  const referral = berChildren(referralElement, 3, ctx.limits).map((uri) => {
    if (uri.tag !== BER_TAG.OCTET_STRING) throw malformed('referral holds a non-string', ctx.party);
    return text(uri, 'referral', ctx.party);
  });
  return { resultCode, matchedDN, diagnosticMessage, referral };
}

function parseFilter(element: BerElement, depth: number, ctx: Context): LdapFilter {
  const tag = element.tag;
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const list = berChildren(element, depth, ctx.limits).map((child) => parseFilter(child, depth + 1, ctx));
      return tag === 0xa0 ? { and: list } : { or: list };
    }
    case 0xa2: {
      const inner = berChildren(element, depth, ctx.limits);
      if (inner.length !== 1) throw malformed('not filter holds other than one filter', ctx.party);
      return { not: parseFilter(inner[0] as BerElement, depth + 1, ctx) };
    }
    case 0xa3: {
      const f = fields(element, depth, 'equality filter', ctx);
      const attribute = text(f.take(BER_TAG.OCTET_STRING, 'attribute'), 'filter attribute', ctx.party);
      const value = f.take(BER_TAG.OCTET_STRING, 'value').contents;
      f.end();
      return { equality: { attribute, value } };
    }
    case 0x87:
      return { present: text(element, 'filter attribute', ctx.party) };
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa8:
    case 0xa9:
      return { other: tag };
    default:
      throw malformed('search filter has an unknown choice', ctx.party);
  }
}

function parseOp(element: BerElement, ctx: Context): LdapProtocolOp {
  const party = ctx.party;
  switch (element.tag) {
    case LDAP_OP_TAG.bindRequest: {
      const f = fields(element, 1, 'BindRequest', ctx);
      const version = int(f.take(BER_TAG.INTEGER, 'version'), 'BindRequest version', party, 1, 127);
      const name = text(f.take(BER_TAG.OCTET_STRING, 'name'), 'BindRequest name', party);
      const auth = f.any('authentication');
      f.end();
      if (auth.tag === 0x80) return { type: 'bindRequest', version, name, authentication: { simple: auth.contents } };
      if (auth.tag !== 0xa3) throw malformed('BindRequest has an unknown authentication choice', party);
      const s = fields(auth, 2, 'SaslCredentials', ctx);
      const mechanism = text(s.take(BER_TAG.OCTET_STRING, 'mechanism'), 'SASL mechanism', party);
      const credentials = s.optional(BER_TAG.OCTET_STRING)?.contents;
      s.end();
      return { type: 'bindRequest', version, name, authentication: { sasl: { mechanism, credentials } } };
    }
    case LDAP_OP_TAG.bindResponse: {
      const f = fields(element, 1, 'BindResponse', ctx);
      const result = parseResult(f, ctx);
      const creds = f.optional(0x87)?.contents;
      f.end();
      return { type: 'bindResponse', result, serverSaslCreds: creds };
    }
    case LDAP_OP_TAG.unbindRequest:
      berNull(element, party);
      return { type: 'unbindRequest' };
    case LDAP_OP_TAG.searchRequest: {
      const f = fields(element, 1, 'SearchRequest', ctx);
      const baseObject = text(f.take(BER_TAG.OCTET_STRING, 'baseObject'), 'baseObject', party);
      const scope = int(f.take(BER_TAG.ENUMERATED, 'scope'), 'scope', party, 0, 2);
      const derefAliases = int(f.take(BER_TAG.ENUMERATED, 'derefAliases'), 'derefAliases', party, 0, 3);
      const sizeLimit = int(f.take(BER_TAG.INTEGER, 'sizeLimit'), 'sizeLimit', party);
      const timeLimit = int(f.take(BER_TAG.INTEGER, 'timeLimit'), 'timeLimit', party);
      const typesOnly = berBoolean(f.take(BER_TAG.BOOLEAN, 'typesOnly'), party);
      const filter = parseFilter(f.any('filter'), 2, ctx);
      const attributes = berChildren(f.take(BER_TAG.SEQUENCE, 'attributes'), 2, ctx.limits).map((a) => {
        if (a.tag !== BER_TAG.OCTET_STRING) throw malformed('attribute selection holds a non-string', party);
        return text(a, 'attribute selection', party);
      });
      f.end();
      return {
        type: 'searchRequest',
        baseObject,
        scope,
        derefAliases,
        sizeLimit,
        timeLimit,
        typesOnly,
        filter,
        attributes,
      };
    }
    case LDAP_OP_TAG.searchResultEntry: {
      const f = fields(element, 1, 'SearchResultEntry', ctx);
      const objectName = text(f.take(BER_TAG.OCTET_STRING, 'objectName'), 'objectName', party);
      const attributes = berChildren(f.take(BER_TAG.SEQUENCE, 'attributes'), 2, ctx.limits).map((a) => {
        const pa = fields(a, 3, 'PartialAttribute', ctx);
        const type = text(pa.take(BER_TAG.OCTET_STRING, 'type'), 'attribute type', party);
        const values = berChildren(pa.take(BER_TAG.SET, 'vals'), 4, ctx.limits).map((v) => {
          if (v.tag !== BER_TAG.OCTET_STRING) throw malformed('attribute value is not an OCTET STRING', party);
          return v.contents;
        });
        pa.end();
        return { type, values };
      });
      f.end();
      return { type: 'searchResultEntry', objectName, attributes };
    }
    case LDAP_OP_TAG.searchResultDone: {
      const f = fields(element, 1, 'SearchResultDone', ctx);
      const result = parseResult(f, ctx);
      f.end();
      return { type: 'searchResultDone', result };
    }
    case LDAP_OP_TAG.searchResultReference: {
      const uris = berChildren(element, 1, ctx.limits).map((u) => {
        if (u.tag !== BER_TAG.OCTET_STRING) throw malformed('SearchResultReference holds a non-string', party);
        return text(u, 'SearchResultReference', party);
      });
      if (uris.length === 0) throw malformed('SearchResultReference holds no URI', party);
      return { type: 'searchResultReference', uris };
    }
    case LDAP_OP_TAG.extendedRequest: {
      const f = fields(element, 1, 'ExtendedRequest', ctx);
      const requestName = text(f.take(0x80, 'requestName'), 'requestName', party);
      const requestValue = f.optional(0x81)?.contents;
      f.end();
      return { type: 'extendedRequest', requestName, requestValue };
    }
    case LDAP_OP_TAG.extendedResponse: {
      const f = fields(element, 1, 'ExtendedResponse', ctx);
      const result = parseResult(f, ctx);
      const name = f.optional(0x8a);
      const responseValue = f.optional(0x8b)?.contents;
      f.end();
      return {
        type: 'extendedResponse',
        result,
        responseName: name === undefined ? undefined : text(name, 'responseName', party),
        responseValue,
      };
    }
    case LDAP_OP_TAG.abandonRequest:
      return { type: 'abandonRequest', messageId: int(element, 'AbandonRequest messageID', party) };
    case LDAP_OP_TAG.modifyRequest:
    case LDAP_OP_TAG.addRequest:
    case LDAP_OP_TAG.delRequest:
    case LDAP_OP_TAG.modDNRequest:
    case LDAP_OP_TAG.compareRequest:
    case LDAP_OP_TAG.intermediateResponse:
    case 0x67: // modifyResponse
    case 0x69: // addResponse
    case 0x6b: // delResponse
    case 0x6d: // modDNResponse
    case 0x6f: // compareResponse
      return { type: 'other', tag: element.tag };
    default:
      throw malformed('message has an unknown protocol operation', party);
  }
}

function parseControls(element: BerElement, ctx: Context): LdapControl[] {
  return berChildren(element, 1, ctx.limits).map((c) => {
    const f = fields(c, 2, 'Control', ctx);
    const type = text(f.take(BER_TAG.OCTET_STRING, 'controlType'), 'controlType', ctx.party);
    const critical = f.optional(BER_TAG.BOOLEAN);
    const value = f.optional(BER_TAG.OCTET_STRING)?.contents;
    f.end();
    return {
      type,
      criticality: critical === undefined ? false : berBoolean(critical, ctx.party),
      ...(value === undefined ? {} : { value }),
    };
  });
}

/**
 * Parses one whole LDAPMessage (as {@link LdapMessageReader.readBytes} returns it). Anything
 * outside RFC 4511's grammar, or outside strict BER, is a {@link MalformedMessageError}; nesting
 * past `maxDepth` or too many elements is a LimitExceededError.
 */
export function parseLdapMessage(bytes: Uint8Array, options: LdapParseOptions = {}): LdapMessage {
  const party = options.party ?? 'local';
  const ctx: Context = {
    party,
    limits: { party, ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }) },
  };
  const outer = decodeBer(bytes, ctx.limits);
  if (outer.tag !== BER_TAG.SEQUENCE) throw malformed('message is not a SEQUENCE', party);
  const f = fields(outer, 0, 'message', ctx);
  const messageId = int(f.take(BER_TAG.INTEGER, 'messageID'), 'messageID', party);
  const op = parseOp(f.any('protocol operation'), ctx);
  const controlsElement = f.optional(0xa0);
  f.end();
  return controlsElement === undefined
    ? { messageId, op }
    : { messageId, op, controls: parseControls(controlsElement, ctx) };
}
