/**
 * The browser bench page (bundled by bench/workloads/browser.ts, run in headless Chromium): SCRAM
 * client logins measured inside the page with performance.now(), against recorded server
 * messages (the RFC 7677 SCRAM-SHA-256 and RFC 5802 SCRAM-SHA-1 examples: user "user", password
 * "pencil", 4096 iterations; the client nonce is fixed to the recorded one so the recorded
 * server messages answer it), the same for every line of a hash. One operation:
 *
 * - `WebCrypto PBKDF2-SHA-256` / `-SHA-1`: importKey of the password + one deriveBits of 4096
 *   iterations (the floor: what any SCRAM login must do at least).
 * - `saslkit SCRAM-...`: a fresh PromiseClientSession (client cache off): client-first,
 *   client-final from server-first (SASLprep, PBKDF2, HMACs, proof), server-final verified.
 * - `strophe.js SCRAM-...`: Strophe.SASLSHA256/SASLSHA1's clientChallenge and onChallenge on a
 *   stand-in connection, then the server signature compared as Strophe's connection does.
 * - `sasl-scram-sha-1 (xmpp.js)`: response/challenge/response/challenge/response as @xmpp/sasl
 *   drives it; the package never checks the server signature, so the page compares it.
 *
 * Every operation checks its outcome and throws otherwise.
 */
import { ClientCredentials, PromiseClientSession, SCRAM_SHA_1, SCRAM_SHA_256, type ScramMechanism } from 'saslkit';
import { Strophe } from 'strophe.js';
// @ts-expect-error -- sasl-scram-sha-1 ships no type declarations; its shape is typed below.
import SaslScramSha1 from 'sasl-scram-sha-1';

const PASSWORD = 'pencil';
const enc = new TextEncoder();
const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** A recorded exchange: the client nonce and the server's two messages. */
interface Recorded {
  readonly nonce: string;
  readonly serverFirst: string;
  readonly serverFinal: string;
  readonly salt: Uint8Array;
}

const SHA256: Recorded = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  salt: unb64('W22ZaJ0SNY7soEsUEjb6gQ=='),
};
const SHA1: Recorded = {
  nonce: 'fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  salt: unb64('QSXCR+Q6sek8bf92'),
};

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`benchmark sanity check failed: ${what}`);
}

async function pbkdf2(hash: 'SHA-256' | 'SHA-1', recorded: Recorded): Promise<void> {
  const key = await crypto.subtle.importKey('raw', enc.encode(PASSWORD), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash, salt: recorded.salt, iterations: 4096 },
    key,
    hash === 'SHA-1' ? 160 : 256,
  );
  check(bits.byteLength === (hash === 'SHA-1' ? 20 : 32), 'PBKDF2 output length');
}

async function saslkit(mechanism: ScramMechanism, recorded: Recorded): Promise<void> {
  const client = new PromiseClientSession(
    mechanism.client(new ClientCredentials('user', PASSWORD), {
      scram: { nonceForTesting: recorded.nonce, cache: false },
    }),
  );
  await client.start(true);
  await client.challenge(enc.encode(recorded.serverFirst));
  const outcome = await client.success(enc.encode(recorded.serverFinal));
  check(outcome.serverVerified, 'saslkit verified the server');
}

/** The part of a Strophe connection its SCRAM code reads and writes. */
interface StropheConnection {
  authcid: string;
  pass: string;
  _sasl_data: Record<string, unknown>;
  _sasl_failure_cb: (error: unknown) => boolean;
}
interface StropheMechanism {
  clientChallenge(connection: StropheConnection, cnonce?: string): string;
  onChallenge(connection: StropheConnection, challenge: string): Promise<string | false>;
}
const strophe = Strophe as unknown as Record<'SASLSHA256' | 'SASLSHA1', new () => StropheMechanism>;

async function stropheLogin(name: 'SASLSHA256' | 'SASLSHA1', recorded: Recorded): Promise<void> {
  const connection: StropheConnection = {
    authcid: 'user',
    pass: PASSWORD,
    _sasl_data: {},
    _sasl_failure_cb: () => false,
  };
  const mechanism = new strophe[name]();
  mechanism.clientChallenge(connection, recorded.nonce);
  const final = await mechanism.onChallenge(connection, recorded.serverFirst);
  check(typeof final === 'string' && final.startsWith('c=biws,'), 'strophe.js client-final');
  // Strophe.Connection._sasl_success_cb compares the v= of the success data with this.
  check(connection._sasl_data['server-signature'] === recorded.serverFinal.slice(2), 'strophe.js server signature');
}

