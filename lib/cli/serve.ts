/**
 * `saslkit serve`: a test server (SMTP, IMAP, POP3, ManageSieve, XMPP, PostgreSQL, IRC) that speaks the protocol only as far
 * as authentication needs, with accounts from a Dovecot passwd-file. It logs every attempt
 * (never a secret) and stops cleanly on SIGINT or SIGTERM.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { SASLAuth, type ServerOptions, UsageError } from '../index.js';
import { type ParsedArgs, choiceOption, flag, parseArgs, stringOption } from './args.js';
import { type CliIo, EXIT, EXIT_CODES_HELP, describeError, exitCodeFor } from './io.js';
import { CRAM_MD5_WITH_STATES } from './cram-md5-state.js';
import {
  PASSWD_SCHEMES,
  type PasswdEntry,
  parsePasswdFile,
  parseTokensFile,
  passwdLookup,
  readConfigFile,
} from './passwd-file.js';
import { selfSignedCertificate } from './self-signed.js';
import { type AuthAttempt, type RunningAuthServer, type ServerTls, startAuthServer } from './server.js';
import { SERVE_PROTOCOLS } from './url.js';

/** `saslkit serve --help`. */
export const SERVE_HELP = `Usage: saslkit serve --protocol P --users FILE [options]

Runs a test server that speaks a protocol only as far as authentication needs:
greeting, capabilities, STARTTLS (STLS), AUTH / AUTHENTICATE, IMAP LOGIN, POP3 USER/PASS,
the success reply, QUIT / LOGOUT. STARTTLS is refused after a login, and TLS starts a fresh
session (EHLO again, USER again). Every attempt is logged on standard output (user name,
mechanism, outcome; never a secret). Ctrl-C (SIGINT) or SIGTERM stops it.

Options:
  --protocol P        smtp, imap, pop3, sieve (ManageSieve), xmpp (c2s; the domain is
                      --hostname), postgres, irc or ldap (required); postgres
                      answers SSLRequest with TLS when configured, offers SCRAM-SHA-256
                      (and -PLUS over TLS) and stops at ReadyForQuery; irc answers the
                      registration (CAP LS sasl=, AUTHENTICATE) up to 001, TLS only
                      with --implicit-tls (ircs); ldap answers the rootDSE, SASL binds,
                      StartTLS and "Who am I?" (ldapwhoami works against it); with TLS
                      configured its PLAIN and LOGIN need ldaps or --plaintext-auth
  --listen H:P        address and port (default 127.0.0.1:0, a free port, printed at start)
  --users F           accounts, in Dovecot passwd-file format (required), e.g.
                        alice:{PLAIN}alice-pass
                        bob:{SCRAM-SHA-256}4096,<salt>,<StoredKey>,<ServerKey>
                        carol:{PBKDF2}$1$<salt>$5000$<hex>
                        erin:{CRAM-MD5}<64 hex: doveadm pw -s CRAM-MD5>
                        dave:$pbkdf2-sha256$500000$<salt>$<key>     (pysasl; not for Dovecot)
                      schemes: ${PASSWD_SCHEMES.map((s) => `{${s}}`).join(' ')};
                      accounts in other schemes (crypt, {SSHA512}) are left out, with a warning
                      make secrets with: saslkit secret --user alice --format dovecot
  --tokens F          OAuth bearer tokens, one "user:token" per line: adds OAUTHBEARER, XOAUTH2
  --mechs LIST        mechanisms to offer, comma-separated (default: the ones every account
                      can use, given how its password is stored; -PLUS only once TLS is up)
  --tls-cert F        PEM certificate: offers STARTTLS (STLS), and -PLUS after it
  --tls-key F         its PEM private key
  --tls-client-ca F   PEM trust anchors for client certificates: the server asks for one and,
                      over TLS, offers EXTERNAL to a client whose certificate verifies, as
                      the certificate subject's CN (others get the other mechanisms)
  --tls-self-signed   make a throwaway self-signed certificate for localhost and 127.0.0.1
  --implicit-tls      TLS from the first byte (smtps, imaps, pop3s, xmpps, ircs, ldaps) instead
                      of STARTTLS
  --plaintext-auth    offer PLAIN, LOGIN, IMAP LOGIN and POP3 USER before TLS too
                      (by default they wait for TLS when TLS is configured)
  --hostname NAME     name in greetings, CRAM-MD5 challenges and the DIGEST-MD5 realm
                      (default localhost)
  --trace             also print every exchange, decoded, secrets redacted
  -h, --help          this help

Examples:
  saslkit serve --protocol smtp --listen 127.0.0.1:2525 --users users.txt
  saslkit serve --protocol imap --listen 127.0.0.1:1143 --users users.txt \\
      --tls-cert cert.pem --tls-key key.pem --trace
  saslkit serve --protocol pop3 --users users.txt --tls-self-signed --mechs SCRAM-SHA-256,PLAIN
  saslkit serve --protocol irc --listen 127.0.0.1:6697 --users users.txt --tls-self-signed --implicit-tls
  saslkit serve --protocol ldap --listen 127.0.0.1:1389 --users users.txt --tls-self-signed

${EXIT_CODES_HELP}
`;

