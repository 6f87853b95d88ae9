import { expect } from 'chai';
import { ClientCredentials, SASLAuth, isSaslError, staticChannelBinding } from '../../lib/index.js';
import {
  LdapResultInfo,
  ldapBindError,
  ldapClientAuth,
  ldapWhoAmI,
  openLdapChannelBinding,
} from '../../lib/protocols/ldap-client.js';
import { type LdapProtocolOp, encodeLdapMessage, parseLdapMessage } from '../../lib/protocols/ldap-messages.js';
import { LdapRequester, ldapSupportedMechanisms } from '../../lib/protocols/ldap-requester.js';

const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text));
const result = (resultCode: number, diagnosticMessage = '') => ({ resultCode, matchedDN: '', diagnosticMessage });

/** A scripted server: its messages, in order, and what the client wrote. */
function scripted(messages: { id: number; op: LdapProtocolOp }[]) {
  const written: LdapProtocolOp[] = [];
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const m of messages) yield await Promise.resolve(encodeLdapMessage({ messageId: m.id, op: m.op }));
  }
  return { messages: source(), write: (data: Uint8Array) => void written.push(parseLdapMessage(data).op), written };
}

async function failure(
  pending: Promise<unknown>,
): Promise<{ code: string; message: string; serverError?: string; party: string; cause?: unknown }> {
  try {
    await pending;
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return error;
  }
  throw new Error('resolved');
}

const credentials = new ClientCredentials('alice', 'alice-pass');

