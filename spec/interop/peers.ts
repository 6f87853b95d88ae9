/**
 * Where the interop peers listen, their accounts, and whether they are up. Interop specs call
 * {@link requirePeer} in a `before` hook: under CI a missing peer fails the suite loudly; on a
 * developer's machine the suite is skipped with a visible reason, so `npm test` stays fast.
 * The values mirror spec/interop/lib/env.sh and honour the same environment variables.
 */
import { createConnection } from 'node:net';

const port = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** Every peer binds to loopback only. */
export const HOST = '127.0.0.1';

/** The peers' runtime folder (configs, logs, data), as the start scripts use it. */
export const INTEROP_RUN = process.env['INTEROP_RUN'] ?? '/tmp/saslkit-interop';

/** Peer ports. */
export const PORTS = {
  imap: port('DOVECOT_IMAP_PORT', 14143),
  imaps: port('DOVECOT_IMAPS_PORT', 14993),
  pop3: port('DOVECOT_POP3_PORT', 14110),
  submission: port('DOVECOT_SUBMISSION_PORT', 14587),
  oauthStub: port('OAUTH_STUB_PORT', 14080),
  smtp: port('SMTP_SERVER_PORT', 14025),
  postgres: port('PG_PORT', 15432),
  sieve: port('DOVECOT_SIEVE_PORT', 14190),
  xmpp: port('PROSODY_C2S_PORT', 15222),
  xmppWebSocket: port('PROSODY_HTTP_PORT', 15280),
  ldap: port('LDAP_PORT', 15389),
  ldaps: port('LDAPS_PORT', 15636),
  irc: port('IRC_PORT', 16667),
  ircTls: port('IRC_TLS_PORT', 16697),
} as const;

/** Prosody's virtual host (the XMPP domain of alice@ and bob@). */
export const XMPP_DOMAIN = process.env['XMPP_DOMAIN'] ?? 'localhost';

/** slapd's naming context; entries are uid=NAME,ou=people,LDAP_BASE. */
export const LDAP_BASE = process.env['LDAP_BASE'] ?? 'dc=example,dc=test';

/** Certificates the start scripts generate (PEM): CAs to trust, alice's client certificates. */
export const TLS_FILES = {
  /** The private CA that signed slapd's server certificate and alice's LDAP client certificate. */
  ldapCa: `${INTEROP_RUN}/slapd/tls/ca.pem`,
  /** alice's LDAP client certificate and key: SASL EXTERNAL maps it to uid=alice. */
  ldapAliceCert: `${INTEROP_RUN}/slapd/tls/alice.pem`,
  ldapAliceKey: `${INTEROP_RUN}/slapd/tls/alice.key`,
  /** alice's self-signed IRC client certificate and key: Atheme knows its SHA-256 fingerprint. */
  ircAliceCert: `${INTEROP_RUN}/irc/alice.pem`,
  ircAliceKey: `${INTEROP_RUN}/irc/alice.key`,
} as const;

/** The test accounts (public test fixtures, not secrets of anyone). */
export const ACCOUNTS = {
  alice: { user: 'alice', pass: 'alice-pass' },
  bob: { user: 'bob', pass: 'bob-pass' },
  carol: { user: 'carol', pass: 'carol-pass' },
  dave: { user: 'dave', pass: 'dave-pass' },
  admin: { user: 'admin', pass: 'admin-pass' },
  aliceToken: 'alice-oauth-token',
  postgresSuperuser: { user: 'postgres', pass: 'postgres-superuser-pass' },
} as const;

/** The peers that spec/interop/up.sh starts. */
export type PeerName = 'dovecot' | 'dovecot-managesieve' | 'postgres' | 'smtp-server' | 'prosody' | 'slapd' | 'irc';

const PEER_PORTS: Record<PeerName, readonly number[]> = {
  dovecot: [PORTS.imap, PORTS.pop3, PORTS.submission, PORTS.oauthStub],
  // Started with Dovecot, but probed on its own: a Dovecot started before ManageSieve was added
  // still serves the other suites.
  'dovecot-managesieve': [PORTS.sieve],
  postgres: [PORTS.postgres],
  'smtp-server': [PORTS.smtp],
  prosody: [PORTS.xmpp, PORTS.xmppWebSocket],
  slapd: [PORTS.ldap, PORTS.ldaps],
  irc: [PORTS.irc, PORTS.ircTls],
};

/** Resolves to undefined when something accepts connections on the port, else to why not. */
function probe(portNumber: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port: portNumber });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(2000, () => {
      done(`${HOST}:${portNumber} timed out`);
    });
    socket.once('connect', () => {
      done(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      done(`${HOST}:${portNumber} ${error.code ?? error.message}`);
    });
  });
}

const statuses = new Map<PeerName, Promise<string | undefined>>();

/** Why `name` is not reachable, or undefined when all its ports answer. Probed once per run. */
export function peerDown(name: PeerName): Promise<string | undefined> {
  let status = statuses.get(name);
  if (status === undefined) {
    status = Promise.all(PEER_PORTS[name].map(probe)).then((reasons) => {
      const down = reasons.filter((reason) => reason !== undefined);
      return down.length === 0 ? undefined : down.join(', ');
    });
    statuses.set(name, status);
  }
  return status;
}

/** True when this run is CI's: a missing peer is then a failure, not a skip. */
export function isCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Call from a `before` hook (a `function`, not an arrow, so mocha's `this` is passed). When
 * the peer is up it returns; when it is down, CI fails naming the peer and a local run skips
 * the suite with a console note.
 */
export async function requirePeer(context: Mocha.Context, name: PeerName): Promise<void> {
  const reason = await peerDown(name);
  if (reason === undefined) return;
  const message = `interop peer "${name}" is not reachable (${reason}); install and start it with: bash spec/interop/setup.sh && bash spec/interop/up.sh`;
  if (isCi()) throw new Error(message);
  console.warn(`    [interop] skipping: ${message}`);
  context.skip();
}
