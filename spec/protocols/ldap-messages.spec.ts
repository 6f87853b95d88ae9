import { expect } from 'chai';
import { isSaslError } from '../../lib/core/errors.js';
import {
  type LdapMessage,
  type LdapProtocolOp,
  encodeLdapMessage,
  parseLdapMessage,
} from '../../lib/protocols/ldap-messages.js';
import {
  encodeBer,
  encodeBerBoolean,
  encodeBerConstructed,
  encodeBerInteger,
  encodeBerOctetString,
} from '../../lib/transport/ber.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text));
const result = (resultCode: number, diagnosticMessage = '') => ({ resultCode, matchedDN: '', diagnosticMessage });

/** An LDAPMessage around a raw protocol op. */
function message(op: Uint8Array, id = encodeBerInteger(1), extra: Uint8Array[] = []): Uint8Array {
  return encodeBerConstructed(0x10, [id, op, ...extra]);
}
const octets = (text: string, tag?: number): Uint8Array => encodeBerOctetString(text, tag);
const int = (value: number, tag?: number): Uint8Array => encodeBerInteger(value, tag);
const seq = (tag: number, parts: Uint8Array[]): Uint8Array => encodeBerConstructed(tag, parts);

function codeOf(input: Uint8Array): string {
  try {
    parseLdapMessage(input, { party: 'client' });
  } catch (error) {
    if (!isSaslError(error)) throw error;
    expect(error.party).to.equal('client');
    return error.code;
  }
  return 'parsed';
}

