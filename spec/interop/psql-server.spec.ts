/**
 * psql (libpq) logging in to saslkit's PostgreSQL server: a small server on 127.0.0.1 that
 * answers SSLRequest with TLS (the fixture certificate), hands authentication to
 * postgresServerAuth, and then speaks only as much of the protocol as `psql -c ''` needs.
 * SCRAM-SHA-256 in the clear, SCRAM-SHA-256-PLUS with libpq's channel_binding=require over
 * TLS 1.3 and TLS 1.2, and a refused wrong password, with saslkit's error checked for secrets.
 */
import { expect } from 'chai';
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { TLSSocket, createSecureContext } from 'node:tls';
import {
  type Authenticated,
  ClearIdentity,
  type Identity,
  PG_GSSENC_REQUEST_CODE,
  PG_SSL_REQUEST_CODE,
  PgMessageReader,
  ScramIdentity,
  buildPgMessage,
  buildPgReadyForQuery,
  buildPostgresReady,
  isSaslError,
  postgresServerAuth,
  tlsChannelBinding,
} from '../../lib/index.js';
import { expectNoSecrets } from '../support/helpers.js';
import { ACCOUNTS, HOST } from './peers.js';
import { type ToolRun, requireTool, runTool } from './tools.js';

const { alice, bob } = ACCOUNTS;
const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
/** A connection that stalls is cut after this long, so no spec waits on a silent peer. */
const CONNECTION_TIMEOUT_MS = 15_000;

/** One connection as the server saw it. */
interface PgConnection {
  /** The TLS version, when the client asked for TLS. */
  tls?: string | null;
  /** The startup parameters, once authentication succeeded. */
  parameters?: Readonly<Record<string, string>>;
  outcome?: Authenticated;
  /** saslkit's error (or the helper's own) when the connection failed. */
  error?: unknown;
  /** The simple queries the client sent after ReadyForQuery. */
  readonly queries: string[];
  /** Whether the client closed with Terminate. */
  terminated: boolean;
}

interface PsqlServer {
  readonly port: number;
  /** The connections accepted while `client` ran, once each is finished. */
  connectionsDuring(client: () => Promise<unknown>): Promise<PgConnection[]>;
  close(): Promise<void>;
}

/** Resolves on `event`; rejects on 'error', or when the stream closes first. */
function until(emitter: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      emitter.off(event, onEvent);
      emitter.off('error', onError);
      emitter.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onEvent = (): void => {
      done();
    };
    const onError = (error: Error): void => {
      done(error);
    };
    const onClose = (): void => {
      done(new Error(`the connection closed before '${event}'`));
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
    emitter.once('close', onClose);
  });
}

/** Reads exactly `count` bytes from a paused socket, leaving anything after them buffered. */
async function readBytes(socket: Socket, count: number): Promise<Buffer> {
  for (;;) {
    const chunk = socket.read(count) as Buffer | null;
    if (chunk !== null) return chunk;
    if (socket.readableEnded) throw new Error('the client closed the connection');
    await until(socket, 'readable');
  }
}

/**
 * The encryption step before the startup packet: SSLRequest is answered `S` and TLS starts on
 * the same socket; GSSENCRequest is answered `N`; a StartupMessage is put back for
 * postgresServerAuth to read.
 */
async function negotiate(raw: Socket, connection: PgConnection): Promise<Socket> {
  const secureContext = createSecureContext({
    key: readFileSync(join(TLS_DIR, 'rsa-sha256.key')),
    cert: readFileSync(join(TLS_DIR, 'rsa-sha256.crt')),
  });
  for (let requests = 0; requests < 2; requests++) {
    const head = await readBytes(raw, 8);
    const isRequest = head.readInt32BE(0) === 8;
    const code = head.readInt32BE(4);
    if (isRequest && code === PG_SSL_REQUEST_CODE) {
      // Bytes sent before the handshake would be injected in the clear (CVE-2021-23222).
      if (raw.readableLength !== 0) throw new Error('bytes after SSLRequest');
      raw.write('S');
      const tls = new TLSSocket(raw, { isServer: true, secureContext });
      tls.on('error', () => undefined);
      await until(tls, 'secure');
      connection.tls = tls.getProtocol();
      return tls;
    }
    if (isRequest && code === PG_GSSENC_REQUEST_CODE) {
      raw.write('N');
      continue;
    }
    raw.unshift(head);
    return raw;
  }
  throw new Error('too many encryption requests');
}

