/**
 * Runs a program from examples/ as a user runs it (its own process, its arguments and
 * environment, its exit code and output), over lib/ instead of the built package: specs never
 * import an example (spec/examples), they run it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');

/** How an example ended. */
export interface ExampleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs examples/`file` with `args` and `env` added to this process's environment; kills it after `timeoutMs`. */
export function runExample(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30000,
): Promise<ExampleRun> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      join(__dirname, 'saslkit-alias.cjs'),
      join('examples', file),
      ...args,
    ],
    { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    });
  });
}
