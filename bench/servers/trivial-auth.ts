/**
 * The hand-written servers' AUTH checks (the trivial SMTP and IMAP servers and the `for await`
 * floor): one account in a Map, constant-time compares, no SASLprep.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PASSWORD, USER } from '../baselines.js';

/** The hand-written servers' password store. */
export const PASSWORDS = new Map<string, Buffer>([[USER, Buffer.from(PASSWORD)]]);

/** `given` is the account's password (constant-time compare). */
export function passwordOk(user: string, given: Buffer): boolean {
  const stored = PASSWORDS.get(user);
  return stored !== undefined && given.length === stored.length && timingSafeEqual(given, stored);
}

/** PLAIN's `\0user\0password` in base64: verified or not. */
export function plainOk(base64: string): boolean {
  const bytes = Buffer.from(base64, 'base64');
  const a = bytes.indexOf(0);
  const b = a < 0 ? -1 : bytes.indexOf(0, a + 1);
  return b > 0 && passwordOk(bytes.toString('utf8', a + 1, b), bytes.subarray(b + 1));
}

/** CRAM-MD5's `user SP hex-digest` in base64 against the challenge sent. */
export function cramOk(base64: string, challenge: string): boolean {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  const space = text.lastIndexOf(' ');
  const stored = PASSWORDS.get(text.slice(0, space));
  if (space < 0 || stored === undefined) return false;
  const expected = Buffer.from(createHmac('md5', stored).update(challenge).digest('hex'));
  const given = Buffer.from(text.slice(space + 1));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
