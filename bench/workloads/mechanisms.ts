/**
 * The cheap mechanisms, server side as a host runs them (sync driver, a store in memory):
 * PLAIN, LOGIN, the CRAM-MD5 exchange, and the XOAUTH2 / OAUTHBEARER parsers; and the PLAIN
 * client next to sasl-plain.
 */
import {
  BaselineLoginServer,
  PASSWORD,
  TOKEN,
  USER,
  baselineCramMd5,
  baselineOauthbearer,
  baselinePlainClient,
  baselinePlainServer,
  baselineXoauth2,
  oauthbearerMessage,
  plainMessage,
  xoauth2Message,
} from '../baselines.js';
import { type OpsWorkload, batched, check, times } from '../harness.js';
import { SASL_PLAIN_VERSION, saslPlainResponse } from '../peers/sasl-plain.js';
import { sk } from '../saslkit.js';

type Identity = InstanceType<typeof sk.ClearIdentity>;

function clearStore(user: string, password: string): (name: string) => Identity | undefined {
  const accounts = new Map([[user, new sk.ClearIdentity(user, password)]]);
  return (name) => accounts.get(name);
}

const noMoreChallenges = (): Uint8Array => {
  throw new Error('unexpected challenge');
};

/** PLAIN server: parse, SASLprep (ASCII fast path), verify in constant time. */
export function plainServer(rounds: number, minMs: number): OpsWorkload {
  const message = plainMessage();
  const users = new Map([[USER, Buffer.from(PASSWORD)]]);
  const options = { lookup: clearStore(USER, PASSWORD) };
  // A password SASLprep has to map (U+00A0 NO-BREAK SPACE becomes SPACE): the slow path.
  const nbspPassword = 'pencil\u00a0and\u00a0paper';
  const nbspMessage = plainMessage(USER, nbspPassword);
  const nbspOptions = { lookup: clearStore(USER, nbspPassword) };
  return {
    name: 'plain',
    title: 'PLAIN server: parse, SASLprep, look up, verify (one message, initial response)',
    unit: 'exchanges',
    rounds,
    minMs,
    contestants: [
      batched('baseline: split + timingSafeEqual', 'baseline', (n) => {
        times(n, () => baselinePlainServer(message, users));
      }),
      batched('saslkit authenticateSync', 'saslkit', (n) => {
        times(n, () => {
          check(
            sk.authenticateSync(sk.PLAIN.server(options, message), noMoreChallenges).authcid === USER,
            'PLAIN login',
          );
        });
      }),
      batched('saslkit, non-ASCII password', 'info', (n) => {
        times(n, () => {
          check(
            sk.authenticateSync(sk.PLAIN.server(nbspOptions, nbspMessage), noMoreChallenges).authcid === USER,
            'PLAIN login',
          );
        });
      }),
    ],
    targets: [
      {
        label: 'PLAIN server incl. SASLprep >= 0.3x baseline',
        of: 'saslkit authenticateSync',
        versus: 'baseline: split + timingSafeEqual',
        kind: 'throughput',
        op: '>=',
        value: 0.3,
      },
    ],
    notes: ['The baseline runs no SASLprep. The non-ASCII line shows the SASLprep slow path (library mapping, NFKC).'],
  };
}

/** PLAIN client: the one response message, as bytes ready for the wire. */
export function plainClient(rounds: number, minMs: number): OpsWorkload {
  const expected = plainMessage();
  const credentials = new sk.ClientCredentials(USER, PASSWORD);
  const same = (bytes: Uint8Array): boolean => Buffer.compare(expected, bytes) === 0;
  return {
    name: 'plain-client',
    title: 'PLAIN client: build the response message (\\0user\\0password as UTF-8 bytes)',
    unit: 'responses',
    rounds,
    minMs,
    contestants: [
      batched('baseline: template string + Buffer.from', 'baseline', (n) => {
        times(n, () => {
          check(same(baselinePlainClient(USER, PASSWORD)), 'PLAIN response');
        });
      }),
      batched('saslkit sync driver (start + success)', 'saslkit', (n) => {
        times(n, () => {
          const client = new sk.SyncClientSession(sk.PLAIN.client(credentials));
          check(same(client.start() as Uint8Array), 'PLAIN response');
          check(!client.success().serverVerified, 'PLAIN client done');
        });
      }),
      batched('saslkit buildPlainResponse', 'info', (n) => {
        times(n, () => {
          check(same(sk.buildPlainResponse(USER, PASSWORD)), 'PLAIN response');
        });
      }),
      batched(`sasl-plain ${SASL_PLAIN_VERSION} response + Buffer.from`, 'peer', (n) => {
        times(n, () => {
          check(same(saslPlainResponse(USER, PASSWORD)), 'PLAIN response');
        });
      }),
    ],
    notes: [
      'sasl-plain returns a string (and checks nothing, e.g. a NUL inside a field); the host still has to encode it, so its line includes Buffer.from. saslkit rejects NUL in any field and runs a whole client exchange under its sync driver.',
    ],
  };
}

