/**
 * Seeds for the fuzzers, all drawn from the RFC vectors (spec/fixtures/sasl-vectors.json): a
 * small table of the messages each mechanism's client and server send, the protocol
 * transcripts per protocol, and pools of every byte string and text in the vectors for the
 * parsers. A mechanism without a table entry gets every message of its vectors, for both sides.
 */
import { VECTORS, type Vector, bytesOf, textOf } from '../support/vectors.js';

/** Who sends a message. */
export type Direction = 'client' | 'server';

/** A pointer into the vectors: a vector id and a dot path to a value object (or a base64 string). */
interface SeedRef {
  readonly id: string;
  readonly path: string;
  readonly from: Direction;
  /** Messages of one exchange share a group; by default the vector id. */
  readonly group: string;
}

function isValueObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['utf8'] === 'string' || typeof v['hex'] === 'string' || typeof v['base64'] === 'string';
}

function at(vector: Vector, path: string): unknown {
  let value: unknown = vector;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

function valueBytes(value: unknown): Uint8Array | undefined {
  if (isValueObject(value)) return bytesOf(value);
  // A few vectors give a bare base64 string (`client_response_base64`).
  if (typeof value === 'string' && /^[A-Za-z0-9+/]+=*$/.test(value))
    return new Uint8Array(Buffer.from(value, 'base64'));
  return undefined;
}

const ref = (id: string, path: string, from: Direction, group = id): SeedRef => ({ id, path, from, group });

/** SCRAM exchanges list their messages with a `from`; both hashes seed the whole SCRAM family. */
function scramMessages(): SeedRef[] {
  const refs: SeedRef[] = [];
  for (const id of ['scram-sha-1-rfc5802', 'scram-sha-256-rfc7677']) {
    const messages = at(VECTORS.find((v) => v.id === id) as Vector, 'expected.messages') as { from: Direction }[];
    messages.forEach((m, i) => refs.push(ref(id, `expected.messages.${i}.value`, m.from)));
  }
  refs.push(ref('scram-server-error-values', 'expected.example_message', 'server'));
  return refs;
}

/** The seed table: which vector messages each mechanism's client and server send. */
const TABLE: readonly (readonly [RegExp, () => SeedRef[]])[] = [
  [/^PLAIN$/, () => VECTORS.filter((v) => v.mechanism === 'PLAIN').map((v) => ref(v.id, 'expected.message', 'client'))],
  [
    /^LOGIN$/,
    () => [
      ...['challenge1_spec', 'challenge2_spec', 'challenge1_example', 'challenge1_common', 'challenge2_common'].map(
        (key) => ref('login-draft-murchison-challenges', `expected.${key}`, 'server'),
      ),
      ref('login-draft-murchison-challenges', 'expected.response1', 'client'),
      ref('login-draft-murchison-challenges', 'expected.response2', 'client'),
    ],
  ],
  [
    /^CRAM-MD5$/,
    () => [
      ref('cram-md5-rfc2195', 'inputs.challenge', 'server'),
      ref('cram-md5-rfc2195', 'expected.response', 'client'),
      ref('cram-md5-rfc4954-smtp', 'inputs.challenge', 'server'),
      ref('cram-md5-rfc4954-smtp', 'expected.response', 'client'),
    ],
  ],
  [/^SCRAM-/, scramMessages],
  [
    /^DIGEST-MD5$/,
    () => [
      ...['digest-md5-rfc2831-imap', 'digest-md5-rfc5034-pop3'].flatMap((id) => [
        ref(id, 'expected.challenge', 'server'),
        ref(id, 'expected.rspauth_challenge', 'server'),
        ref(id, 'expected.client_response_base64', 'client'),
      ]),
    ],
  ],
  [
    /^OAUTHBEARER$/,
    () => [
      ...['imap-success', 'smtp-success'].map((name) =>
        ref(`oauthbearer-rfc7628-${name}`, 'expected.message', 'client'),
      ),
      // A failed exchange: the initial response, the server's error, the client's dummy 0x01.
      ...['imap', 'smtp'].flatMap((p) => [
        ref(`oauthbearer-rfc7628-${p}-failure-ir`, 'expected.message', 'client', `oauthbearer-${p}-failure`),
        ref(`oauthbearer-rfc7628-${p}-error-challenge`, 'expected.message', 'server', `oauthbearer-${p}-failure`),
        ref('oauthbearer-rfc7628-dummy-response', 'expected.message', 'client', `oauthbearer-${p}-failure`),
      ]),
    ],
  ],
  [
    /^XOAUTH2$/,
    () => [
      ref('xoauth2-google-initial-response', 'expected.message', 'client', 'xoauth2'),
      ref('xoauth2-google-error-challenge', 'expected.challenge', 'server', 'xoauth2'),
      ref('xoauth2-google-error-challenge', 'expected.client_reply', 'client', 'xoauth2'),
    ],
  ],
  [/^ANONYMOUS$/, () => [ref('anonymous-rfc4505', 'expected.message', 'client')]],
  [
    /^EXTERNAL$/,
    () => [
      ref('external-rfc4422-empty', 'expected.message', 'client'),
      ref('external-rfc4422-authzid', 'expected.message', 'client'),
    ],
  ],
];

/** A mechanism's seeds: every message by sender, and each vector's messages in exchange order. */
export interface MechanismSeeds {
  readonly client: Uint8Array[];
  readonly server: Uint8Array[];
  /** Per vector, what the client sends, in order (initial response first). */
  readonly clientSequences: Uint8Array[][];
  /** Per vector, what the server sends, in order. */
  readonly serverSequences: Uint8Array[][];
}

function resolve(refs: readonly SeedRef[]): MechanismSeeds {
  const out: MechanismSeeds = { client: [], server: [], clientSequences: [], serverSequences: [] };
  const sequences = new Map<string, { client: Uint8Array[]; server: Uint8Array[] }>();
  for (const r of refs) {
    const vector = VECTORS.find((v) => v.id === r.id);
    if (vector === undefined) throw new Error(`seed table: no vector ${r.id}`);
    const bytes = valueBytes(at(vector, r.path));
    if (bytes === undefined) throw new Error(`seed table: ${r.id} has no message at ${r.path}`);
    out[r.from].push(bytes);
    let sequence = sequences.get(r.group);
    if (sequence === undefined) sequences.set(r.group, (sequence = { client: [], server: [] }));
    sequence[r.from].push(bytes);
  }
  for (const sequence of sequences.values()) {
    if (sequence.client.length > 0) out.clientSequences.push(sequence.client);
    if (sequence.server.length > 0) out.serverSequences.push(sequence.server);
  }
  return out;
}

function collectValues(value: unknown, out: Uint8Array[]): void {
  if (isValueObject(value)) out.push(bytesOf(value));
  else if (Array.isArray(value)) for (const item of value) collectValues(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) collectValues(item, out);
}

/** The messages a mechanism's client and server send, from the table or, failing that, its vectors. */
export function mechanismSeeds(name: string): MechanismSeeds {
  const entry = TABLE.find(([pattern]) => pattern.test(name));
  if (entry !== undefined) return resolve(entry[1]());
  const base = name.replace(/-PLUS$/, '');
  const all: Uint8Array[] = [];
  for (const v of VECTORS) if (v.mechanism === base) collectValues(v.expected, all);
  return { client: all, server: all, clientSequences: all.map((m) => [m]), serverSequences: all.map((m) => [m]) };
}

/** One protocol transcript: its lines in order, by sender, without the `C: `/`S: ` prefix. */
export interface Transcript {
  readonly id: string;
  readonly lines: readonly { readonly from: Direction; readonly text: string }[];
}

/** Every framing transcript of a protocol (compared case-insensitively: `imap`, `ManageSieve`). */
export function transcripts(protocol: string): Transcript[] {
  return VECTORS.filter(
    (v) => v.kind === 'framing-transcript' && v.protocol?.toLowerCase() === protocol.toLowerCase(),
  ).map((v) => ({
    id: v.id,
    lines: (v.expected['lines'] as string[])
      .filter((line) => line.startsWith('C:') || line.startsWith('S:'))
      .map((line) => ({
        from: line.startsWith('C:') ? ('client' as const) : ('server' as const),
        text: line.slice(3),
      })),
  }));
}

/** The protocols that have transcripts, lower case. */
export const PROTOCOLS: readonly string[] = [
  ...new Set(VECTORS.filter((v) => v.kind === 'framing-transcript').map((v) => (v.protocol as string).toLowerCase())),
];

/** Every octet string in the vectors: messages, keys, framing bytes. */
export const BYTE_POOL: readonly Uint8Array[] = (() => {
  const out: Uint8Array[] = [];
  for (const v of VECTORS) {
    collectValues(v.inputs, out);
    collectValues(v.expected, out);
  }
  return out;
})();

/** Every text in the vectors: transcript lines, SASLprep inputs, the UTF-8 of every value. */
export const TEXT_POOL: readonly string[] = (() => {
  const out = new Set<string>();
  for (const v of VECTORS) {
    if (v.kind === 'framing-transcript')
      for (const line of v.expected['lines'] as string[]) if (!line.startsWith('# ')) out.add(line.slice(3));
    if (typeof v.inputs['string'] === 'string') out.add(v.inputs['string']);
  }
  for (const bytes of BYTE_POOL) {
    const text = Buffer.from(bytes).toString('utf8');
    if (!text.includes('\uFFFD')) out.add(text);
  }
  return [...out];
})();

/** Groups of consecutive lines from one sender (capability responses, EHLO replies ...). */
export const LINE_GROUPS: readonly string[][] = (() => {
  const groups: string[][] = [];
  for (const v of VECTORS.filter((x) => x.kind === 'framing-transcript')) {
    let group: string[] = [];
    let sender = '';
    for (const line of v.expected['lines'] as string[]) {
      if (line.startsWith('# ')) continue;
      const from = line.slice(0, 1);
      if (from !== sender && group.length > 0) {
        groups.push(group);
        group = [];
      }
      sender = from;
      group.push(line.slice(3));
    }
    if (group.length > 0) groups.push(group);
  }
  return groups;
})();

/** The server nonce suffixes of the SCRAM vectors: with one fixed, the vectors' client-final messages carry the right nonce. */
export const SCRAM_NONCE_SUFFIXES: readonly string[] = VECTORS.filter(
  (v) => v.kind === 'mechanism-exchange' && v.inputs['server_nonce_suffix'] !== undefined,
).map((v) => textOf(v.inputs['server_nonce_suffix']));

/** The stored-secret texts of the vectors (RFC 5803, PostgreSQL). */
export const STORED_SECRETS: readonly string[] = VECTORS.filter((v) => v.kind === 'stored-secret').map((v) =>
  textOf(v.expected['stored']),
);

/** The SCRAM exchange vectors, for parsers that need a matching nonce or signature. */
export function scramExchange(id: 'scram-sha-1-rfc5802' | 'scram-sha-256-rfc7677'): {
  messages: Uint8Array[];
  clientNonce: string;
  serverSignature: Uint8Array;
  hash: string;
} {
  const vector = VECTORS.find((v) => v.id === id) as Vector;
  const messages = (vector.expected['messages'] as { value: unknown }[]).map((m) => bytesOf(m.value));
  return {
    messages,
    clientNonce: textOf(vector.inputs['client_nonce']),
    serverSignature: bytesOf(vector.expected['ServerSignature']),
    hash: vector.inputs['hash'] as string,
  };
}

/**
 * The byte-level framing vectors of a protocol (PostgreSQL), as the streams each side sends:
 * messages named `Authentication*` come from the server, the others from the client.
 */
export function byteStreams(protocol: string): { client: Uint8Array[]; server: Uint8Array[] } {
  const out = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
  for (const v of VECTORS.filter(
    (x) => x.kind === 'framing-bytes' && x.protocol?.toLowerCase() === protocol.toLowerCase(),
  )) {
    const client: Buffer[] = [];
    const server: Buffer[] = [];
    for (const [key, value] of Object.entries(v.expected)) {
      if (!isValueObject(value)) continue;
      (key.startsWith('Authentication') ? server : client).push(Buffer.from(bytesOf(value)));
    }
    if (client.length > 0) out.client.push(new Uint8Array(Buffer.concat(client)));
    if (server.length > 0) out.server.push(new Uint8Array(Buffer.concat(server)));
  }
  return out;
}

/** Every protocol named in the framing vectors (transcripts and byte layouts), lower case. */
export const ALL_PROTOCOLS: readonly string[] = [
  ...new Set(VECTORS.filter((v) => v.kind.startsWith('framing-')).map((v) => (v.protocol as string).toLowerCase())),
];
