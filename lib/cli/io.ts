/**
 * What a command talks to (streams, environment, a stop signal), the exit codes, one-line
 * error reasons, tables, and where secrets come from: a file, the environment, or a prompt
 * that does not echo. Commands take a {@link CliIo} so that specs can run them in-process.
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UsageError, isSaslError } from '../index.js';

/** A stream a command writes text to. */
export interface TextSink {
  write(text: string): unknown;
}

/** The standard input as a command sees it: a readable stream that may be a terminal. */
export type CliInput = Readable & { readonly isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** Everything a command reads from or writes to. */
export interface CliIo {
  readonly stdin: CliInput;
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Environment variables (`SASLKIT_PASSWORD`, `SASLKIT_TOKEN`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Long-running commands (`serve`) stop when this is aborted; the real process aborts it on SIGINT and SIGTERM. */
  readonly signal?: AbortSignal;
}

/** Exit codes, the same for every command (documented in `saslkit --help`). */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** The server refused the credentials or the authorization identity; for `demo`, a login failed. */
  REFUSED: 1,
  /** Bad command line, unreadable file, a secret given as an argument, or no secret available. */
  USAGE: 2,
  /** No usable mechanism: not offered, not registered, or channel binding required but unavailable. */
  NO_MECHANISM: 3,
  /** Connection, TLS or protocol trouble: refused, timed out, untrusted certificate, malformed reply. */
  CONNECTION: 4,
  /** The server could not prove that it knows the credentials (SCRAM server signature). */
  SERVER_NOT_VERIFIED: 5,
  /** Interrupted at the prompt (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

/** The exit-code table as shown in `--help` and the README. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    the server refused the credentials (or, for demo, a login failed)
  2    usage error: bad arguments, unreadable file, a secret on the command line, no secret
  3    no usable mechanism (not offered, channel binding required but not available, or only
       clear-text ones without TLS and no --allow-plaintext)
  4    connection, TLS or protocol error (refused, timeout, untrusted certificate, bad reply)
  5    the server failed to prove it knows the credentials (SCRAM server signature)
  130  interrupted at the password prompt`;

/** Ctrl-C at the prompt. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The exit code an error calls for. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof Interrupted) return EXIT.INTERRUPTED;
  if (!isSaslError(error)) return EXIT.CONNECTION;
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
    case 'AUTHORIZATION_FAILED':
      return EXIT.REFUSED;
    case 'USAGE':
      return EXIT.USAGE;
    case 'MECHANISM_UNAVAILABLE':
      return EXIT.NO_MECHANISM;
    case 'SERVER_NOT_VERIFIED':
      return EXIT.SERVER_NOT_VERIFIED;
    default:
      return EXIT.CONNECTION;
  }
}

/**
 * A one-line reason: `CODE: message` for saslkit errors, the system message otherwise, with a
 * hint for untrusted certificates. Any of `secrets` that still shows up is replaced, as a last
 * line of defence (saslkit's messages never contain them).
 */
export function describeError(error: unknown, secrets: readonly string[] = []): string {
  let text: string;
  if (isSaslError(error)) text = error.code === 'USAGE' ? error.message : `${error.code}: ${error.message}`;
  else if (error instanceof Error) {
    const code = codeOf(error);
    text = error.message;
    if (code !== undefined && TLS_TRUST_CODES.has(code)) text += ' (pass --ca <file> to trust it, or --insecure)';
  } else text = String(error);
  return scrub(text.replace(/[\r\n]+/g, ' '), secrets);
}

/** Replaces every occurrence of a (non-trivial) secret with `[redacted]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('[redacted]');
  return out;
}

/** Formats rows as a plain-text table; `right` names the columns aligned right. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Largest secret file read, in bytes: a password or token, not a database. */
const MAX_SECRET_FILE = 64 * 1024;

/** Reads all of a stream as UTF-8, up to `limit` bytes. */
export async function readAll(stream: Readable, limit = MAX_SECRET_FILE): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    length += buffer.length;
    if (length > limit) throw new UsageError(`the input is longer than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Drops one trailing line ending, as `echo secret > file` adds it. */
function chomp(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** Where {@link readSecret} looks. */
export interface SecretSources {
  /** What the secret is, for messages: `password` or `token`. */
  readonly what: string;
  /** A file holding it (`-` for standard input), from `--password-file` or `--token-file`. */
  readonly file?: string | undefined;
  /** The environment variable to read. */
  readonly envName: string;
  /** The option that names the file, for messages. */
  readonly fileOption: string;
  /** Ask twice on a terminal (when choosing a new password). */
  readonly confirm?: boolean;
}

/**
 * The secret from the file, else the environment variable, else a no-echo prompt when standard
 * input is a terminal. Never from the command line. An empty secret is a usage error.
 */
export async function readSecret(io: CliIo, sources: SecretSources): Promise<string> {
  let secret: string;
  if (sources.file !== undefined) {
    let text: string;
    try {
      if (sources.file === '-') text = await readAll(io.stdin);
      else {
        text = await readFile(sources.file, 'utf8');
        if (Buffer.byteLength(text) > MAX_SECRET_FILE)
          throw new UsageError(`the ${sources.what} file is longer than ${MAX_SECRET_FILE} bytes`);
      }
    } catch (error) {
      if (isSaslError(error)) throw error;
      throw new UsageError(`cannot read the ${sources.what} file: ${codeOf(error) ?? 'error'}`);
    }
    secret = chomp(text);
  } else if (io.env[sources.envName] !== undefined) {
    secret = io.env[sources.envName] as string;
  } else if (io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function') {
    const label = sources.what.charAt(0).toUpperCase() + sources.what.slice(1);
    secret = await promptHidden(io, `${label}: `);
    if (sources.confirm === true && (await promptHidden(io, `Retype ${sources.what}: `)) !== secret)
      throw new UsageError(`the ${sources.what}s do not match`);
  } else {
    throw new UsageError(
      `no ${sources.what}: use ${sources.fileOption} <file> (or - for standard input), set ${sources.envName}, or run on a terminal to be prompted`,
    );
  }
  if (secret === '') throw new UsageError(`the ${sources.what} is empty`);
  return secret;
}

/**
 * Prompts on standard error and reads a line from the terminal in raw mode, without echo.
 * Backspace edits; Ctrl-C rejects with {@link Interrupted}; Ctrl-D on an empty line ends it.
 */
export function promptHidden(io: CliIo, question: string): Promise<string> {
  const input = io.stdin;
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n' || (char === '\u0004' && answer === '')) {
          finish();
          return;
        }
        if (char === '\u0003') {
          finish(new Interrupted());
          return;
        }
        if (char === '\u007f' || char === '\b') {
          // Drop the last character, both halves of a surrogate pair included.
          answer = answer.slice(0, /[\uDC00-\uDFFF]$/.test(answer) ? -2 : -1);
        } else if (char >= ' ') answer += char;
      }
    };
    // Raw mode (no echo) first: a reply typed as soon as the prompt shows must not be echoed.
    input.setRawMode?.(true);
    io.stderr.write(question);
    input.on('data', onData);
    input.resume();
  });
}

/** Writes one JSON document on its own line. */
export function writeJson(sink: TextSink, value: unknown): void {
  sink.write(`${JSON.stringify(value)}\n`);
}
