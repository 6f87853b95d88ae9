/**
 * Hostile inputs next to the normal exchange they imitate, for SECURITY.md's "hostile inputs
 * tried" table: what each costs the side that receives it, as a multiple of an honest exchange
 * of the same mechanism measured in the same rounds. A ratio near 1 means the input costs no
 * more than a real login; far below 1, it is refused before the expensive part.
 *
 * Every line runs through the sync driver with stores in memory: the cost measured is
 * saslkit's own work (parsing, checks, key derivation, the typed error), not a network's.
 */
import { type Contestant, type OpsWorkload, type Target, batched, check, times } from '../harness.js';
import { sk } from '../saslkit.js';

const USER = 'user';
const PASSWORD = 'pencil-and-paper';
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Runs `run` and requires that it throws a SaslError with `code`. */
function refused(code: string, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    check(sk.isSaslError(error) && error.code === code, `expected ${code}, got ${String(error)}`);
    return;
  }
  throw new Error(`expected ${code}, but the exchange succeeded`);
}

/** Cost of `of` relative to `versus`, as an informational check (these are figures, not targets). */
function costAtMost(of: string, versus: string, value: number): Target {
  return { label: `${of} costs <= ${value}x ${versus}`, of, versus, kind: 'cost', op: '<=', value, info: true };
}

/**
 * One normal exchange and the hostile inputs that imitate it. `bounds[i]` is the claim SECURITY.md
 * makes for hostile line i (its cost at most that multiple of the normal line), or undefined
 * where the table only reports the figure.
 */
function family(
  name: string,
  title: string,
  rounds: number,
  minMs: number,
  normal: Contestant,
  hostile: readonly Contestant[],
  bounds: readonly (number | undefined)[],
): OpsWorkload {
  return {
    name,
    title,
    unit: 'exchanges',
    rounds,
    minMs,
    contestants: [normal, ...hostile],
    targets: hostile.flatMap((c, i) => {
      const bound = bounds[i];
      return bound === undefined ? [] : [costAtMost(c.name, normal.name, bound)];
    }),
    notes: [
      'The baseline column is ops/s relative to the normal exchange; the cost of a hostile input is its inverse.',
    ],
  };
}

/** PLAIN server: a normal login against malformed, oversized and unknown-user messages. */
export function hostilePlain(rounds: number, minMs: number): OpsWorkload {
  const hasher = new sk.Pbkdf2Hasher({ rounds: 1000 });
  const stored = sk.HashedIdentity.create(USER, PASSWORD, hasher);
  const lookup = (name: string) => (name === USER ? stored : undefined);
  const options = { lookup, unknownUserIdentity: sk.HashedIdentity.create('nobody', 'x-unused-x', hasher) };
  const normal = utf8(`\0${USER}\0${PASSWORD}`);
  const wrong = utf8(`\0${USER}\0not-the-password`);
  const unknown = utf8(`\0someone-else\0${PASSWORD}`);
  const noNul = utf8(`${USER}${PASSWORD}`);
  const badUtf8 = new Uint8Array([0, 0x75, 0, 0xc3, 0x28]);
  const oversize = new Uint8Array(sk.DEFAULT_MAX_MESSAGE_BYTES + 1).fill(0x61);
  const none = (): Uint8Array => {
    throw new Error('PLAIN sends no challenge here');
  };
  // The message is also the session's initial response, so that the session's limits apply to it.
  const run = (message: Uint8Array) =>
    sk.authenticateSync(sk.PLAIN.server(options, message), none, { initialResponse: message });
  const line = (name: string, code: string, message: Uint8Array): Contestant =>
    batched(name, 'info', (n) => {
      times(n, () => {
        refused(code, () => run(message));
      });
    });
  return family(
    'hostile-plain',
    'PLAIN server (PBKDF2 store, 1000 rounds): hostile messages vs a login',
    rounds,
    minMs,
    batched('normal login', 'baseline', (n) => {
      times(n, () => {
        check(run(normal).authcid === USER, 'PLAIN login');
      });
    }),
    [
      line('wrong password', 'AUTHENTICATION_FAILED', wrong),
      line('unknown user', 'AUTHENTICATION_FAILED', unknown),
      line('no NUL separators', 'MALFORMED_MESSAGE', noNul),
      line('invalid UTF-8', 'MALFORMED_MESSAGE', badUtf8),
      line('message of maxMessageBytes + 1', 'LIMIT_EXCEEDED', oversize),
    ],
    [1.2, 1.2, undefined, undefined, undefined],
  );
}

