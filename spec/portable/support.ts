/**
 * Helpers for the portable spec suite (spec/portable): only what every runtime has (Uint8Array,
 * TextEncoder/TextDecoder, Promise, chai, saslkit's public API and spec/support/pair.ts). No
 * `node:` import, no `Buffer`, no timers, so that spec/runtimes can bundle these specs for Bun,
 * Deno, workerd and Chromium and they still run under mocha in Node with the rest of `npm test`.
 */
import { type ClientExchange, type Identity, type SaslError, type ServerExchange, toHex } from '../../lib/index.js';
import {
  type PairResult,
  expectNoSecretsIn,
  rejectedSaslError,
  runPromisePair,
  thrownSaslError,
} from '../support/pair.js';
import data from '../fixtures/sasl-vectors.json';

/** The runtime this suite runs in: the runners set `globalThis.SASLKIT_RUNTIME`; mocha in Node does not. */
export type Runtime = 'node' | 'bun' | 'deno' | 'workerd' | 'chromium';

/** Which runtime runs the suite (see spec/runtimes/shim.ts). */
export const RUNTIME: Runtime = (globalThis as { SASLKIT_RUNTIME?: Runtime }).SASLKIT_RUNTIME ?? 'node';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string. */
export const b = (text: string): Uint8Array => encoder.encode(text);
/** UTF-8 text of bytes. */
export const s = (bytes: Uint8Array | undefined): string => decoder.decode(bytes ?? new Uint8Array(0));
/** Lower-case hex of bytes. */
export const hex = (bytes: Uint8Array): string => toHex(bytes);

/** Bytes of a hex string. */
export function unhex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new Error(`bad hex ${text}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** One vector of spec/fixtures/sasl-vectors.json (a copy of /work/shared/vectors). */
export interface Vector {
  readonly id: string;
  readonly kind: string;
  readonly mechanism: string | null;
  readonly inputs: Record<string, unknown>;
  readonly expected: Record<string, unknown>;
}

const all = (data as unknown as { vectors: Vector[] }).vectors;

/** The vector with this id; throws if missing, so a renamed vector cannot silently drop a test. */
export function vector(id: string): Vector {
  const found = all.find((v) => v.id === id);
  if (!found) throw new Error(`no vector ${id}`);
  return found;
}

/** Vectors of one kind. */
export function vectorsOf(kind: string): Vector[] {
  return all.filter((v) => v.kind === kind);
}

/** The octets of a vector's value object ({hex}, {base64} or {utf8}). */
export function bytesOf(value: unknown): Uint8Array {
  const v = value as { hex?: string; base64?: string; utf8?: string };
  if (v.hex !== undefined) return unhex(v.hex);
  if (v.base64 !== undefined) return Uint8Array.from(atob(v.base64), (c) => c.charCodeAt(0));
  if (v.utf8 !== undefined) return b(v.utf8);
  throw new Error('value object has no encoding');
}

/** The UTF-8 text of a vector's value object. */
export const textOf = (value: unknown): string => s(bytesOf(value));

/** A store over a list of identities that answers asynchronously, as a database would. */
export function asyncStoreOf(...identities: Identity[]): (authcid: string) => Promise<Identity | undefined> {
  return async (authcid) => {
    await Promise.resolve();
    return identities.find((identity) => identity.authcid === authcid);
  };
}

const show = (bytes: Uint8Array): string => {
  try {
    return s(bytes);
  } catch {
    return hex(bytes);
  }
};

/** Runs a client against a server under the promise drivers (see {@link runPromisePair}); bytes that are not UTF-8 show as hex. */
export function runPair(
  client: ClientExchange,
  makeServer: (initial: Uint8Array | undefined) => ServerExchange,
  successData = false,
): Promise<PairResult> {
  return runPromisePair(client, makeServer, successData, show);
}

/** Asserts that a promise rejects with a saslkit error with this code, and returns it. */
export const rejection = (promise: Promise<unknown>, code: SaslError['code']): Promise<SaslError> =>
  rejectedSaslError(promise, code);

/** Asserts that `fn` throws a saslkit error with this code, and returns it. */
export const thrown = (fn: () => unknown, code: SaslError['code']): SaslError => thrownSaslError(fn, code);

/** Asserts that no secret appears in an error's message, string form, stack or JSON. */
export function expectNoSecrets(value: unknown, secrets: readonly string[]): void {
  expectNoSecretsIn(value, secrets);
}
