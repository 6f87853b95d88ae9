import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import pg from 'pg';
import {
  ClearIdentity,
  type ClientOptions,
  PG_AUTH,
  PLAIN,
  PgMessageReader,
  type PostgresClientResult,
  type PostgresServerResult,
  SASLAuth,
  SCRAM_SHA_256,
  ScramIdentity,
  type ServerOptions,
  buildPgAuthenticationOk,
  buildPgAuthenticationSASL,
  buildPgAuthenticationSASLContinue,
  buildPgAuthenticationSASLFinal,
  buildPgBackendKeyData,
  buildPgErrorResponse,
  buildPgMessage,
  buildPgParameterStatus,
  buildPgReadyForQuery,
  buildPgSASLInitialResponse,
  buildPgSASLResponse,
  buildPgSSLRequest,
  buildPgStartupMessage,
  buildPgTerminate,
  buildPostgresReady,
  parsePgAuthentication,
  parsePgErrorResponse,
  parsePgSASLInitialResponse,
  parsePgStartupPacket,
  postgresClientAuth,
  postgresErrorFor,
  postgresServerAuth,
  readPostgresReady,
  staticChannelBinding,
  tlsChannelBinding,
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
import { bytesOf, textOf, vector } from '../support/vectors.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const body = (message: Uint8Array): Uint8Array => message.subarray(5);
const int32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
};
const cat = (...parts: (Uint8Array | string)[]): Uint8Array =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));

