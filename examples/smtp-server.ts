/**
 * A small SMTP submission server on 127.0.0.1, written out in full: its own command loop (EHLO,
 * STARTTLS, AUTH, MAIL, RCPT, DATA, RSET, NOOP, QUIT), with smtpServerAuth doing the SASL part.
 * It keeps the rules a real server needs:
 *   - PLAIN and LOGIN, which send the password itself, only inside TLS; before TLS only SCRAM.
 *   - Inside TLS, SCRAM-SHA-256-PLUS too, bound to this TLS connection (tls-server-end-point).
 *   - STARTTLS refused once authenticated, and everything the client said before TLS forgotten
 *     when TLS starts (RFC 3207 section 4.2); a command sent after STARTTLS in the same packet
 *     ends the connection (CVE-2011-0411).
 *   - A second AUTH refused (RFC 4954 section 4); MAIL only after AUTH.
 *
 *   npx ts-node examples/smtp-server.ts [--port 2525] [--cert cert.pem --key key.pem | --no-tls]
 *
 * TLS uses the given certificate; without one, a throwaway self-signed certificate made with
 * `openssl` when it is installed; else none, and then only SCRAM is offered. Accounts: alice /
 * alice-pass (stored in clear to keep the example short; every mechanism) and bob / bob-pass
 * (stored as SCRAM secrets). Messages are accepted and thrown away. Prints one line per event;
 * `--port 0` picks a free port. Stops on Ctrl-C or SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureContext, TLSSocket, createSecureContext } from 'node:tls';
import {
  type ChannelBindingSource,
  ClearIdentity,
  type Identity,
  LineReader,
  SASLAuth,
  SMTP_MAX_AUTH_LINE,
  SMTP_MAX_COMMAND_LINE,
  ScramIdentity,
  advertisedMechanisms,
  isSaslError,
  lineWriter,
  sendsSecretInClear,
  smtpAuthKeyword,
  smtpServerAuth,
  tlsChannelBinding,
} from 'saslkit';

const HOSTNAME = 'localhost';
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_RECIPIENTS = 100;

const accounts = new Map<string, Identity>([
  ['alice', new ClearIdentity('alice', 'alice-pass')],
  ['bob', ScramIdentity.create('bob', 'bob-pass')],
]);
const lookup = (authcid: string): Identity | undefined => accounts.get(authcid);

/** Before TLS: SCRAM only, which never sends the password. */
const CLEAR_AUTH = SASLAuth.named(['SCRAM-SHA-256']);
/** Inside TLS: SCRAM bound to the connection first, then the rest. */
const TLS_AUTH = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'PLAIN', 'LOGIN']);

/** A certificate and its key, PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** Options of {@link startSmtpServer}. */
export interface SmtpServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 2525. */
  readonly port?: number;
  /** Certificate and key for STARTTLS. Without them there is no STARTTLS, and only SCRAM. */
  readonly tls?: PemPair | undefined;
  /** Where each event goes, one line each. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** A running server. */
