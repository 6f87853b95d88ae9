import { expect } from 'chai';
import { X509Certificate, createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TLSSocket, connect, createServer } from 'node:tls';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  type ClientExchange,
  type ClientOutcome,
  PromiseClientSession,
  PromiseServerSession,
  SASLAuth,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512_PLUS,
  type SaslError,
  type ServerExchange,
  type ServerOptions,
  TLS_EXPORTER_LABEL,
  LineQueue,
  buildXmppMechanisms,
  channelBindingTypesFor,
  clientChannelBinding,
  parseXmppSaslElement,
  xmppClientAuth,
  xmppServerAuth,
  fromBase64,
  isSaslError,
  serverEndPointData,
  serverEndPointHash,
  staticChannelBinding,
  tlsChannelBinding,
  toBase64,
} from '../../lib/index.js';
import { expectSaslRejection } from '../support/helpers.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'tls');
const pem = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const der = (name: string): Uint8Array => new X509Certificate(pem(name)).raw;
const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex');

type Version = 'TLSv1.2' | 'TLSv1.3';
type CertName = 'rsa-sha256' | 'ecdsa-sha384';

interface Connection {
  readonly client: TLSSocket;
  readonly server: TLSSocket;
}

/** A TLS server on 127.0.0.1 that hands out connected (client, server) socket pairs. */
class Loopback {
  readonly #sockets: TLSSocket[] = [];

  private constructor(
    readonly server: ReturnType<typeof createServer>,
    readonly version: Version,
    readonly cert: Buffer,
  ) {}

  static async start(version: Version, cert: CertName = 'rsa-sha256'): Promise<Loopback> {
    const server = createServer({
      key: pem(`${cert}.key`),
      cert: pem(`${cert}.crt`),
      minVersion: version,
      maxVersion: version,
    });
    const loopback = new Loopback(server, version, pem(`${cert}.crt`));
    // Every accepted socket is closed with the server, even when a test fails half-way.
    server.on('secureConnection', (socket: TLSSocket) => loopback.#sockets.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return loopback;
  }

  /** A client socket that the server will close too; not yet connected. */
  open(): TLSSocket {
    const { port } = this.server.address() as AddressInfo;
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: this.cert,
      minVersion: this.version,
      maxVersion: this.version,
    });
    this.#sockets.push(socket);
    return socket;
  }

  async connect(session?: Buffer): Promise<Connection> {
    const accepted = once(this.server, 'secureConnection') as Promise<[TLSSocket]>;
    const { port } = this.server.address() as AddressInfo;
    const client = connect({
      host: '127.0.0.1',
      port,
      ca: this.cert,
      minVersion: this.version,
      maxVersion: this.version,
      ...(session ? { session } : {}),
    });
    this.#sockets.push(client);
    await once(client, 'secureConnect');
    const [server] = await accepted;
    return { client, server };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }
}

/** Reads one line at a time from a socket. */
function lineReader(socket: TLSSocket): () => Promise<string> {
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return async () => {
    const next = await lines.next();
    if (next.done === true) throw new Error('connection closed');
    return next.value;
  };
}

const encode = (data: Uint8Array | undefined): string =>
  data === undefined ? '-' : data.length === 0 ? '=' : toBase64(data);
const decode = (text: string): Uint8Array | undefined =>
  text === '-' ? undefined : text === '=' ? new Uint8Array(0) : fromBase64(text);

interface Outcomes {
  readonly server: Authenticated | SaslError;
  readonly client: ClientOutcome | SaslError;
  readonly clientMessages: string[];
}

/**
 * Runs a SASL exchange over the TLS connection with a minimal line framing:
 * `AUTH <ir>`, `C <challenge>`, `R <response>`, `OK <data>`, `NO`, `*` (client abort).
 * With `successData`, server-final travels with OK (XMPP); otherwise as a last challenge (SMTP).
 */
