/** Helpers for the CLI specs: in-memory streams, temporary files, bounded child processes, a running `serve`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { CliInput, CliIo } from '../../lib/cli/io.js';
import { main } from '../../lib/cli/main.js';
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
    // A child that exits without reading its input (doveadm pw -t) closes the pipe first: EPIPE
    // is not the child's result, which 'close' reports.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** A `saslkit serve` running in this process; `stop` aborts it and resolves with its exit code. */
export interface ServeRun {
  readonly port: number;
  readonly output: MemoryIo;
  stop(): Promise<number>;
}

/** The test certificate as `serve` options (STARTTLS; add `--implicit-tls` for TLS at once). */
export const SERVE_TLS: readonly string[] = ['--tls-cert', CERT_FILE, '--tls-key', KEY_FILE];

/**
 * Runs `saslkit serve --protocol <protocol> --listen 127.0.0.1:0 --users <users> ...extra`
 * in-process, and waits until it listens.
 */
export async function startServe(protocol: string, users: string, ...extra: readonly string[]): Promise<ServeRun> {
  const args = ['--protocol', protocol, '--listen', '127.0.0.1:0', '--users', users, ...extra];
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

/** The users file of most suites: alice with a clear password. */
export const ALICE_USERS = 'alice:{PLAIN}alice-pass\n';

/** The `serve`s of one suite (see {@link serveDuring}), by name, and the users file they share. */
export type SuiteServers<K extends string> = { readonly users: string } & { readonly [name in K]: ServeRun };

/**
 * Runs `serve`s for the suite it is called in: writes the users file, starts each server
 * (`[protocol, ...extra options]`, see {@link startServe}) in a `before` hook, and in an `after`
 * hook stops them all, expects each to exit 0, and removes the file.
 */
export function serveDuring<K extends string>(
  usersText: string,
  setups: Readonly<Record<K, readonly [protocol: string, ...extra: string[]]>>,
): SuiteServers<K> {
  const files = tempDir();
  const users = files.write('users', usersText);
  const running = new Map<string, ServeRun>();
  const entries = Object.entries<readonly [string, ...string[]]>(setups);
  before(async () => {
    for (const [name, [protocol, ...extra]] of entries) running.set(name, await startServe(protocol, users, ...extra));
  });
  after(async () => {
    const codes: [string, number][] = [];
    try {
      for (const [name, run] of running) codes.push([name, await run.stop()]);
    } finally {
      running.clear();
      files.cleanup();
    }
    expect(codes).to.deep.equal(entries.map(([name]) => [name, 0]));
  });
  const servers = { users };
  for (const [name] of entries)
    Object.defineProperty(servers, name, {
      enumerable: true,
      get: () => {
        const run = running.get(name);
        if (run === undefined) throw new Error(`serve "${name}" is not running`);
        return run;
      },
    });
  return servers as SuiteServers<K>;
}

/** What a command run in-process printed, and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `saslkit <argv>` in this process with an in-memory io (`env` stands for the environment). */
export async function runCli(
  argv: readonly string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliRun> {
  const io = memoryIo(options);
  const code = await main(argv, io.io);
  return { code, out: io.out(), err: io.err() };
}

/** `saslkit login <argv>` in this process, with `password` in SASLKIT_PASSWORD. */
export function loginWith(password: string, argv: readonly string[]): Promise<CliRun> {
  return runCli(['login', ...argv], { env: { SASLKIT_PASSWORD: password } });
}