/** A byte source fed by the test. */
function feed(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array, void, undefined> {
  return (async function* () {
    for (const chunk of chunks) yield await Promise.resolve(chunk);
  })();
}

/** Splits what a side wrote into frames, for readable assertions. */
function types(written: Uint8Array[]): string[] {
  return written.map((frame) =>
    frame.length === 1 ? `byte ${String.fromCharCode(frame[0]!)}` : String.fromCharCode(frame[0]!),
  );
}

function sqlstate(frame: Uint8Array | undefined): string | undefined {
  if (frame?.[0] !== 0x45) return undefined;
  return parsePgErrorResponse(body(frame)).code;
}

const RFC7677 = vector('scram-stored-postgresql-sha256');
const USER_7677 = new ScramIdentity('user', textOf(RFC7677.expected['stored']));
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const secureContext = createSecureContext({
  key: readFileSync(join(TLS_DIR, 'rsa-sha256.key')),
  cert: readFileSync(join(TLS_DIR, 'rsa-sha256.crt')),
});

describe('PostgreSQL SASL profile', () => {
  const { listen, connect, track } = useSockets();

  /** Server side of SSLRequest: answer `S` and start TLS on the same socket. */
  async function acceptTls(socket: Socket): Promise<TLSSocket> {
    const [request] = (await once(socket, 'data')) as [Buffer];
    expect(hex(request)).to.equal(hex(buildPgSSLRequest()));
    socket.write('S');
    const tls = track(new TLSSocket(socket, { isServer: true, secureContext }));
    await once(tls, 'secure');
    return tls;
  }

  /** Client side of SSLRequest, as examples/postgres-client.ts does it. */
  async function startTls(socket: Socket): Promise<TLSSocket> {
    socket.write(buildPgSSLRequest());
    const [answer] = (await once(socket, 'data')) as [Buffer];
    expect(s(answer)).to.equal('S');
    const tls = track(tlsConnect({ socket, rejectUnauthorized: false }));
    await once(tls, 'secureConnect');
    return tls;
  }

  function recording(socket: Socket, log: Uint8Array[]): (data: Uint8Array) => void {
    return (data) => {
      log.push(Buffer.from(data));
      socket.write(data);
    };
  }

  interface PairOptions {
    readonly server?: ServerOptions;
    readonly serverAuth?: SASLAuth;
    readonly clientAuth?: SASLAuth;
    readonly client?: ClientOptions;
    readonly user?: string;
    readonly password?: string;
    readonly tls?: boolean;
  }

  /** saslkit's client against saslkit's server over 127.0.0.1, recording what each side wrote. */
  async function pair(options: PairOptions): Promise<{
    server: PromiseSettledResult<PostgresServerResult>;
    client: PromiseSettledResult<PostgresClientResult>;
    serverWrote: Uint8Array[];
    clientWrote: Uint8Array[];
  }> {
    const serverWrote: Uint8Array[] = [];
    const clientWrote: Uint8Array[] = [];
    const { port, served } = await listen(async (raw) => {
      const socket = options.tls === true ? await acceptTls(raw) : raw;
      const binding =
        options.tls === true ? { channelBindingData: tlsChannelBinding(socket as TLSSocket, 'server') } : {};
      return postgresServerAuth({
        messages: socket,
        write: recording(socket, serverWrote),
        options: { lookup: asyncStoreOf(ALICE), ...binding, ...options.server },
        ...(options.serverAuth === undefined ? {} : { auth: options.serverAuth }),
      });
    });
    const raw = await connect(port);
    const socket = options.tls === true ? await startTls(raw) : raw;
    const binding =
      options.tls === true ? { channelBindingData: tlsChannelBinding(socket as TLSSocket, 'client') } : {};
    const client = await Promise.allSettled([
      postgresClientAuth({
        messages: socket,
        write: recording(socket, clientWrote),
        user: options.user ?? 'alice',
        password: options.password ?? 'alice-pass',
        database: 'postgres',
        client: { ...binding, ...options.client },
        ...(options.clientAuth === undefined ? {} : { auth: options.clientAuth }),
      }),
    ]);
    const [server] = (await Promise.allSettled([served[0]!])) as [PromiseSettledResult<PostgresServerResult>];
    return { server, client: client[0], serverWrote, clientWrote };
  }

  function fulfilled<T>(result: PromiseSettledResult<T>): T {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  function rejectedCode(result: PromiseSettledResult<unknown>): string | undefined {
    return result.status === 'rejected' ? (result.reason as { code?: string }).code : undefined;
  }

  describe('vector postgresql-sasl-messages-derived', () => {
    const v = vector('postgresql-sasl-messages-derived');
    const expected = (name: string): string => hex(bytesOf(v.expected[name]));

    it('builders produce the documented bytes, and parsers read them back', () => {
      expect(hex(buildPgAuthenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']))).to.equal(
        expected('AuthenticationSASL'),
      );
      expect(hex(buildPgSASLInitialResponse('SCRAM-SHA-256', b(`n,,n=,r=${CLIENT_NONCE}`)))).to.equal(
        expected('SASLInitialResponse'),
      );
      const serverFirst = b(`r=${CLIENT_NONCE}${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`);
      expect(hex(buildPgAuthenticationSASLContinue(serverFirst))).to.equal(expected('AuthenticationSASLContinue'));
      expect(hex(buildPgAuthenticationSASLFinal(b('v=...')))).to.equal(expected('AuthenticationSASLFinal_placeholder'));
      expect(hex(buildPgAuthenticationOk())).to.equal(expected('AuthenticationOk'));

      expect(parsePgAuthentication(body(bytesOf(v.expected['AuthenticationSASL'])))).to.deep.equal({
        code: 10,
        mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      });
      const initial = parsePgSASLInitialResponse(body(bytesOf(v.expected['SASLInitialResponse'])));
      expect(initial.mechanism).to.equal('SCRAM-SHA-256');
      expect(s(initial.data)).to.equal(`n,,n=,r=${CLIENT_NONCE}`);
      const cont = parsePgAuthentication(body(bytesOf(v.expected['AuthenticationSASLContinue'])));
      expect(cont.code === 11 && 'data' in cont && s(cont.data)).to.equal(s(serverFirst));
      expect(parsePgAuthentication(body(bytesOf(v.expected['AuthenticationOk'])))).to.deep.equal({ code: 0 });
    });

    it('saslkit client and server, with the vector nonces, put exactly these bytes on a 127.0.0.1 socket', async () => {
      const result = await pair({
        user: 'user',
        password: 'pencil',
        server: {
          lookup: asyncStoreOf(USER_7677),
          channelBindingData: staticChannelBinding({ 'tls-server-end-point': Buffer.alloc(32) }),
          scram: { nonceForTesting: SERVER_NONCE },
        },
        client: { scram: { nonceForTesting: CLIENT_NONCE } },
      });
      expect(fulfilled(result.server).authenticated).to.include({
        mechanism: 'SCRAM-SHA-256',
        authcid: 'user',
        authzid: 'user',
      });
      expect(fulfilled(result.client)).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
      expect(hex(result.serverWrote[0]!)).to.equal(expected('AuthenticationSASL'));
      expect(hex(result.clientWrote[1]!)).to.equal(expected('SASLInitialResponse'));
      expect(hex(result.serverWrote[1]!)).to.equal(expected('AuthenticationSASLContinue'));
      expect(types(result.serverWrote)).to.deep.equal(['R', 'R', 'R', 'R']);
      const final = parsePgAuthentication(body(result.serverWrote[2]!));
      expect(final.code === 12 && 'data' in final && s(final.data)).to.match(/^v=[A-Za-z0-9+/]{43}=$/);
      expect(hex(result.serverWrote[3]!)).to.equal(expected('AuthenticationOk'));
      expect(types(result.clientWrote)).to.deep.equal(['\0', 'p', 'p']);
    });
  });

  describe('parsers refuse malformed messages', () => {
    const authentication: [string, Uint8Array][] = [
      ['a truncated code', Uint8Array.of(0, 0, 0)],
      ['AuthenticationOk with trailing bytes', cat(int32(0), 'x')],
      ['a SASL list without its final NUL', cat(int32(10), 'SCRAM-SHA-256\0')],
      ['an empty SASL list', cat(int32(10), '\0')],
      ['an unterminated mechanism name', cat(int32(10), 'SCRAM-SHA-256')],
      ['a lower-case mechanism name', cat(int32(10), 'scram-sha-256\0\0')],
      ['a mechanism name too long', cat(int32(10), `${'A'.repeat(21)}\0\0`)],
      ['bytes after the SASL list', cat(int32(10), 'SCRAM-SHA-256\0\0x')],
      ['a mechanism name that is not UTF-8', cat(int32(10), Uint8Array.of(0xff, 0), '\0')],
    ];
    for (const [name, message] of authentication) {
      it(`Authentication: ${name}`, () => {
        expect(expectSaslError(() => parsePgAuthentication(message), 'MALFORMED_MESSAGE').party).to.equal('server');
      });
    }

    const initial: [string, Uint8Array][] = [
      ['no NUL after the name', b('SCRAM-SHA-256')],
      ['an empty name', cat('\0', int32(-1))],
      ['an invalid name', cat('SCRAM SHA\0', int32(-1))],
      ['a truncated length', cat('SCRAM-SHA-256\0', Uint8Array.of(0, 0))],
      ['length -2', cat('SCRAM-SHA-256\0', int32(-2))],
      ['a length longer than the data', cat('SCRAM-SHA-256\0', int32(5), 'abc')],
      ['a length shorter than the data', cat('SCRAM-SHA-256\0', int32(1), 'abc')],
      ['data after length -1', cat('SCRAM-SHA-256\0', int32(-1), 'abc')],
    ];
    for (const [name, message] of initial) {
      it(`SASLInitialResponse: ${name}`, () => {
        expect(expectSaslError(() => parsePgSASLInitialResponse(message), 'MALFORMED_MESSAGE').party).to.equal(
          'client',
        );
      });
    }

    const errors: [string, Uint8Array][] = [
      ['no terminator', b('SFATAL\0C28P01\0')],
      ['an unterminated field', b('SFATAL\0C28P01')],
      ['no SQLSTATE', b('SFATAL\0Mbad\0\0')],
      ['a malformed SQLSTATE', b('SFATAL\0C28p01\0\0')],
      ['bytes after the terminator', b('C28P01\0\0x')],
      ['an empty body', new Uint8Array(0)],
    ];
    for (const [name, message] of errors) {
      it(`ErrorResponse: ${name}`, () => {
        expectSaslError(() => parsePgErrorResponse(message), 'MALFORMED_MESSAGE');
      });
    }

    const startup: [string, Uint8Array][] = [
      ['a truncated code', Uint8Array.of(0, 3)],
      ['protocol 2.0', cat(int32(0x20000), 'user\0alice\0\0')],
      ['a repeated parameter', cat(int32(196608), 'user\0alice\0user\0bob\0\0')],
      ['no user', cat(int32(196608), 'database\0postgres\0\0')],
      ['an empty user', cat(int32(196608), 'user\0\0\0')],
      ['no final NUL', cat(int32(196608), 'user\0alice\0')],
      ['a name without value', cat(int32(196608), 'user\0alice\0database\0')],
      ['bytes after the final NUL', cat(int32(196608), 'user\0alice\0\0x')],
      ['invalid UTF-8', cat(int32(196608), 'user\0', Uint8Array.of(0xc3, 0x28), '\0\0')],
      ['an SSLRequest with extra bytes', cat(int32(80877103), 'x')],
      ['a CancelRequest with a short key', cat(int32(80877102), int32(7), Uint8Array.of(1, 2))],
    ];
    for (const [name, message] of startup) {
      it(`startup packet: ${name}`, () => {
        expectSaslError(() => parsePgStartupPacket(message), 'MALFORMED_MESSAGE');
      });
    }

    it('startup packets: StartupMessage, SSLRequest, GSSENCRequest and CancelRequest', () => {
      expect(parsePgStartupPacket(buildPgStartupMessage({ user: 'alice', database: 'db' }).subarray(4))).to.deep.equal({
        kind: 'startup',
        version: 196608,
        parameters: Object.assign(Object.create(null) as object, { user: 'alice', database: 'db' }),
      });
      expect(parsePgStartupPacket(buildPgSSLRequest().subarray(4))).to.deep.equal({ kind: 'ssl' });
      expect(parsePgStartupPacket(int32(80877104))).to.deep.equal({ kind: 'gssenc' });
      const cancel = parsePgStartupPacket(cat(int32(80877102), int32(7), int32(9)));
      expect(cancel.kind === 'cancel' && cancel.processId).to.equal(7);
    });

    it('builders refuse what cannot be framed', () => {
      expectSaslError(() => buildPgStartupMessage({ database: 'x' }), 'USAGE');
      expectSaslError(() => buildPgStartupMessage({ user: 'a\0b' }), 'USAGE');
      expectSaslError(() => buildPgStartupMessage({ user: 'alice', '': 'x' }), 'USAGE');
      expectSaslError(() => buildPgAuthenticationSASL([]), 'USAGE');
      expectSaslError(() => buildPgAuthenticationSASL(['bad name']), 'USAGE');
      expectSaslError(() => buildPgSASLInitialResponse('scram'), 'USAGE');
      expectSaslError(() => buildPgErrorResponse({ severity: 'FATAL', code: 'bad', message: 'x' }), 'USAGE');
      expectSaslError(() => buildPgMessage('RR', new Uint8Array(0)), 'USAGE');
      expectSaslError(() => buildPgBackendKeyData(1, new Uint8Array(2)), 'USAGE');
    });

    it('the error response round-trips with every field', () => {
      const parsed = parsePgErrorResponse(
        body(buildPgErrorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed' })),
      );
      expect(parsed).to.include({ severity: 'FATAL', code: '28P01', message: 'password authentication failed' });
      expect(parsed.fields).to.deep.equal(
        Object.assign(Object.create(null) as object, {
          S: 'FATAL',
          V: 'FATAL',
          C: '28P01',
          M: 'password authentication failed',
        }),
      );
    });
  });

  describe('message reader', () => {
    it('reassembles messages split anywhere and keeps what follows', async () => {
      const bytes = Buffer.concat([
        buildPgAuthenticationOk(),
        buildPgParameterStatus('a', 'b'),
        buildPgReadyForQuery(),
      ]);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.subarray(i, i + 3));
      const reader = new PgMessageReader(feed(...chunks), { peer: 'server' });
      expect((await reader.read()).type).to.equal('R');
      const ready = await readPostgresReady(reader);
      expect(ready).to.deep.include({ transactionStatus: 'I', processId: undefined });
      expect(ready.parameters['a']).to.equal('b');
      expect(reader.buffered.length).to.equal(0);
    });

    it('refuses bad lengths, oversized messages, a truncated stream and non-byte chunks', async () => {
      await expectSaslRejection(
        new PgMessageReader(feed(cat('R', int32(3))), { peer: 'server' }).read(),
        'MALFORMED_MESSAGE',
      );
      await expectSaslRejection(
        new PgMessageReader(feed(cat('R', int32(-1))), { peer: 'server' }).read(),
        'MALFORMED_MESSAGE',
      );
      await expectSaslRejection(
        new PgMessageReader(feed(cat('R', int32(100))), { peer: 'server', maxMessageBytes: 64 }).read(),
        'LIMIT_EXCEEDED',
      );
      const truncated = await expectSaslRejection(
        new PgMessageReader(feed(cat('R', int32(8), Uint8Array.of(0))), { peer: 'server' }).read(),
        'ABORTED',
      );
      expect(truncated.party).to.equal('server');
      await expectSaslRejection(
        new PgMessageReader(feed(int32(10001)), { peer: 'client' }).readStartup(),
        'LIMIT_EXCEEDED',
      );
      await expectSaslRejection(
        new PgMessageReader(feed(int32(6), Uint8Array.of(0, 0)), { peer: 'client' }).readStartup(),
        'MALFORMED_MESSAGE',
      );
      const strings = (async function* () {
        yield await Promise.resolve('R' as unknown as Uint8Array);
      })();
      await expectSaslRejection(new PgMessageReader(strings, { peer: 'server' }).read(), 'USAGE');
    });

    it('readPostgresReady: BackendKeyData, notices, and refusals', async () => {
      const ready = await readPostgresReady(
        new PgMessageReader(feed(buildPostgresReady({ processId: 42, secretKey: Uint8Array.of(1, 2, 3, 4) })), {
          peer: 'server',
        }),
      );
      expect(ready.processId).to.equal(42);
      expect(ready.parameters['server_version']).to.equal('15.0');
      const notice = buildPgMessage(
        'N',
        body(buildPgErrorResponse({ severity: 'NOTICE', code: '00000', message: 'hi' })),
      );
      expect(
        (await readPostgresReady(new PgMessageReader(feed(notice, buildPgReadyForQuery('T')), { peer: 'server' })))
          .transactionStatus,
      ).to.equal('T');
      const noDb = await expectSaslRejection(
        readPostgresReady(
          new PgMessageReader(
            feed(buildPgErrorResponse({ severity: 'FATAL', code: '3D000', message: 'no such database' })),
            { peer: 'server' },
          ),
        ),
        'AUTHENTICATION_FAILED',
      );
      expect(noDb).to.include({ serverError: '3D000' });
      expectNoSecrets(noDb, ['no such database']);
      await expectSaslRejection(
        readPostgresReady(new PgMessageReader(feed(buildPgMessage('D', new Uint8Array(0))), { peer: 'server' })),
        'UNEXPECTED_MESSAGE',
      );
      await expectSaslRejection(
        readPostgresReady(new PgMessageReader(feed(buildPgMessage('Z', b('II'))), { peer: 'server' })),
        'MALFORMED_MESSAGE',
      );
      await expectSaslRejection(
        readPostgresReady(new PgMessageReader(feed(buildPgMessage('K', int32(1))), { peer: 'server' })),
        'MALFORMED_MESSAGE',
      );
      await expectSaslRejection(
        readPostgresReady(new PgMessageReader(feed(buildPgMessage('S', b('a\0b'))), { peer: 'server' })),
        'MALFORMED_MESSAGE',
      );
    });
  });

  describe('server', () => {
    const startup = buildPgStartupMessage({ user: 'alice', database: 'postgres' });

    async function serve(
      chunks: Uint8Array[],
      options: ServerOptions = { lookup: asyncStoreOf(ALICE) },
      auth?: SASLAuth,
    ): Promise<{ run: Promise<PostgresServerResult>; written: Uint8Array[] }> {
      const written: Uint8Array[] = [];
      const run = postgresServerAuth({
        messages: feed(...chunks),
        write: (data) => {
          written.push(Buffer.from(data));
        },
        options,
        ...(auth === undefined ? {} : { auth }),
      });
      run.catch(() => undefined);
      await Promise.allSettled([run]);
      return { run, written };
    }

    it('answers SSLRequest and GSSENCRequest with N, and advertises only SCRAM-SHA-256 without channel binding', async () => {
      const { written, run } = await serve([buildPgSSLRequest(), int32(8), int32(80877104), startup]);
      await expectSaslRejection(run, 'ABORTED');
      expect(types(written)).to.deep.equal(['byte N', 'byte N', 'R']);
      expect(parsePgAuthentication(body(written[2]!))).to.deep.equal({ code: 10, mechanisms: ['SCRAM-SHA-256'] });
    });

    it('with requireChannelBinding and binding data, advertises only -PLUS (as advertisedMechanisms does)', async () => {
      const binding = { types: ['tls-server-end-point' as const], data: () => b('end-point-hash-for-tests-0123456') };
      const { written } = await serve([startup], {
        lookup: asyncStoreOf(ALICE),
        channelBindingData: binding,
        requireChannelBinding: true,
      });
      expect(parsePgAuthentication(body(written[0]!))).to.deep.equal({ code: 10, mechanisms: ['SCRAM-SHA-256-PLUS'] });
      const { written: relaxed } = await serve([startup], { lookup: asyncStoreOf(ALICE), channelBindingData: binding });
      expect(parsePgAuthentication(body(relaxed[0]!))).to.deep.equal({
        code: 10,
        mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      });
    });

    it('answers a newer minor protocol version with NegotiateProtocolVersion', async () => {
      const newer = cat(int32(4 + 4 + 11 + 1), int32(196610), 'user\0alice\0\0');
      const { written } = await serve([newer]);
      expect(types(written)).to.deep.equal(['v', 'R']);
    });

    const failures: [string, Uint8Array[], string, string][] = [
      [
        'a wrong PLAIN password',
        [startup, buildPgSASLInitialResponse('PLAIN', b('\0alice\0nope'))],
        '28P01',
        'AUTHENTICATION_FAILED',
      ],
      [
        'a PLAIN user other than the startup user',
        [buildPgStartupMessage({ user: 'bob' }), buildPgSASLInitialResponse('PLAIN', b('\0alice\0alice-pass'))],
        '28P01',
        'AUTHENTICATION_FAILED',
      ],
      [
        'a mechanism it did not offer',
        [startup, buildPgSASLInitialResponse('LOGIN', b('alice'))],
        '28000',
        'MECHANISM_UNAVAILABLE',
      ],
      [
        'a message other than SASLInitialResponse',
        [startup, buildPgMessage('Q', b('select 1\0'))],
        '08P01',
        'UNEXPECTED_MESSAGE',
      ],
      [
        'a malformed SASLInitialResponse',
        [startup, buildPgMessage('p', cat('PLAIN\0', int32(9), 'abc'))],
        '08P01',
        'MALFORMED_MESSAGE',
      ],
      [
        'a malformed PLAIN message',
        [startup, buildPgSASLInitialResponse('PLAIN', b('alice'))],
        '08P01',
        'MALFORMED_MESSAGE',
      ],
      [
        'a message other than SASLResponse',
        [startup, buildPgSASLInitialResponse('PLAIN'), buildPgTerminate()],
        '08P01',
        'UNEXPECTED_MESSAGE',
      ],
      ['an oversized message', [startup, cat('p', int32(70000))], '08P01', 'LIMIT_EXCEEDED'],
      [
        'a CancelRequest instead of a login',
        [cat(int32(16), int32(80877102), int32(1), int32(2))],
        '08P01',
        'UNEXPECTED_MESSAGE',
      ],
      ['a malformed startup packet', [cat(int32(8), int32(0x20000))], '08P01', 'MALFORMED_MESSAGE'],
      [
        'a third encryption request',
        [buildPgSSLRequest(), buildPgSSLRequest(), buildPgSSLRequest()],
        '08P01',
        'UNEXPECTED_MESSAGE',
      ],
    ];
    for (const [name, chunks, code, errorCode] of failures) {
      it(`answers ${name} with a FATAL ${code} and rejects with ${errorCode}`, async () => {
        const { run, written } = await serve(
          chunks,
          { lookup: asyncStoreOf(ALICE, new ClearIdentity('bob', 'bob-pass')) },
          SASLAuth.named(['PLAIN', 'SCRAM-SHA-256']),
        );
        const error = await expectSaslRejection(run, errorCode as 'USAGE');
        expect(sqlstate(written[written.length - 1])).to.equal(code);
        expect(parsePgErrorResponse(body(written[written.length - 1]!)).severity).to.equal('FATAL');
        expectNoSecrets(error, ['nope', 'alice-pass']);
        expectNoSecrets(written.map(s), ['nope', 'alice-pass']);
      });
    }

    it('answers a throwing credential store with XX000 and rethrows its error', async () => {
      const boom = new Error('database down');
      const { run, written } = await serve(
        [startup, buildPgSASLInitialResponse('PLAIN', b('\0alice\0alice-pass'))],
        { lookup: () => Promise.reject(boom) },
        new SASLAuth([PLAIN]),
      );
      const reason = await run.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(reason).to.equal(boom);
      expect(sqlstate(written[written.length - 1])).to.equal('XX000');
    });

    it('writes nothing more when the client hangs up', async () => {
      const { run, written } = await serve(
        [startup, buildPgSASLInitialResponse('PLAIN')],
        { lookup: asyncStoreOf(ALICE) },
        new SASLAuth([PLAIN]),
      );
      expect((await expectSaslRejection(run, 'ABORTED')).party).to.equal('client');
      expect(types(written)).to.deep.equal(['R', 'R']);
    });

    it('uses startup parameters the host read, and sends no SASLFinal for a mechanism without final data', async () => {
      const written: Uint8Array[] = [];
      const result = await postgresServerAuth({
        messages: feed(buildPgSASLInitialResponse('PLAIN'), buildPgSASLResponse(b('\0alice\0alice-pass'))),
        write: (data) => {
          written.push(Buffer.from(data));
        },
        startup: { user: 'alice' },
        auth: new SASLAuth([PLAIN]),
        options: { lookup: asyncStoreOf(ALICE) },
      });
      expect(result.authenticated).to.include({ mechanism: 'PLAIN', authcid: 'alice' });
      expect(written.map((frame) => parsePgAuthentication(body(frame)).code)).to.deep.equal([
        PG_AUTH.SASL,
        PG_AUTH.SASL_CONTINUE,
        PG_AUTH.OK,
      ]);
    });

    it('maps errors to SQLSTATEs', () => {
      expect(postgresErrorFor(new Error('x')).code).to.equal('XX000');
    });
  });

  describe('client', () => {
    async function login(
      serverMessages: Uint8Array[],
      client: ClientOptions = {},
      allowNoSasl = false,
    ): Promise<{ run: Promise<PostgresClientResult>; written: Uint8Array[] }> {
      const written: Uint8Array[] = [];
      const run = postgresClientAuth({
        messages: feed(...serverMessages),
        write: (data) => {
          written.push(Buffer.from(data));
        },
        user: 'alice',
        password: 'alice-pass',
        client,
        allowNoSasl,
      });
      run.catch(() => undefined);
      await Promise.allSettled([run]);
      return { run, written };
    }
    const sasl = buildPgAuthenticationSASL(['SCRAM-SHA-256']);

    it('sends the StartupMessage and SCRAM client-first with an empty user name, as libpq', async () => {
      const { written } = await login([sasl], { scram: { nonceForTesting: 'abc' } });
      expect(parsePgStartupPacket(written[0]!.subarray(4))).to.deep.include({ kind: 'startup' });
      expect(s(parsePgSASLInitialResponse(body(written[1]!)).data)).to.equal('n,,n=,r=abc');
    });

    const failures: [string, Uint8Array[], string][] = [
      ['an MD5 password request', [cat('R', int32(12), int32(5), Uint8Array.of(1, 2, 3, 4))], 'MECHANISM_UNAVAILABLE'],
      ['a clear-text password request', [cat('R', int32(8), int32(3))], 'MECHANISM_UNAVAILABLE'],
      ['no common mechanism', [buildPgAuthenticationSASL(['GSSAPI'])], 'MECHANISM_UNAVAILABLE'],
      ['AuthenticationOk without SASL', [buildPgAuthenticationOk()], 'SERVER_NOT_VERIFIED'],
      [
        'an ErrorResponse 28P01',
        [
          sasl,
          buildPgErrorResponse({
            severity: 'FATAL',
            code: '28P01',
            message: 'password authentication failed for user "alice"',
          }),
        ],
        'AUTHENTICATION_FAILED',
      ],
      [
        'an ErrorResponse before SASL',
        [buildPgErrorResponse({ severity: 'FATAL', code: '28000', message: 'no pg_hba.conf entry' })],
        'AUTHENTICATION_FAILED',
      ],
      [
        'an ErrorResponse 08P01',
        [sasl, buildPgErrorResponse({ severity: 'FATAL', code: '08P01', message: 'invalid message' })],
        'MALFORMED_MESSAGE',
      ],
      ['SASLContinue before SASL', [buildPgAuthenticationSASLContinue(b('r=x'))], 'UNEXPECTED_MESSAGE'],
      ['SASLFinal before SASL', [buildPgAuthenticationSASLFinal(b('v=x'))], 'UNEXPECTED_MESSAGE'],
      ['a second AuthenticationSASL', [sasl, sasl], 'UNEXPECTED_MESSAGE'],
      ['a message other than Authentication', [buildPgReadyForQuery()], 'UNEXPECTED_MESSAGE'],
      ['a malformed server-first', [sasl, buildPgAuthenticationSASLContinue(b('garbage'))], 'MALFORMED_MESSAGE'],
      ['AuthenticationOk without SCRAM server-final', [sasl, buildPgAuthenticationOk()], 'SERVER_NOT_VERIFIED'],
      ['the server hanging up', [sasl], 'ABORTED'],
    ];
    for (const [name, messages, code] of failures) {
      it(`rejects ${name} with ${code}`, async () => {
        const { run } = await login(messages);
        const error = await expectSaslRejection(run, code as 'USAGE');
        expectNoSecrets(error, ['alice-pass', 'no pg_hba.conf entry', 'password authentication failed for user']);
      });
    }

    it('cancels its mechanism when the server hangs up mid-exchange', async () => {
      const tracked = probedClient(PLAIN);
      const run = postgresClientAuth({
        messages: feed(buildPgAuthenticationSASL(['PLAIN'])),
        write: () => undefined,
        user: 'alice',
        password: 'alice-pass',
        auth: new SASLAuth([tracked.mechanism]),
      });
      await expectSaslRejection(run, 'ABORTED');
      expect(tracked.probe.ran).to.equal(true);
    });

    it('reports the SQLSTATE as serverError, and ignores notices', async () => {
      const notice = buildPgMessage(
        'N',
        body(buildPgErrorResponse({ severity: 'NOTICE', code: '00000', message: 'hello' })),
      );
      const { run } = await login([
        notice,
        sasl,
        buildPgErrorResponse({ severity: 'FATAL', code: '28P01', message: 'x' }),
      ]);
      expect(await expectSaslRejection(run, 'AUTHENTICATION_FAILED')).to.include({
        serverError: '28P01',
        party: 'server',
      });
    });

    it('accepts a server without SASL only when allowed, and never when channel binding is required', async () => {
      const allowed = await login([buildPgAuthenticationOk()], {}, true);
      expect(await allowed.run).to.include({ mechanism: undefined, serverVerified: false });
      await expectSaslRejection(
        (await login([buildPgAuthenticationOk()], { channelBinding: 'require' }, true)).run,
        'SERVER_NOT_VERIFIED',
      );
    });

    it('requires a -PLUS mechanism when the policy says so', async () => {
      const binding = staticChannelBinding({ 'tls-server-end-point': Buffer.alloc(32, 1) });
      await expectSaslRejection(
        (await login([sasl], { channelBinding: 'require', channelBindingData: binding })).run,
        'MECHANISM_UNAVAILABLE',
      );
      // With data but only tls-exporter, PostgreSQL's -PLUS cannot be used: plain SCRAM with `y`.
      const exporterOnly = await login([buildPgAuthenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'])], {
        channelBindingData: staticChannelBinding({ 'tls-exporter': Buffer.alloc(32, 1) }),
        scram: { nonceForTesting: 'abc' },
      });
      const initial = parsePgSASLInitialResponse(body(exporterOnly.written[1]!));
      expect(initial.mechanism).to.equal('SCRAM-SHA-256');
      expect(s(initial.data)).to.equal('n,,n=,r=abc');
    });
  });

  describe('client against server over 127.0.0.1', () => {
    it('SCRAM-SHA-256 with a clear-text store', async () => {
      const result = await pair({});
      expect(fulfilled(result.server).authenticated).to.include({
        mechanism: 'SCRAM-SHA-256',
        authcid: 'alice',
        authzid: 'alice',
      });
      expect(fulfilled(result.server).parameters['database']).to.equal('postgres');
      expect(fulfilled(result.client)).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    });

    it('SCRAM-SHA-256 with a stored secret (no clear-text password on the server)', async () => {
      const stored = ScramIdentity.create('alice', 'alice-pass', { hashes: ['SHA-256'] });
      const result = await pair({ server: { lookup: asyncStoreOf(stored) } });
      expect(fulfilled(result.client).serverVerified).to.equal(true);
    });

    it('PLAIN, when both sides allow it', async () => {
      const auth = SASLAuth.named(['PLAIN']);
      const result = await pair({ serverAuth: auth, clientAuth: auth });
      expect(fulfilled(result.server).authenticated).to.include({ mechanism: 'PLAIN', authcid: 'alice' });
      expect(fulfilled(result.client)).to.include({ mechanism: 'PLAIN', serverVerified: false });
      expect(s(parsePgSASLInitialResponse(body(result.clientWrote[1]!)).data)).to.equal('\0alice\0alice-pass');
    });

    it('a wrong password fails on both sides with 28P01', async () => {
      const result = await pair({ password: 'wrong' });
      expect(rejectedCode(result.server)).to.equal('AUTHENTICATION_FAILED');
      expect(rejectedCode(result.client)).to.equal('AUTHENTICATION_FAILED');
      expect(sqlstate(result.serverWrote[result.serverWrote.length - 1])).to.equal('28P01');
    });

    it('SCRAM-SHA-256-PLUS over TLS with tls-server-end-point', async () => {
      const result = await pair({ tls: true, client: { channelBinding: 'require' } });
      expect(fulfilled(result.server).authenticated.mechanism).to.equal('SCRAM-SHA-256-PLUS');
      expect(fulfilled(result.client)).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true });
      expect(parsePgAuthentication(body(result.serverWrote[0]!))).to.deep.equal({
        code: 10,
        mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      });
      expect(s(parsePgSASLInitialResponse(body(result.clientWrote[1]!)).data)).to.match(
        /^p=tls-server-end-point,,n=,r=/,
      );
    });

    it('a client that can bind but is offered no -PLUS is caught as a downgrade', async () => {
      const result = await pair({ tls: true, serverAuth: new SASLAuth([SCRAM_SHA_256]) });
      expect(rejectedCode(result.server)).to.equal('AUTHENTICATION_FAILED');
      expect(rejectedCode(result.client)).to.equal('AUTHENTICATION_FAILED');
    });
  });

  describe('node-postgres (pg) against the saslkit server over 127.0.0.1', () => {
    async function serveForPg(tls: boolean): Promise<{ port: number; served: Promise<unknown>[] }> {
      return listen(async (raw) => {
        const socket = tls ? await acceptTls(raw) : raw;
        const reader = new PgMessageReader(socket, { peer: 'client' });
        const result = await postgresServerAuth({
          messages: reader,
          write: (data) => {
            socket.write(data);
          },
          options: {
            lookup: asyncStoreOf(ALICE),
            ...(tls ? { channelBindingData: tlsChannelBinding(socket as TLSSocket, 'server') } : {}),
          },
        });
        socket.write(buildPostgresReady());
        // pg sends Terminate when the client ends.
        const terminate = await result.reader.read();
        socket.end();
        return { result, terminate: terminate.type };
      });
    }

    /** A pg client for alice on 127.0.0.1:`port`. */
    const pgClient = (port: number, extra: pg.ClientConfig = {}): pg.Client =>
      new pg.Client({ host: '127.0.0.1', port, user: 'alice', password: 'alice-pass', database: 'postgres', ...extra });

    it('pg logs in with SCRAM-SHA-256', async () => {
      const { port, served } = await serveForPg(false);
      const client = pgClient(port);
      await client.connect();
      await client.end();
      const outcome = (await served[0]) as { result: PostgresServerResult; terminate: string };
      expect(outcome.result.authenticated).to.include({ mechanism: 'SCRAM-SHA-256', authcid: 'alice' });
      expect(outcome.result.parameters['user']).to.equal('alice');
      expect(outcome.terminate).to.equal('X');
    });

    it('pg logs in with SCRAM-SHA-256-PLUS over TLS', async () => {
      const { port, served } = await serveForPg(true);
      const client = pgClient(port, { ssl: { rejectUnauthorized: false }, enableChannelBinding: true });
      await client.connect();
      await client.end();
      const outcome = (await served[0]) as { result: PostgresServerResult };
      expect(outcome.result.authenticated.mechanism).to.equal('SCRAM-SHA-256-PLUS');
    });

    it('pg is refused with a wrong password and sees 28P01', async () => {
      const { port, served } = await serveForPg(false);
      const client = pgClient(port, { password: 'wrong' });
      const error = await client.connect().then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(error?.code).to.equal('28P01');
      await Promise.allSettled(served);
      expect(rejectedCode((await Promise.allSettled(served))[0]!)).to.equal('AUTHENTICATION_FAILED');
    });
  });

  describe('the limits signal ends a wait for the peer', () => {
    const startup = buildPgStartupMessage({ user: 'alice', database: 'postgres' });

    it('server: a client silent after SASLContinue ends with TIMEOUT blamed on it, and a FATAL ErrorResponse', async () => {
      const out = recorder<Uint8Array>((data) => Buffer.from(data));
      const error = await abortWhenWaiting(
        out,
        2,
        (signal) =>
          postgresServerAuth({
            messages: silentAfter(startup, buildPgSASLInitialResponse('PLAIN')),
            write: out.write,
            auth: new SASLAuth([PLAIN]),
            options: { lookup: asyncStoreOf(ALICE) },
            session: { signal },
          }),
        timeoutReason(),
        'TIMEOUT',
      );
      expect(error).to.include({ party: 'client', mechanism: 'PLAIN' });
      expect(types(out.written)).to.deep.equal(['R', 'R', 'E']);
      expect(sqlstate(out.written[2])).to.equal('XX000');
    });

    it('server: an abort for another reason ends with ABORTED, and the connection is still answered', async () => {
      const out = recorder<Uint8Array>((data) => Buffer.from(data));
      const error = await abortWhenWaiting(
        out,
        1,
        (signal) =>
          postgresServerAuth({
            messages: silentAfter(startup),
            write: out.write,
            options: { lookup: asyncStoreOf(ALICE) },
            session: { signal },
          }),
        undefined,
        'ABORTED',
      );
      expect(error).to.include({ party: 'client' });
      expect(types(out.written)).to.deep.equal(['R', 'E']);
    });

    it('server over 127.0.0.1: a client that never sends its startup packet ends with TIMEOUT under AbortSignal.timeout', async () => {
      const { port, served } = await listen((socket) =>
        postgresServerAuth({
          messages: socket,
          write: (data) => {
            socket.write(data);
          },
          options: { lookup: asyncStoreOf(ALICE) },
          session: { signal: AbortSignal.timeout(50) },
        }),
      );
      const socket = await connect(port);
      const answer = once(socket, 'data') as Promise<[Buffer]>;
      while (served.length === 0) await new Promise((resolve) => setImmediate(resolve));
      const [result] = await Promise.allSettled(served);
      expect(result?.status === 'rejected' && result.reason).to.include({ code: 'TIMEOUT', party: 'client' });
      const [frame] = await answer;
      expect(sqlstate(frame)).to.equal('XX000');
    });

    it('client: a server silent after AuthenticationSASL ends with TIMEOUT blamed on it, and the mechanism is cancelled', async () => {
      const tracked = probedClient(PLAIN);
      const out = recorder<Uint8Array>((data) => Buffer.from(data));
      const error = await abortWhenWaiting(
        out,
        2,
        (signal) =>
          postgresClientAuth({
            messages: silentAfter(buildPgAuthenticationSASL(['PLAIN'])),
            write: out.write,
            user: 'alice',
            password: 'alice-pass',
            auth: new SASLAuth([tracked.mechanism]),
            session: { signal },
          }),
        timeoutReason(),
        'TIMEOUT',
      );
      expect(error).to.include({ party: 'server', mechanism: 'PLAIN' });
      expect(tracked.probe.ran).to.equal(true);
      expectNoSecrets(error, ['alice-pass']);
    });

    it('client over 127.0.0.1: a server that never answers the startup packet ends with TIMEOUT under AbortSignal.timeout', async () => {
      const { port } = await listen((socket) => once(socket, 'close'));
      const socket = await connect(port);
      const run = postgresClientAuth({
        messages: socket,
        write: (data) => {
          socket.write(data);
        },
        user: 'alice',
        password: 'alice-pass',
        session: { signal: AbortSignal.timeout(50) },
      });
      const error = await expectSaslRejection(run, 'TIMEOUT');
      expect(error.party).to.equal('server');
    });
  });
});