/** After ReadyForQuery: every simple query gets EmptyQueryResponse and ReadyForQuery; Terminate ends. */
async function afterReady(reader: PgMessageReader, socket: Socket, connection: PgConnection): Promise<void> {
  for (;;) {
    const message = await reader.read();
    if (message.type === 'X') {
      connection.terminated = true;
      return;
    }
    if (message.type !== 'Q') throw new Error(`unexpected message '${message.type}' after ReadyForQuery`);
    connection.queries.push(Buffer.from(message.body).toString('utf8').replace(/\0$/, ''));
    socket.write(Buffer.concat([buildPgMessage('I', new Uint8Array(0)), buildPgReadyForQuery('I')]));
  }
}

/** alice's password in clear text; bob as SCRAM-SHA-256 keys only, as PostgreSQL stores them. */
function lookup(): (authcid: string) => Identity | undefined {
  const accounts: Identity[] = [
    new ClearIdentity(alice.user, alice.pass),
    ScramIdentity.create(bob.user, bob.pass, { hashes: ['SHA-256'], iterations: 4096 }),
  ];
  return (authcid) => accounts.find((account) => account.authcid === authcid);
}

async function serve(raw: Socket, connection: PgConnection): Promise<void> {
  raw.on('error', () => undefined);
  raw.setTimeout(CONNECTION_TIMEOUT_MS, () => {
    raw.destroy();
  });
  raw.pause();
  let socket: Socket = raw;
  try {
    socket = await negotiate(raw, connection);
    const reader = new PgMessageReader(socket, { peer: 'client' });
    const result = await postgresServerAuth({
      messages: reader,
      write: (data) => {
        socket.write(data);
      },
      options: {
        lookup: lookup(),
        ...(socket instanceof TLSSocket ? { channelBindingData: tlsChannelBinding(socket, 'server') } : {}),
      },
    });
    connection.outcome = result.authenticated;
    connection.parameters = result.parameters;
    socket.write(buildPostgresReady());
    await afterReady(result.reader, socket, connection);
  } catch (error) {
    connection.error = error;
  } finally {
    socket.end();
    raw.end();
    setImmediate(() => {
      raw.destroy();
    });
  }
}

