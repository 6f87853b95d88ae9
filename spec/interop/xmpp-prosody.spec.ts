/**
 * saslkit's XMPP client profile (xmppClientAuth) against Prosody 0.12, the interop peer: a real
 * c2s stream with STARTTLS (required by the server), SASL, then the stream restart and resource
 * binding, which Prosody offers only to an authenticated stream. SCRAM-SHA-256 over TLS 1.3
 * (Prosody has no tls-exporter, so no -PLUS there), SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS with
 * tls-unique over TLS 1.2, PLAIN, a wrong password and a retry on the same stream.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  ClientCredentials,
  SASLAuth,
  type SaslError,
  type XmppClientAuthOptions,
  isSaslError,
  tlsChannelBinding,
  xmppClientAuth,
} from '../../lib/index.js';
import { expectNoSecrets } from '../support/helpers.js';
import { ACCOUNTS, HOST, INTEROP_RUN, PORTS, XMPP_DOMAIN, requirePeer } from './peers.js';
import { TokenReader } from './xmpp-server.js';

const STREAM_OPEN = `<?xml version='1.0'?><stream:stream to='${XMPP_DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

interface Stream {
  readonly tls: TLSSocket;
  readonly reader: TokenReader;
  readonly mechanisms: string;
  /** The SASL elements the client wrote. */
  readonly written: string[];
  readonly next: () => Promise<string>;
  elements: AsyncIterator<string>;
  readonly write: (element: string) => void;
  readonly close: () => void;
}

const streams: Stream[] = [];

async function expectHeaderAndFeatures(reader: TokenReader): Promise<string> {
  expect((await reader.next())?.kind).to.equal('header');
  const features = await reader.next();
  if (features?.kind !== 'element') throw new Error('no stream features');
  return features.xml;
}