/** LOGIN server: two prompts, two responses, verify. */
export function loginServer(rounds: number, minMs: number): OpsWorkload {
  const user = Buffer.from(USER);
  const password = Buffer.from(PASSWORD);
  const users = new Map([[USER, password]]);
  const options = { lookup: clearStore(USER, PASSWORD) };
  return {
    name: 'login',
    title: 'LOGIN server: Username: and Password: prompts, verify',
    unit: 'exchanges',
    rounds,
    minMs,
    contestants: [
      batched('baseline: two-step state machine', 'baseline', (n) => {
        times(n, () => {
          const server = new BaselineLoginServer(users);
          server.start();
          server.respond(user);
          check(server.respond(password) === USER, 'LOGIN login');
        });
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          const session = new sk.SyncServerSession(sk.LOGIN.server(options));
          session.start();
          session.respond(user);
          const last = session.respond(password);
          check(last.done && last.outcome.authcid === USER, 'LOGIN login');
        });
      }),
    ],
  };
}

/** CRAM-MD5: server challenge, client digest, server check. */
export function cramMd5(rounds: number, minMs: number): OpsWorkload {
  const users = new Map([[USER, PASSWORD]]);
  const options = { lookup: clearStore(USER, PASSWORD) };
  const credentials = new sk.ClientCredentials(USER, PASSWORD);
  return {
    name: 'cram-md5',
    title: 'CRAM-MD5 full exchange (fresh challenge, client HMAC-MD5, server check)',
    unit: 'exchanges',
    rounds,
    minMs,
    contestants: [
      batched('baseline: hand-written node:crypto', 'baseline', (n) => {
        times(n, () => baselineCramMd5(users));
      }),
      batched('saslkit sync driver', 'saslkit', (n) => {
        times(n, () => {
          const client = new sk.SyncClientSession(sk.CRAM_MD5.client(credentials));
          check(client.start() === undefined, 'CRAM-MD5 is server-first');
          const server = new sk.SyncServerSession(sk.CRAM_MD5.server(options));
          const first = server.start();
          check(!first.done, 'CRAM-MD5 challenge');
          const last = server.respond(client.challenge(first.challenge));
          check(last.done && last.outcome.authcid === USER, 'CRAM-MD5 login');
          client.success();
        });
      }),
    ],
    targets: [
      {
        label: 'CRAM-MD5 exchange >= 0.5x baseline',
        of: 'saslkit sync driver',
        versus: 'baseline: hand-written node:crypto',
        kind: 'throughput',
        op: '>=',
        value: 0.5,
      },
    ],
  };
}

/** XOAUTH2 and OAUTHBEARER message parsers. */
export function oauthParse(rounds: number, minMs: number): OpsWorkload[] {
  const xoauth2 = xoauth2Message();
  const oauthbearer = oauthbearerMessage();
  return [
    {
      name: 'xoauth2',
      title: 'XOAUTH2 parse (user=, auth=Bearer)',
      unit: 'parses',
      rounds,
      minMs,
      contestants: [
        batched('baseline: split at ^A', 'baseline', (n) => {
          times(n, () => baselineXoauth2(xoauth2));
        }),
        batched('saslkit parseXoauth2Response', 'saslkit', (n) => {
          times(n, () => {
            check(sk.parseXoauth2Response(xoauth2).token === TOKEN, 'XOAUTH2 parse');
          });
        }),
      ],
    },
    {
      name: 'oauthbearer',
      title: 'OAUTHBEARER parse (GS2 header, host, port, auth)',
      unit: 'parses',
      rounds,
      minMs,
      contestants: [
        batched('baseline: split at ^A', 'baseline', (n) => {
          times(n, () => baselineOauthbearer(oauthbearer));
        }),
        batched('saslkit parseOauthbearerResponse', 'saslkit', (n) => {
          times(n, () => {
            check(sk.parseOauthbearerResponse(oauthbearer).token === TOKEN, 'OAUTHBEARER parse');
          });
        }),
      ],
    },
  ];
}