async function startPsqlServer(): Promise<PsqlServer> {
  const sockets = new Set<Socket>();
  const connections: Promise<PgConnection>[] = [];
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.once('close', () => sockets.delete(raw));
    const connection: PgConnection = { queries: [], terminated: false };
    connections.push(serve(raw, connection).then(() => connection));
  });
  server.listen(0, HOST);
  await until(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    async connectionsDuring(client) {
      const before = connections.length;
      await client();
      return Promise.all(connections.slice(before));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('interop: psql logs in to saslkit’s PostgreSQL server', function () {
  this.timeout(30_000);
  let server: PsqlServer | undefined;

  before(async function () {
    await requireTool(this, 'psql');
    server = await startPsqlServer();
  });
  after(async () => {
    await server?.close();
  });

  /** `psql -c ''` with the password in the environment (never on the command line). */
  async function psql(
    user: string,
    password: string,
    conninfo: string,
  ): Promise<{ run: ToolRun; connections: PgConnection[] }> {
    if (!server) throw new Error('no server');
    const port = server.port;
    let run: ToolRun | undefined;
    const connections = await server.connectionsDuring(async () => {
      run = await runTool(
        'psql',
        ['-X', '-w', '-c', '', `host=${HOST} port=${port} user=${user} dbname=postgres connect_timeout=10 ${conninfo}`],
        { env: { PGPASSWORD: password }, timeoutMs: 20_000 },
      );
    });
    if (!run) throw new Error('psql did not run');
    return { run, connections };
  }

  function expectLogin(
    run: ToolRun,
    connections: readonly PgConnection[],
    mechanism: string,
    user: string,
  ): PgConnection {
    expect(run.code, run.stderr).to.equal(0);
    expect(connections).to.have.length(1);
    const [connection] = connections as [PgConnection];
    expect(connection.error, String(connection.error)).to.equal(undefined);
    expect(connection.outcome).to.include({ mechanism, authcid: user });
    expect(connection.parameters).to.include({ user, database: 'postgres' });
    expect(connection.queries).to.deep.equal(['']);
    expect(connection.terminated).to.equal(true);
    return connection;
  }

  it('SCRAM-SHA-256 in the clear (sslmode=disable)', async () => {
    const { run, connections } = await psql(alice.user, alice.pass, 'sslmode=disable');
    const connection = expectLogin(run, connections, 'SCRAM-SHA-256', alice.user);
    expect(connection.tls).to.equal(undefined);
  });

  it('SCRAM-SHA-256 against stored SCRAM keys', async () => {
    const { run, connections } = await psql(bob.user, bob.pass, 'sslmode=disable');
    expectLogin(run, connections, 'SCRAM-SHA-256', bob.user);
  });

  it('SCRAM-SHA-256-PLUS over TLS 1.3 (sslmode=require channel_binding=require)', async () => {
    const { run, connections } = await psql(alice.user, alice.pass, 'sslmode=require channel_binding=require');
    const connection = expectLogin(run, connections, 'SCRAM-SHA-256-PLUS', alice.user);
    expect(connection.tls).to.equal('TLSv1.3');
  });

  it('SCRAM-SHA-256-PLUS over TLS 1.2 (ssl_max_protocol_version=TLSv1.2)', async () => {
    const { run, connections } = await psql(
      bob.user,
      bob.pass,
      'sslmode=require channel_binding=require ssl_max_protocol_version=TLSv1.2',
    );
    const connection = expectLogin(run, connections, 'SCRAM-SHA-256-PLUS', bob.user);
    expect(connection.tls).to.equal('TLSv1.2');
  });

  it('SCRAM-SHA-256 over TLS when psql does not bind (channel_binding=disable)', async () => {
    const { run, connections } = await psql(alice.user, alice.pass, 'sslmode=require channel_binding=disable');
    const connection = expectLogin(run, connections, 'SCRAM-SHA-256', alice.user);
    expect(connection.tls).to.equal('TLSv1.3');
  });

  for (const [label, conninfo] of [
    ['in the clear', 'sslmode=disable'],
    ['over TLS with channel binding', 'sslmode=require channel_binding=require'],
  ] as const) {
    it(`refuses a wrong password ${label}: psql fails with 28P01's message, saslkit blames the client without secrets`, async () => {
      const wrong = 'not-alice-pass';
      const { run, connections } = await psql(alice.user, wrong, conninfo);
      expect(run.code).to.not.equal(0);
      expect(run.stderr).to.include('password authentication failed');
      expect(run.stderr + run.stdout).to.not.include(wrong);
      expect(connections).to.have.length(1);
      const [connection] = connections as [PgConnection];
      expect(connection.outcome).to.equal(undefined);
      const error = connection.error;
      if (!isSaslError(error)) throw new Error(`expected a saslkit error, got ${String(error)}`);
      expect(error).to.include({ code: 'AUTHENTICATION_FAILED', party: 'client' });
      expect(error.mechanism).to.match(/^SCRAM-SHA-256/);
      expectNoSecrets(error, [wrong, alice.pass]);
    });
  }
});