/** Opens a c2s stream, does STARTTLS with TLS at most `maxVersion`, and returns the SASL offer. */
async function openStream(maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<Stream> {
  const socket = createConnection({ host: HOST, port: PORTS.xmpp });
  await once(socket, 'connect');
  const plain = new TokenReader(socket);
  socket.write(STREAM_OPEN);
  expect(await expectHeaderAndFeatures(plain)).to.match(
    /<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required\/><\/starttls>/,
  );
  socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  const proceed = await plain.next();
  expect(proceed?.kind === 'element' ? proceed.xml : '').to.match(/^<proceed /);
  plain.detach();
  const tls = tlsConnect({
    socket,
    servername: XMPP_DOMAIN,
    ca: readFileSync(`${INTEROP_RUN}/prosody/cert.pem`),
    maxVersion,
  });
  await once(tls, 'secureConnect');
  const reader = new TokenReader(tls);
  tls.write(STREAM_OPEN);
  const features = await expectHeaderAndFeatures(reader);
  const mechanisms = /<mechanisms\b.*<\/mechanisms>/.exec(features)?.[0];
  if (mechanisms === undefined) throw new Error('no <mechanisms> after STARTTLS');
  const written: string[] = [];
  const next = async (): Promise<string> => {
    const token = await reader.next();
    if (token?.kind !== 'element')
      throw new Error(`expected an element, got ${token?.kind ?? 'the end of the stream'}`);
    return token.xml;
  };
  const stream: Stream = {
    tls,
    reader,
    mechanisms,
    written,
    next,
    elements: {
      next: async () => {
        const token = await reader.next();
        return token?.kind === 'element' ? { done: false, value: token.xml } : { done: true, value: undefined };
      },
    },
    write: (element) => {
      written.push(element);
      tls.write(element);
    },
    close: () => {
      tls.destroy();
      socket.destroy();
    },
  };
  streams.push(stream);
  return stream;
}

/** Restarts the stream after <success> and binds a resource: Prosody does that only for an authenticated stream. */
async function bind(stream: Stream): Promise<string> {
  stream.tls.write(STREAM_OPEN);
  expect(await expectHeaderAndFeatures(stream.reader)).to.match(/<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>/);
  stream.tls.write(
    "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>saslkit</resource></bind></iq>",
  );
  const result = await stream.next();
  return /<jid>([^<]+)<\/jid>/.exec(result)?.[1] ?? '';
}

function login(
  stream: Stream,
  credentials: ClientCredentials,
  extra: Partial<XmppClientAuthOptions> = {},
): ReturnType<typeof xmppClientAuth> {
  return xmppClientAuth({
    auth: SASLAuth.all(),
    credentials,
    mechanisms: stream.mechanisms,
    elements: stream.elements,
    write: stream.write,
    client: { channelBindingData: tlsChannelBinding(stream.tls, 'client') },
    ...extra,
  });
}

function gs2Of(auth: string | undefined): string {
  return Buffer.from(/>([^<]+)<\/auth>$/.exec(auth ?? '')?.[1] ?? '', 'base64').toString();
}

describe('interop: saslkit xmppClientAuth against Prosody', function () {
  const alice = new ClientCredentials(ACCOUNTS.alice.user, ACCOUNTS.alice.pass);
  const bob = new ClientCredentials(ACCOUNTS.bob.user, ACCOUNTS.bob.pass);

  before(async function () {
    await requirePeer(this, 'prosody');
  });

  afterEach(function () {
    for (const stream of streams.splice(0)) stream.close();
  });

  it('logs in with SCRAM-SHA-256 over TLS 1.3, verifies the server and binds a resource', async function () {
    const stream = await openStream('TLSv1.3');
    const result = await login(stream, alice);
    expect(result).to.deep.equal({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    // The client could bind (tls-exporter) but Prosody offers no -PLUS on TLS 1.3: flag y.
    expect(gs2Of(stream.written[0]).startsWith('y,,n=alice,r=')).to.equal(true);
    expect(await bind(stream)).to.equal(`alice@${XMPP_DOMAIN}/saslkit`);
  });

  it('logs in with SCRAM-SHA-256-PLUS (tls-unique) over TLS 1.2', async function () {
    const stream = await openStream('TLSv1.2');
    expect(stream.tls.getProtocol()).to.equal('TLSv1.2');
    const result = await login(stream, bob);
    expect(result).to.deep.equal({ mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true });
    expect(gs2Of(stream.written[0]).startsWith('p=tls-unique,,n=bob,r=')).to.equal(true);
    expect(await bind(stream)).to.equal(`bob@${XMPP_DOMAIN}/saslkit`);
  });

  it('logs in with SCRAM-SHA-1-PLUS over TLS 1.2 when it is preferred', async function () {
    const stream = await openStream('TLSv1.2');
    const result = await login(stream, alice, { choose: { preference: ['SCRAM-SHA-1-PLUS'] } });
    expect(result).to.deep.equal({ mechanism: 'SCRAM-SHA-1-PLUS', serverVerified: true });
  });

  it('logs in with PLAIN over TLS when it is preferred', async function () {
    const stream = await openStream('TLSv1.3');
    const result = await login(stream, bob, { choose: { preference: ['PLAIN'] } });
    expect(result).to.deep.equal({ mechanism: 'PLAIN', serverVerified: false });
    expect(await bind(stream)).to.equal(`bob@${XMPP_DOMAIN}/saslkit`);
  });

  it('refuses a wrong password with AuthenticationFailedError, then logs in on the same stream', async function () {
    const stream = await openStream('TLSv1.3');
    let error: unknown;
    try {
      await login(stream, new ClientCredentials('alice', 'not-alices-pass'));
    } catch (thrown) {
      error = thrown;
    }
    expect(isSaslError(error)).to.equal(true);
    expect((error as SaslError).code).to.equal('AUTHENTICATION_FAILED');
    expect((error as SaslError).mechanism).to.equal('SCRAM-SHA-256');
    expectNoSecrets(error, ['not-alices-pass', ACCOUNTS.alice.pass]);
    // RFC 6120 6.4.5: the client may retry.
    expect(await login(stream, alice)).to.deep.equal({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    expect(await bind(stream)).to.equal(`alice@${XMPP_DOMAIN}/saslkit`);
  });

  it("with channelBinding 'require' refuses TLS 1.3, where Prosody offers no -PLUS, before sending anything", async function () {
    const stream = await openStream('TLSv1.3');
    let error: unknown;
    try {
      await login(stream, alice, {
        client: { channelBinding: 'require', channelBindingData: tlsChannelBinding(stream.tls, 'client') },
      });
    } catch (thrown) {
      error = thrown;
    }
    expect((error as SaslError).code).to.equal('MECHANISM_UNAVAILABLE');
    expect(stream.written).to.deep.equal([]);
  });
});
