/**
 * xmpp.js (`@xmpp/client`) logging in to a local XMPP server (spec/interop/xmpp-server.ts,
 * saslkit's server profile with stored SCRAM keys, so the server does no PBKDF2): with saslkit's
 * SCRAM-SHA-256 through saslkit/xmpp.js, and with xmpp.js's own SCRAM-SHA-1 (sasl-scram-sha-1).
 * Like with like: both run the same client, stream and server; only the SASL exchange is timed,
 * from xmpp.js writing `<auth>` to `<success>` arriving, and each login pays one PBKDF2 (saslkit
 * with `scram: { cache: false }`; xmpp.js caches only when the application passes its cache back).
 * Figures per login, next to one PBKDF2 of 4096 iterations.
 */
import { client } from '@xmpp/client';
import { pbkdf2Sync } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SASLAuth, ScramIdentity } from '../../lib/index.js';
import { startXmppServer } from '../../spec/interop/xmpp-server.js';
import { ITERATIONS, PASSWORD, USER, floorPbkdf2 } from '../baselines.js';
import { type Contestant, type OpsWorkload, type Role, batched, check, now, times } from '../harness.js';
import { SOURCE, SOURCE_PATH } from '../saslkit.js';

type XmppJsPlugin = typeof import('../../lib/integrations/xmppjs.js');

/** saslkit/xmpp.js from the build under test: next to the bundle `sk` came from, or the sources. */
const plugin = createRequire(__filename)(
  SOURCE === 'lib' ? join(__dirname, '../../lib/integrations/xmppjs.ts') : join(dirname(SOURCE_PATH), 'xmppjs.cjs'),
) as XmppJsPlugin;

const XMPPJS_VERSION = (createRequire(__filename)('@xmpp/client/package.json') as { version: string }).version;
const SALT = Buffer.from('xmpp-bench-salt!');

/** One login; resolves with the seconds between `<auth>` and `<success>`. */
async function login(port: number, withSaslkit: boolean): Promise<number> {
  const service = `xmpp://127.0.0.1:${port}`;
  const xmpp = withSaslkit
    ? client({
        service,
        domain: 'localhost',
        credentials: plugin.saslkitCredentials(
          { username: USER, password: PASSWORD },
          { client: { scram: { cache: false } } },
        ),
      })
    : client({ service, domain: 'localhost', username: USER, password: PASSWORD });
  if (withSaslkit) plugin.useSaslkitMechanisms(xmpp);
  xmpp.reconnect.stop();
  let sent = 0;
  let succeeded = 0;
  xmpp.on('send', (element) => {
    if (element.name === 'auth') sent = now();
  });
  xmpp.on('nonza', (element) => {
    if (element.name === 'success') succeeded = now();
  });
  try {
    await xmpp.start();
  } finally {
    await xmpp.stop();
  }
  check(sent > 0 && succeeded >= sent, 'xmpp.js login reached <success>');
  return succeeded - sent;
}

/** A contestant whose operation is one xmpp.js login, timed from `<auth>` to `<success>` only. */
function xmppLogins(name: string, role: Role, mechanism: string, withSaslkit: boolean): Contestant {
  return {
    name,
    role,
    async measure(minMs) {
      const accounts = [ScramIdentity.create(USER, PASSWORD, { hashes: ['SHA-1', 'SHA-256'], iterations: ITERATIONS })];
      const server = await startXmppServer({
        auth: SASLAuth.named([mechanism]),
        options: { lookup: (authcid) => accounts.find((identity) => identity.authcid === authcid) },
      });
      try {
        const start = Date.now();
        let ops = 0;
        let seconds = 0;
        do {
          seconds += await login(server.port, withSaslkit);
          ops += 1;
        } while (Date.now() - start < minMs);
        check(
          server.logins.length === ops && server.logins.every((user) => user.mechanism === mechanism),
          `${ops} ${mechanism} logins on the server`,
        );
        return { ops, seconds };
      } finally {
        await server.close();
      }
    },
  };
}

/** The workload. Register it in bench/suite.ts. */
export function xmppjsLogin(rounds: number, minMs: number): OpsWorkload {
  const saslkitLine = 'xmpp.js + saslkit SCRAM-SHA-256';
  const ownLine = `xmpp.js ${XMPPJS_VERSION} own SCRAM-SHA-1`;
  return {
    name: 'xmppjs',
    title: 'xmpp.js login to a local server, SASL exchange only (<auth> to <success>), one login at a time',
    unit: 'logins',
    rounds,
    minMs,
    contestants: [
      batched(`floor: pbkdf2Sync ${ITERATIONS} SHA-256`, 'floor', (n) => {
        times(n, () => floorPbkdf2(SALT));
      }),
      batched(`pbkdf2Sync ${ITERATIONS} SHA-1`, 'info', (n) => {
        times(n, () => pbkdf2Sync(PASSWORD, SALT, ITERATIONS, 20, 'sha1'));
      }),
      xmppLogins(saslkitLine, 'saslkit', 'SCRAM-SHA-256', true),
      xmppLogins(ownLine, 'peer', 'SCRAM-SHA-1', false),
    ],
    targets: [
      {
        label: 'xmpp.js login with saslkit SCRAM-SHA-256 >= 10x its own SCRAM-SHA-1',
        of: saslkitLine,
        versus: ownLine,
        kind: 'throughput',
        op: '>=',
        value: 10,
        info: true,
      },
    ],
    notes: [
      'xmpp.js SCRAM-SHA-1 (sasl-scram-sha-1) runs PBKDF2 as 4096 awaited WebCrypto HMACs and never checks the server signature; saslkit checks it and fails the login when it is wrong.',
      "The server is saslkit's XMPP profile with stored SCRAM keys (no PBKDF2 on the server); it drops the mechanism attribute xmpp.js puts on <response>, which saslkit's parser refuses.",
    ],
  };
}
