/**
 * Command-line clients the interop specs drive (Python's smtplib and imaplib, curl, psql, OpenLDAP's
 * ldapwhoami): whether
 * they are installed, and a runner that never hangs. Like {@link requirePeer}, a missing tool
 * fails the suite under CI and skips it with a visible reason on a developer's machine.
 */
import { execFile } from 'node:child_process';
import { isCi } from './peers.js';

/** The tools spec/interop/setup.sh installs. */
export type ToolName = 'python3' | 'curl' | 'psql' | 'ldapwhoami';

// How each tool is asked for its version (ldapwhoami has no --version).
const VERSION_ARGS: Readonly<Record<ToolName, readonly string[]>> = {
  python3: ['--version'],
  curl: ['--version'],
  psql: ['--version'],
  ldapwhoami: ['-VV'],
};

/** What a finished command left behind. */
export interface ToolRun {
  /** The exit code; -1 when it was killed or could not start. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runTool}. */
export interface RunOptions {
  /** Extra environment variables; secrets go here, not on the command line, where `ps` shows them. */
  readonly env?: Readonly<Record<string, string>>;
  /** Killed after this long. Default 20 s. */
  readonly timeoutMs?: number;
}

/** Runs a command and resolves with its exit code and output; never rejects. */
export function runTool(file: string, args: readonly string[], options: RunOptions = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const versions = new Map<ToolName, Promise<string | undefined>>();

/** The first line of the tool's version output, or undefined when the tool does not run. Asked once per run. */
export function toolVersion(name: ToolName): Promise<string | undefined> {
  let version = versions.get(name);
  if (version === undefined) {
    version = runTool(name, VERSION_ARGS[name], { timeoutMs: 10_000 }).then((run) => {
      if (run.code !== 0) return undefined;
      // python3 printed its version on stderr before 3.4; ldapwhoami prints it there.
      return (run.stdout || run.stderr).split('\n')[0]?.trim();
    });
    versions.set(name, version);
  }
  return version;
}

/**
 * Call from a `before` hook (a `function`, so mocha's `this` is passed). Returns when the tool
 * runs; otherwise CI fails naming it, and a local run skips the suite with a console note.
 */
export async function requireTool(context: Mocha.Context, name: ToolName): Promise<void> {
  if ((await toolVersion(name)) !== undefined) return;
  const message = `interop tool "${name}" is not installed or does not run; install it with: bash spec/interop/setup.sh`;
  if (isCi()) throw new Error(message);
  console.warn(`    [interop] skipping: ${message}`);
  context.skip();
}
