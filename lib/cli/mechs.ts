/**
 * `saslkit mechs <url>`: lists the mechanisms a server advertises, before and after TLS.
 * @module
 */
import { UnexpectedMessageError, UsageError } from '../index.js';
import { flag, startCommand, stringOption } from './args.js';
import type { ProtocolClient } from './client.js';
import { CONNECT_OPTIONS, connectClient, connectOptions, planConnect } from './connect.js';
import type { TlsState } from './tls-client.js';
import { type CliIo, EXIT, EXIT_CODES_HELP, writeJson } from './io.js';
import { LineTracer } from './trace.js';
import { formatTarget, parseTarget } from './url.js';

/** `saslkit mechs --help`. */
export const MECHS_HELP = `Usage: saslkit mechs <url> [--starttls] [options]

Connects to an SMTP, IMAP, POP3, ManageSieve, XMPP, PostgreSQL, IRC or LDAP server and
lists the SASL mechanisms it advertises (EHLO AUTH, CAPABILITY AUTH=, CAPA SASL, "SASL",
stream features, AuthenticationSASL, CAP LS sasl=, the rootDSE's supportedSASLMechanisms). PostgreSQL names them only after a startup message for a
role: the URL's user (postgres://alice@host), --user, or "postgres"; nothing is sent beyond. With --starttls it upgrades to TLS and lists
them again: servers often offer more (PLAIN, SCRAM-*-PLUS) once TLS is up. No
credentials are needed or sent.

Options:
  --starttls      upgrade with STARTTLS (STLS in POP3) and list again
  --insecure      accept any server certificate
  --ca F          also trust the PEM certificate(s) in F
  --cert F, --key F  present a client certificate (servers may then offer EXTERNAL)
  --tls-max V     1.2 or 1.3 (default): the highest TLS version to offer
  --domain D      XMPP: the domain of the stream (default the host)
  --user U        PostgreSQL: the role of the startup message
  --json          print one JSON object: {url, protocol, starttlsOffered, before, after, tls}
  --trace         print the conversation on standard error
  --timeout S     give up when the server is silent for S seconds (default 30)
  -h, --help      this help

Examples:
  saslkit mechs smtp://127.0.0.1:2525 --starttls
  saslkit mechs imaps://mail.example.com --json
  saslkit mechs pop3://127.0.0.1:1110 --starttls --ca cert.pem
  saslkit mechs xmpp://127.0.0.1:5222 --domain example.com --starttls --tls-max 1.2
  saslkit mechs postgres://alice@127.0.0.1:5432 --starttls --insecure
  saslkit mechs ircs://irc.libera.chat
  saslkit mechs ldap://127.0.0.1:389 --starttls --ca ca.pem

${EXIT_CODES_HELP}
`;

const OPTIONS = {
  ...CONNECT_OPTIONS,
  user: { type: 'string' },
} as const;

function describeTls(tls: TlsState): string {
  const binding = tls.bindingTypes.length > 0 ? `channel binding ${tls.bindingTypes.join(', ')}` : 'no channel binding';
  return `${tls.version}, ${tls.authorized ? 'certificate verified' : 'certificate NOT verified'}, ${binding}`;
}

/** Runs `saslkit mechs`. Resolves with the exit code. */
export async function mechsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const start = startCommand('mechs', argv, OPTIONS, MECHS_HELP, io);
  if (typeof start === 'number') return start;
  const { args, json, fail } = start;
  let client: ProtocolClient | undefined;
  try {
    if (args.positionals.length !== 1)
      throw new UsageError('mechs needs exactly one server URL (see saslkit mechs --help)');
    const target = parseTarget(args.positionals[0] as string);
    const user = stringOption(args, 'user') ?? target.user;
    const plan = planConnect(args, target, user);
    const { starttls } = plan;
    const connect = await connectOptions(
      plan,
      flag(args, 'trace')
        ? new LineTracer((line) => io.stderr.write(`${line}\n`), { side: 'client', irc: target.protocol === 'irc' })
        : undefined,
    );
    const role = user ?? 'postgres';
    client = await connectClient(connect);
    const starttlsOffered = client.startTlsOffered;
    await client.offer?.(role);
    const first = [...client.mechanisms];
    let after: string[] | undefined;
    if (starttls) {
      if (!starttlsOffered)
        throw new UnexpectedMessageError(
          `the server does not offer ${target.protocol === 'pop3' ? 'STLS' : 'STARTTLS'} (before TLS it offers: ${first.join(' ') || 'nothing'})`,
          { party: 'server' },
        );
      if (target.protocol === 'postgres') {
        // The startup message used this connection up: SSLRequest goes on a new one.
        await client.quit();
        client = await connectClient(connect);
      }
      await client.startTls();
      await client.offer?.(role);
      after = [...client.mechanisms];
    }
    const tls = client.tls;
    const noCapa = client.noCapa;
    await client.quit();
    const before = target.implicitTls ? undefined : first;
    if (target.implicitTls) after = first;
    if (json) {
      writeJson(io.stdout, {
        ok: true,
        url: formatTarget(target),
        protocol: target.protocol,
        implicitTls: target.implicitTls,
        starttlsOffered,
        ...(noCapa ? { capa: false } : {}),
        before: before ?? null,
        after: after ?? null,
        tls:
          tls === undefined
            ? null
            : { version: tls.version, certificateVerified: tls.authorized, channelBinding: tls.bindingTypes },
      });
      return EXIT.OK;
    }
    const list = (names: readonly string[]): string =>
      names.length === 0
        ? noCapa
          ? '(none: the POP3 server does not answer CAPA; name a mechanism with login --mech)'
          : '(none)'
        : names.join(' ');
    const lines = [formatTarget(target)];
    if (before !== undefined) {
      const hint = starttlsOffered
        ? starttls
          ? ''
          : '  [STARTTLS offered: add --starttls to see what TLS adds]'
        : '  [no STARTTLS]';
      lines.push(`  before TLS: ${list(before)}${hint}`);
    }
    if (after !== undefined && tls !== undefined) {
      lines.push(`  ${target.implicitTls ? 'with TLS' : 'after STARTTLS'}: ${list(after)}`);
      lines.push(`  TLS: ${describeTls(tls)}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.OK;
  } catch (error) {
    client?.close();
    return fail(error);
  }
}
