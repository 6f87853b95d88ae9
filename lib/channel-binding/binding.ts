/**
 * Channel binding (RFC 5056) for SCRAM-*-PLUS, the portable part: the binding types, the
 * client's policy and GS2 flag, binding sources, and which hash `tls-server-end-point` uses for a
 * certificate. Reading binding data from a Node `TLSSocket` is in ./tls-socket.ts (an edge),
 * which re-exports all of this.
 * @module
 */
import { toHex } from '../core/bytes.js';

/** A channel-binding type SCRAM-*-PLUS can use. */
export type ChannelBindingType = 'tls-exporter' | 'tls-unique' | 'tls-server-end-point';

/**
 * A client's channel-binding policy, as libpq's `channel_binding`:
 * - `disable`: never bind (GS2 flag `n`); -PLUS mechanisms refuse to run;
 * - `prefer` (default): bind with -PLUS when the server offers it; otherwise send `y` when binding
 *   data is available, so that a server that stripped -PLUS from its list is detected, and `n`
 *   when the server does offer the -PLUS variant but the host chose plain SCRAM
 *   ({@link clientChannelBinding});
 * - `require`: only -PLUS; a plain SCRAM client refuses to run.
 */
export type ChannelBindingPolicy = 'disable' | 'prefer' | 'require';

/**
 * The GS2 channel-binding flag of a SCRAM client-first message (RFC 5802 section 6): `p` binds
 * (a -PLUS mechanism), `y` says "I could bind, but you do not seem to offer it", `n` says "I do
 * not bind".
 */
export type Gs2BindingFlag = 'p' | 'y' | 'n';

/** What {@link clientChannelBinding} decided. */
export interface ClientBindingChoice {
  /** The flag a SCRAM client sends. */
  readonly flag: Gs2BindingFlag;
  /** The binding data to run the mechanism with: `source`, or undefined when sending it would claim a downgrade. */
  readonly source: ChannelBindingSource | undefined;
}

/**
 * RFC 5802 section 6 for a client, in one place: the GS2 flag that `mechanism` sends, and the
 * binding data to give it. A -PLUS mechanism binds (`p`). A plain SCRAM mechanism sends `y` when
 * the client could bind (binding data and the policy `prefer`) and the server does not offer
 * the mechanism's -PLUS variant, so that a server that can bind detects a man in the middle who
 * stripped -PLUS from its list. When the server does offer that variant, the client chose not to
 * bind; `y` would then read as a downgrade and a server that can bind must refuse it, so the
 * client sends `n` and the data is dropped. `offered` undefined means the list is unknown: `y`.
 * Without data, or with the policy `disable`, the flag is `n`; with `require` a plain SCRAM
 * client refuses to run. Every client profile, the `saslkit` command and the SCRAM client decide
 * through this function.
 */
export function clientChannelBinding(
  mechanism: string,
  policy: ChannelBindingPolicy,
  source: ChannelBindingSource | undefined,
  offered?: readonly string[],
): ClientBindingChoice {
  const name = mechanism.toUpperCase();
  if (name.endsWith('-PLUS')) return { flag: 'p', source };
  if (policy !== 'prefer' || source === undefined || source.types.length === 0) return { flag: 'n', source };
  const plus = `${name}-PLUS`;
  if (offered?.some((offeredName) => offeredName.toUpperCase() === plus) === true)
    return { flag: 'n', source: undefined };
  return { flag: 'y', source };
}

/** Every channel-binding type, in the order a client prefers them by default. */
export const CHANNEL_BINDING_TYPES: readonly ChannelBindingType[] = [
  'tls-exporter',
  'tls-unique',
  'tls-server-end-point',
];

/**
 * Where a SCRAM exchange gets channel-binding data from. Build one with {@link tlsChannelBinding}
 * for a Node TLS socket, or {@link staticChannelBinding} for data obtained elsewhere.
 */
export interface ChannelBindingSource {
  /**
   * The types available on this connection. A client uses the first one; a server accepts any of
   * them, and the presence of any makes it refuse a client that claims the server cannot bind.
   */
  readonly types: readonly ChannelBindingType[];
  /** The binding data of `type`, or undefined when it is not available. */
  data(type: ChannelBindingType): Uint8Array | undefined;
}

/**
 * The binding types that are defined for a TLS version (`socket.getProtocol()`), preferred
 * first. A server should advertise SCRAM-*-PLUS only when this (or its source's `types`) is
 * non-empty, and accept only these types.
 */
export function channelBindingTypesFor(tlsVersion: string | null | undefined): ChannelBindingType[] {
  switch (tlsVersion) {
    case 'TLSv1.3':
      return ['tls-exporter', 'tls-server-end-point'];
    case 'TLSv1.2':
    case 'TLSv1.1':
    case 'TLSv1':
      return ['tls-unique', 'tls-server-end-point'];
    default:
      return [];
  }
}

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

// A minimal DER reader: just enough to find a certificate's signature algorithm.
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start++] as number);
  }
  if (start + length > limit) return undefined;
  return { tag, start, end: start + length };
}