describe('protocols/ldap-messages', () => {
  describe('round trips', () => {
    const ops: LdapProtocolOp[] = [
      {
        type: 'bindRequest',
        version: 3,
        name: '',
        authentication: { sasl: { mechanism: 'SCRAM-SHA-256', credentials: bytes('n,,n=user,r=abc') } },
      },
      {
        type: 'bindRequest',
        version: 3,
        name: '',
        authentication: { sasl: { mechanism: 'CRAM-MD5', credentials: undefined } },
      },
      {
        type: 'bindRequest',
        version: 3,
        name: 'cn=admin,dc=example,dc=test',
        authentication: { simple: bytes('admin-pass') },
      },
      { type: 'bindResponse', result: result(14), serverSaslCreds: bytes('r=abcdef,s=c2FsdA==,i=4096') },
      { type: 'bindResponse', result: result(49, 'SASL(-13): authentication failure'), serverSaslCreds: undefined },
      { type: 'unbindRequest' },
      {
        type: 'searchRequest',
        baseObject: 'dc=example,dc=test',
        scope: 2,
        derefAliases: 0,
        sizeLimit: 2,
        timeLimit: 10,
        typesOnly: false,
        filter: {
          and: [
            { equality: { attribute: 'uid', value: bytes('alice') } },
            { not: { present: 'pwdLocked' } },
            { or: [{ present: 'authPassword' }, { present: 'userPassword' }] },
          ],
        },
        attributes: ['authPassword', 'userPassword'],
      },
      {
        type: 'searchResultEntry',
        objectName: 'uid=alice,ou=people,dc=example,dc=test',
        attributes: [
          { type: 'userPassword', values: [bytes('alice-pass')] },
          { type: 'cn', values: [] },
        ],
      },
      { type: 'searchResultDone', result: result(0) },
      { type: 'searchResultReference', uris: ['ldap://other.example/dc=example,dc=test'] },
      { type: 'extendedRequest', requestName: '1.3.6.1.4.1.1466.20037', requestValue: undefined },
      { type: 'extendedResponse', result: result(0), responseName: '1.3.6.1.4.1.1466.20037', responseValue: undefined },
      { type: 'extendedResponse', result: result(0), responseName: undefined, responseValue: bytes('u:alice') },
      { type: 'abandonRequest', messageId: 7 },
    ];
    for (const op of ops) {
      it(`${op.type} ${toHex(encodeLdapMessage({ messageId: 5, op })).slice(0, 24)}...`, () => {
        const parsed = parseLdapMessage(encodeLdapMessage({ messageId: 5, op }));
        expect(parsed.messageId).to.equal(5);
        // Filters come back with their values as bytes.
        expect(JSON.stringify(parsed.op)).to.equal(JSON.stringify(op));
      });
    }

    it('controls, with and without criticality and value', () => {
      const sent: LdapMessage = {
        messageId: 9,
        op: { type: 'unbindRequest' },
        controls: [
          { type: '1.2.840.113556.1.4.319', criticality: true, value: hex('3005020100 0400') },
          { type: '2.16.840.1.113730.3.4.2', criticality: false },
        ],
      };
      expect(parseLdapMessage(encodeLdapMessage(sent))).to.deep.equal(sent);
    });

    it('reads the BindRequest ldapwhoami sends (OpenLDAP 2.5, 4-octet lengths)', () => {
      // 30 84 len, 02 01 01, 60 84 len, 02 01 03, 04 00, a3 84 len, 04 05 PLAIN, 04 ...
      const creds = bytes('\0alice\0alice-pass');
      const sasl = Uint8Array.from([
        0xa3,
        0x84,
        0,
        0,
        0,
        7 + 2 + creds.length,
        0x04,
        0x05,
        ...bytes('PLAIN'),
        0x04,
        creds.length,
        ...creds,
      ]);
      const bind = Uint8Array.from([0x60, 0x84, 0, 0, 0, 3 + 2 + sasl.length, 0x02, 0x01, 0x03, 0x04, 0x00, ...sasl]);
      const whole = Uint8Array.from([0x30, 0x84, 0, 0, 0, 3 + bind.length, 0x02, 0x01, 0x01, ...bind]);
      expect(parseLdapMessage(whole).op).to.deep.equal({
        type: 'bindRequest',
        version: 3,
        name: '',
        authentication: { sasl: { mechanism: 'PLAIN', credentials: creds } },
      });
    });

    it('keeps requests saslkit does not serve by tag, so a server can refuse them', () => {
      expect(parseLdapMessage(message(octets('uid=x', 0x4a))).op).to.deep.equal({ type: 'other', tag: 0x4a });
      expect(parseLdapMessage(message(seq(0x46, [octets('uid=x'), seq(0x10, [])]))).op).to.deep.equal({
        type: 'other',
        tag: 0x66,
      });
    });
  });

  describe('malformed messages are typed errors', () => {
    const bindHead = [int(3), octets('')];
    const saslAuth = (parts: Uint8Array[]): Uint8Array => seq(0x83, parts);
    const bind = (parts: Uint8Array[]): Uint8Array => message(seq(0x40, parts));
    const ldapResult = [int(0, 0x0a), octets(''), octets('')];
    const search = (filter: Uint8Array, scope = 0): Uint8Array =>
      message(
        seq(0x43, [
          octets(''),
          int(scope, 0x0a),
          int(0, 0x0a),
          int(0),
          int(0),
          encodeBerBoolean(false),
          filter,
          seq(0x10, []),
        ]),
      );
    let deep = encodeBerOctetString('objectClass', 0x87);
    for (let i = 0; i < 40; i++) deep = seq(0x82, [deep]);

    const table: [string, Uint8Array, string][] = [
      ['not a SEQUENCE', encodeBerOctetString('x'), 'MALFORMED_MESSAGE'],
      ['no messageID', encodeBerConstructed(0x10, []), 'MALFORMED_MESSAGE'],
      ['a negative messageID', message(encodeBer(0x42, new Uint8Array(0)), int(-1)), 'MALFORMED_MESSAGE'],
      ['a messageID as a string', message(encodeBer(0x42, new Uint8Array(0)), octets('1')), 'MALFORMED_MESSAGE'],
      ['no protocol op', encodeBerConstructed(0x10, [int(1)]), 'MALFORMED_MESSAGE'],
      ['an unknown protocol op', message(seq(0x5e, [])), 'MALFORMED_MESSAGE'],
      [
        'a trailing element after the controls',
        message(encodeBer(0x42, new Uint8Array(0)), int(1), [seq(0x80, []), int(2)]),
        'MALFORMED_MESSAGE',
      ],
      ['an UnbindRequest with contents', message(encodeBer(0x42, Uint8Array.of(0))), 'MALFORMED_MESSAGE'],
      ['a primitive BindRequest', message(encodeBer(0x40, new Uint8Array(0))), 'MALFORMED_MESSAGE'],
      ['a bind version 0', bind([int(0), octets(''), octets('', 0x80)]), 'MALFORMED_MESSAGE'],
      ['a bind version 128', bind([int(128), octets(''), octets('', 0x80)]), 'MALFORMED_MESSAGE'],
      ['a bind without authentication', bind(bindHead), 'MALFORMED_MESSAGE'],
      ['an unknown authentication choice', bind([...bindHead, octets('x', 0x81)]), 'MALFORMED_MESSAGE'],
      ['SaslCredentials without a mechanism', bind([...bindHead, saslAuth([])]), 'MALFORMED_MESSAGE'],
      [
        'SaslCredentials with two credentials',
        bind([...bindHead, saslAuth([octets('PLAIN'), octets('a'), octets('b')])]),
        'MALFORMED_MESSAGE',
      ],
      [
        'a mechanism that is not UTF-8',
        bind([...bindHead, saslAuth([encodeBerOctetString(hex('ff'))])]),
        'MALFORMED_MESSAGE',
      ],
      [
        'a bind name that is not UTF-8',
        bind([int(3), encodeBerOctetString(hex('c3')), octets('', 0x80)]),
        'MALFORMED_MESSAGE',
      ],
      ['a BindResponse without diagnosticMessage', message(seq(0x41, [int(0, 0x0a), octets('')])), 'MALFORMED_MESSAGE'],
      [
        'a resultCode as INTEGER, not ENUMERATED',
        message(seq(0x41, [int(0), octets(''), octets('')])),
        'MALFORMED_MESSAGE',
      ],
      ['serverSaslCreds constructed', message(seq(0x41, [...ldapResult, seq(0x87, [])])), 'MALFORMED_MESSAGE'],
      ['a search scope of 3', search(encodeBerOctetString('objectClass', 0x87), 3), 'MALFORMED_MESSAGE'],
      ['an unknown filter choice', search(octets('x', 0x8b)), 'MALFORMED_MESSAGE'],
      [
        'a not filter holding two filters',
        search(seq(0x82, [octets('a', 0x87), octets('b', 0x87)])),
        'MALFORMED_MESSAGE',
      ],
      ['filters nested past the depth limit', search(deep), 'LIMIT_EXCEEDED'],
      [
        'an entry attribute value that is not an OCTET STRING',
        message(seq(0x44, [octets(''), seq(0x10, [seq(0x10, [octets('cn'), seq(0x11, [int(1)])])])])),
        'MALFORMED_MESSAGE',
      ],
      ['an empty SearchResultReference', message(seq(0x53, [])), 'MALFORMED_MESSAGE'],
      ['an ExtendedRequest without requestName', message(seq(0x57, [])), 'MALFORMED_MESSAGE'],
      [
        'a control without a type',
        message(encodeBer(0x42, new Uint8Array(0)), int(1), [seq(0x80, [seq(0x10, [])])]),
        'MALFORMED_MESSAGE',
      ],
      [
        'a control criticality of 0x01',
        message(encodeBer(0x42, new Uint8Array(0)), int(1), [
          seq(0x80, [seq(0x10, [octets('1.2.3'), encodeBer(0x01, Uint8Array.of(1))])]),
        ]),
        'MALFORMED_MESSAGE',
      ],
      [
        'trailing bytes after the message',
        Uint8Array.from([...message(encodeBer(0x42, new Uint8Array(0))), 0]),
        'MALFORMED_MESSAGE',
      ],
    ];
    for (const [name, input, code] of table) {
      it(`${name}: ${code}`, () => {
        expect(codeOf(input)).to.equal(code);
      });
    }
  });

  describe('encoding refuses what it cannot write', () => {
    it('a messageID out of range, an operation kept by tag only', () => {
      expect(() => encodeLdapMessage({ messageId: -1, op: { type: 'unbindRequest' } }))
        .to.throw()
        .with.property('code', 'USAGE');
      expect(() => encodeLdapMessage({ messageId: 1, op: { type: 'other', tag: 0x66 } }))
        .to.throw()
        .with.property('code', 'USAGE');
    });
  });
});
