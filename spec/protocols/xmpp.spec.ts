import { expect } from 'chai';
import { once } from 'node:events';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  type ClientOptions,
  PLAIN,
  SASLAuth,
  ScramIdentity,
  type ServerOptions,
  XMPP_FAILURE_CONDITIONS,
  type XmppClientResult,
  type XmppFailureCondition,
  buildXmppAbort,
  buildXmppAuth,
  buildXmppChallenge,
  buildXmppFailure,
  buildXmppMechanisms,
  buildXmppResponse,
  buildXmppSuccess,
  MalformedMessageError,
  isSaslError,
  parseXmppMechanisms,
  parseXmppSaslElement,
  xmppClientAuth,
  xmppElements,
  xmppFailureCondition,
  xmppFailureError,
  xmppServerAuth,
} from '../../lib/index.js';
import {
  ALICE,
  asyncStoreOf,
  b,
  expectNoSecrets,
  expectSaslError,
  expectSaslRejection,
  s,
} from '../support/helpers.js';
import { abortWhenWaiting, probedClient, recorder, silentAfter, timeoutReason } from '../support/silent-peer.js';
import { useSockets } from '../support/sockets.js';
import { vector } from '../support/vectors.js';
import { xmlWork } from '../../lib/transport/xml.js';

const NS = 'urn:ietf:params:xml:ns:xmpp-sasl';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** An element source fed by the test, and a record of what the profile wrote. */
function feed(...elements: string[]): AsyncGenerator<string, void, undefined> {
  return (async function* () {
    for (const element of elements) yield await Promise.resolve(element);
  })();
}

function server(
  elements: AsyncIterator<string> | AsyncIterable<string>,
  options: ServerOptions = { lookup: asyncStoreOf(ALICE) },
  auth = SASLAuth.defaults(),
): { run: Promise<Authenticated>; written: string[] } {
  const written: string[] = [];
  const run = xmppServerAuth({
    auth,
    options,
    elements,
    write: (element) => {
      written.push(element);
    },
  });
  return { run, written };
}

function parsedCondition(xml: string | undefined): XmppFailureCondition | undefined {
  if (xml === undefined) return undefined;
  const element = parseXmppSaslElement(xml, 'server');
  return element.kind === 'failure' ? element.condition : undefined;
}