/** SCRAM-SHA-256 server with a clear-text store: unknown users cost what a wrong password costs. */
export function hostileScramServer(rounds: number, minMs: number): OpsWorkload {
  const accounts = new Map([[USER, new sk.ClearIdentity(USER, PASSWORD)]]);
  const options = { lookup: (name: string) => accounts.get(name), scram: { saltSecret: new Uint8Array(32).fill(7) } };
  const huge = sk.ScramSecret.parse(
    sk.ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4096 })
      .format()
      .replace('SCRAM-SHA-256$4096:', 'SCRAM-SHA-256$2147483647:'),
  );
  const hugeOptions = { lookup: (name: string) => (name === USER ? new sk.ScramIdentity(USER, [huge]) : undefined) };
  const login = (password: string, user: string, serverOptions: typeof options | typeof hugeOptions): void => {
    const client = new sk.SyncClientSession(
      sk.SCRAM_SHA_256.client(new sk.ClientCredentials(user, password), { scram: { cache: false } }),
    );
    const server = new sk.SyncServerSession(sk.SCRAM_SHA_256.server(serverOptions, client.start()));
    let step = server.start();
    while (!step.done) step = server.respond(client.challenge(step.challenge));
    client.success(step.outcome.additionalData);
  };
  const failing = (
    name: string,
    user: string,
    password: string,
    serverOptions: typeof options | typeof hugeOptions,
    role: 'baseline' | 'info' = 'info',
  ): Contestant =>
    batched(name, role, (n) => {
      times(n, () => {
        refused('AUTHENTICATION_FAILED', () => {
          login(password, user, serverOptions);
        });
      });
    });
  return family(
    'hostile-scram',
    'SCRAM-SHA-256 server with a clear-text store: failed logins (client included, client cache off: 2 PBKDF2s each)',
    rounds,
    minMs,
    failing('wrong password', USER, 'not-the-password', options, 'baseline'),
    [
      failing('unknown user', 'someone-else', PASSWORD, options),
      failing('stored secret with 2^31-1 iterations', USER, PASSWORD, hugeOptions),
      batched('successful login (server keys cached: 1 PBKDF2)', 'info', (n) => {
        times(n, () => {
          login(PASSWORD, USER, options);
        });
      }),
    ],
    [1.2, 1.2, undefined],
  );
}

/** SCRAM-SHA-256 client facing a malicious server: forged server-first messages. */
export function hostileScramClient(rounds: number, minMs: number): OpsWorkload {
  const credentials = new sk.ClientCredentials(USER, PASSWORD);
  const secret = sk.ScramSecret.fromPassword('SHA-256', PASSWORD, { iterations: 4096 });
  const serverOptions = {
    lookup: (name: string) => (name === USER ? new sk.ScramIdentity(USER, [secret]) : undefined),
  };
  const normal = (): void => {
    const client = new sk.SyncClientSession(sk.SCRAM_SHA_256.client(credentials, { scram: { cache: false } }));
    const server = new sk.SyncServerSession(sk.SCRAM_SHA_256.server(serverOptions, client.start()));
    let step = server.start();
    while (!step.done) step = server.respond(client.challenge(step.challenge));
    client.success(step.outcome.additionalData);
  };
  const forged = (name: string, code: string, serverFirst: (clientNonce: string) => string): Contestant =>
    batched(name, 'info', (n) => {
      times(n, () => {
        const client = new sk.SyncClientSession(sk.SCRAM_SHA_256.client(credentials, { scram: { cache: false } }));
        const first = new TextDecoder().decode(client.start());
        const nonce = /,r=([^,]*)/.exec(first)?.[1] ?? '';
        refused(code, () => client.challenge(utf8(serverFirst(nonce))));
      });
    });
  const salt = 'QSXCR+Q6sek8bf92';
  return family(
    'hostile-scram-client',
    'SCRAM-SHA-256 client: forged server-first vs a whole login (client cache off)',
    rounds,
    minMs,
    batched('normal login', 'baseline', (n) => {
      times(n, normal);
    }),
    [
      forged('i=1000000000', 'LIMIT_EXCEEDED', (nonce) => `r=${nonce}srv,s=${salt},i=1000000000`),
      forged(
        'nonce not extending the client nonce',
        'MALFORMED_MESSAGE',
        () => `r=someone-elses-nonce,s=${salt},i=4096`,
      ),
      forged('mandatory extension m=', 'MALFORMED_MESSAGE', (nonce) => `m=ext,r=${nonce}srv,s=${salt},i=4096`),
    ],
    [0.2, 0.2, 0.2],
  );
}

/** DIGEST-MD5 server: a response computed for another server (a relayed login). */
export function hostileDigest(rounds: number, minMs: number): OpsWorkload {
  const accounts = new Map([[USER, new sk.ClearIdentity(USER, PASSWORD)]]);
  const serverOptions = {
    lookup: (name: string) => accounts.get(name),
    hostname: 'mail.target.example',
    service: 'imap',
  };
  const login = (host: string): void => {
    const client = new sk.SyncClientSession(
      sk.DIGEST_MD5.client(new sk.ClientCredentials(USER, PASSWORD), { host, service: 'imap' }),
    );
    const server = new sk.SyncServerSession(sk.DIGEST_MD5.server(serverOptions, client.start()));
    let step = server.start();
    while (!step.done) step = server.respond(client.challenge(step.challenge));
    client.success(step.outcome.additionalData);
  };
  return family(
    'hostile-digest',
    'DIGEST-MD5 client+server: a response for another host vs a login',
    rounds,
    minMs,
    batched('normal login', 'baseline', (n) => {
      times(n, () => {
        login('mail.target.example');
      });
    }),
    [
      batched('digest-uri imap/evil.example (relay)', 'info', (n) => {
        times(n, () => {
          refused('AUTHENTICATION_FAILED', () => {
            login('evil.example');
          });
        });
      }),
    ],
    [1.2],
  );
}

