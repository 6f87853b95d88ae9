/**
 * Keeps secrets out of `util.inspect`, `console.log` and `JSON.stringify`: classes that hold a
 * secret keep it in a private field and describe themselves through these helpers.
 * @module
 */

/** The text shown wherever a secret would have been printed. */
export const REDACTED = '[redacted]';

/** `util.inspect`'s custom hook, as a registered symbol so no import of node:util is needed. */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Builds a safe `util.inspect` rendering: `Name { field: value, ... }`. */
export function describe(name: string, fields: Readonly<Record<string, unknown>>): string {
  const body = Object.entries(fields)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
    .join(', ');
  return `${name} { ${body} }`;
}
