/**
 * What every protocol profile shares and no wire format knows: which mechanisms a server
 * advertises, and the server options a profile hands its mechanisms. Each profile imports this
 * module, not another profile.
 * @module
 */
import type { ServerOptions } from '../core/options.js';
import type { SASLAuth } from '../core/registry.js';

/**
 * The names a server should advertise: its server mechanisms in order, without the `-PLUS`
 * variants unless the connection can do channel binding (TLS with the binding data at hand).
 * With `requireChannelBinding` (as {@link ServerOptions.requireChannelBinding}) and binding
 * possible, the non-PLUS SCRAM variants are left out instead.
 */
export function advertisedMechanisms(
  auth: SASLAuth,
  options: { readonly channelBinding?: boolean; readonly requireChannelBinding?: boolean } = {},
): string[] {
  const bind = options.channelBinding === true;
  // A server that requires binding refuses every non-PLUS SCRAM login where it can bind: do not offer them.
  const plusOnly = bind && options.requireChannelBinding === true;
  return auth.serverMechanisms
    .map((m) => m.name)
    .filter((name) => (name.endsWith('-PLUS') ? bind : !(plusOnly && name.startsWith('SCRAM-'))));
}

// Options with a profile's service filled in, one per options object and service, so a host
// that passes the same options to every exchange does not get a copy per login.
const WITH_SERVICE = new Map<string, WeakMap<ServerOptions, ServerOptions>>();
const NO_SERVER_OPTIONS: ServerOptions = Object.freeze({});

/**
 * `options` with {@link ServerOptions.service} set to the profile's service (`smtp`, `imap`,
 * `pop`, `sieve`, `xmpp`) when the host left it unset, for DIGEST-MD5's digest-uri check. @internal
 */
export function serverOptionsFor(options: ServerOptions | undefined, service: string | undefined): ServerOptions {
  const given = options ?? NO_SERVER_OPTIONS;
  if (service === undefined || given.service !== undefined) return given;
  let cache = WITH_SERVICE.get(service);
  if (cache === undefined) WITH_SERVICE.set(service, (cache = new WeakMap()));
  let filled = cache.get(given);
  if (filled === undefined) cache.set(given, (filled = { ...given, service }));
  return filled;
}
