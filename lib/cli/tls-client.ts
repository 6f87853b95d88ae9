/**
 * The client side's TLS settings, shared by every client of `login` and `mechs` and by the
 * socket plumbing under them: what to connect to and how to trust it, the TLS options that
 * follow from that, and the TLS state of an established connection.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type PeerCertificate, type TLSSocket, checkServerIdentity } from 'node:tls';
import { type ChannelBindingSource, type ChannelBindingType, UsageError, tlsChannelBinding } from '../index.js';
import type { LineTracer } from './trace.js';
import type { Target } from './url.js';

/** How to reach a server: the target, trust, timeouts, tracing and a client certificate. */
export interface ConnectOptions {
  readonly target: Target;
  /** Accept any server certificate (self-signed, wrong name). Channel binding still protects SCRAM-*-PLUS. */
  readonly insecure?: boolean;
  /** Trust anchors (PEM) besides the system's, e.g. a test server's self-signed certificate. */
  readonly ca?: string | Buffer | undefined;
  /** Give up when the server is silent this long. Default 30000 ms. */
  readonly timeoutMs?: number;
  /** Traces every line, decoded and redacted. */
  readonly tracer?: LineTracer | undefined;
  /** A client certificate and its key (PEM), for EXTERNAL. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** The highest TLS version to offer (`TLSv1.2` makes servers with only tls-unique offer -PLUS). */
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** XMPP: the domain of the stream (`to`), also the certificate's expected name. Default the host. */
  readonly domain?: string | undefined;
  /** IRC: the nick to register. Default the user name when it is a valid nick. */
  readonly nick?: string | undefined;
}

/** The TLS options of a client connection: server name, verification, trust anchors, client certificate. */
export function clientTlsOptions(options: ConnectOptions): {
  servername?: string;
  rejectUnauthorized: boolean;
  ca?: (string | Buffer)[];
  cert?: string;
  key?: string;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  checkServerIdentity?: typeof checkServerIdentity;
} {
  const host = options.domain ?? options.target.host;
  const ca = options.ca === undefined ? undefined : [options.ca];
  return {
    ...(isIP(host) === 0 ? { servername: host } : {}),
    // An XMPP certificate names the domain, not the address connected to.
    ...(options.domain === undefined
      ? {}
      : { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert) }),
    ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
    rejectUnauthorized: options.insecure !== true,
    ...(ca === undefined ? {} : { ca }),
    ...(options.cert === undefined || options.key === undefined ? {} : { cert: options.cert, key: options.key }),
  };
}

/** The TLS state of a connection. */
export interface TlsState {
  /** `TLSv1.3`, `TLSv1.2`, ... */
  readonly version: string;
  /** True when the certificate was verified (false with `insecure`). */
  readonly authorized: boolean;
  /** Channel-binding data of the connection, for SCRAM-*-PLUS. */
  readonly binding: ChannelBindingSource;
  /** The channel-binding types available. */
  readonly bindingTypes: readonly ChannelBindingType[];
}

/** The TLS state of an established client connection, noted in the trace. */
export function describeClientTls(socket: TLSSocket, tracer?: LineTracer): TlsState {
  const binding = tlsChannelBinding(socket, 'client');
  const state = {
    version: socket.getProtocol() ?? 'unknown',
    authorized: socket.authorized,
    binding,
    bindingTypes: binding.types,
  };
  tracer?.note(`TLS established (${state.version}${state.authorized ? '' : ', certificate not verified'})`);
  return state;
}

/** Reads a PEM file named by an option (`--ca`, `--cert`, `--key`). */
export async function readPemFile(path: string | undefined, option: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read the ${option} file: ${typeof code === 'string' ? code : 'error'}`);
  }
}