/** XOAUTH2 server: a control character in user=. */
export function hostileXoauth2(rounds: number, minMs: number): OpsWorkload {
  const options = {
    validateToken: ({ token }: { token: string }) =>
      token === 'good-token' ? { authcid: USER } : { error: { status: 'invalid_token' } },
  };
  const message = (user: string): Uint8Array => utf8(`user=${user}\x01auth=Bearer good-token\x01\x01`);
  const none = (): Uint8Array => {
    throw new Error('no challenge expected');
  };
  const normal = message(USER);
  const crlf = message(`${USER}\r\nX-Injected: yes`);
  return family(
    'hostile-xoauth2',
    'XOAUTH2 server: CR LF in user= vs a login',
    rounds,
    minMs,
    batched('normal login', 'baseline', (n) => {
      times(n, () => {
        check(sk.authenticateSync(sk.XOAUTH2.server(options, normal), none).authcid === USER, 'XOAUTH2 login');
      });
    }),
    [
      batched('CR LF inside user=', 'info', (n) => {
        times(n, () => {
          refused('MALFORMED_MESSAGE', () => sk.authenticateSync(sk.XOAUTH2.server(options, crlf), none));
        });
      }),
    ],
    [undefined],
  );
}

/** XMPP: the SASL element parser on a namespace flood vs a plain <auth> of the same size. */
export function hostileXmpp(rounds: number, minMs: number): OpsWorkload {
  const ns = 'urn:ietf:params:xml:ns:xmpp-sasl';
  const declarations = Array.from({ length: 1100 }, (_, i) => ` xmlns:a${i}=''`).join('');
  const children = Array.from({ length: 1000 }, (_, i) => `<c xmlns:b${i}=''/>`).join('');
  const flood = `<auth xmlns='${ns}' mechanism='PLAIN'${declarations}>${children}</auth>`;
  const plain = `<auth xmlns='${ns}' mechanism='PLAIN'>${'QUJD'.repeat(Math.floor((flood.length - 60) / 4))}</auth>`;
  const options = { maxElementBytes: 65536 };
  // The densest markup the default caps let through to the grammar (three levels of namespace
  // declarations, prefixed children, references), padded with base64 to 10 KB, next to a plain
  // <auth> of 10 KB: the parser's guarantee is at most 3x.
  const decls = (n: number, from: number): string =>
    Array.from({ length: n }, (_, i) => ` xmlns:p${i + from}='urn:p'`).join('');
  const denseBody = `<q${decls(15, 1)}><q${decls(15, 16)}><q${decls(15, 31)}>${'<p0:c>&lt;&#x1F600;a&amp;&apos;</p0:c>'.repeat(60)}</q></q></q>`;
  const denseOpen = `<auth xmlns='${ns}' xmlns:p0='urn:p' mechanism='PLAIN'>`;
  const dense = `${denseOpen}${denseBody}${'QUFB'.repeat(Math.floor((10240 - denseOpen.length - denseBody.length - 7) / 4))}</auth>`;
  const plain10k = `<auth xmlns='${ns}' mechanism='PLAIN'>${'QUJD'.repeat(Math.floor((dense.length - 60) / 4))}</auth>`;
  const anyRefusal = (run: () => unknown): void => {
    try {
      run();
    } catch (error) {
      check(sk.isSaslError(error), `expected a SaslError, got ${String(error)}`);
      return;
    }
    throw new Error('expected the dense element to be refused');
  };
  return family(
    'hostile-xmpp',
    `XMPP SASL element parser: a ${Math.round(flood.length / 1024)} KB namespace flood vs a plain <auth> of the same size`,
    rounds,
    minMs,
    batched('plain <auth> of the same size', 'baseline', (n) => {
      times(n, () => {
        check(sk.parseXmppSaslElement(plain, 'client', options).kind === 'auth', 'plain auth');
      });
    }),
    [
      batched('namespace flood', 'info', (n) => {
        times(n, () => {
          refused('LIMIT_EXCEEDED', () => sk.parseXmppSaslElement(flood, 'client', options));
        });
      }),
      batched('plain <auth> of 10 KB', 'info', (n) => {
        times(n, () => {
          check(sk.parseXmppSaslElement(plain10k, 'client').kind === 'auth', 'plain auth');
        });
      }),
      batched('densest markup at the default caps, 10 KB', 'info', (n) => {
        times(n, () => {
          anyRefusal(() => sk.parseXmppSaslElement(dense, 'client'));
        });
      }),
    ],
    [3, undefined, undefined],
  );
}
