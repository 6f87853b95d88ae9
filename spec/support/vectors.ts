/** Loads the RFC test vectors (a copy of the shared vectors, kept in spec/fixtures). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A value object: all present encodings carry the same octets. */
export interface Value {
  readonly utf8?: string;
  readonly hex?: string;
  readonly base64?: string;
}

/** One vector. Inputs and expectations are loosely typed: each spec knows its vector's shape. */
export interface Vector {
  readonly id: string;
  readonly kind: string;
  readonly mechanism: string | null;
  readonly protocol?: string;
  readonly description: string;
  readonly inputs: Record<string, unknown>;
  readonly expected: Record<string, unknown>;
  readonly verified: boolean;
}

const file = join(__dirname, '..', 'fixtures', 'sasl-vectors.json');
const all = (JSON.parse(readFileSync(file, 'utf8')) as { vectors: Vector[] }).vectors;

/** Every vector. */
export const VECTORS: readonly Vector[] = all;

/** The vector with this id; throws if missing, so a renamed vector cannot silently skip a test. */
export function vector(id: string): Vector {
  const found = all.find((v) => v.id === id);
  if (!found) throw new Error(`no vector ${id}`);
  return found;
}

/** Vectors of one kind and mechanism. */
export function vectorsOf(kind: string, mechanism?: string): Vector[] {
  return all.filter((v) => v.kind === kind && (mechanism === undefined || v.mechanism === mechanism));
}

/** The octets of a value object. */
export function bytesOf(value: unknown): Uint8Array {
  const v = value as Value;
  if (v.hex !== undefined) return Buffer.from(v.hex, 'hex');
  if (v.base64 !== undefined) return Buffer.from(v.base64, 'base64');
  if (v.utf8 !== undefined) return Buffer.from(v.utf8, 'utf8');
  throw new Error('value object has no encoding');
}

/** The UTF-8 text of a value object. */
export function textOf(value: unknown): string {
  return Buffer.from(bytesOf(value)).toString('utf8');
}
