/**
 * Channel binding (RFC 5056) for SCRAM-*-PLUS: which binding types a TLS connection supports,
 * and reading their data from a Node `TLSSocket` on either side. Node-only (an edge): the
 * portable part, which this module re-exports, is ./binding.ts.
 *
 * - `tls-exporter` (RFC 9266): 32 bytes of TLS 1.3 keying material, label
 *   `EXPORTER-Channel-Binding`, empty context. Offered on TLS 1.3 only: on TLS 1.2 it is safe
 *   only with the extended master secret, which Node does not report.
 * - `tls-unique` (RFC 5929 section 3): the first Finished message of the latest handshake (the
 *   client's on a full handshake, the server's on a resumption). TLS 1.2 and older only: it is
 *   undefined on TLS 1.3 (RFC 8446 C.5).
 * - `tls-server-end-point` (RFC 5929 section 4): a hash of the server's certificate, with the hash
 *   of the certificate's signature algorithm, MD5 and SHA-1 replaced by SHA-256. Any TLS version;
 *   unavailable when the signature names no single hash (Ed25519, Ed448).
 * @module
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  type ChannelBindingSource,
  type ChannelBindingType,
  TLS_EXPORTER_LABEL,
  TLS_EXPORTER_LENGTH,
  channelBindingTypesFor,
  serverEndPointHash,
} from './binding.js';

export * from './binding.js';

/** The `tls-server-end-point` binding data of a DER certificate, or undefined when it is undefined for it. */
export function serverEndPointData(certificate: Uint8Array): Uint8Array | undefined {
  const hash = serverEndPointHash(certificate);
  return hash === undefined ? undefined : createHash(hash).update(certificate).digest();
}

/** Options for {@link tlsChannelBinding}. */
export interface TlsChannelBindingOptions {
  /**
   * The types to offer, most preferred first; types the connection cannot provide are dropped.
   * Default: every type valid for the TLS version ({@link channelBindingTypesFor}). A client
   * talking to PostgreSQL, which only implements `tls-server-end-point`, passes that alone.
   */
  readonly types?: readonly ChannelBindingType[];
}

/**
 * Reads channel-binding data from a connected Node TLS socket. `side` says whose end this is:
 * a client's socket (from `tls.connect`) or a server's (from `'secureConnection'`). Types and
 * data are read when asked, so the source may be created before the handshake completes; after
 * it, they reflect the connection's latest handshake. Create a client's source on
 * `'secureConnect'`, before any code calls `getPeerX509Certificate()`: in Node 20 that call
 * consumes the peer certificate, and `tls-server-end-point` would then be unavailable.
 */
export function tlsChannelBinding(
  socket: TLSSocket,
  side: 'client' | 'server',
  options: TlsChannelBindingOptions = {},
): ChannelBindingSource {
  // getProtocol() names a version before the handshake too; a Finished message exists only after it.
  const version = (): string | null => (socket.getFinished() === undefined ? null : socket.getProtocol());
  let peerCertificate: Uint8Array | undefined;
  const certificate = (): Uint8Array | undefined => {
    if (side === 'server') return socket.getX509Certificate()?.raw;
    // Not getPeerX509Certificate(): on Node 20 it returns the certificate once, and after that
    // neither it nor getPeerCertificate() does. getPeerCertificate() can be called repeatedly;
    // it returns an empty object (no `raw`) when there is no peer certificate. The copy is kept,
    // so that application code calling getPeerX509Certificate() later cannot take it away.
    if (peerCertificate === undefined && version() !== null) {
      const peer = socket.getPeerCertificate() as Partial<ReturnType<TLSSocket['getPeerCertificate']>> | null;
      if (peer?.raw !== undefined && peer.raw.length > 0) peerCertificate = Uint8Array.from(peer.raw);
    }
    return peerCertificate;
  };
  // Usually created after the handshake: take the certificate before other code can.
  certificate();
  const data = (type: ChannelBindingType): Uint8Array | undefined => {
    if (!channelBindingTypesFor(version()).includes(type)) return undefined;
    switch (type) {
      case 'tls-exporter':
        // Node passes an empty context as context_value of length 0; on TLS 1.3 that is the same
        // as no context (RFC 8446 7.5), which is what RFC 9266 asks for.
        return socket.exportKeyingMaterial(TLS_EXPORTER_LENGTH, TLS_EXPORTER_LABEL, Buffer.alloc(0));
      case 'tls-unique': {
        // The first Finished of the handshake: the client's on a full handshake, the server's on
        // an abbreviated (resumed) one.
        const clientFinishedFirst = !socket.isSessionReused();
        const ownFirst = (side === 'client') === clientFinishedFirst;
        return (ownFirst ? socket.getFinished() : socket.getPeerFinished()) ?? undefined;
      }
      case 'tls-server-end-point': {
        const der = certificate();
        return der === undefined ? undefined : serverEndPointData(der);
      }
    }
  };
  return {
    get types(): ChannelBindingType[] {
      const valid = channelBindingTypesFor(version());
      const wanted = options.types ?? valid;
      return wanted.filter(
        (type) => valid.includes(type) && (type !== 'tls-server-end-point' || data(type) !== undefined),
      );
    },
    data,
  };
}
