/**
 * Logs in to a PostgreSQL server with saslkit's SCRAM-SHA-256, or SCRAM-SHA-256-PLUS over TLS
 * (channel binding `tls-server-end-point`), and prints what happened.
 *
 *   SASLKIT_PASSWORD=alice-pass npx ts-node examples/postgres-client.ts 127.0.0.1 15432 alice [--tls] [--database postgres]
 *
 * With `--tls` the client sends SSLRequest and upgrades the connection. The certificate is not
 * checked against a CA (like libpq's `sslmode=require`); SCRAM-SHA-256-PLUS still detects a
 * man in the middle, because the channel binding covers the certificate the client saw.
 */
import { once } from 'node:events';
import { type Socket, createConnection, isIP } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  PgMessageReader,
  buildPgSSLRequest,
  buildPgTerminate,
  isSaslError,
  postgresClientAuth,
  readPostgresReady,
  tlsChannelBinding,
} from 'saslkit';

function usage(): never {
  console.error(
    'usage: SASLKIT_PASSWORD=... npx ts-node examples/postgres-client.ts <host> <port> <user> [--tls] [--database <name>]',
  );
  process.exit(2);
}

/** SSLRequest, then a TLS handshake over the same socket. */
async function startTls(socket: Socket, host: string): Promise<TLSSocket> {
  socket.write(buildPgSSLRequest());
  const [answer] = (await once(socket, 'data')) as [Buffer];
  // Bytes after the one-byte answer would be unencrypted data injected before TLS (CVE-2021-23222).
  if (answer.length !== 1) throw new Error('unexpected bytes after the SSLRequest answer');
  if (answer[0] !== 0x53) throw new Error('the server does not do TLS');
  socket.pause();
  const tls = tlsConnect({ socket, rejectUnauthorized: false, ...(isIP(host) === 0 ? { servername: host } : {}) });
  await once(tls, 'secureConnect');
  return tls;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const useTls = args.includes('--tls');
  const dbIndex = args.indexOf('--database');
  const database = dbIndex === -1 ? undefined : args[dbIndex + 1];
  const [host, port, user] = args.filter((arg, i) => !arg.startsWith('--') && (dbIndex === -1 || i !== dbIndex + 1));
  const password = process.env['SASLKIT_PASSWORD'];
  if (host === undefined || port === undefined || user === undefined) usage();
  if (password === undefined) {
    console.error('set SASLKIT_PASSWORD');
    process.exit(2);
  }

  const raw = createConnection({ host, port: Number(port) });
  await once(raw, 'connect');
  const tls = useTls ? await startTls(raw, host) : undefined;
  const socket: Socket = tls ?? raw;
  try {
    const reader = new PgMessageReader(socket, { peer: 'server' });
    const result = await postgresClientAuth({
      messages: reader,
      write: (data) => {
        socket.write(data);
      },
      user,
      password,
      ...(database === undefined ? {} : { database }),
      parameters: { application_name: 'saslkit-example' },
      // Over TLS insist on SCRAM-SHA-256-PLUS, as libpq's channel_binding=require.
      client: tls ? { channelBinding: 'require', channelBindingData: tlsChannelBinding(tls, 'client') } : {},
    });
    const ready = await readPostgresReady(result.reader);
    console.log(
      `authenticated as ${user} with ${result.mechanism ?? 'no SASL'}; server verified: ${result.serverVerified}`,
    );
    console.log(
      `server_version ${ready.parameters['server_version'] ?? '?'}, transaction status ${ready.transactionStatus}${tls ? `, ${tls.getProtocol() ?? ''}` : ''}`,
    );
    socket.write(buildPgTerminate());
  } catch (error) {
    if (!isSaslError(error)) throw error;
    const sqlstate = (error as { serverError?: unknown }).serverError;
    const detail = typeof sqlstate === 'string' ? ` (SQLSTATE ${sqlstate})` : '';
    console.error(`login failed: ${error.code}${detail}: ${error.message}`);
    process.exitCode = 1;
  } finally {
    socket.end();
    raw.destroy();
  }
}

void main();
