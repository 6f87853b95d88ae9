/**
 * Server addresses as URLs: `smtp://host[:port]`, `smtps://`, `imap://`, `imaps://`, `pop3://`,
 * `pop3s://`. The `s` schemes start TLS at once (implicit TLS); the plain ones may upgrade with
 * STARTTLS. A user name in the URL is accepted; a password is refused, like any secret on the
 * command line.
 * @module
 */
import { UsageError } from '../index.js';
import { ARGV_SECRET_REFUSED } from './args.js';

/** The protocols the tool speaks. */
export type CliProtocol = 'smtp' | 'imap' | 'pop3';

/** The protocols, in the order help texts list them. */
export const CLI_PROTOCOLS: readonly CliProtocol[] = ['smtp', 'imap', 'pop3'];

/** A parsed server address. */
export interface Target {
  readonly protocol: CliProtocol;
  /** True for `smtps`, `imaps`, `pop3s`: TLS from the first byte. */
  readonly implicitTls: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The user name from the URL, if any. */
  readonly user: string | undefined;
}

const SCHEMES: Readonly<Record<string, { protocol: CliProtocol; implicitTls: boolean; port: number }>> = {
  smtp: { protocol: 'smtp', implicitTls: false, port: 25 },
  smtps: { protocol: 'smtp', implicitTls: true, port: 465 },
  submission: { protocol: 'smtp', implicitTls: false, port: 587 },
  imap: { protocol: 'imap', implicitTls: false, port: 143 },
  imaps: { protocol: 'imap', implicitTls: true, port: 993 },
  pop3: { protocol: 'pop3', implicitTls: false, port: 110 },
  pop: { protocol: 'pop3', implicitTls: false, port: 110 },
  pop3s: { protocol: 'pop3', implicitTls: true, port: 995 },
  pops: { protocol: 'pop3', implicitTls: true, port: 995 },
};

/** The DIGEST-MD5 service name of a protocol (RFC 2831 `digest-uri`). */
export function serviceName(protocol: CliProtocol): string {
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
  if (scheme === undefined) throw new UsageError(`unsupported URL scheme; use one of ${Object.keys(SCHEMES).join(', ')}`);
  if (url.password !== '') throw new UsageError(ARGV_SECRET_REFUSED);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError('the URL has no host');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') throw new UsageError('the URL must not have a path, query or fragment');
  return {
    protocol: scheme.protocol,
    implicitTls: scheme.implicitTls,
    host,
    port: url.port === '' ? scheme.port : Number(url.port),
    user: url.username === '' ? undefined : decodeUser(url.username),
  };
}

function decodeUser(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError('the user name in the URL is not valid percent-encoding');
  }
}

/** The URL form of a target, without user. */
export function formatTarget(target: Target): string {
  const scheme = target.protocol + (target.implicitTls ? 's' : '');
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${scheme}://${host}:${target.port}`;
}
