/**
 * Capture helpers for the secret-hygiene spec: everything a running exchange shows to the
 * world besides its wire bytes (yielded effects, results, errors, console output), and the
 * secrets a SCRAM or DIGEST-MD5 exchange derives from the password.
 */
import { createHash } from 'node:crypto';
import { format } from 'node:util';
import {
  type ScramHash,
  scramAuthMessage,
  scramClientKey,
  scramClientSignature,
  scramNormalizePassword,
  scramSaltedPassword,
  scramServerKey,
  scramStoredKey,
  scramXor,
  toBase64,
  toHex,
} from '../../lib/index.js';

/**
 * Wraps a generator so that every value it yields is also handed to `sink`. The drivers see
 * the wrapper as the exchange; `return` and `throw` are forwarded so cancellation still works.
 */
export function tap<Y, R>(gen: Generator<Y, R, unknown>, sink: (value: Y) => void): Generator<Y, R, unknown> {
  const seen = (result: IteratorResult<Y, R>): IteratorResult<Y, R> => {
    if (result.done !== true) sink(result.value);
    return result;
  };
  const wrapper: Generator<Y, R, unknown> = {
    next: (...args: [] | [unknown]) => seen(gen.next(...args)),
    throw: (error: unknown) => seen(gen.throw(error)),
    return: (value: R) => gen.return(value),
    [Symbol.iterator]: () => wrapper,
    [Symbol.dispose]: () => undefined,
  } as Generator<Y, R, unknown>;
  return wrapper;
}

type Writer = (chunk: unknown, ...rest: unknown[]) => boolean;
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;

/**
 * Runs `fn` with every console method and process.stdout/stderr writes captured (and not
 * printed); returns what was written, in order, with `fn`'s result or error.
 */
export function captureOutput<T>(fn: () => T): { output: string; result?: T; error?: unknown } {
  const chunks: string[] = [];
  const saved = CONSOLE_METHODS.map((name) => [name, Object.getOwnPropertyDescriptor(console, name)] as const);
  const stdout = process.stdout.write.bind(process.stdout) as Writer;
  const stderr = process.stderr.write.bind(process.stderr) as Writer;
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]): void => {
      chunks.push(format(...args));
    };
  }
  const capture: Writer = (chunk) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    const result = fn();
    return { output: chunks.join('\n'), result };
  } catch (error) {
    return { output: chunks.join('\n'), error };
  } finally {
    for (const [name, descriptor] of saved)
      if (descriptor !== undefined) Object.defineProperty(console, name, descriptor);
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

/** A secret in the renderings it could leak in: as text, hex and base64. */
export function renderings(bytes: Uint8Array): string[] {
  return [toHex(bytes), toBase64(bytes), toBase64(bytes).replace(/=+$/, '')];
}

// Salts are stable per account, so the PBKDF2 of each (hash, password, salt, count) runs once.
const SALTED = new Map<string, Uint8Array>();

/**
 * What a SCRAM exchange derives from `password`, read from its transcript: SaltedPassword,
 * ClientKey, StoredKey, ServerKey and ClientProof, each in hex and base64. Empty when the
 * transcript has no server-first message (the exchange failed before it).
 */
export function scramSecrets(hash: ScramHash, password: string, messages: readonly string[]): string[] {
  const [clientFirst, serverFirst, clientFinal] = messages;
  const match = serverFirst === undefined ? null : /^r=[^,]*,s=([^,]+),i=([0-9]+)/.exec(serverFirst);
  if (match === null || clientFirst === undefined) return [];
  let normalized: string;
  try {
    normalized = scramNormalizePassword(password);
  } catch {
    return [];
  }
  const key = `${hash}\0${normalized}\0${match[1] as string}\0${match[2] as string}`;
  let salted = SALTED.get(key);
  if (salted === undefined)
    SALTED.set(
      key,
      (salted = scramSaltedPassword(hash, normalized, Buffer.from(match[1] as string, 'base64'), Number(match[2]))),
    );
  const clientKey = scramClientKey(hash, salted);
  const storedKey = scramStoredKey(hash, clientKey);
  const keys = [salted, clientKey, storedKey, scramServerKey(hash, salted)];
  if (clientFinal !== undefined) {
    // The proof this password gives for this exchange (the wire carries the client's own).
    const bare = clientFirst.replace(/^[^,]*,[^,]*,/, '');
    const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
    keys.push(
      scramXor(
        clientKey,
        scramClientSignature(hash, storedKey, scramAuthMessage(bare, serverFirst as string, withoutProof)),
      ),
    );
  }
  return keys.flatMap(renderings);
}

/** DIGEST-MD5's H(user:realm:password), the long-term secret servers may store (RFC 2831). */
export function digestSecrets(user: string, realm: string, password: string): string[] {
  return renderings(createHash('md5').update(`${user}:${realm}:${password}`, 'latin1').digest());
}