describe('protocols/ldap-client', () => {
  it('binds with PLAIN in one BindRequest (initial response in SaslCredentials)', async () => {
    const server = scripted([{ id: 1, op: { type: 'bindResponse', result: result(0) } }]);
    const bound = await ldapClientAuth({ ...server, credentials, mechanism: 'PLAIN' });
    expect(bound).to.include({ mechanism: 'PLAIN', serverVerified: false, roundTrips: 1 });
    expect(server.written).to.deep.equal([
      {
        type: 'bindRequest',
        version: 3,
        name: '',
        authentication: { sasl: { mechanism: 'PLAIN', credentials: bytes('\0alice\0alice-pass') } },
      },
    ]);
  });

  it('runs a server-first mechanism (CRAM-MD5): no credentials, then the challenge from saslBindInProgress', async () => {
    const server = scripted([
      {
        id: 1,
        op: {
          type: 'bindResponse',
          result: result(14),
          serverSaslCreds: bytes('<1896.697170952@postoffice.reston.mci.net>'),
        },
      },
      { id: 2, op: { type: 'bindResponse', result: result(0) } },
    ]);
    const bound = await ldapClientAuth({
      ...server,
      credentials: new ClientCredentials('tim', 'tanstaaftanstaaf'),
      mechanism: 'CRAM-MD5',
    });
    expect(bound.roundTrips).to.equal(2);
    const [first, second] = server.written as Extract<LdapProtocolOp, { type: 'bindRequest' }>[];
    expect(first?.authentication).to.deep.equal({ sasl: { mechanism: 'CRAM-MD5', credentials: undefined } });
    // RFC 2195's example response.
    expect(second?.authentication).to.deep.equal({
      sasl: { mechanism: 'CRAM-MD5', credentials: bytes('tim b913a602c7eda7a495b4e6e7334d3890') },
    });
  });

  it('reads supportedSASLMechanisms from the rootDSE when no mechanism is named, and leaves PLAIN out without TLS', async () => {
    const server = scripted([
      {
        id: 1,
        op: {
          type: 'searchResultEntry',
          objectName: '',
          attributes: [{ type: 'supportedSASLMechanisms', values: [bytes('PLAIN'), bytes('CRAM-MD5')] }],
        },
      },
      { id: 1, op: { type: 'searchResultDone', result: result(0) } },
      { id: 2, op: { type: 'bindResponse', result: result(14), serverSaslCreds: bytes('<1.2@x>') } },
      { id: 3, op: { type: 'bindResponse', result: result(0) } },
    ]);
    const bound = await ldapClientAuth({
      ...server,
      credentials,
      auth: SASLAuth.named(['PLAIN', 'CRAM-MD5']),
      encrypted: false,
    });
    expect(bound.mechanism).to.equal('CRAM-MD5');
    const search = server.written[0] as Extract<LdapProtocolOp, { type: 'searchRequest' }>;
    expect(search).to.include({ type: 'searchRequest', baseObject: '', scope: 0 });
    expect(search.attributes).to.deep.equal(['supportedSASLMechanisms']);
  });

  const mapping: [number, string, string | undefined, string][] = [
    [49, 'AUTHENTICATION_FAILED', 'invalidCredentials', 'server'],
    [48, 'AUTHENTICATION_FAILED', 'inappropriateAuthentication', 'server'],
    [80, 'AUTHENTICATION_FAILED', 'other', 'server'],
    [123, 'AUTHENTICATION_FAILED', 'resultCode 123', 'server'],
    [7, 'MECHANISM_UNAVAILABLE', undefined, 'server'],
    [8, 'MECHANISM_UNAVAILABLE', undefined, 'server'],
    [13, 'MECHANISM_UNAVAILABLE', undefined, 'server'],
    [50, 'AUTHORIZATION_FAILED', undefined, 'server'],
    [2, 'MALFORMED_MESSAGE', undefined, 'local'],
  ];
  for (const [resultCode, code, serverError, party] of mapping) {
    it(`result code ${resultCode} rejects with ${code}, the diagnostic in the cause only`, async () => {
      const server = scripted([
        { id: 1, op: { type: 'bindResponse', result: result(resultCode, 'SASL(-13): user alice: secret-ish text') } },
      ]);
      const error = await failure(ldapClientAuth({ ...server, credentials, mechanism: 'PLAIN' }));
      expect(error.code).to.equal(code);
      expect(error.party).to.equal(party);
      if (serverError !== undefined) expect(error.serverError).to.equal(serverError);
      expect(error.message).not.to.include('secret-ish');
      expect(error.cause).to.be.instanceOf(LdapResultInfo);
      expect((error.cause as LdapResultInfo).diagnosticMessage).to.equal('SASL(-13): user alice: secret-ish text');
      expect((error.cause as LdapResultInfo).resultCode).to.equal(resultCode);
    });
  }

  it('ldapBindError names the mechanism', () => {
    expect(ldapBindError(result(49), 'SCRAM-SHA-256').mechanism).to.equal('SCRAM-SHA-256');
  });

  const peerFaults: [string, { id: number; op: LdapProtocolOp }[], string][] = [
    [
      'a response to another messageID',
      [{ id: 7, op: { type: 'bindResponse', result: result(0) } }],
      'UNEXPECTED_MESSAGE',
    ],
    [
      'another operation than BindResponse',
      [{ id: 1, op: { type: 'searchResultDone', result: result(0) } }],
      'UNEXPECTED_MESSAGE',
    ],
    [
      'a Notice of Disconnection',
      [{ id: 0, op: { type: 'extendedResponse', result: result(2), responseName: '1.3.6.1.4.1.1466.20036' } }],
      'ABORTED',
    ],
    ['a hang-up', [], 'ABORTED'],
    [
      'success before the SCRAM exchange finished',
      [{ id: 1, op: { type: 'bindResponse', result: result(0) } }],
      'SERVER_NOT_VERIFIED',
    ],
  ];
  for (const [name, messages, code] of peerFaults) {
    it(`${name}: ${code}`, async () => {
      const server = scripted(messages);
      const error = await failure(ldapClientAuth({ ...server, credentials, mechanism: 'SCRAM-SHA-256' }));
      expect(error.code).to.equal(code);
    });
  }

  it('ldapWhoAmI reads the authorization identity', async () => {
    const server = scripted([
      { id: 1, op: { type: 'extendedResponse', result: result(0), responseValue: bytes('dn:uid=alice,dc=example') } },
    ]);
    expect(await ldapWhoAmI(new LdapRequester(server.messages, server.write))).to.equal('dn:uid=alice,dc=example');
    expect(server.written[0]).to.deep.equal({
      type: 'extendedRequest',
      requestName: '1.3.6.1.4.1.4203.1.11.3',
      requestValue: undefined,
    });
  });

  it('a search over maxEntries is LIMIT_EXCEEDED', async () => {
    const entry = { type: 'searchResultEntry' as const, objectName: '', attributes: [] };
    const server = scripted([
      { id: 1, op: entry },
      { id: 1, op: entry },
      { id: 1, op: { type: 'searchResultDone', result: result(0) } },
    ]);
    const error = await failure(
      ldapSupportedMechanisms(new LdapRequester(server.messages, server.write, { maxEntries: 1 })),
    );
    expect(error.code).to.equal('LIMIT_EXCEEDED');
  });

  it('openLdapChannelBinding: cb-name ldap, data prefixed with the type name', () => {
    const hash = Uint8Array.of(1, 2, 3);
    const binding = openLdapChannelBinding(staticChannelBinding({ 'tls-server-end-point': hash }));
    expect(binding.types).to.deep.equal(['ldap']);
    expect(Buffer.from(binding.data(binding.types[0] as never) ?? []).toString('latin1')).to.equal(
      'tls-server-end-point:\x01\x02\x03',
    );
    expect(openLdapChannelBinding(staticChannelBinding({})).types).to.deep.equal([]);
  });
});
