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

/**
 * Base of saslkit's classes that may hold a secret: `util.inspect` (and `console.log`) shows
 * {@link Redacting.describeRedacted}'s text, which never contains one. One class carries the
 * inspect hook, so that bundlers can drop every subclass a program does not use (a class with a
 * computed method name counts as having side effects for them).
 */
export abstract class Redacting {
  /** The text `util.inspect` shows: the class name and its fields, secrets replaced by {@link REDACTED}. */
  protected abstract describeRedacted(): string;

  /** `util.inspect`'s hook. */
  [INSPECT](): string {
    return this.describeRedacted();
  }
}