async function exchangeOverTls(
  connection: Connection,
  client: ClientExchange,
  makeServer: (initial: Uint8Array | undefined) => ServerExchange,
  successData: boolean,
): Promise<Outcomes> {
  const clientMessages: string[] = [];
  const serverSide = (async (): Promise<Authenticated | SaslError> => {
    const read = lineReader(connection.server);
    const send = (line: string): void => {
      connection.server.write(`${line}\n`);
    };
    const auth = await read();
    const session = new PromiseServerSession(makeServer(decode(auth.slice(5))));
    try {
      let step = await session.start();
      while (!step.done) {
        send(`C ${encode(step.challenge)}`);
        const line = await read();
        if (line === '*') throw session.abort('client');
        step = await session.respond(decode(line.slice(2)) ?? new Uint8Array(0));
      }
      const extra = step.outcome.additionalData;
      if (extra !== undefined && !successData) {
        send(`C ${encode(extra)}`);
        const line = await read();
        if (line !== 'R =') throw new Error(`expected an empty response, got ${line}`);
      }
      send(`OK ${successData ? encode(extra) : '-'}`);
      return step.outcome;
    } catch (error) {
      send('NO');
      if (isSaslError(error)) return error;
      throw error;
    }
  })();
  const clientSide = (async (): Promise<ClientOutcome | SaslError> => {
    const read = lineReader(connection.client);
    const send = (line: string): void => {
      connection.client.write(`${line}\n`);
    };
    const session = new PromiseClientSession(client);
    let serverDone = false;
    try {
      const initial = await session.start(true);
      if (initial !== undefined) clientMessages.push(Buffer.from(initial).toString());
      send(`AUTH ${encode(initial)}`);
      for (;;) {
        const line = await read();
        if (line.startsWith('C ')) {
          const response = await session.challenge(decode(line.slice(2)) ?? new Uint8Array(0));
          clientMessages.push(Buffer.from(response).toString());
          send(`R ${encode(response)}`);
        } else if (line.startsWith('OK ')) {
          serverDone = true;
          return await session.success(decode(line.slice(3)));
        } else {
          serverDone = true;
          return await session.failure();
        }
      }
    } catch (error) {
      if (!serverDone) send('*');
      if (isSaslError(error)) return error;
      throw error;
    }
  })();
  const [server, clientOutcome] = await Promise.all([serverSide, clientSide]);
  return { server, client: clientOutcome, clientMessages };
}

function expectFailure(outcome: unknown, code: SaslError['code'], serverError?: string): void {
  expect(isSaslError(outcome), 'expected a SaslError').to.equal(true);
  if (!isSaslError(outcome)) return;
  expect(outcome.code, outcome.message).to.equal(code);
  if (serverError !== undefined) expect((outcome as { serverError?: string }).serverError).to.equal(serverError);
}

const alice = new ClearIdentity('alice', 'alice-pass');

