/**
 * Server addresses as URLs: `smtp://host[:port]`, `smtps://`, `imap://`, `imaps://`, `pop3://`,
 * `pop3s://`, `sieve://`, `xmpp://`, `xmpps://`, `irc://`, `ircs://`, `ldap://`, `ldaps://`,
 * `postgres://host[:port][/database]`. The `s`
 * schemes start TLS at once (implicit TLS); the plain ones may upgrade with STARTTLS (SSLRequest
 * in PostgreSQL). A user name in the URL is accepted; a password is refused, like any secret on the
 * command line.
 * @module
 */
import { UsageError } from '../index.js';
import { ARGV_SECRET_REFUSED } from './args.js';

/** The mail protocols the tool speaks on both sides (`serve`, `demo`, `login`). */
export type CliProtocol = 'smtp' | 'imap' | 'pop3';

/** The protocols `serve` speaks: the mail ones, ManageSieve, XMPP, PostgreSQL, IRC and LDAP. */
export type ServeProtocol = CliProtocol | 'sieve' | 'xmpp' | 'postgres' | 'irc' | 'ldap';

/** The protocols of `serve --protocol`, in the order help texts list them. */
export const SERVE_PROTOCOLS: readonly ServeProtocol[] = [
  'smtp',
  'imap',
  'pop3',
  'sieve',
  'xmpp',
  'postgres',
  'irc',
  'ldap',
];

/** Every protocol `login` and `mechs` speak: the ones `serve` speaks. */
export type ClientProtocol = ServeProtocol;

/** The protocols, in the order help texts list them. */
export const CLI_PROTOCOLS: readonly CliProtocol[] = ['smtp', 'imap', 'pop3'];

/** A parsed server address. */
export interface Target {
  readonly protocol: ClientProtocol;
  /** True for `smtps`, `imaps`, `pop3s`, `xmpps`, `ircs`, `ldaps`: TLS from the first byte. */
  readonly implicitTls: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The user name from the URL, if any. */
  readonly user: string | undefined;
  /** PostgreSQL: the database from the URL's path, if any. */
  readonly database?: string | undefined;
}

const SCHEMES: Readonly<Record<string, { protocol: ClientProtocol; implicitTls: boolean; port: number }>> = {
  smtp: { protocol: 'smtp', implicitTls: false, port: 25 },
  smtps: { protocol: 'smtp', implicitTls: true, port: 465 },
  submission: { protocol: 'smtp', implicitTls: false, port: 587 },
  imap: { protocol: 'imap', implicitTls: false, port: 143 },
  imaps: { protocol: 'imap', implicitTls: true, port: 993 },
  pop3: { protocol: 'pop3', implicitTls: false, port: 110 },
  pop: { protocol: 'pop3', implicitTls: false, port: 110 },
  pop3s: { protocol: 'pop3', implicitTls: true, port: 995 },
  pops: { protocol: 'pop3', implicitTls: true, port: 995 },
  sieve: { protocol: 'sieve', implicitTls: false, port: 4190 },
  xmpp: { protocol: 'xmpp', implicitTls: false, port: 5222 },
  // XEP-0368 direct TLS; its usual port comes from SRV records, 5223 by custom.
  xmpps: { protocol: 'xmpp', implicitTls: true, port: 5223 },
  irc: { protocol: 'irc', implicitTls: false, port: 6667 },
  ircs: { protocol: 'irc', implicitTls: true, port: 6697 },
  ldap: { protocol: 'ldap', implicitTls: false, port: 389 },
  ldaps: { protocol: 'ldap', implicitTls: true, port: 636 },
  postgres: { protocol: 'postgres', implicitTls: false, port: 5432 },
  postgresql: { protocol: 'postgres', implicitTls: false, port: 5432 },
};

/** The DIGEST-MD5 service name of a protocol (RFC 2831 `digest-uri`). */
export function serviceName(protocol: ClientProtocol): string {
  return protocol === 'pop3' ? 'pop' : protocol;
}

/** Parses a server URL. Throws {@link UsageError} for anything else. */
export function parseTarget(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('expected a URL such as smtp://host:587, imaps://host or pop3://host');
  }
  const scheme = SCHEMES[url.protocol.replace(/:$/, '').toLowerCase()];
  if (scheme === undefined)
    throw new UsageError(`unsupported URL scheme; use one of ${Object.keys(SCHEMES).join(', ')}`);
  if (url.password !== '') throw new UsageError(ARGV_SECRET_REFUSED);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError('the URL has no host');
  const database =
    scheme.protocol === 'postgres' && /^\/[^/]+$/.test(url.pathname)
      ? decodeUser(url.pathname.slice(1), 'database')
      : undefined;
  if ((url.pathname !== '' && url.pathname !== '/' && database === undefined) || url.search !== '' || url.hash !== '') {
    throw new UsageError(
      `the URL must not have a ${scheme.protocol === 'postgres' ? 'path other than /database, a' : 'path,'} query or fragment`,
    );
  }
  return {
    ...(database === undefined ? {} : { database }),
    protocol: scheme.protocol,
    implicitTls: scheme.implicitTls,
    host,
    port: url.port === '' ? scheme.port : Number(url.port),
    user: url.username === '' ? undefined : decodeUser(url.username),
  };
}

function decodeUser(text: string, what = 'user name'): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`the ${what} in the URL is not valid percent-encoding`);
  }
}

/** The URL form of a target, without user. */
export function formatTarget(target: Target): string {
  const scheme = target.protocol + (target.implicitTls ? 's' : '');
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${scheme}://${host}:${target.port}`;
}