describe('XMPP SASL profile', () => {
  const sockets = useSockets();

  describe('transcript vectors', () => {
    for (const id of ['xmpp-derived-scram-sha-1', 'xmpp-derived-plain-and-empty']) {
      it(`${id}: every element parses and rebuilds to the same text`, () => {
        const lines = (vector(id).expected['lines'] as string[]).filter((line) => !line.startsWith('#'));
        expect(lines.length).to.be.greaterThan(3);
        for (const line of lines) {
          const from = line.startsWith('C: ') ? 'client' : 'server';
          const xml = line.slice(3);
          const element = parseXmppSaslElement(xml, from);
          let rebuilt: string;
          switch (element.kind) {
            case 'mechanisms':
              rebuilt = buildXmppMechanisms(element.mechanisms);
              break;
            case 'auth':
              rebuilt = buildXmppAuth(element.mechanism, element.data);
              break;
            case 'challenge':
              rebuilt = buildXmppChallenge(element.data);
              break;
            case 'response':
              rebuilt = buildXmppResponse(element.data);
              break;
            case 'success':
              rebuilt = buildXmppSuccess(element.data);
              break;
            case 'failure':
              rebuilt = buildXmppFailure(element.condition, element.text, element.lang);
              break;
            case 'abort':
              rebuilt = buildXmppAbort();
              break;
          }
          expect(rebuilt).to.equal(xml);
        }
      });
    }

    it('xmpp-derived-scram-sha-1: payloads decode to the RFC 5802 messages', () => {
      const lines = vector('xmpp-derived-scram-sha-1').expected['lines'] as string[];
      expect(parseXmppMechanisms(lines[0]!.slice(3))).to.deep.equal(['SCRAM-SHA-1', 'PLAIN']);
      const auth = parseXmppSaslElement(lines[1]!.slice(3), 'client');
      expect(auth.kind === 'auth' && s(auth.data)).to.equal('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
      const success = parseXmppSaslElement(lines[4]!.slice(3), 'server');
      expect(success.kind === 'success' && s(success.data)).to.equal('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    });

    it('xmpp-derived-plain-and-empty: the PLAIN line authenticates against a server holding its credentials, and the failure is not-authorized for a wrong one', async () => {
      const lines = vector('xmpp-derived-plain-and-empty').expected['lines'] as string[];
      const tim = new ClearIdentity('tim', 'tanstaaftanstaaf');
      const ok = server(feed(lines[0]!.slice(3)), { lookup: asyncStoreOf(tim) });
      expect((await ok.run).authcid).to.equal('tim');
      expect(ok.written).to.deep.equal([`<success xmlns='${NS}'/>`]);
      const refused = server(feed(lines[0]!.slice(3)), { lookup: asyncStoreOf(ALICE) });
      await expectSaslRejection(refused.run, 'AUTHENTICATION_FAILED');
      expect(refused.written).to.deep.equal([`<failure xmlns='${NS}'><not-authorized/></failure>`]);
      // `=` is an empty initial response, which PLAIN finds malformed (an absent one gets a challenge).
      const empty = parseXmppSaslElement(lines[2]!.slice(3), 'client');
      expect(empty.kind === 'auth' && empty.data?.length).to.equal(0);
    });
  });

  describe('builders', () => {
    it('distinguish no data, empty data and data', () => {
      expect(buildXmppAuth('PLAIN')).to.equal(`<auth xmlns='${NS}' mechanism='PLAIN'/>`);
      expect(buildXmppAuth('PLAIN', new Uint8Array(0))).to.equal(`<auth xmlns='${NS}' mechanism='PLAIN'>=</auth>`);
      expect(buildXmppAuth('PLAIN', b('\0a\0b'))).to.equal(
        `<auth xmlns='${NS}' mechanism='PLAIN'>${b64('\0a\0b')}</auth>`,
      );
      expect(buildXmppSuccess()).to.equal(`<success xmlns='${NS}'/>`);
      expect(buildXmppSuccess(new Uint8Array(0))).to.equal(`<success xmlns='${NS}'>=</success>`);
      expect(buildXmppChallenge(new Uint8Array(0))).to.equal(`<challenge xmlns='${NS}'/>`);
      expect(buildXmppResponse(new Uint8Array(0))).to.equal(`<response xmlns='${NS}'/>`);
      expect(buildXmppAbort()).to.equal(`<abort xmlns='${NS}'/>`);
    });

    it('escape failure text and refuse bad names and conditions', () => {
      const xml = buildXmppFailure('not-authorized', `a<b & 'c'`);
      expect(xml).to.equal(
        `<failure xmlns='${NS}'><not-authorized/><text xml:lang='en'>a&lt;b &amp; &apos;c&apos;</text></failure>`,
      );
      const parsed = parseXmppSaslElement(xml, 'server');
      expect(parsed).to.deep.equal({ kind: 'failure', condition: 'not-authorized', text: `a<b & 'c'`, lang: 'en' });
      expectSaslError(() => buildXmppAuth("PLAIN' x='"), 'USAGE');
      expectSaslError(() => buildXmppMechanisms([]), 'USAGE');
      expectSaslError(() => buildXmppFailure('nope' as XmppFailureCondition), 'USAGE');
    });

    it('every defined condition round-trips', () => {
      for (const condition of XMPP_FAILURE_CONDITIONS)
        expect(parsedCondition(buildXmppFailure(condition))).to.equal(condition);
    });
  });

  describe('parser', () => {
    it('accepts double quotes, prefixes, entities, character references and surrounding white space', () => {
      const auth = parseXmppSaslElement(
        `\n <sasl:auth xmlns:sasl="${NS}" mechanism="PLAIN">=</sasl:auth>\r\n`,
        'client',
      );
      expect(auth).to.deep.equal({ kind: 'auth', mechanism: 'PLAIN', data: new Uint8Array(0) });
      const failure = parseXmppSaslElement(
        `<failure xmlns='${NS}'> <aborted></aborted>\n<text>&#x263A;&#65;&quot;</text></failure>`,
        'server',
      );
      expect(failure).to.deep.equal({ kind: 'failure', condition: 'aborted', text: '\u263AA"', lang: undefined });
      expect(
        parseXmppMechanisms(
          `<mechanisms xmlns='${NS}'>\n  <mechanism>PLAIN</mechanism>\n  <mechanism>SCRAM-SHA-256</mechanism>\n</mechanisms>`,
        ),
      ).to.deep.equal(['PLAIN', 'SCRAM-SHA-256']);
      expect(parseXmppSaslElement(`<challenge xmlns='${NS}'>=</challenge>`, 'server')).to.deep.equal({
        kind: 'challenge',
        data: new Uint8Array(0),
      });
      expect(parseXmppSaslElement(`<success xmlns='${NS}'></success>`, 'server')).to.deep.equal({
        kind: 'success',
        data: undefined,
      });
    });

    // xmpp.js 0.14 sends <response mechanism='SCRAM-SHA-1'>, found against saslkit's XMPP server in
    // interop: the attribute means nothing on <response>, so it is accepted and ignored.
    it('accepts and ignores a mechanism attribute on <response> (xmpp.js 0.14 sends one), once', () => {
      expect(
        parseXmppSaslElement(`<response xmlns='${NS}' mechanism='SCRAM-SHA-1'>AQI=</response>`, 'client'),
      ).to.deep.equal({ kind: 'response', data: new Uint8Array([1, 2]) });
      expect(parseXmppSaslElement(`<response xmlns='${NS}' mechanism='anything at all'/>`, 'client')).to.deep.equal({
        kind: 'response',
        data: new Uint8Array(0),
      });
      expect(() =>
        parseXmppSaslElement(`<response xmlns='${NS}' mechanism='A' mechanism='B'>=</response>`, 'client'),
      ).to.throw(MalformedMessageError, /duplicate attribute/);
      expect(() => parseXmppSaslElement(`<response xmlns='${NS}' other='x'>=</response>`, 'client')).to.throw(
        MalformedMessageError,
        /unexpected attribute/,
      );
      expect(() => parseXmppSaslElement(`<challenge xmlns='${NS}' mechanism='PLAIN'>=</challenge>`, 'server')).to.throw(
        MalformedMessageError,
        /unexpected attribute/,
      );
    });

    const malformed: [string, string, 'client' | 'server'][] = [
      ['empty string', '', 'client'],
      ['text only', 'hello', 'client'],
      ['unterminated element', `<auth xmlns='${NS}' mechanism='PLAIN'>`, 'client'],
      ['mismatched end tag', `<auth xmlns='${NS}' mechanism='PLAIN'></response>`, 'client'],
      ['two top-level elements', `<abort xmlns='${NS}'/><abort xmlns='${NS}'/>`, 'client'],
      ['trailing text', `<abort xmlns='${NS}'/>x`, 'client'],
      ['unquoted attribute', `<auth xmlns='${NS}' mechanism=PLAIN/>`, 'client'],
      ['unterminated attribute', `<auth xmlns='${NS}' mechanism='PLAIN/>`, 'client'],
      ['attribute without white space', `<auth xmlns='${NS}'mechanism='PLAIN'/>`, 'client'],
      ['duplicate attribute', `<auth xmlns='${NS}' mechanism='PLAIN' mechanism='PLAIN'/>`, 'client'],
      [
        'duplicate xml:lang',
        `<failure xmlns='${NS}'><aborted/><text xml:lang='en' xml:lang='en'>x</text></failure>`,
        'server',
      ],
      ['duplicate namespace declaration', `<abort xmlns='${NS}' xmlns:a='urn:a' xmlns:a='urn:a'/>`, 'client'],
      [
        'duplicate namespace declaration past eight',
        `<abort xmlns='${NS}'${Array.from({ length: 12 }, (_, i) => ` xmlns:a${i}='urn:a'`).join('')} xmlns:a3='urn:b'/>`,
        'client',
      ],
      // Before: an Object.prototype name looked up as an entity, so the text read "afunction toString() { [native code] }b".
      [
        'a reference named after an Object.prototype property',
        `<failure xmlns='${NS}'><aborted/><text>a&toString;b</text></failure>`,
        'server',
      ],
      ['another one', `<failure xmlns='${NS}'><aborted/><text>&__proto__;</text></failure>`, 'server'],
      [
        'a character reference with too many digits',
        `<failure xmlns='${NS}'><aborted/><text>&#x0000041;</text></failure>`,
        'server',
      ],
      [
        'a character reference without digits',
        `<failure xmlns='${NS}'><aborted/><text>&#x;</text></failure>`,
        'server',
      ],
      ['< in attribute value', `<auth xmlns='${NS}' mechanism='<'/>`, 'client'],
      ['unknown entity', `<failure xmlns='${NS}'><aborted/><text>&nbsp;</text></failure>`, 'server'],
      ['bare ampersand', `<failure xmlns='${NS}'><aborted/><text>a & b</text></failure>`, 'server'],
      ['reference to a non-character', `<failure xmlns='${NS}'><aborted/><text>&#0;</text></failure>`, 'server'],
      ['control character', `<failure xmlns='${NS}'><aborted/><text>\u0001</text></failure>`, 'server'],
      ['lone surrogate', `<failure xmlns='${NS}'><aborted/><text>\uD800</text></failure>`, 'server'],
      ['comment', `<abort xmlns='${NS}'><!-- hi --></abort>`, 'client'],
      ['CDATA', `<response xmlns='${NS}'><![CDATA[AA==]]></response>`, 'client'],
      ['processing instruction', `<?xml version='1.0'?><abort xmlns='${NS}'/>`, 'client'],
      ['undeclared prefix', `<x:abort xmlns='${NS}'/>`, 'client'],
      ['bad name', `<1abort xmlns='${NS}'/>`, 'client'],
      ['nesting too deep', `<failure xmlns='${NS}'>${'<a>'.repeat(10)}${'</a>'.repeat(10)}</failure>`, 'server'],
      ['auth without mechanism', `<auth xmlns='${NS}'>=</auth>`, 'client'],
      ['lower-case mechanism', `<auth xmlns='${NS}' mechanism='plain'/>`, 'client'],
      ['mechanism name too long', `<auth xmlns='${NS}' mechanism='${'A'.repeat(21)}'/>`, 'client'],
      ['unknown attribute', `<auth xmlns='${NS}' mechanism='PLAIN' foo='bar'/>`, 'client'],
      ['child in auth', `<auth xmlns='${NS}' mechanism='PLAIN'><x/></auth>`, 'client'],
      ['abort with content', `<abort xmlns='${NS}'>x</abort>`, 'client'],
      ['base64 with white space', `<response xmlns='${NS}'>AG Fs</response>`, 'client'],
      ['base64 with a line break', `<response xmlns='${NS}'>AGFs\naWNl</response>`, 'client'],
      ['base64 without padding', `<response xmlns='${NS}'>AGE</response>`, 'client'],
      ['base64 with bad characters', `<response xmlns='${NS}'>AG-_</response>`, 'client'],
      ['non-canonical base64', `<response xmlns='${NS}'>AB==</response>`, 'client'],
      ['success with bad base64', `<success xmlns='${NS}'>!!</success>`, 'server'],
      ['failure without condition', `<failure xmlns='${NS}'><text>x</text></failure>`, 'server'],
      ['failure with unknown condition', `<failure xmlns='${NS}'><bad-day/></failure>`, 'server'],
      ['failure with two conditions', `<failure xmlns='${NS}'><aborted/><not-authorized/></failure>`, 'server'],
      ['failure with two texts', `<failure xmlns='${NS}'><aborted/><text/><text/></failure>`, 'server'],
      ['condition with content', `<failure xmlns='${NS}'><aborted>x</aborted></failure>`, 'server'],
      ['condition in a foreign namespace', `<failure xmlns='${NS}'><aborted xmlns='urn:x'/></failure>`, 'server'],
      ['text directly in failure', `<failure xmlns='${NS}'>oops<aborted/></failure>`, 'server'],
      ['empty mechanisms', `<mechanisms xmlns='${NS}'/>`, 'server'],
      ['foreign child in mechanisms', `<mechanisms xmlns='${NS}'><foo>PLAIN</foo></mechanisms>`, 'server'],
      ['bad mechanism name', `<mechanisms xmlns='${NS}'><mechanism>PL AIN</mechanism></mechanisms>`, 'server'],
    ];
    for (const [name, xml, from] of malformed) {
      it(`refuses ${name} with MALFORMED_MESSAGE`, () => {
        const error = expectSaslError(() => parseXmppSaslElement(xml, from), 'MALFORMED_MESSAGE');
        expect(error.party).to.equal(from);
      });
    }

    const unexpected: [string, string, 'client' | 'server'][] = [
      ['no namespace', `<auth mechanism='PLAIN'/>`, 'client'],
      ['another namespace', `<auth xmlns='jabber:client' mechanism='PLAIN'/>`, 'client'],
      ['a stanza', `<iq xmlns='jabber:client' type='get'/>`, 'client'],
      ['a server element from the client', `<success xmlns='${NS}'/>`, 'client'],
      ['a client element from the server', `<response xmlns='${NS}'/>`, 'server'],
      ['an unknown SASL element', `<hello xmlns='${NS}'/>`, 'server'],
    ];
    for (const [name, xml, from] of unexpected) {
      it(`refuses ${name} with UNEXPECTED_MESSAGE`, () => {
        expectSaslError(() => parseXmppSaslElement(xml, from), 'UNEXPECTED_MESSAGE');
      });
    }

    it('refuses an oversized element before parsing it', () => {
      const xml = `<response xmlns='${NS}'>${'A'.repeat(40000)}</response>`;
      expectSaslError(() => parseXmppSaslElement(xml, 'client'), 'LIMIT_EXCEEDED');
      expectSaslError(
        () => parseXmppSaslElement(`<abort xmlns='${NS}'/>`, 'client', { maxElementBytes: 10 }),
        'LIMIT_EXCEEDED',
      );
      expectSaslError(() => parseXmppMechanisms(`<success xmlns='${NS}'/>`), 'UNEXPECTED_MESSAGE');
    });
  });

  describe('hostile elements', () => {
    /** About 1100 `xmlns:aN=''` declarations on `<auth>`, then about 1000 children declaring one more: 30 KB. */
    function namespaceFlood(declarations = 1100, children = 1000): string {
      let xml = `<auth xmlns='${NS}' mechanism='PLAIN'`;
      for (let i = 0; i < declarations; i++) xml += ` xmlns:a${i}=''`;
      return `${xml}>${`<c xmlns:b=''/>`.repeat(children)}</auth>`;
    }

    it('refuses a namespace flood with LIMIT_EXCEEDED (maxNamespaceDeclarations) before its grammar is checked', () => {
      const error = expectSaslError(() => parseXmppSaslElement(namespaceFlood(), 'client'), 'LIMIT_EXCEEDED');
      expect((error as { limit?: string }).limit).to.equal('maxNamespaceDeclarations');
      expect(error.party).to.equal('client');
    });

    it('caps attributes per element, namespace declarations per element and elements per element, each with its limit name', () => {
      const attributes = (n: number): string => Array.from({ length: n }, (_, i) => ` x${i}='1'`).join('');
      const declarations = (n: number): string => Array.from({ length: n }, (_, i) => ` xmlns:p${i}='urn:p'`).join('');
      const mechanisms = (n: number): string =>
        `<mechanisms xmlns='${NS}'>${Array.from({ length: n }, (_, i) => `<mechanism>M${i}</mechanism>`).join('')}</mechanisms>`;
      const limitOf = (fn: () => unknown): string | undefined =>
        (expectSaslError(fn, 'LIMIT_EXCEEDED') as { limit?: string }).limit;
      // Counted on any element, root or child, SASL or not.
      expect(limitOf(() => parseXmppSaslElement(`<abort xmlns='${NS}'${attributes(32)}/>`, 'client'))).to.equal(
        'maxAttributes',
      );
      expect(
        limitOf(() => parseXmppSaslElement(`<failure xmlns='${NS}'><aborted${attributes(33)}/></failure>`, 'server')),
      ).to.equal('maxAttributes');
      expect(limitOf(() => parseXmppSaslElement(`<abort xmlns='${NS}'${declarations(16)}/>`, 'client'))).to.equal(
        'maxNamespaceDeclarations',
      );
      expect(limitOf(() => parseXmppMechanisms(mechanisms(64)))).to.equal('maxElements');
      // Up to the caps, the grammar decides.
      expectSaslError(
        () => parseXmppSaslElement(`<abort xmlns='${NS}'${attributes(31)}/>`, 'client'),
        'MALFORMED_MESSAGE',
      );
      expect(parseXmppSaslElement(`<abort xmlns='${NS}'${declarations(15)}/>`, 'client')).to.deep.equal({
        kind: 'abort',
      });
      expect(parseXmppMechanisms(mechanisms(63))).to.have.length(63);
      // Each cap is an option.
      expect(
        limitOf(() =>
          parseXmppSaslElement(`<abort xmlns='${NS}' xmlns:a='urn:a'/>`, 'client', { maxNamespaceDeclarations: 1 }),
        ),
      ).to.equal('maxNamespaceDeclarations');
      expect(
        limitOf(() => parseXmppSaslElement(`<abort xmlns='${NS}' xmlns:a='urn:a'/>`, 'client', { maxAttributes: 1 })),
      ).to.equal('maxAttributes');
      expect(limitOf(() => parseXmppMechanisms(mechanisms(2), { maxElements: 2 }))).to.equal('maxElements');
      expect(parseXmppMechanisms(mechanisms(400), { maxElements: 401 })).to.have.length(400);
    });

    it("the default caps let real servers' elements through (Prosody-style <mechanisms>, <failure> with <text xml:lang>, prefixed elements)", () => {
      const prosody = `<mechanisms xmlns='${NS}'>${['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'EXTERNAL', 'ANONYMOUS', 'OAUTHBEARER', 'X-OAUTH2', 'DIGEST-MD5'].map((m) => `<mechanism>${m}</mechanism>`).join('')}</mechanisms>`;
      expect(parseXmppMechanisms(prosody)).to.have.length(10);
      const failure = `<sasl:failure xmlns:sasl='${NS}' xmlns:x='urn:x' xmlns:y='urn:y'><sasl:not-authorized/><sasl:text xml:lang='en'>Invalid username or password</sasl:text></sasl:failure>`;
      expect(parseXmppSaslElement(failure, 'server')).to.deep.include({
        kind: 'failure',
        condition: 'not-authorized',
        lang: 'en',
      });
    });

    it('with the caps raised, the flood parses in work linear in its size: a scope chain, not a copy per element (before: every child copied 1100 bindings)', () => {
      const raised = {
        maxElementBytes: 1 << 20,
        maxNamespaceDeclarations: 5000,
        maxAttributes: 5000,
        maxElements: 5000,
        maxTotalAttributes: 5000,
      };
      const workOf = (xml: string): number => {
        const before = xmlWork.units;
        // The grammar refuses the children; the namespaces are resolved first.
        expectSaslError(() => parseXmppSaslElement(xml, 'client', raised), 'MALFORMED_MESSAGE');
        return xmlWork.units - before;
      };
      const xml = namespaceFlood();
      const work = workOf(xml);
      // Every character, element, attribute and binding looked at, weighted by what it costs: a
      // declaration is the dearest, 52 units for its 11 characters.
      expect(work, `${work} units for ${xml.length} characters`).to.be.at.most(6 * xml.length);
      const twice = workOf(namespaceFlood(2200, 2000));
      expect(twice, `${twice} units for twice the flood, ${work} for the flood`).to.be.at.most(2.1 * work);
      // Nested scopes still resolve: the innermost declaration wins, an outer one shows through a scope that declares others.
      expectSaslError(
        () =>
          parseXmppSaslElement(
            `<x:auth xmlns:x='urn:other' xmlns:y='${NS}'><y:auth xmlns:x='${NS}' mechanism='PLAIN'/></x:auth>`,
            'client',
          ),
        'UNEXPECTED_MESSAGE',
      );
      expect(parseXmppSaslElement(`<x:auth xmlns:x='${NS}' mechanism='PLAIN'/>`, 'client')).to.deep.include({
        kind: 'auth',
        mechanism: 'PLAIN',
      });
      expect(
        parseXmppMechanisms(
          `<y:mechanisms xmlns:y='${NS}'><y:mechanism xmlns:q='urn:q'>PLAIN</y:mechanism></y:mechanisms>`,
        ),
      ).to.deep.equal(['PLAIN']);
      expect(
        parseXmppSaslElement(`<failure xmlns='${NS}' xmlns:s='${NS}'><s:aborted xmlns:t='urn:t'/></failure>`, 'server'),
      ).to.deep.include({ condition: 'aborted' });
      expectSaslError(
        () => parseXmppSaslElement(`<failure xmlns='${NS}'><aborted xmlns=''/></failure>`, 'server'),
        'MALFORMED_MESSAGE',
      );
      expectSaslError(
        () => parseXmppSaslElement(`<mechanisms xmlns='${NS}'><q:mechanism>PLAIN</q:mechanism></mechanisms>`, 'server'),
        'MALFORMED_MESSAGE',
      );
    });

    it('caps attributes and references across the whole element (maxTotalAttributes, maxReferences), each with its limit name', () => {
      const limitOf = (fn: () => unknown): string | undefined =>
        (expectSaslError(fn, 'LIMIT_EXCEEDED') as { limit?: string }).limit;
      const child = (attributes: number): string =>
        `<c${Array.from({ length: attributes }, (_, i) => ` a${i}=''`).join('')}/>`;
      // 2 on the root and 3 x 20 on children: 62 in all, then 2 more.
      const within = `<auth xmlns='${NS}' mechanism='PLAIN'>${child(20).repeat(3)}</auth>`;
      expectSaslError(() => parseXmppSaslElement(within, 'client'), 'MALFORMED_MESSAGE');
      expect(limitOf(() => parseXmppSaslElement(within.replace('</auth>', `${child(3)}</auth>`), 'client'))).to.equal(
        'maxTotalAttributes',
      );
      expect(limitOf(() => parseXmppSaslElement(within, 'client', { maxTotalAttributes: 61 }))).to.equal(
        'maxTotalAttributes',
      );
      // References in text and in attribute values count together.
      const text = (references: number): string =>
        `<failure xmlns='${NS}'><aborted/><text xml:lang='&lt;'>${'it&apos;s '.repeat(references - 1)}</text></failure>`;
      expect(parseXmppSaslElement(text(256), 'server')).to.deep.include({ kind: 'failure', lang: '<' });
      expect(limitOf(() => parseXmppSaslElement(text(257), 'server'))).to.equal('maxReferences');
      expect(limitOf(() => parseXmppSaslElement(text(3), 'server', { maxReferences: 2 }))).to.equal('maxReferences');
      expect(
        limitOf(() =>
          parseXmppSaslElement(`<auth xmlns='${NS}' mechanism='PLAIN'>${'&#65;'.repeat(300)}</auth>`, 'client'),
        ),
      ).to.equal('maxReferences');
    });

    describe('cost: at the default caps, no element costs over 3x a plain <auth> of its size, or of 10 KB when smaller (parser work counted by xmlWork, not timed)', () => {
      const open = `<auth xmlns='${NS}' mechanism='PLAIN'>`;
      /** A plain <auth> of `length` characters: the root, base64 and the end tag. */
      const plain = (length: number): string =>
        `${open}${'QUFB'.repeat(Math.floor((length - open.length - 7) / 4))}</auth>`;
      const decls = (n: number, from = 0): string =>
        Array.from({ length: n }, (_, i) => ` xmlns:p${i + from}='urn:p'`).join('');
      const attrs = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i}=''`).join('');
      /** `body` repeated inside an <auth> until the element is about `size` characters, then base64 to the size. */
      const filled = (size: number, body: string): string => {
        const repeated = body.repeat(Math.floor((size - open.length - 7) / body.length));
        return `${open}${repeated}${'QUFB'.repeat(Math.floor((size - open.length - 7 - repeated.length) / 4))}</auth>`;
      };
      // The densest markup of each kind, as much of it as fits; past a cap the parser stops at once.
      const shapes = (size: number): [string, 'client' | 'server', string][] => [
        ['children with 32 attributes each', 'client', filled(size, `<c${attrs(32)}/>`)],
        ['children with 16 namespace declarations each', 'client', filled(size, `<c${decls(16)}/>`)],
        [
          'children with attribute values full of references',
          'client',
          filled(size, `<c${attrs(8).replace(/''/g, "'&#65;&lt;&apos;'")}/>`),
        ],
        ['&lt; in text', 'client', filled(size, '&lt;')],
        ['a&amp; in text', 'client', filled(size, 'a&amp;')],
        [
          '&#65; in an attribute value',
          'client',
          `<auth xmlns='${NS}' mechanism='PLAIN' x='${'&#65;'.repeat(Math.floor((size - 60) / 5))}'/>`,
        ],
        ['children with end tags', 'client', filled(size, '<c></c>')],
        ['children between text', 'client', filled(size, 'a<c/>')],
        [
          'prefixed elements under 4 levels of 16 declarations',
          'client',
          filled(
            size,
            `<q${decls(16)}><q${decls(16, 16)}><q${decls(16, 32)}><q${decls(14, 48)}>${'<p0:c/>'.repeat(60)}</q></q></q></q>`,
          ),
        ],
        [
          'failure text of references',
          'server',
          `<failure xmlns='${NS}'><not-authorized/><text xml:lang='en'>${'it&apos;s '.repeat(Math.floor((size - 100) / 10))}</text></failure>`,
        ],
        [
          'everything at once: elements, prefixes, declarations, text and references',
          'client',
          filled(
            size,
            `<q${decls(15, 1)}><q${decls(15, 16)}><q${decls(15, 31)}>${'<p0:c>&lt;&#x1F600;a&amp;&apos;</p0:c>'.repeat(60)}</q></q></q>`,
          ).replace(`<auth xmlns='${NS}'`, `<auth xmlns='${NS}' xmlns:p0='urn:p'`),
        ],
        ['white space in a start tag', 'client', `<auth xmlns='${NS}' mechanism='PLAIN'${' '.repeat(size - 60)}/>`],
      ];

      /** The parser work for one element, whatever its outcome. */
      function workOf(xml: string, from: 'client' | 'server'): number {
        const before = xmlWork.units;
        try {
          parseXmppSaslElement(xml, from);
        } catch (error) {
          expect(isSaslError(error), String(error)).to.equal(true);
        }
        return xmlWork.units - before;
      }

      for (const [name] of shapes(30000)) {
        it(name, () => {
          for (const size of [2000, 5000, 10000, 20000, 30000]) {
            const [, from, xml] = shapes(size).find(([other]) => other === name) as [
              string,
              'client' | 'server',
              string,
            ];
            expect(xml.length).to.be.within(size - 100, size + 100);
            const work = workOf(xml, from);
            // Smaller elements are held to what a plain one of 10 KB costs.
            const baseline = workOf(plain(Math.max(xml.length, 10000)), 'client');
            expect(
              work,
              `${work} units against ${baseline} for a plain <auth> of ${Math.max(xml.length, 10000)} characters`,
            ).to.be.at.most(3 * baseline);
          }
        });
      }

      it('the plain <auth> itself costs one unit a character, and a real <mechanisms> feature well under 3x', () => {
        const xml = plain(30000);
        // Its start and end tag, two attributes (one a declaration) and one text node: 128 units.
        expect(workOf(xml, 'client')).to.be.within(xml.length, xml.length + 200);
        const mechanisms = `<mechanisms xmlns='${NS}'>${['SCRAM-SHA-512-PLUS', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'EXTERNAL'].map((m) => `<mechanism>${m}</mechanism>`).join('')}</mechanisms>`;
        expect(workOf(mechanisms, 'server')).to.be.at.most(3 * workOf(plain(mechanisms.length), 'client'));
      });
    });

    it('xmppServerAuth answers a namespace flood with <malformed-request/> and LIMIT_EXCEEDED', async () => {
      const { run, written } = server(feed(namespaceFlood()));
      const error = await expectSaslRejection(run, 'LIMIT_EXCEEDED');
      expect(error.party).to.equal('client');
      expect(parsedCondition(written[0])).to.equal('malformed-request');
    });
  });

  describe('error mapping', () => {
    it('maps saslkit error codes to failure conditions', () => {
      const cases: [string, XmppFailureCondition][] = [
        ['AUTHENTICATION_FAILED', 'not-authorized'],
        ['AUTHORIZATION_FAILED', 'invalid-authzid'],
        ['MECHANISM_UNAVAILABLE', 'invalid-mechanism'],
        ['ABORTED', 'aborted'],
        ['MALFORMED_MESSAGE', 'malformed-request'],
        ['UNEXPECTED_MESSAGE', 'malformed-request'],
        ['LIMIT_EXCEEDED', 'malformed-request'],
        ['USAGE', 'temporary-auth-failure'],
      ];
      for (const [code, condition] of cases) {
        const error = Object.assign(new Error('x'), { code });
        Object.defineProperty(error, Symbol.for('saslkit.SaslError'), { value: true });
        expect(xmppFailureCondition(error), code).to.equal(condition);
      }
      expect(xmppFailureCondition(new Error('database down'))).to.equal('temporary-auth-failure');
    });

    it('maps failure conditions to saslkit errors on the client', () => {
      expect(xmppFailureError('not-authorized')).to.include({
        code: 'AUTHENTICATION_FAILED',
        party: 'server',
        serverError: 'not-authorized',
      });
      expect(xmppFailureError('account-disabled')).to.include({
        code: 'AUTHENTICATION_FAILED',
        serverError: 'account-disabled',
      });
      expect(xmppFailureError('temporary-auth-failure').code).to.equal('AUTHENTICATION_FAILED');
      expect(xmppFailureError('invalid-authzid').code).to.equal('AUTHORIZATION_FAILED');
      expect(xmppFailureError('invalid-mechanism').code).to.equal('MECHANISM_UNAVAILABLE');
      expect(xmppFailureError('mechanism-too-weak').code).to.equal('MECHANISM_UNAVAILABLE');
      expect(xmppFailureError('aborted').code).to.equal('ABORTED');
      expect(xmppFailureError('incorrect-encoding')).to.include({ code: 'MALFORMED_MESSAGE', party: 'local' });
    });
  });

  describe('server', () => {
    it('sends an empty challenge when <auth> has no initial response', async () => {
      const { run, written } = server(feed(buildXmppAuth('PLAIN'), buildXmppResponse(b('\0alice\0alice-pass'))));
      expect(await run).to.include({ mechanism: 'PLAIN', authcid: 'alice', authzid: 'alice' });
      expect(written).to.deep.equal([`<challenge xmlns='${NS}'/>`, `<success xmlns='${NS}'/>`]);
    });

    const failures: [string, string[], XmppFailureCondition, string][] = [
      ['wrong password', [buildXmppAuth('PLAIN', b('\0alice\0nope'))], 'not-authorized', 'AUTHENTICATION_FAILED'],
      ['unknown user', [buildXmppAuth('PLAIN', b('\0mallory\0nope'))], 'not-authorized', 'AUTHENTICATION_FAILED'],
      [
        'foreign authzid',
        [buildXmppAuth('PLAIN', b('bob\0alice\0alice-pass'))],
        'invalid-authzid',
        'AUTHORIZATION_FAILED',
      ],
      ['unknown mechanism', [buildXmppAuth('CRAM-MD5')], 'invalid-mechanism', 'MECHANISM_UNAVAILABLE'],
      ['malformed PLAIN message', [buildXmppAuth('PLAIN', b('alice'))], 'malformed-request', 'MALFORMED_MESSAGE'],
      ['empty initial response', [buildXmppAuth('PLAIN', new Uint8Array(0))], 'malformed-request', 'MALFORMED_MESSAGE'],
      [
        'bad base64 in <auth>',
        [`<auth xmlns='${NS}' mechanism='PLAIN'>AG=x</auth>`],
        'incorrect-encoding',
        'MALFORMED_MESSAGE',
      ],
      [
        'bad base64 in <response>',
        [buildXmppAuth('PLAIN'), `<response xmlns='${NS}'>A</response>`],
        'incorrect-encoding',
        'MALFORMED_MESSAGE',
      ],
      ['malformed XML', [`<auth xmlns='${NS}' mechanism='PLAIN'`], 'malformed-request', 'MALFORMED_MESSAGE'],
      ['a stanza instead of <auth>', [`<iq xmlns='jabber:client'/>`], 'malformed-request', 'UNEXPECTED_MESSAGE'],
      ['<response> instead of <auth>', [buildXmppResponse(b('x'))], 'malformed-request', 'UNEXPECTED_MESSAGE'],
      [
        'a second <auth> instead of <response>',
        [buildXmppAuth('PLAIN'), buildXmppAuth('PLAIN')],
        'malformed-request',
        'UNEXPECTED_MESSAGE',
      ],
      ['<abort/> instead of <auth>', [buildXmppAbort()], 'aborted', 'ABORTED'],
      ['<abort/> instead of <response>', [buildXmppAuth('PLAIN'), buildXmppAbort()], 'aborted', 'ABORTED'],
      [
        'an oversized <response>',
        [buildXmppAuth('PLAIN'), `<response xmlns='${NS}'>${'A'.repeat(40000)}</response>`],
        'malformed-request',
        'LIMIT_EXCEEDED',
      ],
    ];
    for (const [name, elements, condition, code] of failures) {
      it(`answers ${name} with <${condition}/> and rejects with ${code}`, async () => {
        const { run, written } = server(feed(...elements));
        const error = await expectSaslRejection(run, code as 'USAGE');
        expect(parsedCondition(written[written.length - 1])).to.equal(condition);
        expectNoSecrets(error, ['alice-pass', 'nope']);
        expectNoSecrets(written, ['alice-pass']);
      });
    }

    it('answers a throwing credential store with <temporary-auth-failure/> and rethrows its error', async () => {
      const boom = new Error('database down');
      const { run, written } = server(feed(buildXmppAuth('PLAIN', b('\0alice\0alice-pass'))), {
        lookup: () => Promise.reject(boom),
      });
      try {
        await run;
        expect.fail('resolved');
      } catch (error) {
        expect(error).to.equal(boom);
      }
      expect(written.map(parsedCondition)).to.deep.equal(['temporary-auth-failure']);
      // Even with failureText, a store's own message is not sent.
      const texts: string[] = [];
      await xmppServerAuth({
        auth: SASLAuth.defaults(),
        options: { lookup: () => Promise.reject(boom) },
        elements: feed(buildXmppAuth('PLAIN', b('\0alice\0alice-pass'))),
        write: (e) => {
          texts.push(e);
        },
        failureText: true,
      }).catch(() => undefined);
      expect(texts).to.deep.equal([`<failure xmlns='${NS}'><temporary-auth-failure/></failure>`]);
    });

    it('rejects with ABORTED and writes nothing when the stream ends', async () => {
      const { run, written } = server(feed(buildXmppAuth('PLAIN')));
      const error = await expectSaslRejection(run, 'ABORTED');
      expect(error.party).to.equal('client');
      expect(written).to.deep.equal([`<challenge xmlns='${NS}'/>`]);
    });

    it('can be called again on the same element iterator to allow a retry', async () => {
      const elements = feed(
        buildXmppAuth('PLAIN', b('\0alice\0nope')),
        buildXmppAuth('PLAIN', b('\0alice\0alice-pass')),
      );
      const first = server(elements);
      await expectSaslRejection(first.run, 'AUTHENTICATION_FAILED');
      const second = server(elements);
      expect((await second.run).authcid).to.equal('alice');
      expect(second.written).to.deep.equal([`<success xmlns='${NS}'/>`]);
    });

    it('adds the error message as <text> only when asked, never a secret', async () => {
      const written: string[] = [];
      await expectSaslRejection(
        xmppServerAuth({
          auth: SASLAuth.defaults(),
          options: { lookup: asyncStoreOf(ALICE) },
          elements: feed(buildXmppAuth('PLAIN', b('\0alice\0nope'))),
          write: (e) => {
            written.push(e);
          },
          failureText: true,
        }),
        'AUTHENTICATION_FAILED',
      );
      const failure = parseXmppSaslElement(written[0]!, 'server');
      expect(failure.kind === 'failure' && failure.text).to.equal('authentication failed');
      expectNoSecrets(written, ['nope', 'alice-pass']);
    });
  });

  describe('client', () => {
    const credentials = new ClientCredentials('alice', 'alice-pass');

    it('refuses when nothing offered is usable, without writing', async () => {
      const written: string[] = [];
      await expectSaslRejection(
        xmppClientAuth({
          auth: SASLAuth.defaults(),
          credentials,
          mechanisms: buildXmppMechanisms(['GSSAPI']),
          elements: feed(),
          write: (e) => {
            written.push(e);
          },
        }),
        'MECHANISM_UNAVAILABLE',
      );
      expect(written).to.deep.equal([]);
    });

    const outcomes: [string, string[], string][] = [
      ['a not-authorized failure', [buildXmppFailure('not-authorized', 'Bad credentials')], 'AUTHENTICATION_FAILED'],
      ['an invalid-authzid failure', [buildXmppFailure('invalid-authzid')], 'AUTHORIZATION_FAILED'],
      ['an aborted failure', [buildXmppFailure('aborted')], 'ABORTED'],
      ['the stream ending', [], 'ABORTED'],
      ['a malformed element', [`<success xmlns='${NS}'>`], 'MALFORMED_MESSAGE'],
      ['a client element', [buildXmppAbort()], 'UNEXPECTED_MESSAGE'],
      ['a second <mechanisms>', [buildXmppMechanisms(['PLAIN'])], 'UNEXPECTED_MESSAGE'],
      ['success with data for PLAIN', [buildXmppSuccess(b('surprise'))], 'UNEXPECTED_MESSAGE'],
    ];
    for (const [name, elements, code] of outcomes) {
      it(`rejects ${name} with ${code}`, async () => {
        const written: string[] = [];
        const error = await expectSaslRejection(
          xmppClientAuth({
            auth: SASLAuth.defaults(),
            credentials,
            mechanisms: ['PLAIN'],
            elements: feed(...elements),
            write: (e) => {
              written.push(e);
            },
          }),
          code as 'USAGE',
        );
        expect(written).to.deep.equal([buildXmppAuth('PLAIN', b('\0alice\0alice-pass'))]);
        expectNoSecrets(error, ['alice-pass', 'Bad credentials']);
      });
    }

    it('rejects a <success> whose SCRAM signature is wrong with SERVER_NOT_VERIFIED', async () => {
      const lines = vector('xmpp-derived-scram-sha-1').expected['lines'] as string[];
      const written: string[] = [];
      const elements = feed(lines[2]!.slice(3), buildXmppSuccess(b('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')));
      const error = await expectSaslRejection(
        xmppClientAuth({
          auth: SASLAuth.named(['SCRAM-SHA-1']),
          credentials: new ClientCredentials('user', 'pencil'),
          mechanisms: lines[0]!.slice(3),
          elements,
          write: (e) => {
            written.push(e);
          },
          client: { scram: { nonceForTesting: 'fyko+d2lbbFgONRv9qkxdawL' } },
        }),
        'SERVER_NOT_VERIFIED',
      );
      expect(written).to.deep.equal([lines[1]!.slice(3), lines[3]!.slice(3)]);
      expectNoSecrets(error, ['pencil']);
    });

    it('aborts when its mechanism refuses a challenge, and consumes the server failure', async () => {
      const written: string[] = [];
      const elements = feed(buildXmppChallenge(b('unexpected')), buildXmppFailure('aborted'), 'next');
      await expectSaslRejection(
        xmppClientAuth({
          auth: SASLAuth.defaults(),
          credentials,
          mechanisms: ['PLAIN'],
          elements,
          write: (e) => {
            written.push(e);
          },
        }),
        'UNEXPECTED_MESSAGE',
      );
      expect(written).to.deep.equal([buildXmppAuth('PLAIN', b('\0alice\0alice-pass')), buildXmppAbort()]);
      expect((await elements.next()).value).to.equal('next');
    });

    it('cancels its mechanism when the stream ends mid-exchange', async () => {
      const tracked = probedClient(PLAIN);
      await expectSaslRejection(
        xmppClientAuth({
          auth: new SASLAuth([tracked.mechanism]),
          credentials,
          mechanisms: ['PLAIN'],
          elements: feed(),
          write: () => undefined,
        }),
        'ABORTED',
      );
      expect(tracked.probe.ran).to.equal(true);
    });

    it('resolves on <success/> after its initial response', async () => {
      const written: string[] = [];
      const result = await xmppClientAuth({
        auth: new SASLAuth([PLAIN]),
        credentials,
        mechanisms: ['PLAIN'],
        elements: feed(buildXmppSuccess()),
        write: (e) => {
          written.push(e);
        },
      });
      expect(result).to.deep.equal({ mechanism: 'PLAIN', serverVerified: false });
    });
  });

  describe('element splitter', () => {
    async function collect(chunks: (string | Uint8Array)[], maxElementBytes?: number): Promise<string[]> {
      const out: string[] = [];
      for await (const element of xmppElements(
        feedAny(chunks),
        maxElementBytes === undefined ? {} : { maxElementBytes },
      ))
        out.push(element);
      return out;
    }
    function feedAny(chunks: (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
      return (async function* () {
        for (const chunk of chunks) yield await Promise.resolve(chunk);
      })();
    }

    it('splits elements across and within chunks, skipping white space between them', async () => {
      const a = buildXmppAuth('PLAIN', b('\0alice\0alice-pass'));
      const f = `<failure xmlns='${NS}'><aborted/><text xml:lang="en">a > b '</text></failure>`;
      const all = `${a}\n ${f}<abort xmlns='${NS}'/>`;
      const bytes = Buffer.from(all);
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
      expect(await collect(pieces)).to.deep.equal([a, f, `<abort xmlns='${NS}'/>`]);
      expect(await collect([all])).to.deep.equal([a, f, `<abort xmlns='${NS}'/>`]);
    });

    it('reassembles multi-byte characters split between chunks', async () => {
      const f = buildXmppFailure('not-authorized', '\u263A\u{1F600}');
      const bytes = Buffer.from(f);
      const cut = bytes.indexOf(0xe2) + 1;
      expect(await collect([bytes.subarray(0, cut), bytes.subarray(cut)])).to.deep.equal([f]);
    });

    it('refuses text between elements, comments, invalid UTF-8, oversized elements and a truncated stream', async () => {
      await expectSaslRejection(collect(['hello']), 'MALFORMED_MESSAGE');
      await expectSaslRejection(collect([`<!-- x --><abort xmlns='${NS}'/>`]), 'MALFORMED_MESSAGE');
      await expectSaslRejection(collect([Uint8Array.of(0x3c, 0xff, 0x3e)]), 'MALFORMED_MESSAGE');
      await expectSaslRejection(collect([`<response xmlns='${NS}'>`, 'A'.repeat(100)], 64), 'LIMIT_EXCEEDED');
      await expectSaslRejection(collect([`<response xmlns='${NS}'>AAAA`]), 'ABORTED');
      await expectSaslRejection(collect([`<a>${'<b>'.repeat(9)}`]), 'MALFORMED_MESSAGE');
      await expectSaslRejection(collect([`</abort>`]), 'MALFORMED_MESSAGE');
    });
  });

  describe('client against server over 127.0.0.1', () => {
    async function exchange(
      serverAuth: SASLAuth,
      clientAuth: SASLAuth,
      credentials: ClientCredentials,
      options: ServerOptions,
      clientOptions: ClientOptions = {},
    ): Promise<{
      server: PromiseSettledResult<Authenticated>;
      client: PromiseSettledResult<XmppClientResult>;
      log: string[];
    }> {
      const log: string[] = [];
      const { client: clientSocket, server: serverSocket } = await sockets.pair();

      const serverSide = (async () => {
        serverSocket.write(buildXmppMechanisms(serverAuth.serverMechanisms.map((m) => m.name)));
        return xmppServerAuth({
          auth: serverAuth,
          options,
          elements: xmppElements(serverSocket),
          write: (e) => {
            log.push(`S: ${e}`);
            serverSocket.write(e);
          },
        });
      })();
      const clientSide = (async () => {
        const elements = xmppElements(clientSocket);
        const features = await elements.next();
        if (features.done === true) throw new Error('no features');
        log.push(`S: ${features.value}`);
        return xmppClientAuth({
          auth: clientAuth,
          credentials,
          mechanisms: features.value,
          elements,
          write: (e) => {
            log.push(`C: ${e}`);
            clientSocket.write(e);
          },
          client: clientOptions,
        });
      })();
      const [server, client] = await Promise.allSettled([serverSide, clientSide]);
      return { server, client, log };
    }

    it('authenticates with PLAIN, the client choosing from the advertised mechanisms', async () => {
      const result = await exchange(
        SASLAuth.defaults(),
        SASLAuth.defaults(),
        new ClientCredentials('alice', 'alice-pass'),
        { lookup: asyncStoreOf(ALICE) },
      );
      expect(result.server.status === 'fulfilled' && result.server.value).to.include({
        mechanism: 'PLAIN',
        authcid: 'alice',
      });
      expect(result.client.status === 'fulfilled' && result.client.value).to.deep.equal({
        mechanism: 'PLAIN',
        serverVerified: false,
      });
      expect(result.log).to.deep.equal([
        `S: <mechanisms xmlns='${NS}'><mechanism>PLAIN</mechanism><mechanism>LOGIN</mechanism></mechanisms>`,
        `C: <auth xmlns='${NS}' mechanism='PLAIN'>${b64('\0alice\0alice-pass')}</auth>`,
        `S: <success xmlns='${NS}'/>`,
      ]);
    });

    it('replays xmpp-derived-scram-sha-1 byte for byte with the RFC 5802 nonces, the signature travelling in <success>', async () => {
      const user = ScramIdentity.create('user', 'pencil', {
        hashes: ['SHA-1'],
        salt: Buffer.from('QSXCR+Q6sek8bf92', 'base64'),
        iterations: 4096,
      });
      const auth = SASLAuth.named(['SCRAM-SHA-1', 'PLAIN']);
      const result = await exchange(
        auth,
        auth,
        new ClientCredentials('user', 'pencil'),
        { lookup: asyncStoreOf(user), scram: { nonceForTesting: '3rfcNHYJY1ZVvWVs7j' } },
        { scram: { nonceForTesting: 'fyko+d2lbbFgONRv9qkxdawL' } },
      );
      expect(result.server.status === 'fulfilled' && result.server.value).to.include({
        mechanism: 'SCRAM-SHA-1',
        authcid: 'user',
      });
      expect(result.client.status === 'fulfilled' && result.client.value).to.deep.equal({
        mechanism: 'SCRAM-SHA-1',
        serverVerified: true,
      });
      const lines = (vector('xmpp-derived-scram-sha-1').expected['lines'] as string[]).filter(
        (line) => !line.startsWith('#'),
      );
      expect(result.log).to.deep.equal(lines);
    });

    it('authenticates with SCRAM-SHA-256, the client verifying the server', async () => {
      const result = await exchange(
        SASLAuth.named(['SCRAM-SHA-256', 'PLAIN']),
        SASLAuth.all(),
        new ClientCredentials('alice', 'alice-pass'),
        { lookup: asyncStoreOf(ALICE) },
      );
      expect(result.server.status === 'fulfilled' && result.server.value.mechanism).to.equal('SCRAM-SHA-256');
      expect(result.client.status === 'fulfilled' && result.client.value).to.deep.equal({
        mechanism: 'SCRAM-SHA-256',
        serverVerified: true,
      });
      expect(result.log.map((line) => /^[CS]: <(\w+)/.exec(line)?.[1])).to.deep.equal([
        'mechanisms',
        'auth',
        'challenge',
        'response',
        'success',
      ]);
    });

    it('refuses a SCRAM-SHA-256 wrong password on both sides', async () => {
      const result = await exchange(
        SASLAuth.named(['SCRAM-SHA-256']),
        SASLAuth.all(),
        new ClientCredentials('alice', 'wrong'),
        { lookup: asyncStoreOf(ALICE) },
      );
      expect(result.server.status === 'rejected' && (result.server.reason as { code: string }).code).to.equal(
        'AUTHENTICATION_FAILED',
      );
      expect(result.client.status === 'rejected' && (result.client.reason as { code: string }).code).to.equal(
        'AUTHENTICATION_FAILED',
      );
      expect(result.log[result.log.length - 1]).to.equal(`S: <failure xmlns='${NS}'><not-authorized/></failure>`);
    });

    it('reports a wrong password on both sides', async () => {
      const result = await exchange(SASLAuth.defaults(), SASLAuth.defaults(), new ClientCredentials('alice', 'wrong'), {
        lookup: asyncStoreOf(ALICE),
      });
      expect(result.server.status === 'rejected' && (result.server.reason as { code: string }).code).to.equal(
        'AUTHENTICATION_FAILED',
      );
      expect(result.client.status === 'rejected' && (result.client.reason as { code: string }).code).to.equal(
        'AUTHENTICATION_FAILED',
      );
      expect(result.log[2]).to.equal(`S: <failure xmlns='${NS}'><not-authorized/></failure>`);
    });
  });

  describe('the limits signal ends a wait for the peer', () => {
    /** The server under `signal`, its client silent after `<auth>` for PLAIN. */
    const silentClient =
      (out: { write: (element: string) => void }) =>
      (signal: AbortSignal): Promise<Authenticated> =>
        xmppServerAuth({
          auth: SASLAuth.defaults(),
          options: { lookup: asyncStoreOf(ALICE) },
          elements: silentAfter(buildXmppAuth('PLAIN')),
          write: out.write,
          session: { signal },
        });

    it('server: a client silent after the challenge gets <temporary-auth-failure/> and TIMEOUT, blamed on it', async () => {
      const out = recorder<string>();
      const error = await abortWhenWaiting(out, 1, silentClient(out), timeoutReason(), 'TIMEOUT');
      expect(error).to.include({ party: 'client', mechanism: 'PLAIN' });
      expect(out.written.map(parsedCondition)).to.deep.equal([undefined, 'temporary-auth-failure']);
    });

    it('server: a client that never sends <auth> ends with TIMEOUT under AbortSignal.timeout', async () => {
      const out = recorder<string>();
      const error = await expectSaslRejection(
        xmppServerAuth({
          auth: SASLAuth.defaults(),
          options: { lookup: asyncStoreOf(ALICE) },
          elements: silentAfter(),
          write: out.write,
          session: { signal: AbortSignal.timeout(20) },
        }),
        'TIMEOUT',
      );
      expect(error.party).to.equal('client');
      expect(out.written.map(parsedCondition)).to.deep.equal(['temporary-auth-failure']);
    });

    it('server: an abort for another reason ends with ABORTED and <aborted/>', async () => {
      const out = recorder<string>();
      expect((await abortWhenWaiting(out, 1, silentClient(out), undefined, 'ABORTED')).party).to.equal('client');
      expect(parsedCondition(out.written[1])).to.equal('aborted');
    });

    it('client: a server silent after <auth> ends with TIMEOUT blamed on it, and the mechanism is cancelled', async () => {
      const tracked = probedClient(PLAIN);
      const out = recorder<string>();
      const error = await abortWhenWaiting(
        out,
        1,
        (signal) =>
          xmppClientAuth({
            auth: new SASLAuth([tracked.mechanism]),
            credentials: new ClientCredentials('alice', 'alice-pass'),
            mechanisms: ['PLAIN'],
            elements: silentAfter(),
            write: out.write,
            session: { signal },
          }),
        timeoutReason(),
        'TIMEOUT',
      );
      expect(error).to.include({ party: 'server', mechanism: 'PLAIN' });
      expect(tracked.probe.ran).to.equal(true);
      expectNoSecrets(error, ['alice-pass']);
    });

    it('client over 127.0.0.1: a server that never answers ends with TIMEOUT under AbortSignal.timeout', async () => {
      const { port } = await sockets.listen((socket) => once(socket, 'close'));
      const socket = await sockets.connect(port);
      const run = xmppClientAuth({
        auth: SASLAuth.named(['SCRAM-SHA-256']),
        credentials: new ClientCredentials('alice', 'alice-pass'),
        mechanisms: ['SCRAM-SHA-256'],
        elements: xmppElements(socket),
        write: (element) => {
          socket.write(element);
        },
        session: { signal: AbortSignal.timeout(50) },
      });
      expect(await expectSaslRejection(run, 'TIMEOUT')).to.include({ party: 'server', mechanism: 'SCRAM-SHA-256' });
    });
  });
});
