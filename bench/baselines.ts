/**
 * Hand-written minimal baselines: what a careful programmer writes in a few lines with
 * node:crypto and no library. They check what must be checked for the login to mean anything
 * (the proof, the server signature, the password, in constant time) and nothing more: no
 * SASLprep, no limits, no typed errors, no effects, no drivers. They are the yardstick saslkit's
 * figures are divided by.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The password every benchmark logs in with (ASCII, like nearly all real passwords). */
export const USER = 'user';
export const PASSWORD = 'pencil-and-paper';
export const TOKEN = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';
export const ITERATIONS = 4096;

const hmac = (key: Uint8Array, data: string | Uint8Array): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** The floor: one bare PBKDF2-HMAC-SHA-256 at 4096 iterations, as SCRAM-SHA-256 needs once per login. */
export function floorPbkdf2(salt: Uint8Array): Buffer {
  return pbkdf2Sync(PASSWORD, salt, ITERATIONS, 32, 'sha256');
}

/** What a SCRAM server stores for a user. */
export interface ScramRecord {
  readonly salt: Buffer;
  readonly saltB64: string;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** Derives a SCRAM-SHA-256 record from a password. */
export function scramRecord(password: string, salt: Buffer, iterations = ITERATIONS): ScramRecord {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  return {
    salt,
    saltB64: salt.toString('base64'),
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/**
 * A minimal SCRAM-SHA-256 client (`n,,`, no channel binding). With `cache`, salted passwords
 * are kept by salt and count (the cached-key workload); without, every login runs PBKDF2.
 */
export class BaselineScramClient {
  #nonce = '';
  #bare = '';
  #expected: Buffer | undefined;

  constructor(
    private readonly user: string,
    private readonly password: string,
    private readonly cache?: Map<string, Buffer>,
  ) {}

  first(): Buffer {
    this.#nonce = randomBytes(18).toString('base64');
    this.#bare = `n=${this.user},r=${this.#nonce}`;
    return Buffer.from(`n,,${this.#bare}`);
  }

  #salted(saltB64: string, iterations: number): Buffer {
    const key = `${saltB64}:${iterations}`;
    const hit = this.cache?.get(key);
    if (hit) return hit;
    const salted = pbkdf2Sync(this.password, Buffer.from(saltB64, 'base64'), iterations, 32, 'sha256');
    this.cache?.set(key, salted);
    return salted;
  }

  final(serverFirst: Uint8Array): Buffer {
    const { text, saltB64, iterations } = this.#parse(serverFirst);
    return this.#proof(text, this.#salted(saltB64, iterations));
  }

  /** {@link final} with PBKDF2 on libuv's pool, as an async host must. */
  finalAsync(serverFirst: Uint8Array): Promise<Buffer> {
    const { text, saltB64, iterations } = this.#parse(serverFirst);
    return new Promise((resolve, reject) => {
      pbkdf2(this.password, Buffer.from(saltB64, 'base64'), iterations, 32, 'sha256', (error, salted) => {
        if (error) reject(error);
        else resolve(this.#proof(text, salted));
      });
    });
  }

  #parse(serverFirst: Uint8Array): { text: string; saltB64: string; iterations: number } {
    const text = Buffer.from(serverFirst).toString('utf8');
    const [r = '', s = '', i = ''] = text.split(',');
    if (!r.startsWith(`r=${this.#nonce}`) || !s.startsWith('s=') || !i.startsWith('i='))
      throw new Error('bad server-first');
    return { text, saltB64: s.slice(2), iterations: Number(i.slice(2)) };
  }

  #proof(text: string, salted: Buffer): Buffer {
    const [r = ''] = text.split(',');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${r.slice(2)}`;
    const authMessage = `${this.#bare},${text},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.#expected = hmac(hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  verify(serverFinal: Uint8Array): boolean {
    const text = Buffer.from(serverFinal).toString('utf8');
    const v = Buffer.from(text.slice(2), 'base64');
    return (
      text.startsWith('v=') && this.#expected !== undefined && v.length === 32 && timingSafeEqual(v, this.#expected)
    );
  }
}

/** One whole baseline SCRAM login; returns whether the client verified the server. */
export function baselineScramLogin(client: BaselineScramClient, server: BaselineScramServer): boolean {
  const serverFirst = server.first(client.first());
  return client.verify(server.final(client.final(serverFirst)));
}

/** A PLAIN message `\0user\0password`. */
export function plainMessage(user = USER, password = PASSWORD): Buffer {
  return Buffer.from(`\0${user}\0${password}`);
}

/** A minimal PLAIN server: split at the two NULs, look the user up, compare in constant time. No SASLprep. */
export function baselinePlainServer(message: Uint8Array, users: ReadonlyMap<string, Buffer>): string {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const a = bytes.indexOf(0);
  const b = a < 0 ? -1 : bytes.indexOf(0, a + 1);
  if (b < 0 || bytes.indexOf(0, b + 1) !== -1) throw new Error('malformed');
  const user = bytes.toString('utf8', a + 1, b);
  const password = bytes.subarray(b + 1);
  const stored = users.get(user);
  if (stored === undefined || stored.length !== password.length || !timingSafeEqual(stored, password))
    throw new Error('authentication failed');
  return user;
}

/** A minimal LOGIN server: two prompts, then the same check as PLAIN. */
export class BaselineLoginServer {
  #user = '';
  #step = 0;
  static readonly USERNAME = Buffer.from('Username:');
  static readonly PASSWORD = Buffer.from('Password:');

  constructor(private readonly users: ReadonlyMap<string, Buffer>) {}

  /** The first challenge. */
  start(): Buffer {
    return BaselineLoginServer.USERNAME;
  }

  /** Takes a response: the next challenge, or the authenticated user name. */
  respond(response: Uint8Array): Buffer | string {
    const bytes = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
    if (this.#step++ === 0) {
      this.#user = bytes.toString('utf8');
      return BaselineLoginServer.PASSWORD;
    }
    const stored = this.users.get(this.#user);
    if (stored === undefined || stored.length !== bytes.length || !timingSafeEqual(stored, bytes))
      throw new Error('authentication failed');
    return this.#user;
  }
}

/** One whole baseline CRAM-MD5 exchange (server challenge, client digest, server check). */
export function baselineCramMd5(users: ReadonlyMap<string, string>, user = USER, password = PASSWORD): string {
  const challenge = Buffer.from(`<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@localhost>`);
  const response = Buffer.from(`${user} ${createHmac('md5', password).update(challenge).digest('hex')}`);
  // Server side.
  const space = response.lastIndexOf(0x20);
  const name = response.toString('utf8', 0, space);
  const digest = response.subarray(space + 1);
  const stored = users.get(name);
  const expected = Buffer.from(
    createHmac('md5', stored ?? '')
      .update(challenge)
      .digest('hex'),
  );
  if (stored === undefined || digest.length !== expected.length || !timingSafeEqual(digest, expected))
    throw new Error('authentication failed');
  return name;
}

/** An XOAUTH2 message. */
export function xoauth2Message(user = 'someuser@example.com', token = TOKEN): Buffer {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`);
}

/** An OAUTHBEARER message (RFC 7628 section 4.1's example). */
export function oauthbearerMessage(user = 'user@example.com', token = TOKEN): Buffer {
  return Buffer.from(`n,a=${user},\x01host=server.example.com\x01port=143\x01auth=Bearer ${token}\x01\x01`);
}

/** Minimal XOAUTH2 parse: split at ^A, read `user=` and `auth=Bearer `. */
export function baselineXoauth2(message: Uint8Array): { user: string; token: string } {
  const parts = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('utf8').split('\x01');
  const user = parts[0] ?? '';
  const auth = parts[1] ?? '';
  if (!user.startsWith('user=') || !auth.startsWith('auth=Bearer ') || parts[2] !== '' || parts[3] !== '')
    throw new Error('malformed');
  return { user: user.slice(5), token: auth.slice(12) };
}

/** Minimal OAUTHBEARER parse: GS2 header, then key=value pairs up to the empty one. */
export function baselineOauthbearer(message: Uint8Array): { user: string; token: string } {
  const parts = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('utf8').split('\x01');
  const gs2 = (parts[0] ?? '').split(',');
  let token = '';
  for (let i = 1; i < parts.length - 2; i++) {
    const kv = parts[i] as string;
    if (kv.startsWith('auth=Bearer ')) token = kv.slice(12);
  }
  if (gs2[0] !== 'n' || token === '' || parts[parts.length - 1] !== '' || parts[parts.length - 2] !== '')
    throw new Error('malformed');
  return { user: (gs2[1] ?? '').slice(2), token };
}

/** A SCRAM hash the generic baselines below take, as node:crypto names it. */
export type BaselineHash = 'sha1' | 'sha256';

const DIGEST_BYTES: Readonly<Record<BaselineHash, number>> = { sha1: 20, sha256: 32 };

/** The floor of a SCRAM login with `hash`: one bare PBKDF2 at 4096 iterations. */
export function floorPbkdf2Of(hash: BaselineHash, salt: Uint8Array): Buffer {
  return pbkdf2Sync(PASSWORD, salt, ITERATIONS, DIGEST_BYTES[hash], hash);
}

/** {@link scramRecord} for any hash (SCRAM-SHA-1 as well). */
export function scramRecordOf(
  hash: BaselineHash,
  password: string,
  salt: Buffer,
  iterations = ITERATIONS,
): ScramRecord {
  const salted = pbkdf2Sync(password, salt, iterations, DIGEST_BYTES[hash], hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  return {
    salt,
    saltB64: salt.toString('base64'),
    iterations,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, salted).update('Server Key').digest(),
  };
}

/**
 * {@link BaselineScramClient} for any hash, PBKDF2 every login: the hand-written SCRAM-SHA-1
 * client the SCRAM-SHA-1 workload divides by.
 */
export class BaselineScramClientOf {
  #nonce = '';
  #bare = '';
  #expected: Buffer | undefined;

  constructor(
    private readonly hash: BaselineHash,
    private readonly user: string,
    private readonly password: string,
  ) {}

  first(): Buffer {
    this.#nonce = randomBytes(18).toString('base64');
    this.#bare = `n=${this.user},r=${this.#nonce}`;
    return Buffer.from(`n,,${this.#bare}`);
  }

  final(serverFirst: Uint8Array): Buffer {
    const text = Buffer.from(serverFirst).toString('utf8');
    const [r = '', s = '', i = ''] = text.split(',');
    if (!r.startsWith(`r=${this.#nonce}`) || !s.startsWith('s=') || !i.startsWith('i='))
      throw new Error('bad server-first');
    const { hash } = this;
    const salted = pbkdf2Sync(
      this.password,
      Buffer.from(s.slice(2), 'base64'),
      Number(i.slice(2)),
      DIGEST_BYTES[hash],
      hash,
    );
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const withoutProof = `c=biws,r=${r.slice(2)}`;
    const authMessage = `${this.#bare},${text},${withoutProof}`;
    const proof = xor(
      clientKey,
      createHmac(hash, createHash(hash).update(clientKey).digest()).update(authMessage).digest(),
    );
    this.#expected = createHmac(hash, createHmac(hash, salted).update('Server Key').digest())
      .update(authMessage)
      .digest();
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  verify(serverFinal: Uint8Array): boolean {
    const text = Buffer.from(serverFinal).toString('utf8');
    const v = Buffer.from(text.slice(2), 'base64');
    return (
      text.startsWith('v=') &&
      this.#expected !== undefined &&
      v.length === this.#expected.length &&
      timingSafeEqual(v, this.#expected)
    );
  }
}

/** A minimal SCRAM server for any hash holding StoredKey and ServerKey (SCRAM-SHA-1 peers log in to it too). */
export class BaselineScramServerOf {
  #record: ScramRecord | undefined;
  #nonce = '';
  #bare = '';
  #serverFirst = '';

  constructor(
    private readonly hash: BaselineHash,
    private readonly lookup: (user: string) => ScramRecord | undefined,
  ) {}

  first(message: Uint8Array): Buffer {
    const text = Buffer.from(message).toString('utf8');
    if (!text.startsWith('n,,')) throw new Error('bad client-first');
    this.#bare = text.slice(3);
    const [n = '', r = ''] = this.#bare.split(',');
    this.#record = this.lookup(n.slice(2));
    if (!this.#record || !r.startsWith('r=')) throw new Error('unknown user');
    this.#nonce = r.slice(2) + randomBytes(18).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${this.#record.saltB64},i=${this.#record.iterations}`;
    return Buffer.from(this.#serverFirst);
  }

  final(message: Uint8Array): Buffer {
    const text = Buffer.from(message).toString('utf8');
    const at = text.lastIndexOf(',p=');
    const withoutProof = text.slice(0, at);
    const record = this.#record;
    if (at < 0 || record === undefined || withoutProof !== `c=biws,r=${this.#nonce}`)
      throw new Error('bad client-final');
    const { hash } = this;
    const proof = Buffer.from(text.slice(at + 3), 'base64');
    const authMessage = `${this.#bare},${this.#serverFirst},${withoutProof}`;
    const clientKey = xor(proof, createHmac(hash, record.storedKey).update(authMessage).digest());
    if (
      proof.length !== DIGEST_BYTES[hash] ||
      !timingSafeEqual(createHash(hash).update(clientKey).digest(), record.storedKey)
    )
      throw new Error('authentication failed');
    return Buffer.from(`v=${createHmac(hash, record.serverKey).update(authMessage).digest().toString('base64')}`);
  }
}

/** A minimal SCRAM-SHA-256 server holding StoredKey and ServerKey. */
export class BaselineScramServer extends BaselineScramServerOf {
  constructor(lookup: (user: string) => ScramRecord | undefined) {
    super('sha256', lookup);
  }
}

/** A PLAIN client message built the obvious way: one template string, encoded once. */
export function baselinePlainClient(user: string, password: string, authzid = ''): Buffer {
  return Buffer.from(`${authzid}\0${user}\0${password}`);
}
