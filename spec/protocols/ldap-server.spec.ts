import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  type ServerOptions,
  isSaslError,
  staticChannelBinding,
} from '../../lib/index.js';
import { ldapClientAuth, ldapWhoAmI, openLdapChannelBinding } from '../../lib/protocols/ldap-client.js';
import {
  type LdapMessage,
  type LdapProtocolOp,
  encodeLdapMessage,
  parseLdapMessage,
} from '../../lib/protocols/ldap-messages.js';
import { LdapServerConnection, ldapResultFor, ldapServerAuth } from '../../lib/protocols/ldap-server.js';
import { encodeBer, encodeBerConstructed, encodeBerInteger } from '../../lib/transport/ber.js';

const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text));

/** One direction of an in-memory connection: bytes pushed at one end are read at the other. */
class Pipe implements AsyncIterator<Uint8Array> {
  readonly #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(data: Uint8Array): void {
    this.#queue.push(data);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) return { done: false, value: chunk };
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

const accounts = new Map([['alice', new ClearIdentity('alice', 'alice-pass')]]);
const lookup = (authcid: string) => accounts.get(authcid);
const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'DIGEST-MD5', 'PLAIN', 'EXTERNAL']);

/** A server connection fed scripted client messages; `responses()` parses what it wrote. */
function scriptedServer(
  requests: (LdapMessage | Uint8Array)[],
  extra: Partial<ConstructorParameters<typeof LdapServerConnection>[0]> = {},
) {
  const written: Uint8Array[] = [];
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const r of requests) yield await Promise.resolve(r instanceof Uint8Array ? r : encodeLdapMessage(r));
  }
  const connection = new LdapServerConnection({
    auth,
    options: { lookup },
    messages: source(),
    write: (d) => void written.push(d),
    ...extra,
  });
  return { connection, responses: (): LdapMessage[] => written.map((d) => parseLdapMessage(d)) };
}

async function codeOf(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return error.code;
  }
  return 'resolved';
}

const bind = (messageId: number, mechanism: string, credentials?: string): LdapMessage => ({
  messageId,
  op: {
    type: 'bindRequest',
    version: 3,
    name: '',
    authentication: { sasl: { mechanism, credentials: credentials === undefined ? undefined : bytes(credentials) } },
  },
});
const rootDse = (messageId: number, attributes: string[]): LdapMessage => ({
  messageId,
  op: {
    type: 'searchRequest',
    baseObject: '',
    scope: 0,
    derefAliases: 0,
    sizeLimit: 0,
    timeLimit: 0,
    typesOnly: false,
    filter: { present: 'objectClass' },
    attributes,
  },
});
const extended = (messageId: number, requestName: string): LdapMessage => ({
  messageId,
  op: { type: 'extendedRequest', requestName },
});
const codes = (messages: LdapMessage[]): [number, string, number | undefined][] =>
  messages.map(({ messageId, op }) => [messageId, op.type, 'result' in op ? op.result.resultCode : undefined]);

/** A client and a server joined by two pipes. */
function pair(options: ServerOptions = { lookup }) {
  const toServer = new Pipe();
  const toClient = new Pipe();
  const connection = new LdapServerConnection({
    auth,
    options,
    messages: toServer,
    write: (d) => {
      toClient.push(d);
    },
  });
  const write = (d: Uint8Array): void => {
    toServer.push(d);
  };
  const close = (): void => {
    toServer.end();
  };
  return { connection, client: { messages: toClient, write }, close };
}

