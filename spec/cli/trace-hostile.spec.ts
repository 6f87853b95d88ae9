import { expect } from 'chai';
import fc from 'fast-check';
import { buildOauthbearerResponse, buildXoauth2Response } from '../../lib/index.js';
import { LineTracer } from '../../lib/cli/trace.js';

// The secrets of these specs, and their base64 forms: none may appear in a trace.
const PASSWORD = 'hunter2-Secret';
const TOKEN = 'ya29.tok-EN_secret';
const DIGEST_RESPONSE = 'd388dad90d4bbd760a152321f2143af7';
const RSPAUTH = 'ea40f60335c427b5527b84dbabcdfffd';
// A 32-byte SCRAM-SHA-256 proof and signature.
const PROOF = Buffer.alloc(32, 0xa7).toString('base64');
const SIGNATURE = Buffer.alloc(32, 0x5c).toString('base64');

const b64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64');
const PLAIN_MESSAGE = `\0alice\0${PASSWORD}`;
const SECRETS = [PASSWORD, b64(PASSWORD), b64(PLAIN_MESSAGE), TOKEN, DIGEST_RESPONSE, RSPAUTH, PROOF, SIGNATURE];

/** The forms a secret can take in a trace line: as is, in base64, and as an escaped hex dump would show part of it. */
function leaked(out: readonly string[], secrets: readonly string[] = SECRETS): string[] {
  const text = out.join('\n');
  return secrets.filter((secret) => text.includes(secret) || text.toLowerCase().includes(secret.toLowerCase()));
}

/** Feeds lines through a tracer as the server sees them and returns the trace. */
function trace(lines: readonly (readonly ['C' | 'S', string])[], side: 'client' | 'server' = 'server'): string[] {
  const out: string[] = [];
  const tracer = new LineTracer((line) => out.push(line), { side });
  for (const [from, line] of lines) tracer.line(from === 'C' ? 'client' : 'server', line);
  return out;
}

const digestResponse = (shape: (name: string, value: string) => string, separator: string): string =>
  [
    shape('username', '"alice"'),
    shape('realm', '"localhost"'),
    shape('nonce', '"OA6MG9tEQGm2hh"'),
    shape('cnonce', '"OA6MHXh6VqTrRk"'),
    shape('nc', '00000001'),
    shape('qop', 'auth'),
    shape('digest-uri', '"imap/localhost"'),
    shape('response', DIGEST_RESPONSE),
    shape('charset', 'utf-8'),
  ].join(separator);