const OPTIONS = {
  protocol: { type: 'string' },
  listen: { type: 'string' },
  users: { type: 'string' },
  tokens: { type: 'string' },
  mechs: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-self-signed': { type: 'boolean' },
  'tls-client-ca': { type: 'string' },
  'implicit-tls': { type: 'boolean' },
  'plaintext-auth': { type: 'boolean' },
  hostname: { type: 'string' },
  trace: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OAUTH = ['OAUTHBEARER', 'XOAUTH2'];

/** Parses `--listen host:port` (`[::1]:port` for IPv6). */
export function parseListen(text: string | undefined): { host: string; port: number } {
  if (text === undefined) return { host: '127.0.0.1', port: 0 };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError('--listen must be host:port, e.g. 127.0.0.1:2525');
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/** The password mechanisms an account stored with `scheme` can use. */
function usableWith(scheme: string, name: string): boolean {
  const base = name.replace(/-PLUS$/, '');
  if (scheme === 'PLAIN') return true;
  if (scheme.startsWith('SCRAM-') && base === scheme) return true;
  // Dovecot's {CRAM-MD5} states answer CRAM-MD5 itself.
  if (scheme === 'CRAM-MD5' && name === 'CRAM-MD5') return true;
  // Hashed passwords (PBKDF2, SCRAM of another hash) still check a password sent in the clear.
  return name === 'PLAIN' || name === 'LOGIN';
}

/**
 * The mechanisms `serve` offers by default: the password mechanisms that every account can use
 * (a client picks the strongest one offered, so offering SCRAM-SHA-512 to a user stored as
 * SCRAM-SHA-256 would make its login fail), plus OAUTHBEARER and XOAUTH2 with a tokens file.
 */
export function defaultMechanisms(entries: readonly PasswdEntry[], tokens: boolean): string[] {
  return SASLAuth.all()
    .serverMechanisms.map((m) => m.name)
    .filter((name) => {
      if (name === 'EXTERNAL' || name === 'ANONYMOUS') return false;
      if (OAUTH.includes(name)) return tokens;
      return entries.every((entry) => usableWith(entry.scheme, name));
    });
}

/** The mechanisms to offer: `--mechs`, or what every account and the token file can use. CRAM-MD5 also reads Dovecot's states. */
function chooseMechanisms(
  list: string | undefined,
  entries: readonly PasswdEntry[],
  tokens: boolean,
  external: boolean,
): SASLAuth {
  const named = namedMechanisms(list, entries, tokens, external);
  return new SASLAuth(
    named.serverMechanisms.map((mechanism) => (mechanism.name === 'CRAM-MD5' ? CRAM_MD5_WITH_STATES : mechanism)),
  );
}

function namedMechanisms(
  list: string | undefined,
  entries: readonly PasswdEntry[],
  tokens: boolean,
  external: boolean,
): SASLAuth {
  const all = SASLAuth.all();
  if (list === undefined)
    return SASLAuth.named([...defaultMechanisms(entries, tokens), ...(external ? ['EXTERNAL'] : [])]);
  const names = list.split(/[\s,]+/).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError('--mechs lists no mechanism');
  for (const name of names) {
    const mechanism = all.getServer(name);
    if (mechanism === undefined)
      throw new UsageError(
        `--mechs: saslkit has no mechanism named ${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 30)}`,
      );
    if (mechanism.name === 'EXTERNAL' && !external)
      throw new UsageError('--mechs: EXTERNAL needs TLS client certificates: add --tls-client-ca');
    if (OAUTH.includes(mechanism.name) && !tokens) throw new UsageError(`--mechs: ${mechanism.name} needs --tokens`);
  }
  return SASLAuth.named(names);
}

async function loadTls(args: ParsedArgs): Promise<ServerTls | undefined> {
  const certFile = stringOption(args, 'tls-cert');
  const keyFile = stringOption(args, 'tls-key');
  if (flag(args, 'tls-self-signed')) {
    if (certFile !== undefined || keyFile !== undefined)
      throw new UsageError('--tls-self-signed replaces --tls-cert and --tls-key');
    return selfSignedCertificate();
  }
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  const read = async (path: string, what: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new UsageError(`cannot read the ${what}: ${typeof code === 'string' ? code : 'error'}`);
    }
  };
  return { cert: await read(certFile, 'certificate'), key: await read(keyFile, 'private key') };
}

/** One log line for an attempt: time, client, protocol, mechanism, user, outcome. */
export function formatAttempt(attempt: AuthAttempt, now = new Date()): string {
  const user = attempt.user === undefined ? '-' : JSON.stringify(attempt.user);
  const outcome = attempt.ok
    ? `ok${attempt.authzid !== undefined && attempt.authzid !== attempt.user ? ` authzid=${JSON.stringify(attempt.authzid)}` : ''}`
    : `failed ${attempt.code ?? ''}`;
  return `${now.toISOString()} ${attempt.remote} ${attempt.protocol}${attempt.tls ? '+tls' : ''} ${attempt.mechanism} user=${user} ${outcome}`;
}

/** Runs `saslkit serve` until `io.signal` aborts. Resolves with the exit code. */
export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let server: RunningAuthServer;
  try {
    const args = parseArgs(argv, OPTIONS);
    if (flag(args, 'help')) {
      io.stdout.write(SERVE_HELP);
      return EXIT.OK;
    }
    if (args.positionals.length > 0)
      throw new UsageError('serve takes no positional arguments (see saslkit serve --help)');
    const protocol = choiceOption(args, 'protocol', SERVE_PROTOCOLS);
    if (protocol === undefined) throw new UsageError(`serve needs --protocol ${SERVE_PROTOCOLS.join('|')}`);
    const usersFile = stringOption(args, 'users');
    if (usersFile === undefined) throw new UsageError('serve needs --users <passwd-file>');
    const entries = parsePasswdFile(await readConfigFile(usersFile, 'users file'), {
      onUnsupported: ({ line, user, scheme }) =>
        io.stderr.write(
          `saslkit serve: users file line ${line}: saslkit cannot serve {${scheme}}; ${JSON.stringify(user)} left out\n`,
        ),
    });
    const tokensFile = stringOption(args, 'tokens');
    const validateToken =
      tokensFile === undefined ? undefined : parseTokensFile(await readConfigFile(tokensFile, 'tokens file'));
    const clientCaFile = stringOption(args, 'tls-client-ca');
    const auth = chooseMechanisms(
      stringOption(args, 'mechs'),
      entries,
      validateToken !== undefined,
      clientCaFile !== undefined,
    );
    const serverTls = await loadTls(args);
    if (clientCaFile !== undefined && serverTls === undefined)
      throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key, or --tls-self-signed');
    const tls =
      serverTls === undefined || clientCaFile === undefined
        ? serverTls
        : { ...serverTls, clientCa: await readConfigFile(clientCaFile, 'client CA file') };
    const implicitTls = flag(args, 'implicit-tls');
    if (implicitTls && tls === undefined)
      throw new UsageError('--implicit-tls needs --tls-cert and --tls-key, or --tls-self-signed');
    if (implicitTls && protocol === 'postgres')
      throw new UsageError('--implicit-tls is not for postgres: PostgreSQL clients ask with SSLRequest');
    if (tls !== undefined && !implicitTls && protocol === 'irc')
      throw new UsageError('IRC has no STARTTLS: with a certificate, add --implicit-tls (ircs)');
    const { host, port } = parseListen(stringOption(args, 'listen'));
    const hostname = stringOption(args, 'hostname') ?? 'localhost';
    const options: ServerOptions = {
      lookup: passwdLookup(entries),
      hostname,
      ...(validateToken === undefined ? {} : { validateToken }),
    };
    const trace = flag(args, 'trace') ? (line: string) => io.stdout.write(`${line}\n`) : undefined;
    server = await startAuthServer({
      protocol,
      host,
      port,
      auth,
      options,
      ...(tls === undefined ? {} : { tls }),
      implicitTls,
      plaintextAuth: flag(args, 'plaintext-auth'),
      hostname,
      onAuth: (attempt) => io.stdout.write(`${formatAttempt(attempt)}\n`),
      ...(trace === undefined ? {} : { trace }),
    });
    const mode =
      tls === undefined
        ? 'no TLS'
        : implicitTls
          ? 'implicit TLS'
          : protocol === 'pop3'
            ? 'STLS'
            : protocol === 'postgres'
              ? 'SSLRequest'
              : 'STARTTLS';
    io.stdout.write(
      `saslkit serve: ${protocol} on ${host.includes(':') ? `[${host}]` : host}:${server.port} (${mode}), ${entries.length} user${entries.length === 1 ? '' : 's'}\n`,
    );
    if (!implicitTls) io.stdout.write(`  mechanisms: ${server.mechanisms.join(' ') || '(none)'}\n`);
    if (tls !== undefined)
      io.stdout.write(
        `  ${implicitTls ? 'mechanisms' : 'after TLS'}: ${server.mechanismsWithTls.join(' ') || '(none)'}${tls.clientCa === undefined ? '' : ' (and EXTERNAL with a trusted client certificate)'}\n`,
      );
  } catch (error) {
    io.stderr.write(`saslkit serve: ${describeError(error)}\n`);
    return exitCodeFor(error);
  }
  await new Promise<void>((resolve) => {
    const signal = io.signal;
    if (signal === undefined) return;
    if (signal.aborted) resolve();
    else
      signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
  });
  await server.close();
  io.stdout.write('saslkit serve: stopped\n');
  return EXIT.OK;
}