const SEQUENCE = 0x30;
const OID = 0x06;
const CONTEXT_0 = 0xa0;

// Signature algorithm OIDs (DER contents, hex) and the hash each one uses.
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '2a864886f70d010104': 'md5', // md5WithRSAEncryption
  '2a864886f70d010105': 'sha1', // sha1WithRSAEncryption
  '2a864886f70d01010e': 'sha224', // sha224WithRSAEncryption
  '2a864886f70d01010b': 'sha256', // sha256WithRSAEncryption
  '2a864886f70d01010c': 'sha384', // sha384WithRSAEncryption
  '2a864886f70d01010d': 'sha512', // sha512WithRSAEncryption
  '2a8648ce3d0401': 'sha1', // ecdsa-with-SHA1
  '2a8648ce3d040301': 'sha224', // ecdsa-with-SHA224
  '2a8648ce3d040302': 'sha256', // ecdsa-with-SHA256
  '2a8648ce3d040303': 'sha384', // ecdsa-with-SHA384
  '2a8648ce3d040304': 'sha512', // ecdsa-with-SHA512
  '2a8648ce380403': 'sha1', // dsa-with-sha1
  '608648016503040301': 'sha224', // dsa-with-sha224
  '608648016503040302': 'sha256', // dsa-with-sha256
  '60864801650304030a': 'sha3-256', // ecdsa-with-SHA3-256
  '60864801650304030b': 'sha3-384', // ecdsa-with-SHA3-384
  '60864801650304030c': 'sha3-512', // ecdsa-with-SHA3-512
  '60864801650304030e': 'sha3-256', // RSASSA-PKCS1-v1_5 with SHA3-256
  '60864801650304030f': 'sha3-384', // RSASSA-PKCS1-v1_5 with SHA3-384
  '608648016503040310': 'sha3-512', // RSASSA-PKCS1-v1_5 with SHA3-512
};
const RSASSA_PSS = '2a864886f70d01010a';
// Hash OIDs, for RSASSA-PSS parameters.
const HASHES: Readonly<Record<string, string>> = {
  '2b0e03021a': 'sha1',
  '608648016503040204': 'sha224',
  '608648016503040201': 'sha256',
  '608648016503040202': 'sha384',
  '608648016503040203': 'sha512',
  '608648016503040208': 'sha3-256',
  '608648016503040209': 'sha3-384',
  '60864801650304020a': 'sha3-512',
};

function hex(der: Uint8Array, tlv: Tlv): string {
  return toHex(der.subarray(tlv.start, tlv.end));
}

// RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }
function pssHash(der: Uint8Array, params: Tlv | undefined): string | undefined {
  if (params === undefined) return 'sha1';
  if (params.tag !== SEQUENCE) return undefined;
  const first = readTlv(der, params.start, params.end);
  if (first?.tag !== CONTEXT_0) return 'sha1';
  const algorithm = readTlv(der, first.start, first.end);
  const oid = algorithm?.tag === SEQUENCE ? readTlv(der, algorithm.start, algorithm.end) : undefined;
  return oid?.tag === OID ? HASHES[hex(der, oid)] : undefined;
}

/**
 * The hash `tls-server-end-point` uses for this DER certificate (a Node hash name such as
 * `sha256` or `sha384`), or undefined when RFC 5929 leaves it undefined (Ed25519, Ed448, an
 * unknown algorithm) or the DER cannot be read. MD5 and SHA-1 become SHA-256 (RFC 5929 4.1).
 */
export function serverEndPointHash(certificate: Uint8Array): string | undefined {
  const cert = readTlv(certificate, 0, certificate.length);
  if (cert?.tag !== SEQUENCE) return undefined;
  const tbs = readTlv(certificate, cert.start, cert.end);
  if (tbs?.tag !== SEQUENCE) return undefined;
  const algorithm = readTlv(certificate, tbs.end, cert.end);
  if (algorithm?.tag !== SEQUENCE) return undefined;
  const oid = readTlv(certificate, algorithm.start, algorithm.end);
  if (oid?.tag !== OID) return undefined;
  const id = hex(certificate, oid);
  const hash =
    id === RSASSA_PSS ? pssHash(certificate, readTlv(certificate, oid.end, algorithm.end)) : SIGNATURE_HASHES[id];
  return hash === 'md5' || hash === 'sha1' ? 'sha256' : hash;
}

/** The label RFC 9266 defines for `tls-exporter`. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-Channel-Binding';
/** The length, in bytes, of `tls-exporter` data (RFC 9266 section 2). */
export const TLS_EXPORTER_LENGTH = 32;

/**
 * A source over binding data obtained elsewhere (another TLS stack, a test). Types are offered
 * in the order of the object's keys.
 */
export function staticChannelBinding(
  bindings: Readonly<Partial<Record<ChannelBindingType, Uint8Array>>>,
): ChannelBindingSource {
  const types = (Object.keys(bindings) as ChannelBindingType[]).filter(
    (type) => CHANNEL_BINDING_TYPES.includes(type) && bindings[type] !== undefined,
  );
  return {
    types,
    data: (type) => (types.includes(type) ? bindings[type] : undefined),
  };
}