describe('channel binding', () => {
  describe('tls-server-end-point hash choice (RFC 5929 4.1)', () => {
    const cases: [string, string | undefined][] = [
      ['rsa-sha256.crt', 'sha256'],
      ['ecdsa-sha384.crt', 'sha384'],
      ['rsa-sha512.crt', 'sha512'],
      ['rsa-pss-sha384.crt', 'sha384'],
      ['rsa-sha1.crt', 'sha256'],
      ['rsa-md5.crt', 'sha256'],
      ['ed25519.crt', undefined],
    ];
    for (const [file, hash] of cases) {
      it(`${file}: ${hash ?? 'undefined'}`, () => {
        const cert = der(file);
        expect(serverEndPointHash(cert)).to.equal(hash);
        const data = serverEndPointData(cert);
        expect(hex(data)).to.equal(hash === undefined ? '' : createHash(hash).update(cert).digest('hex'));
      });
    }
    it('returns undefined for bytes that are not a certificate', () => {
      const cert = der('rsa-sha256.crt');
      for (const bad of [
        new Uint8Array(0),
        Uint8Array.of(0x30),
        cert.subarray(0, 100),
        cert.subarray(4),
        Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff),
        Uint8Array.of(0x30, 0x80),
      ]) {
        expect(serverEndPointHash(bad)).to.equal(undefined);
        expect(serverEndPointData(bad)).to.equal(undefined);
      }
    });
  });

  describe('types per TLS version', () => {
    it('offers tls-exporter only on TLS 1.3 and tls-unique only below it', () => {
      expect(channelBindingTypesFor('TLSv1.3')).to.deep.equal(['tls-exporter', 'tls-server-end-point']);
      expect(channelBindingTypesFor('TLSv1.2')).to.deep.equal(['tls-unique', 'tls-server-end-point']);
      expect(channelBindingTypesFor(null)).to.deep.equal([]);
      expect(channelBindingTypesFor('unknown')).to.deep.equal([]);
    });
    it('staticChannelBinding offers what it was given, in order', () => {
      const source = staticChannelBinding({
        'tls-server-end-point': Uint8Array.of(1),
        'tls-exporter': Uint8Array.of(2),
      });
      expect(source.types).to.deep.equal(['tls-server-end-point', 'tls-exporter']);
      expect(hex(source.data('tls-exporter'))).to.equal('02');
      expect(source.data('tls-unique')).to.equal(undefined);
    });
  });

  describe('the client GS2 flag, decided in one place (RFC 5802 section 6)', () => {
    const source = staticChannelBinding({ 'tls-exporter': new Uint8Array(32).fill(1) });

    it('clientChannelBinding: p for -PLUS, y when the -PLUS variant is not offered, n (and no data) when it is', () => {
      expect(clientChannelBinding('SCRAM-SHA-256-PLUS', 'prefer', source, ['SCRAM-SHA-256-PLUS'])).to.deep.equal({
        flag: 'p',
        source,
      });
      expect(clientChannelBinding('SCRAM-SHA-256', 'prefer', source, ['SCRAM-SHA-256', 'PLAIN'])).to.deep.equal({
        flag: 'y',
        source,
      });
      expect(clientChannelBinding('SCRAM-SHA-256', 'prefer', source)).to.deep.equal({ flag: 'y', source });
      expect(
        clientChannelBinding('SCRAM-SHA-256', 'prefer', source, ['scram-sha-256-plus', 'SCRAM-SHA-256']),
      ).to.deep.equal({ flag: 'n', source: undefined });
      // Another hash's -PLUS does not count: the client's own mechanism's variant was stripped, so y lets the server see it.
      expect(
        clientChannelBinding('SCRAM-SHA-256', 'prefer', source, ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256']),
      ).to.deep.equal({ flag: 'y', source });
      expect(clientChannelBinding('SCRAM-SHA-256', 'disable', source, ['SCRAM-SHA-256'])).to.deep.equal({
        flag: 'n',
        source,
      });
      expect(clientChannelBinding('SCRAM-SHA-256', 'prefer', undefined, ['SCRAM-SHA-256'])).to.deep.equal({
        flag: 'n',
        source: undefined,
      });
      expect(
        clientChannelBinding('SCRAM-SHA-256', 'prefer', staticChannelBinding({}), ['SCRAM-SHA-256']).flag,
      ).to.equal('n');
    });

    it('XMPP: a client that keeps to SCRAM-SHA-256 while the server offers -PLUS logs in to a server that can bind (it used to send y and be refused)', async () => {
      const serverAuth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
      const toServer = new LineQueue();
      const toClient = new LineQueue();
      const sent: string[] = [];
      const server = xmppServerAuth({
        auth: serverAuth,
        options: { lookup: () => alice, channelBindingData: source },
        elements: toServer,
        write: (e) => {
          toClient.push(e);
        },
      });
      const client = xmppClientAuth({
        auth: SASLAuth.all(),
        credentials: new ClientCredentials('alice', 'alice-pass'),
        mechanisms: buildXmppMechanisms(serverAuth.serverMechanisms.map((m) => m.name)),
        choose: { preference: ['SCRAM-SHA-256'] },
        client: { channelBindingData: source },
        elements: toClient,
        write: (e) => {
          sent.push(e);
          toServer.push(e);
        },
      });
      const [c, s] = await Promise.allSettled([client, server]);
      expect(c.status === 'fulfilled' ? c.value : c.reason).to.deep.equal({
        mechanism: 'SCRAM-SHA-256',
        serverVerified: true,
      });
      expect(s.status === 'fulfilled' ? s.value : s.reason).to.include({
        mechanism: 'SCRAM-SHA-256',
        authcid: 'alice',
      });
      const auth = parseXmppSaslElement(sent[0] ?? '', 'client');
      expect(auth.kind === 'auth' && Buffer.from(auth.data ?? []).toString()).to.match(/^n,,n=alice,r=/);
    });
  });

  describe('over TLS 1.3 on 127.0.0.1', () => {
    let loopback: Loopback;
    before(async () => {
      loopback = await Loopback.start('TLSv1.3');
    });
    after(async () => {
      await loopback.close();
    });

    it('reads the same tls-exporter and tls-server-end-point data on both sides, and no tls-unique', async () => {
      const { client, server } = await loopback.connect();
      const c = tlsChannelBinding(client, 'client');
      const s = tlsChannelBinding(server, 'server');
      expect(c.types).to.deep.equal(['tls-exporter', 'tls-server-end-point']);
      expect(s.types).to.deep.equal(['tls-exporter', 'tls-server-end-point']);
      const exporter = c.data('tls-exporter');
      expect(exporter).to.have.length(32);
      expect(hex(s.data('tls-exporter'))).to.equal(hex(exporter));
      // An empty context and no context are the same on TLS 1.3 (RFC 8446 7.5).
      // (@types/node requires the context argument; Node itself does not.)
      const noContext = (
        client as unknown as { exportKeyingMaterial(length: number, label: string): Buffer }
      ).exportKeyingMaterial(32, TLS_EXPORTER_LABEL);
      expect(hex(noContext)).to.equal(hex(exporter));
      const endPoint = createHash('sha256').update(der('rsa-sha256.crt')).digest('hex');
      expect(hex(c.data('tls-server-end-point'))).to.equal(endPoint);
      expect(hex(s.data('tls-server-end-point'))).to.equal(endPoint);
      expect(c.data('tls-unique')).to.equal(undefined);
      expect(
        tlsChannelBinding(client, 'client', { types: ['tls-unique', 'tls-server-end-point'] }).types,
      ).to.deep.equal(['tls-server-end-point']);
    });

    it('keeps the server certificate when application code later calls getPeerX509Certificate()', async () => {
      const { client } = await loopback.connect();
      const source = tlsChannelBinding(client, 'client');
      const endPoint = createHash('sha256').update(der('rsa-sha256.crt')).digest('hex');
      // In Node 20 this removes the leaf from OpenSSL's peer chain: a second call gets nothing.
      expect(client.getPeerX509Certificate()).to.not.equal(undefined);
      expect(client.getPeerX509Certificate()).to.equal(undefined);
      expect(source.types).to.deep.equal(['tls-exporter', 'tls-server-end-point']);
      expect(hex(source.data('tls-server-end-point'))).to.equal(endPoint);
      expect(hex(source.data('tls-server-end-point'))).to.equal(endPoint);
    });

    it('offers nothing before the handshake', async () => {
      const socket = loopback.open();
      const source = tlsChannelBinding(socket, 'client');
      expect(source.types).to.deep.equal([]);
      expect(source.data('tls-exporter')).to.equal(undefined);
      await once(socket, 'secureConnect');
      expect(source.types).to.deep.equal(['tls-exporter', 'tls-server-end-point']);
    });

    it('SCRAM-SHA-256-PLUS with tls-exporter, -PLUS chosen through the registry', async () => {
      const connection = await loopback.connect();
      const serverSource = tlsChannelBinding(connection.server, 'server');
      // The server advertises -PLUS only when the connection can bind.
      const advertised = ['SCRAM-SHA-256', 'PLAIN', ...(serverSource.types.length > 0 ? ['SCRAM-SHA-256-PLUS'] : [])];
      const clientSource = tlsChannelBinding(connection.client, 'client');
      const mechanism = SASLAuth.all().chooseClient(advertised, { channelBinding: clientSource.types.length > 0 });
      expect(mechanism?.name).to.equal('SCRAM-SHA-256-PLUS');
      const options: ServerOptions = { lookup: () => alice, channelBindingData: serverSource };
      const result = await exchangeOverTls(
        connection,
        mechanism!.client(new ClientCredentials('alice', 'alice-pass'), {
          channelBindingData: clientSource,
          channelBinding: 'require',
        }),
        (ir) => SCRAM_SHA_256_PLUS.server(options, ir),
        false,
      );
      expect(result.server).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', authcid: 'alice' });
      expect(result.client).to.deep.equal({ serverVerified: true });
      expect(result.clientMessages[0]).to.match(/^p=tls-exporter,,n=alice,r=/);
      const c = /^c=([^,]+)/.exec(result.clientMessages[1] ?? '')?.[1] ?? '';
      expect(hex(fromBase64(c))).to.equal(
        hex(Buffer.concat([Buffer.from('p=tls-exporter,,'), clientSource.data('tls-exporter')!])),
      );
    });

    it('refuses a channel-binding mismatch (a man in the middle) with a typed error on both sides', async () => {
      const connection = await loopback.connect();
      const other = await loopback.connect();
      // The client's TLS session ends at someone else: its binding data is that connection's.
      const options: ServerOptions = {
        lookup: () => alice,
        channelBindingData: tlsChannelBinding(connection.server, 'server'),
        scramSendErrors: true,
      };
      const result = await exchangeOverTls(
        connection,
        SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', 'alice-pass'), {
          channelBindingData: tlsChannelBinding(other.client, 'client'),
        }),
        (ir) => SCRAM_SHA_256_PLUS.server(options, ir),
        true,
      );
      expectFailure(result.server, 'AUTHENTICATION_FAILED', 'channel-bindings-dont-match');
      expectFailure(result.client, 'AUTHENTICATION_FAILED', 'channel-bindings-dont-match');
    });

    it('refuses a downgrade (-PLUS stripped from the list) with a typed error on both sides', async () => {
      const connection = await loopback.connect();
      const options: ServerOptions = {
        lookup: () => alice,
        channelBindingData: tlsChannelBinding(connection.server, 'server'),
        scramSendErrors: true,
      };
      const stripped = ['SCRAM-SHA-256', 'PLAIN'];
      const mechanism = SASLAuth.all().chooseClient(stripped, { channelBinding: true });
      expect(mechanism?.name).to.equal('SCRAM-SHA-256');
      const result = await exchangeOverTls(
        connection,
        mechanism!.client(new ClientCredentials('alice', 'alice-pass'), {
          channelBindingData: tlsChannelBinding(connection.client, 'client'),
        }),
        (ir) => SCRAM_SHA_256.server(options, ir),
        false,
      );
      expect(result.clientMessages[0]).to.match(/^y,,/);
      expectFailure(result.server, 'AUTHENTICATION_FAILED', 'server-does-support-channel-binding');
      expectFailure(result.client, 'AUTHENTICATION_FAILED', 'server-does-support-channel-binding');
    });

    it('a client that requires binding refuses to start plain SCRAM on a TLS connection', async () => {
      const connection = await loopback.connect();
      const source = tlsChannelBinding(connection.client, 'client');
      expect(SASLAuth.all().chooseClient(['SCRAM-SHA-256', 'PLAIN'], { channelBinding: true })?.name).to.equal(
        'SCRAM-SHA-256',
      );
      const session = new PromiseClientSession(
        SCRAM_SHA_256.client(new ClientCredentials('alice', 'alice-pass'), {
          channelBindingData: source,
          channelBinding: 'require',
        }),
      );
      await expectSaslRejection(session.start(), 'MECHANISM_UNAVAILABLE');
    });
  });

  describe('over TLS 1.2 on 127.0.0.1', () => {
    let loopback: Loopback;
    let ecdsa: Loopback;
    before(async () => {
      loopback = await Loopback.start('TLSv1.2');
      ecdsa = await Loopback.start('TLSv1.2', 'ecdsa-sha384');
    });
    after(async () => {
      await loopback.close();
      await ecdsa.close();
    });

    it('reads tls-unique as the client Finished on a full handshake, the server Finished on a resumption', async () => {
      const full = await loopback.connect();
      expect(full.client.isSessionReused()).to.equal(false);
      const c = tlsChannelBinding(full.client, 'client');
      const s = tlsChannelBinding(full.server, 'server');
      expect(c.types).to.deep.equal(['tls-unique', 'tls-server-end-point']);
      expect(s.types).to.deep.equal(['tls-unique', 'tls-server-end-point']);
      expect(c.data('tls-exporter')).to.equal(undefined);
      expect(hex(c.data('tls-unique'))).to.equal(hex(full.client.getFinished()));
      expect(hex(s.data('tls-unique'))).to.equal(hex(full.client.getFinished()));

      const session = full.client.getSession();
      expect(session).to.not.equal(undefined);
      const resumed = await loopback.connect(session);
      expect(resumed.client.isSessionReused()).to.equal(true);
      expect(resumed.server.isSessionReused()).to.equal(true);
      const rc = tlsChannelBinding(resumed.client, 'client').data('tls-unique');
      expect(hex(rc)).to.equal(hex(resumed.server.getFinished()));
      expect(hex(tlsChannelBinding(resumed.server, 'server').data('tls-unique'))).to.equal(hex(rc));
      expect(hex(rc)).to.not.equal(hex(c.data('tls-unique')));
    });

    it('SCRAM-SHA-256-PLUS with tls-unique, server-final with success', async () => {
      const connection = await loopback.connect();
      const options: ServerOptions = {
        lookup: () => alice,
        channelBindingData: tlsChannelBinding(connection.server, 'server'),
      };
      const result = await exchangeOverTls(
        connection,
        SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', 'alice-pass'), {
          channelBindingData: tlsChannelBinding(connection.client, 'client'),
        }),
        (ir) => SCRAM_SHA_256_PLUS.server(options, ir),
        true,
      );
      expect(result.clientMessages[0]).to.match(/^p=tls-unique,,/);
      expect(result.server).to.include({ authcid: 'alice' });
      expect(result.client).to.deep.equal({ serverVerified: true });
    });

    it('SCRAM-SHA-256-PLUS and SCRAM-SHA-512-PLUS with tls-server-end-point (RSA-SHA256 and ECDSA-SHA384 certificates)', async () => {
      for (const [server, mechanism, hash] of [
        [loopback, SCRAM_SHA_256_PLUS, 'sha256'],
        [ecdsa, SCRAM_SHA_512_PLUS, 'sha384'],
      ] as const) {
        const connection = await server.connect();
        const clientSource = tlsChannelBinding(connection.client, 'client', { types: ['tls-server-end-point'] });
        expect(clientSource.data('tls-server-end-point')).to.have.length(hash === 'sha256' ? 32 : 48);
        const options: ServerOptions = {
          lookup: () => alice,
          channelBindingData: tlsChannelBinding(connection.server, 'server'),
        };
        const result = await exchangeOverTls(
          connection,
          mechanism.client(new ClientCredentials('alice', 'alice-pass'), { channelBindingData: clientSource }),
          (ir) => mechanism.server(options, ir),
          false,
        );
        expect(result.clientMessages[0]).to.match(/^p=tls-server-end-point,,/);
        expect(result.server).to.include({ mechanism: mechanism.name, authcid: 'alice' });
        expect(result.client).to.deep.equal({ serverVerified: true });
      }
    });

    it('refuses tls-exporter on TLS 1.2 as an unsupported type', async () => {
      const connection = await loopback.connect();
      const exporter = staticChannelBinding({
        'tls-exporter': connection.client.exportKeyingMaterial(32, TLS_EXPORTER_LABEL, Buffer.alloc(0)),
      });
      const options: ServerOptions = {
        lookup: () => alice,
        channelBindingData: tlsChannelBinding(connection.server, 'server'),
      };
      const result = await exchangeOverTls(
        connection,
        SCRAM_SHA_256_PLUS.client(new ClientCredentials('alice', 'alice-pass'), { channelBindingData: exporter }),
        (ir) => SCRAM_SHA_256_PLUS.server(options, ir),
        false,
      );
      expectFailure(result.server, 'AUTHENTICATION_FAILED', 'unsupported-channel-binding-type');
      expectFailure(result.client, 'AUTHENTICATION_FAILED');
    });
  });
});
