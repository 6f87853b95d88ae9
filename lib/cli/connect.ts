/**
 * How `login` and `mechs` connect: the command-line options they share, read into a plan, and
 * the right client for a target (the mail protocols and ManageSieve share {@link MailClient};
 * PostgreSQL, XMPP, IRC and LDAP have their own framing).
 * @module
 */
import { UsageError } from '../index.js';
import { type ParsedArgs, choiceOption, flag, integerOption, stringOption } from './args.js';
import type { ProtocolClient } from './client.js';
import { MailClient } from './mail-client.js';
import { IrcClient } from './irc-client.js';
import { LdapClient } from './ldap-client.js';
import { PostgresClient } from './postgres-client.js';
import { type ConnectOptions, readPemFile } from './tls-client.js';
import type { LineTracer } from './trace.js';
import type { Target } from './url.js';
import { XmppClient, splitJid } from './xmpp-client.js';

/** The options of `login` and `mechs` that say how to connect and what to print. */
export const CONNECT_OPTIONS = {
  starttls: { type: 'boolean' },
  insecure: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'tls-max': { type: 'string' },
  domain: { type: 'string' },
  trace: { type: 'boolean' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How to connect, read from the command line (the files are read by {@link connectOptions}). */
export interface ConnectPlan {
  readonly target: Target;
  readonly starttls: boolean;
  readonly insecure: boolean;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** XMPP: the stream's domain. */
  readonly domain: string | undefined;
  readonly timeoutMs: number;
}

/** Reads the connection options; `user` gives XMPP's default domain. Throws {@link UsageError}. */
export function planConnect(args: ParsedArgs, target: Target, user: string | undefined): ConnectPlan {
  const starttls = flag(args, 'starttls');
  if (starttls && target.implicitTls) throw new UsageError('--starttls is for plain URLs; this URL already starts TLS');
  if (starttls && target.protocol === 'irc')
    throw new UsageError('IRC servers take TLS on their own port, not with STARTTLS: use an ircs:// URL');
  const certFile = stringOption(args, 'cert');
  const keyFile = stringOption(args, 'key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('give --cert and --key together');
  const tlsMax = choiceOption(args, 'tls-max', ['1.2', '1.3'] as const);
  const named = stringOption(args, 'domain');
  if (named !== undefined && target.protocol !== 'xmpp')
    throw new UsageError('--domain is for xmpp:// and xmpps:// URLs');
  return {
    target,
    starttls,
    insecure: flag(args, 'insecure'),
    caFile: stringOption(args, 'ca'),
    certFile,
    keyFile,
    maxVersion: tlsMax === undefined ? undefined : tlsMax === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
    domain: target.protocol === 'xmpp' ? (named ?? splitJid(user ?? '').domain) : undefined,
    timeoutMs: (integerOption(args, 'timeout', 1, 3600, 30) ?? 30) * 1000,
  };
}

/** The connection settings of a plan, with its PEM files read. */
export async function connectOptions(plan: ConnectPlan, tracer: LineTracer | undefined): Promise<ConnectOptions> {
  return {
    target: plan.target,
    insecure: plan.insecure,
    ca: await readPemFile(plan.caFile, '--ca'),
    cert: await readPemFile(plan.certFile, '--cert'),
    key: await readPemFile(plan.keyFile, '--key'),
    maxVersion: plan.maxVersion,
    domain: plan.domain,
    timeoutMs: plan.timeoutMs,
    tracer,
  };
}

/** How to get TLS for a target's protocol, in the words of the command line. */
export function tlsFor(target: Target): string {
  if (target.protocol === 'xmpp') return 'add --starttls or use an xmpps URL';
  if (target.protocol === 'irc') return 'use an ircs URL';
  if (target.protocol === 'ldap') return 'add --starttls or use an ldaps URL';
  if (target.protocol === 'sieve' || target.protocol === 'postgres') return 'add --starttls';
  return 'add --starttls or use an smtps/imaps/pop3s URL';
}

/** Connects to `options.target` and reads what the server offers (PostgreSQL: nothing yet). */
export function connectClient(options: ConnectOptions): Promise<ProtocolClient> {
  switch (options.target.protocol) {
    case 'postgres':
      return PostgresClient.connect(options);
    case 'xmpp':
      return XmppClient.connect(options);
    case 'irc':
      return IrcClient.connect(options);
    case 'ldap':
      return LdapClient.connect(options);
    default:
      return MailClient.connect(options);
  }
}