describe('cli/trace against hostile and unusual input (issue 11 item 6)', () => {
  describe('DIGEST-MD5', () => {
    const shapes: [string, (name: string, value: string) => string, string][] = [
      ['spaces after commas', (n, v) => `${n}=${v}`, ', '],
      ['spaces before commas', (n, v) => `${n}=${v}`, ' ,'],
      ['spaces around =', (n, v) => `${n} = ${v}`, ','],
      ['tabs around separators', (n, v) => `${n}\t=\t${v}`, '\t,\t'],
      ['a quoted response', (n, v) => `${n}=${n === 'response' ? `"${v}"` : v}`, ', '],
      ['empty list elements', (n, v) => `${n}=${v}`, ',,'],
      ['upper-case names', (n, v) => `${n.toUpperCase()}=${v}`, ','],
    ];
    for (const [label, shape, separator] of shapes) {
      it(`redacts response= with ${label}`, () => {
        const out = trace([
          ['C', 'a AUTHENTICATE DIGEST-MD5'],
          ['S', `+ ${b64('realm="localhost",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess')}`],
          ['C', b64(digestResponse(shape, separator))],
          ['S', `+ ${b64(`rspauth = ${RSPAUTH}`)}`],
          ['C', ''],
          ['S', 'a OK AUTHENTICATE completed'],
        ]);
        expect(leaked(out)).to.deep.equal([]);
        expect(out[2]).to.match(/username=\\"alice\\"/);
      });
    }

    it('redacts response= that starts the message, and a message the parser refuses, whole', () => {
      const out = trace([
        ['C', 'AUTH DIGEST-MD5'],
        ['S', `334 ${b64('nonce="abc",qop="auth"')}`],
        ['C', b64(` response=${DIGEST_RESPONSE},username="alice"`)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
        ['C', 'AUTH DIGEST-MD5'],
        ['S', `334 ${b64('nonce="abc",qop="auth"')}`],
        ['C', b64(`username="alice" response=${DIGEST_RESPONSE}`)],
        ['S', '501 5.5.2 Cannot decode the client response'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[6]).to.match(/^C: \[redacted \d+ bytes/);
    });
  });

  describe('AUTH command lines', () => {
    const ir = b64(PLAIN_MESSAGE);
    const commands = [
      `AUTH  PLAIN  ${ir}`,
      `auth plain ${ir}`,
      `Auth Plain ${ir}`,
      `AUTH\tPLAIN\t${ir}`,
      ` AUTH PLAIN ${ir}`,
      `AUTH PLAIN ${ir} extra`,
      `AUTH PLAIN ${ir}   `,
      `AUTH PLAIN  ${ir}`,
      `AUTH\0PLAIN ${ir}`,
      `AUTH PLAIN\u00a0${ir}`,
      `a1  AUTHENTICATE PLAIN ${ir}`,
      `a1 authenticate  plain ${ir}`,
      `a1 AUTHENTICATE PLAIN {${ir.length}}`,
      `* AUTHENTICATE PLAIN ${ir}`,
      `AUTH=PLAIN ${ir}`,
    ];
    for (const command of commands) {
      it(`never prints the credentials of ${JSON.stringify(command.replace(ir, '<ir>'))}`, () => {
        const out = trace([
          ['C', command],
          ['S', '501 5.5.4 Syntax: AUTH mechanism [initial-response]'],
        ]);
        expect(leaked(out)).to.deep.equal([]);
      });
    }

    it('takes the initial response after an empty 334 or +, and "=" as an empty one', () => {
      const out = trace([
        ['C', 'AUTH PLAIN'],
        ['S', '334 '],
        ['C', b64(PLAIN_MESSAGE)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
        ['C', 'a AUTHENTICATE PLAIN'],
        ['S', '+'],
        ['C', b64(PLAIN_MESSAGE)],
        ['S', 'a NO [AUTHENTICATIONFAILED] Authentication failed'],
        ['C', 'AUTH PLAIN ='],
        ['S', '501 5.5.2 Cannot decode the client response'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out).to.include('C: "\\0alice\\0[redacted]"');
      expect(out).to.include('C: AUTH PLAIN ""');
    });

    it('redacts base64 that a client pipelined after a refused AUTH (a bare token outside an exchange)', () => {
      const out = trace([
        ['C', 'AUTH PLAIN'],
        ['S', '504 5.5.4 Unrecognized authentication type'],
        ['C', b64(PLAIN_MESSAGE)],
        ['S', '500 5.5.2 Command not recognized'],
        ['C', b64(PASSWORD)],
        ['C', 'QUIT'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[out.length - 1]).to.equal('C: QUIT');
    });
  });

  describe('IMAP LOGIN and literals, POP3 PASS', () => {
    it('redacts a LOGIN with odd spacing, case or quoting', () => {
      const out = trace([
        ['C', `a login  alice  ${PASSWORD}`],
        ['C', `a LOGIN\talice\t${PASSWORD}`],
        ['C', `a Login "alice" "${PASSWORD}"`],
        ['C', `a LOGIN "al\\"ice" ${PASSWORD}`],
        ['C', ` a LOGIN alice ${PASSWORD}`],
      ]);
      expect(leaked(out)).to.deep.equal([]);
    });

    it('redacts literal data: synchronizing, non-synchronizing, and literals holding CRLF', () => {
      const out = trace([
        ['C', `a LOGIN alice {${PASSWORD.length}}`],
        ['S', '+ Ready for literal data'],
        ['C', PASSWORD],
        ['S', 'a BAD Syntax: LOGIN user password (no literals)'],
        ['C', 'b LOGIN {5+}'],
        ['C', `alice {${PASSWORD.length}+}`],
        ['C', PASSWORD],
        ['S', 'b BAD Syntax: LOGIN user password (no literals)'],
        ['C', `c LOGIN alice {${PASSWORD.length + 6}+}`],
        ['C', 'abc'],
        ['C', `x${PASSWORD}`],
        ['C', 'd NOOP'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[out.length - 1]).to.equal('C: d NOOP');
    });

    it('shows the next command when the server refuses a synchronizing literal', () => {
      const out = trace([
        ['C', 'a LOGIN alice {7}'],
        ['S', 'a BAD Syntax: LOGIN user password (no literals)'],
        ['C', 'b CAPABILITY'],
      ]);
      expect(out[2]).to.equal('C: b CAPABILITY');
    });

    it('redacts POP3 PASS and APOP in any case and spacing', () => {
      const out = trace([
        ['C', `PASS ${PASSWORD}`],
        ['C', `pass ${PASSWORD}`],
        ['C', `PASS\t${PASSWORD}`],
        ['C', ` PASS ${PASSWORD}`],
        ['C', `PASS  ${PASSWORD}`],
        ['C', `APOP alice ${DIGEST_RESPONSE}`],
        ['C', `apop  alice\t${DIGEST_RESPONSE}`],
      ]);
      expect(leaked(out)).to.deep.equal([]);
    });
  });

  describe('SASL-IR and the other mechanisms', () => {
    it('redacts XOAUTH2 and OAUTHBEARER tokens, with SASL-IR, after a continuation, and in odd shapes', () => {
      const xoauth2 = b64(buildXoauth2Response('alice', TOKEN));
      const oauthbearer = b64(buildOauthbearerResponse(TOKEN, { user: 'alice', host: 'imap.example.com', port: 993 }));
      const out = trace([
        ['C', `a AUTHENTICATE XOAUTH2 ${xoauth2}`],
        ['S', `+ ${b64('{"status":"401","schemes":"bearer"}')}`],
        ['C', ''],
        ['S', 'a NO [AUTHENTICATIONFAILED] Authentication failed'],
        ['C', 'b AUTHENTICATE OAUTHBEARER'],
        ['S', '+ '],
        ['C', oauthbearer],
        ['S', 'b OK AUTHENTICATE completed'],
        ['C', `c AUTHENTICATE XOAUTH2 ${b64(`user=alice\x01auth=Bearer ${TOKEN}\x01\x01junk`)}`],
        ['S', 'c BAD Invalid SASL response'],
        ['C', `d AUTHENTICATE OAUTHBEARER ${b64(`n,,\x01auth = Bearer ${TOKEN}\x01\x01`)}`],
        ['S', 'd BAD Invalid SASL response'],
        ['C', `AUTH XOAUTH2 ${b64(`auth=Bearer ${TOKEN}\x01user=alice\x01\x01`)}`],
        ['S', '235 2.7.0 Authentication successful'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[0]).to.include('user=alice');
      expect(out[6]).to.include('host=imap.example.com');
    });

    it('redacts SCRAM proofs and signatures, and a client-final the parser refuses, whole', () => {
      const out = trace([
        ['C', `a AUTHENTICATE SCRAM-SHA-256 ${b64('n,,n=alice,r=rOprNGfwEbeRWgbNEkqO')}`],
        ['S', `+ ${b64('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}`],
        ['C', b64(`c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=${PROOF}`)],
        ['S', `+ ${b64(`v=${SIGNATURE}`)}`],
        ['C', ''],
        ['S', 'a OK AUTHENTICATE completed'],
        ['C', `b AUTHENTICATE SCRAM-SHA-256 ${b64('n,,n=alice,r=abc')}`],
        ['S', `+ ${b64('r=abcdef,s=c2FsdA==,i=4096')}`],
        ['C', b64(`c=biws, r=abcdef, p=${PROOF}`)],
        ['S', 'b BAD Invalid SASL response'],
        ['C', `c AUTHENTICATE SCRAM-SHA-1 ${b64('n,,n=alice,r=abc')}`],
        ['S', `+ ${b64('r=abcdef,s=c2FsdA==,i=4096')}`],
        ['C', b64(`c=biws,r=abcdef,p=${PROOF},x=1`)],
        ['S', `+ ${b64(`v = ${SIGNATURE}`)}`],
        ['C', b64(`c=biws,r=abcdef,p=${PROOF}`)],
        ['S', 'c NO [AUTHENTICATIONFAILED] Authentication failed'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[2]).to.equal('C: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=[redacted]"');
      expect(out[3]).to.equal('S: + "v=[redacted]"');
    });

    it("redacts LOGIN's password however the server prompts, and CRAM-MD5's digest", () => {
      const out = trace([
        ['C', 'AUTH LOGIN'],
        ['S', `334 ${b64('Password:')}`],
        ['C', b64(PASSWORD)],
        ['S', `334 ${b64('Username:')}`],
        ['C', b64('alice')],
        ['S', '535 5.7.8 Authentication credentials invalid'],
        ['C', `AUTH LOGIN ${b64('alice')}`],
        ['S', `334 ${b64('Password:')}`],
        ['C', b64(PASSWORD)],
        ['S', `334 ${b64('more?')}`],
        ['C', b64(PASSWORD)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
        ['C', 'AUTH CRAM-MD5'],
        ['S', `334 ${b64('<1896.697170952@postoffice.example.net>')}`],
        ['C', b64(`alice ${DIGEST_RESPONSE}`)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
        ['C', 'AUTH CRAM-MD5'],
        ['S', `334 ${b64('<1896.697170952@postoffice.example.net>')}`],
        ['C', b64(`alice  ${DIGEST_RESPONSE.toUpperCase()}`)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
      expect(out[6]).to.equal('C: AUTH LOGIN "alice"');
    });

    it('shows nothing of a mechanism it does not know, from either side', () => {
      const out = trace([
        ['C', `AUTH X-SECRET ${b64(PASSWORD)}`],
        ['S', `334 ${b64(PASSWORD)}`],
        ['C', b64(PASSWORD)],
        ['S', '535 5.7.8 Authentication credentials invalid'],
      ]);
      expect(leaked(out)).to.deep.equal([]);
    });
  });

  it('property: random spacing, case, separators and line shapes never reveal the password or its base64', () => {
    const spaces = fc.constantFrom(' ', '  ', '\t', ' \t', '');
    const caseOf = (word: string): fc.Arbitrary<string> =>
      fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((flags) =>
        word
          .split('')
          .map((c, i) => (flags[i] === true ? c.toUpperCase() : c.toLowerCase()))
          .join(''),
      );
    const mechanism = fc.constantFrom(
      'PLAIN',
      'LOGIN',
      'DIGEST-MD5',
      'SCRAM-SHA-256',
      'XOAUTH2',
      'OAUTHBEARER',
      'CRAM-MD5',
      'X-OTHER',
    );
    const password = fc
      .string({ minLength: 8, maxLength: 24, unit: 'grapheme-ascii' })
      .filter((p) => !/[\s"\\,=]/.test(p))
      .map((p) => `${p}Zq9`);
    const payload = (mech: string, pw: string, sp: string): string => {
      switch (mech) {
        case 'PLAIN':
          return `\0alice\0${pw}`;
        case 'LOGIN':
          // The user name; the password follows the "Password:" prompt below.
          return 'alice';
        case 'DIGEST-MD5':
          return `username="alice"${sp},${sp}response${sp}=${sp}${pw}${sp},qop=auth`;
        case 'SCRAM-SHA-256':
          return `c=biws,${sp}r=abcdef,${sp}p=${pw}`;
        case 'XOAUTH2':
          return `user=alice\x01auth=${sp}Bearer ${pw}\x01\x01`;
        case 'OAUTHBEARER':
          return `n,,\x01auth=Bearer${sp} ${pw}\x01\x01`;
        case 'CRAM-MD5':
          return `alice${sp} ${pw}`;
        default:
          return pw;
      }
    };
    fc.assert(
      fc.property(
        mechanism,
        password,
        spaces,
        spaces,
        caseOf('auth'),
        caseOf('authenticate'),
        fc.boolean(),
        fc.constantFrom('smtp', 'imap', 'pop3'),
        fc.boolean(),
        (mech, pw, sp1, sp2, authWord, authenticateWord, initial, protocol, clientSide) => {
          const data = b64(payload(mech, pw, sp2));
          const command =
            protocol === 'imap'
              ? `a1${sp1 || ' '}${authenticateWord}${sp1 || ' '}${mech}`
              : `${authWord}${sp1 || ' '}${mech}`;
          const challenge = protocol === 'smtp' ? '334 ' : '+ ';
          const lines: ['C' | 'S', string][] = initial
            ? [['C', `${command}${sp1 || ' '}${data}`]]
            : [
                ['C', command],
                ['S', challenge],
                ['C', data],
              ];
          lines.push(
            ['S', `${challenge}${b64('Password:')}`],
            ['C', b64(pw)],
            ['S', protocol === 'imap' ? 'a1 NO failed' : protocol === 'smtp' ? '535 failed' : '-ERR failed'],
          );
          lines.push([
            'C',
            protocol === 'imap' ? `a2${sp1 || ' '}LOGIN alice${sp1 || ' '}${pw}` : `PASS${sp1 || ' '}${pw}`,
          ]);
          const out = trace(lines, clientSide ? 'client' : 'server');
          return leaked(out, [pw, b64(pw), data]).length === 0;
        },
      ),
      { numRuns: 400 },
    );
  });
});
