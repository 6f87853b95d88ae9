import { expect } from 'chai';
import fc from 'fast-check';
import { formatGs2Header, parseGs2Header } from '../../lib/mechanisms/gs2.js';
import { escapeSaslname, unescapeSaslname } from '../../lib/index.js';
import { expectSaslError } from '../support/helpers.js';
import { textOf, vector } from '../support/vectors.js';

describe('GS2 (RFC 5801)', () => {
  describe('saslnames (scram-saslname-escaping-derived)', () => {
    const v = vector('scram-saslname-escaping-derived');
    const names = v.inputs['names'] as string[];
    const encoded = v.expected['encoded'] as string[];

    it('escapes = as =3D and , as =2C, = first', () => {
      expect(names.map(escapeSaslname)).to.deep.equal(encoded);
      expect(escapeSaslname('a=2C,')).to.equal('a=3D2C=2C');
    });

    it('unescapes the encoded names back', () => {
      expect(encoded.map((name) => unescapeSaslname(name))).to.deep.equal(names);
      for (const name of ['plain', 'a,b', 'a=b', '=2C', ',=,='])
        expect(unescapeSaslname(escapeSaslname(name))).to.equal(name);
    });

    it('round-trips any name without NUL', () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, unit: 'grapheme' }).filter((name) => !name.includes('\0')),
          (name) => unescapeSaslname(escapeSaslname(name)) === name,
        ),
      );
    });

    const invalid = [...(v.expected['invalid_on_receipt'] as string[]), '', 'a,b', 'a\0b', '=', '=3', '=2c', '=3d'];
    for (const bad of invalid) {
      it(`refuses ${JSON.stringify(bad)} with MALFORMED_MESSAGE blamed on the client`, () => {
        const error = expectSaslError(() => unescapeSaslname(bad, 'SCRAM-SHA-256'), 'MALFORMED_MESSAGE');
        expect(error).to.include({ party: 'client', mechanism: 'SCRAM-SHA-256' });
      });
    }
  });

  describe('headers', () => {
    it('parses the headers of scram-cbind-input-derived', () => {
      const v = vector('scram-cbind-input-derived');
      const cases = v.expected['no_cb_cases'] as { gs2_header: string }[];
      const p = (v.expected['p_case'] as { gs2_header: string }).gs2_header;
      expect([...cases.map((c) => c.gs2_header), p].map((text) => parseGs2Header(text))).to.deep.equal([
        { header: { flag: 'n', cbName: '', authzid: '', text: 'n,,' }, rest: '' },
        { header: { flag: 'y', cbName: '', authzid: '', text: 'y,,' }, rest: '' },
        { header: { flag: 'n', cbName: '', authzid: 'admin', text: 'n,a=admin,' }, rest: '' },
        { header: { flag: 'p', cbName: 'tls-exporter', authzid: '', text: 'p=tls-exporter,,' }, rest: '' },
      ]);
    });

    it('splits RFC 5802 client-first-message into header and bare message', () => {
      const v = vector('scram-sha-1-rfc5802');
      const first = textOf((v.expected['messages'] as { value: unknown }[])[0]?.value);
      const { header, rest } = parseGs2Header(first);
      expect(header.text).to.equal(textOf(v.inputs['gs2_header']));
      expect(rest).to.equal(textOf(v.expected['client_first_message_bare']));
    });

    it('reads the authzid of the RFC 7628 examples and leaves the key/value pairs', () => {
      for (const id of ['oauthbearer-rfc7628-imap-success', 'oauthbearer-rfc7628-smtp-success']) {
        const { header, rest } = parseGs2Header(textOf(vector(id).expected['message']));
        expect(header).to.deep.equal({
          flag: 'n',
          cbName: '',
          authzid: 'user@example.com',
          text: 'n,a=user@example.com,',
        });
        expect(rest.startsWith('\x01host=server.example.com\x01')).to.equal(true);
      }
    });

    it('unescapes the authzid', () => {
      expect(parseGs2Header('n,a=a=2Cb=3Dc,rest').header.authzid).to.equal('a,b=c');
    });

    const malformed: [string, string][] = [
      ['an empty message', ''],
      ['a flag alone', 'n'],
      ['a header missing its second comma', 'n,'],
      ['an unknown flag', 'x,,'],
      ['an upper-case flag', 'N,,'],
      ['the non-standard F flag', 'F,n,,'],
      ['p= without a type', 'p=,,'],
      ['a channel-binding type with a space', 'p=tls exporter,,'],
      ['an authzid attribute other than a=', 'n,b=x,'],
      [
        'RFC 7628 section 4.4 erratum: n,user=...,',
        textOf(vector('oauthbearer-rfc7628-smtp-failure-ir').expected['message']),
      ],
      ['an empty a=', 'n,a=,'],
      ['a bad saslname escape', 'n,a=a=2Db,'],
      ['a NUL in the authzid', 'n,a=x\0y,'],
    ];
    for (const [name, text] of malformed) {
      it(`refuses ${name} with MALFORMED_MESSAGE, blamed on the client, without echoing it`, () => {
        const error = expectSaslError(() => parseGs2Header(text, 'OAUTHBEARER'), 'MALFORMED_MESSAGE');
        expect(error).to.include({ party: 'client', mechanism: 'OAUTHBEARER' });
        if (text.length > 3) expect(error.message).not.to.include(text);
      });
    }
  });

  describe('one header grammar for both sides', () => {
    it('formats what it parses: n, y and p= with and without an escaped authzid', () => {
      for (const [flag, cbName, authzid] of [
        ['n', '', ''],
        ['y', '', 'a,b=c'],
        ['p', 'tls-exporter', ''],
        ['p', 'tls-server-end-point', 'admin'],
      ] as const) {
        const text = formatGs2Header(flag, cbName, authzid);
        expect(parseGs2Header(`${text}rest`).header).to.deep.equal({ flag, cbName, authzid, text });
      }
      expect(formatGs2Header('n', '', 'a,b')).to.equal('n,a=a=2Cb,');
    });

    it('caps the authzid as sent (escaped, without a=) before unescaping it', () => {
      expect(parseGs2Header('n,a=abcd,', 'SCRAM-SHA-256', 4).header.authzid).to.equal('abcd');
      const over = expectSaslError(() => parseGs2Header('n,a=abcde,', 'SCRAM-SHA-256', 4), 'LIMIT_EXCEEDED');
      expect(over).to.include({ party: 'client', mechanism: 'SCRAM-SHA-256', limit: 'maxFieldBytes' });
      // '=2C' is one character once unescaped, but three bytes as sent; a bad escape over the cap is the cap's.
      expectSaslError(() => parseGs2Header('n,a=a=2Cb,', undefined, 4), 'LIMIT_EXCEEDED');
      expectSaslError(() => parseGs2Header('n,a=ab=2Dc,', undefined, 4), 'LIMIT_EXCEEDED');
      expectSaslError(() => parseGs2Header('n,a=\u00e9\u00e9\u00e9,', undefined, 5), 'LIMIT_EXCEEDED');
      expect(parseGs2Header('n,a=\u00e9\u00e9,', undefined, 4).header.authzid).to.equal('\u00e9\u00e9');
    });
  });
});
