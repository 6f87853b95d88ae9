/** Helpers for the CLI specs: in-memory streams, temporary files, bounded child processes, a running `serve`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { CliInput, CliIo } from '../../lib/cli/io.js';
import { serveCommand } from '../../lib/cli/serve.js';

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..');
/** The test certificate (RSA, SHA-256, CN=localhost, SAN IP:127.0.0.1) and its key. */
export const CERT_FILE = join(ROOT, 'spec/fixtures/tls/rsa-sha256.crt');
export const KEY_FILE = join(ROOT, 'spec/fixtures/tls/rsa-sha256.key');
export const CERT = readFileSync(CERT_FILE, 'utf8');
export const KEY = readFileSync(KEY_FILE, 'utf8');

/** An in-memory {@link CliIo} and what was written to it. */
export interface MemoryIo {
  readonly io: CliIo;
  out(): string;
  err(): string;
}

/** Standard input that is not a terminal, holding `text` (empty by default). */
export function pipedInput(text = ''): CliInput {
  return Readable.from(text === '' ? [] : [Buffer.from(text)]);
}

/** Builds an in-memory io. */
export function memoryIo(
  options: { stdin?: string; env?: Record<string, string>; signal?: AbortSignal } = {},
): MemoryIo {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdin: pipedInput(options.stdin),
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: options.env ?? {},
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  return { io, out: () => out, err: () => err };
}

/** A temporary directory, removed by `cleanup`. */
export function tempDir(): {
  path: (name: string) => string;
  write: (name: string, text: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-cli-'));
  return {
    path: (name) => join(dir, name),
    write: (name, text) => {
      const file = join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The result of a child process. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Arguments that run the CLI from source in a child process. */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, ['-r', 'ts-node/register', join(ROOT, 'lib/cli/main.ts'), ...args]];
}

/** The environment of CLI children: ts-node without type checks (the specs' own run checks types). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...extra };
  delete env['SASLKIT_PASSWORD'];
  delete env['SASLKIT_TOKEN'];
  return env;
}

/**
 * Runs a child to completion, killing it (by its pid) after `timeoutMs`. `onStdout` sees the
 * output as it arrives and gets the child, e.g. to signal it.
 */
export function runChild(
  command: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    stdin?: string;
    timeoutMs?: number;
    onStdout?: (text: string, child: ChildProcess) => void;
  } = {},
): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: options.env ?? childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`child timed out after ${options.timeoutMs ?? 120000} ms; stdout: ${stdout}; stderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 120000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** A `saslkit serve` running in this process; `stop` aborts it and resolves with its exit code. */
export interface ServeRun {
  readonly port: number;
  readonly output: MemoryIo;
  stop(): Promise<number>;
}

/** Runs `serve` in-process with `args` (add `--listen 127.0.0.1:0`), and waits until it listens. */
export async function startServe(args: readonly string[]): Promise<ServeRun> {
  const controller = new AbortController();
  const output = memoryIo({ signal: controller.signal });
  const done = serveCommand(args, output.io);
  const deadline = Date.now() + 20000;
  for (;;) {
    const match = /^saslkit serve: \S+ on [^\s]+:(\d+) /m.exec(output.out());
    if (match) {
      return {
        port: Number(match[1]),
        output,
        stop: () => {
          controller.abort();
          return done;
        },
      };
    }
    const early = await Promise.race([
      done,
      new Promise<undefined>((r) =>
        setTimeout(() => {
          r(undefined);
        }, 20),
      ),
    ]);
    if (early !== undefined) throw new Error(`serve exited with ${early}: ${output.err()}`);
    if (Date.now() > deadline) throw new Error('serve did not start');
  }
}