interface ScramSha1 {
  response(cred: { username: string; password: string }): string | Promise<string>;
  challenge(chal: string): ScramSha1;
  readonly _serverSignature?: Uint8Array;
}
const Sha1Mechanism = SaslScramSha1 as new (options: { genNonce: () => string }) => ScramSha1;

async function saslScramSha1(recorded: Recorded): Promise<void> {
  const cred = { username: 'user', password: PASSWORD };
  const mechanism = new Sha1Mechanism({ genNonce: () => recorded.nonce });
  await mechanism.response(cred);
  mechanism.challenge(recorded.serverFirst);
  const final = await mechanism.response(cred);
  check(final.startsWith('c=biws,'), 'sasl-scram-sha-1 client-final');
  mechanism.challenge(recorded.serverFinal);
  check((await mechanism.response(cred)) === '', 'sasl-scram-sha-1 final stage');
  // The package computes the server signature but never compares it: the page does.
  check(
    mechanism._serverSignature !== undefined && b64(mechanism._serverSignature) === recorded.serverFinal.slice(2),
    'sasl-scram-sha-1 server signature (checked by the page)',
  );
}

/** The contestants, by the names the workload reports. */
const CONTESTANTS: Record<string, () => Promise<void>> = {
  'WebCrypto PBKDF2-SHA-256 (4096)': () => pbkdf2('SHA-256', SHA256),
  'saslkit SCRAM-SHA-256 client': () => saslkit(SCRAM_SHA_256, SHA256),
  'strophe.js SCRAM-SHA-256 client': () => stropheLogin('SASLSHA256', SHA256),
  'WebCrypto PBKDF2-SHA-1 (4096)': () => pbkdf2('SHA-1', SHA1),
  'saslkit SCRAM-SHA-1 client': () => saslkit(SCRAM_SHA_1, SHA1),
  'strophe.js SCRAM-SHA-1 client': () => stropheLogin('SASLSHA1', SHA1),
  'sasl-scram-sha-1 (xmpp.js) client': () => saslScramSha1(SHA1),
};

/** Runs `name` one login at a time for at least `minMs` milliseconds (and at least once). */
async function measure(name: string, minMs: number): Promise<{ ops: number; seconds: number }> {
  const op = CONTESTANTS[name];
  if (op === undefined) throw new Error(`no contestant ${name}`);
  const start = performance.now();
  let ops = 0;
  do {
    await op();
    ops++;
  } while (performance.now() - start < minMs);
  return { ops, seconds: (performance.now() - start) / 1000 };
}

/**
 * Runs `names` interleaved, one login of each in turn (the order rotating every cycle), for
 * about `minMs` per contestant, and times each login alone. On a shared machine the load swings
 * within a round: interleaving exposes every contestant to the same swings, so their ratios hold
 * still where back-to-back time slices do not.
 */
async function measureInterleaved(
  names: readonly string[],
  minMs: number,
): Promise<Record<string, { ops: number; seconds: number }>> {
  const ops = names.map((name) => {
    const op = CONTESTANTS[name];
    if (op === undefined) throw new Error(`no contestant ${name}`);
    return op;
  });
  const count = names.map(() => 0);
  const spent = names.map(() => 0);
  const start = performance.now();
  for (let cycle = 0; cycle === 0 || performance.now() - start < minMs * names.length; cycle++) {
    for (let k = 0; k < names.length; k++) {
      const i = (k + cycle) % names.length;
      const began = performance.now();
      await (ops[i] as () => Promise<void>)();
      spent[i] = (spent[i] as number) + performance.now() - began;
      count[i] = (count[i] as number) + 1;
    }
  }
  return Object.fromEntries(
    names.map((name, i) => [name, { ops: count[i] as number, seconds: (spent[i] as number) / 1000 }]),
  );
}

(globalThis as { saslkitBench?: unknown }).saslkitBench = {
  names: Object.keys(CONTESTANTS),
  measure,
  measureInterleaved,
  userAgent: (globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent ?? '',
};