export interface RunningSmtpServer {
  readonly port: number;
  /** What EHLO offers before TLS and inside it. */
  readonly offered: { readonly beforeTls: string; readonly insideTls: string | undefined };
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startSmtpServer(settings: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  const context = settings.tls === undefined ? undefined : createSecureContext(settings.tls);
  const log = settings.log ?? ((): void => undefined);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(60_000, () => socket.destroy());
    const peer = `${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? 0)}`;
    session(socket, context, (line) => {
      log(`[${peer}] ${line}`);
    })
      .catch((error: unknown) => {
        log(`[${peer}] connection ended: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => socket.destroy());
  });
  server.listen(settings.port ?? 2525, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    port: address.port,
    offered: {
      beforeTls: [...(context ? ['STARTTLS'] : []), smtpAuthKeyword(advertisedMechanisms(CLEAR_AUTH))].join(', '),
      insideTls: context ? smtpAuthKeyword(advertisedMechanisms(TLS_AUTH, { channelBinding: true })) : undefined,
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

/** One client connection: the command loop. */
async function session(socket: Socket, context: SecureContext | undefined, log: (line: string) => void): Promise<void> {
  // AUTH lines may carry an initial response up to 12288 octets (RFC 4954 section 4).
  let lines = new LineReader(socket, { maxLineLength: SMTP_MAX_AUTH_LINE + 1 });
  let write = lineWriter(socket);
  let tls: TLSSocket | undefined;
  let binding: ChannelBindingSource | undefined;
  // What the client said. All of it is forgotten when TLS starts: a man in the middle may have said it.
  let greeted = false;
  let user: string | undefined;
  let mail: { from: string; to: string[] } | undefined;
  try {
    await write(`220 ${HOSTNAME} ESMTP saslkit example`);
    for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
      const line = next.value;
      const [word = '', argument = ''] = line.split(' ', 2);
      const verb = word.toUpperCase();
      if (verb !== 'AUTH' && line.length + 2 > SMTP_MAX_COMMAND_LINE) {
        await write('500 5.5.2 Line too long');
      } else if (verb === 'EHLO' || verb === 'HELO') {
        if (argument === '') {
          await write(`501 5.5.4 Syntax: ${verb} hostname`);
          continue;
        }
        greeted = true;
        mail = undefined;
        if (verb === 'HELO') {
          await write(`250 ${HOSTNAME}`);
          continue;
        }
        const offered = tls
          ? advertisedMechanisms(TLS_AUTH, { channelBinding: binding !== undefined && binding.types.length > 0 })
          : advertisedMechanisms(CLEAR_AUTH);
        const extensions = [
          ...(context && !tls ? ['STARTTLS'] : []),
          smtpAuthKeyword(offered),
          '8BITMIME',
          `SIZE ${String(MAX_MESSAGE_BYTES)}`,
        ];
        await write(
          [HOSTNAME, ...extensions].map((text, i, all) => `250${i === all.length - 1 ? ' ' : '-'}${text}`).join('\r\n'),
        );
      } else if (verb === 'STARTTLS') {
        if (context === undefined) {
          await write('502 5.5.1 STARTTLS not available');
        } else if (tls || user !== undefined) {
          // Inside TLS already, or a login made in the clear would carry over into TLS.
          await write('503 5.5.1 STARTTLS not permitted now');
        } else {
          lines.close();
          socket.pause(); // the TLS handshake stays in the socket's buffer
          if ((await lines.next()).done !== true) {
            log('STARTTLS: command sent after STARTTLS before TLS; closing');
            return;
          }
          await write('220 2.0.0 Ready to start TLS');
          const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
          secure.on('error', () => undefined);
          await once(secure, 'secure');
          tls = secure;
          binding = tlsChannelBinding(secure, 'server');
          lines = new LineReader(secure, { maxLineLength: SMTP_MAX_AUTH_LINE + 1 });
          write = lineWriter(secure);
          greeted = false;
          user = undefined;
          mail = undefined;
          log(`STARTTLS: ${secure.getProtocol() ?? 'TLS'}`);
        }
      } else if (verb === 'AUTH') {
        const mechanism = argument.toUpperCase();
        if (!greeted) await write('503 5.5.1 Send EHLO first');
        else if (user !== undefined) await write('503 5.5.1 Already authenticated');
        else if (mail !== undefined) await write('503 5.5.1 AUTH not permitted during a mail transaction');
        else if (!tls && sendsSecretInClear(mechanism))
          await write('538 5.7.11 Encryption required for requested authentication mechanism');
        else {
          try {
            const who = await smtpServerAuth({
              command: line,
              auth: tls ? TLS_AUTH : CLEAR_AUTH,
              options: { lookup, channelBindingData: binding },
              lines,
              write,
            });
            user = who.authcid;
            log(
              `AUTH ${who.mechanism}: authenticated ${who.authcid}${who.authzid === who.authcid ? '' : ` as ${who.authzid}`}${tls ? ' inside TLS' : ''}`,
            );
          } catch (error) {
            // smtpServerAuth has sent the reply (535, 504, 501 ...); the client may try again.
            log(`AUTH ${mechanism} refused: ${isSaslError(error) ? error.code : 'store error'}`);
          }
        }
      } else if (verb === 'MAIL') {
        const from = /^MAIL FROM:<([^<>\s]*)>/i.exec(line)?.[1];
        if (user === undefined) await write('530 5.7.0 Authentication required');
        else if (mail !== undefined) await write('503 5.5.1 Nested MAIL command');
        else if (from === undefined) await write('501 5.5.4 Syntax: MAIL FROM:<address>');
        else {
          mail = { from, to: [] };
          await write('250 2.1.0 OK');
        }
      } else if (verb === 'RCPT') {
        const to = /^RCPT TO:<([^<>\s]+)>/i.exec(line)?.[1];
        if (mail === undefined) await write('503 5.5.1 Need MAIL first');
        else if (to === undefined) await write('501 5.5.4 Syntax: RCPT TO:<address>');
        else if (mail.to.length >= MAX_RECIPIENTS) await write('452 4.5.3 Too many recipients');
        else {
          mail.to.push(to);
          await write('250 2.1.5 OK');
        }
      } else if (verb === 'DATA') {
        if (mail === undefined || mail.to.length === 0) {
          await write('503 5.5.1 Need RCPT first');
          continue;
        }
        await write('354 End data with <CR><LF>.<CR><LF>');
        let size = 0;
        for (let data = await lines.next(); data.value !== '.'; data = await lines.next()) {
          if (data.done === true) return;
          size += Buffer.byteLength(data.value) + 2;
        }
        if (size > MAX_MESSAGE_BYTES) {
          await write('552 5.3.4 Message too big');
        } else {
          log(
            `message from <${mail.from}> by ${user ?? '?'} to ${String(mail.to.length)} recipient(s): ${String(size)} bytes, thrown away`,
          );
          await write('250 2.0.0 Accepted');
        }
        mail = undefined;
      } else if (verb === 'RSET') {
        mail = undefined;
        await write('250 2.0.0 OK');
      } else if (verb === 'NOOP') {
        await write('250 2.0.0 OK');
      } else if (verb === 'QUIT') {
        await write('221 2.0.0 Bye');
        (tls ?? socket).end();
        return;
      } else {
        await write('502 5.5.2 Command not recognized');
      }
    }
  } finally {
    lines.close();
  }
}

/**
 * A throwaway self-signed certificate for localhost and 127.0.0.1 made by `openssl` (an EC
 * P-256 key, valid two days), or undefined when openssl is not installed or fails. Written to a
 * private temporary folder, read back, and deleted.
 */
export function throwawayCertificate(): PemPair | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-example-'));
  try {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const port = Number(option(args, '--port') ?? 2525);
  const [certFile, keyFile] = [option(args, '--cert'), option(args, '--key')];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('give both --cert and --key');
  let tls: PemPair | undefined;
  let source: string;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    source = `certificate ${certFile}`;
  } else if (args.includes('--no-tls')) {
    source = 'no TLS (--no-tls)';
  } else {
    tls = throwawayCertificate();
    source = tls
      ? 'a throwaway self-signed certificate from openssl'
      : 'no TLS (openssl not found; give --cert and --key)';
  }
  const server = await startSmtpServer({
    port,
    tls,
    log: (line) => {
      console.log(line);
    },
  });
  console.log(`SMTP server on 127.0.0.1:${String(server.port)} with ${source}`);
  console.log(
    `  EHLO before TLS: ${server.offered.beforeTls}${server.offered.insideTls === undefined ? '' : `; inside TLS: ${server.offered.insideTls}`}`,
  );
  // A signal may come twice (a supervisor such as timeout(1) signals its whole process group):
  // the first one stops the server, later ones must not kill the process mid-close.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.close().then(() => {
      console.log('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