describe('protocols/ldap-server', () => {
  describe('with a saslkit client', () => {
    it('SCRAM-SHA-256: saslBindInProgress, then success carrying server-final, verified by the client; Who am I? after', async () => {
      const { connection, client, close } = pair();
      const serving = connection.serve();
      const bound = await ldapClientAuth({
        ...client,
        credentials: new ClientCredentials('alice', 'alice-pass'),
        mechanism: 'SCRAM-SHA-256',
      });
      expect(bound).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true, roundTrips: 2 });
      expect(await ldapWhoAmI(bound.requester)).to.equal('u:alice');
      expect(connection.bound?.authcid).to.equal('alice');
      close();
      await serving;
    });

    for (const style of ['openldap', 'rfc5802'] as const) {
      it(`SCRAM-SHA-256-PLUS with ${style} channel binding`, async () => {
        const source = staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(9, 8, 7) });
        const { connection, client, close } = pair({ lookup, channelBindingData: source });
        const serving = connection.serve();
        const channelBindingData = style === 'openldap' ? openLdapChannelBinding(source) : source;
        const bound = await ldapClientAuth({
          ...client,
          credentials: new ClientCredentials('alice', 'alice-pass'),
          mechanism: 'SCRAM-SHA-256-PLUS',
          client: { channelBindingData },
        });
        expect(bound.serverVerified).to.equal(true);
        close();
        await serving;
      });
    }

    it('-PLUS with other binding data fails on both sides', async () => {
      const { connection, client, close } = pair({
        lookup,
        channelBindingData: staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(1) }),
      });
      const serving = connection.authenticate();
      const clientSide = ldapClientAuth({
        ...client,
        credentials: new ClientCredentials('alice', 'alice-pass'),
        mechanism: 'SCRAM-SHA-256-PLUS',
        client: { channelBindingData: staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(2) }) },
      });
      expect(await codeOf(clientSide)).to.equal('AUTHENTICATION_FAILED');
      expect(await codeOf(serving)).to.equal('AUTHENTICATION_FAILED');
      close();
    });

    it('a wrong password: invalidCredentials (49) and AUTHENTICATION_FAILED on both sides; serve goes on', async () => {
      const { connection, client, close } = pair();
      const failures: string[] = [];
      const serving = connection.serve();
      for (const mechanism of ['SCRAM-SHA-256', 'PLAIN', 'DIGEST-MD5']) {
        const attempt = ldapClientAuth({
          ...client,
          credentials: new ClientCredentials('alice', 'wrong'),
          mechanism,
          client: { host: 'localhost' },
        });
        failures.push(await codeOf(attempt));
      }
      expect(failures).to.deep.equal(['AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILED']);
      close();
      await serving;
    });
  });

  describe('with a scripted client', () => {
    it('answers the rootDSE: mechanisms without -PLUS (no binding) and without EXTERNAL (no identity)', async () => {
      const { connection, responses } = scriptedServer([rootDse(1, ['supportedSASLMechanisms', 'supportedExtension'])]);
      expect(await codeOf(connection.authenticate())).to.equal('ABORTED');
      const [entry, done] = responses();
      expect(entry?.op.type).to.equal('searchResultEntry');
      const attributes = (entry?.op as Extract<LdapProtocolOp, { type: 'searchResultEntry' }>).attributes.map((a) => [
        a.type,
        a.values.map((v) => Buffer.from(v).toString()),
      ]);
      expect(attributes).to.deep.equal([
        ['supportedSASLMechanisms', ['SCRAM-SHA-256', 'DIGEST-MD5', 'PLAIN']],
        ['supportedExtension', ['1.3.6.1.4.1.4203.1.11.3']],
      ]);
      expect(codes([done as LdapMessage])).to.deep.equal([[1, 'searchResultDone', 0]]);
    });

    it('offers -PLUS with binding data and EXTERNAL with an external identity, StartTLS when the host can start it', () => {
      const { connection } = scriptedServer([], {
        options: {
          lookup,
          channelBindingData: staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(1) }),
          externalIdentity: 'alice',
        },
      });
      expect(connection.mechanisms).to.deep.equal([
        'SCRAM-SHA-256-PLUS',
        'SCRAM-SHA-256',
        'DIGEST-MD5',
        'PLAIN',
        'EXTERNAL',
      ]);
    });

    it('holds PLAIN back while StartTLS is available and not started, unless allowPlaintext', () => {
      const startTls = () => Promise.reject(new Error('not called'));
      expect(scriptedServer([], { startTls }).connection.mechanisms).to.deep.equal(['SCRAM-SHA-256', 'DIGEST-MD5']);
      expect(scriptedServer([], { startTls, allowPlaintext: true }).connection.mechanisms).to.include('PLAIN');
      expect(scriptedServer([], { startTls, tls: true }).connection.mechanisms).to.include('PLAIN');
    });

    it('restarts when the client binds with another mechanism mid-exchange (RFC 4513 5.2.1.2)', async () => {
      const { connection, responses } = scriptedServer([
        bind(1, 'SCRAM-SHA-256', 'n,,n=alice,r=abcdefghijkl'),
        bind(2, 'PLAIN', '\0alice\0alice-pass'),
      ]);
      const who = await connection.authenticate();
      expect(who).to.include({ mechanism: 'PLAIN', authcid: 'alice' });
      expect(codes(responses())).to.deep.equal([
        [1, 'bindResponse', 14],
        [2, 'bindResponse', 0],
      ]);
    });

    it('an empty mechanism aborts the bind: authMethodNotSupported', async () => {
      const { connection, responses } = scriptedServer([
        bind(1, 'SCRAM-SHA-256', 'n,,n=alice,r=abcdefghijkl'),
        bind(2, ''),
      ]);
      expect(await codeOf(connection.authenticate())).to.equal('MECHANISM_UNAVAILABLE');
      expect(codes(responses())).to.deep.equal([
        [1, 'bindResponse', 14],
        [2, 'bindResponse', 7],
      ]);
    });

    it('simple binds: anonymous succeeds, a password is refused, version 2 is a protocolError', async () => {
      const simple = (messageId: number, name: string, password: string, version = 3): LdapMessage => ({
        messageId,
        op: { type: 'bindRequest', version, name, authentication: { simple: bytes(password) } },
      });
      const { connection, responses } = scriptedServer([
        simple(1, '', ''),
        simple(2, 'uid=alice', 'alice-pass'),
        simple(3, 'uid=alice', ''),
        simple(4, '', '', 2),
        extended(5, '1.3.6.1.4.1.4203.1.11.3'),
      ]);
      expect(await codeOf(connection.authenticate())).to.equal('ABORTED');
      const answers = responses();
      expect(codes(answers)).to.deep.equal([
        [1, 'bindResponse', 0],
        [2, 'bindResponse', 7],
        [3, 'bindResponse', 53],
        [4, 'bindResponse', 2],
        [5, 'extendedResponse', 0],
      ]);
      expect((answers[4]?.op as { responseValue?: Uint8Array }).responseValue).to.deep.equal(new Uint8Array(0));
    });

    it('refuses what it does not serve: searches, modify, unknown extended operations', async () => {
      const modify = encodeBerConstructed(0x10, [
        encodeBerInteger(3),
        encodeBerConstructed(0x46, [encodeBer(0x04, bytes('uid=x')), encodeBerConstructed(0x10, [])]),
      ]);
      const { connection, responses } = scriptedServer([
        {
          messageId: 1,
          op: {
            type: 'searchRequest',
            baseObject: 'dc=example',
            scope: 2,
            derefAliases: 0,
            sizeLimit: 0,
            timeLimit: 0,
            typesOnly: false,
            filter: { present: 'uid' },
            attributes: [],
          },
        },
        extended(2, '1.2.3.4'),
        modify,
        { messageId: 4, op: { type: 'abandonRequest', messageId: 1 } },
      ]);
      expect(await codeOf(connection.authenticate())).to.equal('ABORTED');
      expect(codes(responses())).to.deep.equal([
        [1, 'searchResultDone', 53],
        [2, 'extendedResponse', 2],
        [3, 'other', undefined],
      ]);
      expect(Buffer.from(parseLdapMessageTag(responses()[2] as LdapMessage)).toString('hex')).to.equal('67');
    });

    it('StartTLS: refused without a host callback, after a bind, and under TLS', async () => {
      const none = scriptedServer([extended(1, '1.3.6.1.4.1.1466.20037')]);
      await codeOf(none.connection.authenticate());
      const afterBind = scriptedServer(
        [bind(1, 'PLAIN', '\0alice\0alice-pass'), extended(2, '1.3.6.1.4.1.1466.20037')],
        { startTls: () => Promise.reject(new Error('not called')), allowPlaintext: true },
      );
      await afterBind.connection.authenticate();
      await codeOf(afterBind.connection.authenticate());
      const underTls = scriptedServer([extended(1, '1.3.6.1.4.1.1466.20037')], {
        tls: true,
        startTls: () => Promise.reject(new Error('not called')),
      });
      await codeOf(underTls.connection.authenticate());
      expect([
        ...codes(none.responses()),
        ...codes(afterBind.responses()).slice(1),
        ...codes(underTls.responses()),
      ]).to.deep.equal([
        [1, 'extendedResponse', 2],
        [2, 'extendedResponse', 53],
        [1, 'extendedResponse', 1],
      ]);
    });

    it('StartTLS: success, then the host transport and options are used', async () => {
      const written: string[] = [];
      let switched = false;
      async function* tlsSource(): AsyncGenerator<Uint8Array> {
        yield await Promise.resolve(encodeLdapMessage(rootDse(2, ['supportedSASLMechanisms'])));
      }
      const { connection, responses } = scriptedServer([extended(1, '1.3.6.1.4.1.1466.20037')], {
        startTls: () => {
          switched = true;
          return Promise.resolve({
            messages: tlsSource(),
            write: (d: Uint8Array) => void written.push(Buffer.from(d).toString('hex')),
            options: { lookup, channelBindingData: staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(1) }) },
          });
        },
      });
      expect(await codeOf(connection.authenticate())).to.equal('ABORTED');
      expect(switched).to.equal(true);
      expect(connection.tls).to.equal(true);
      expect(codes(responses())).to.deep.equal([[1, 'extendedResponse', 0]]);
      const afterTls = written.map((h) => parseLdapMessage(Buffer.from(h, 'hex')));
      const values = (
        afterTls[0]?.op as Extract<LdapProtocolOp, { type: 'searchResultEntry' }>
      ).attributes[0]?.values.map((v) => Buffer.from(v).toString());
      expect(values).to.include('SCRAM-SHA-256-PLUS');
    });

    it('StartTLS with bytes pipelined behind it in the clear: refused with a Notice of Disconnection', async () => {
      const both = Uint8Array.from([
        ...encodeLdapMessage(extended(1, '1.3.6.1.4.1.1466.20037')),
        ...encodeLdapMessage(bind(2, 'PLAIN', '\0alice\0alice-pass')),
      ]);
      const { connection, responses } = scriptedServer([both], {
        startTls: () => Promise.reject(new Error('not called')),
      });
      expect(await codeOf(connection.authenticate())).to.equal('MALFORMED_MESSAGE');
      expect(codes(responses())).to.deep.equal([[0, 'extendedResponse', 2]]);
    });

    const fatal: [string, Uint8Array | LdapMessage, string][] = [
      ['a malformed message', Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01), 'MALFORMED_MESSAGE'],
      ['a message over the size limit', Uint8Array.of(0x30, 0x84, 0x10, 0, 0, 0), 'LIMIT_EXCEEDED'],
      [
        'a response where a request belongs',
        { messageId: 1, op: { type: 'bindResponse', result: { resultCode: 0, matchedDN: '', diagnosticMessage: '' } } },
        'UNEXPECTED_MESSAGE',
      ],
    ];
    for (const [name, input, code] of fatal) {
      it(`${name}: ${code} after a Notice of Disconnection, and serve rejects`, async () => {
        const { connection, responses } = scriptedServer([input]);
        expect(await codeOf(connection.serve())).to.equal(code);
        const [notice] = responses();
        expect(notice?.messageId).to.equal(0);
        expect((notice?.op as { responseName?: string }).responseName).to.equal('1.3.6.1.4.1.1466.20036');
      });
    }

    it('serve ends quietly on unbind, and gives up after maxFailedBinds', async () => {
      const unbind = scriptedServer([
        bind(1, 'PLAIN', '\0alice\0alice-pass'),
        { messageId: 2, op: { type: 'unbindRequest' } },
      ]);
      const binds: string[] = [];
      await unbind.connection.serve((who) => void binds.push(who.authcid));
      expect(binds).to.deep.equal(['alice']);
      const wrong = scriptedServer(
        [bind(1, 'PLAIN', '\0alice\0x'), bind(2, 'PLAIN', '\0alice\0y'), bind(3, 'PLAIN', '\0alice\0alice-pass')],
        { maxFailedBinds: 2 },
      );
      expect(await codeOf(wrong.connection.serve())).to.equal('AUTHENTICATION_FAILED');
      expect(codes(wrong.responses())).to.deep.equal([
        [1, 'bindResponse', 49],
        [2, 'bindResponse', 49],
      ]);
    });

    it('ldapServerAuth resolves with the identity and the connection', async () => {
      async function* source(): AsyncGenerator<Uint8Array> {
        yield await Promise.resolve(encodeLdapMessage(bind(1, 'PLAIN', '\0alice\0alice-pass')));
      }
      const { authenticated, connection } = await ldapServerAuth({
        auth,
        options: { lookup },
        messages: source(),
        write: () => undefined,
      });
      expect(authenticated.authcid).to.equal('alice');
      expect(connection.bound).to.equal(authenticated);
    });

    it('ldapResultFor maps errors to result codes with fixed texts', () => {
      expect(ldapResultFor(new Error('db down: password=x'))).to.deep.equal({
        resultCode: 80,
        diagnosticMessage: 'authentication could not be completed',
      });
    });
  });
});

/** The identifier octet of a response saslkit keeps by tag only. */
function parseLdapMessageTag(message: LdapMessage): Uint8Array {
  return Uint8Array.of((message.op as { tag: number }).tag);
}
