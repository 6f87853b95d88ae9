/**
 * `npm run test:runtimes [bun|deno|workerd|chromium ...]`: runs the portable spec suite
 * (spec/portable) in Bun, Deno, workerd (without nodejs_compat) and headless Chromium, each from
 * its own esbuild bundle (./bundle.ts). Every runtime prints its results and its own
 * `N passed, N failed, N skipped` line, which .ci/run adds to CI's total; a runtime that does not
 * start or report counts as one failure. Exits 1 if anything failed. Everything it starts (servers,
 * workerd, Chromium) is stopped before it exits.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, type RuntimeName, bundleSuite } from './bundle';
import type { BrowserContext } from 'playwright-core';
import { launchChromium, serveFiles } from './browser';

/** What one runtime's run reported. */
interface Report {
  readonly lines: readonly string[];
  readonly passed: number;
  readonly failed: number;
}

const ALL: RuntimeName[] = ['bun', 'deno', 'workerd', 'chromium'];
const SUMMARY = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m;
const RUN_LIMIT_MS = 120_000;

/** Runs a command to completion (killed after RUN_LIMIT_MS); resolves with its exit code and output. */
function runCommand(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, RUN_LIMIT_MS);
    child.on('error', (error) => {
      output += `\n${error.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, output });
    });
  });
}

/** A report from a run's output: its summary line, or one failure when there is none. */
function reportOf(output: string): Report {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  const match = SUMMARY.exec(output);
  if (!match)
    return { lines: [...lines, 'no summary line: the runtime did not run the suite to its end'], passed: 0, failed: 1 };
  return { lines: lines.filter((line) => !SUMMARY.test(line)), passed: Number(match[1]), failed: Number(match[2]) };
}

/** A free TCP port on 127.0.0.1 (bound, read and released). */
function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => {
        resolvePromise(port);
      });
    });
  });
}

const bin = (name: string): string => join(REPO, 'node_modules', '.bin', name);

async function runBun(dir: string): Promise<Report> {
  const file = join(dir, 'bun.mjs');
  await bundleSuite('bun', file);
  return reportOf((await runCommand(bin('bun'), [file], { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' })).output);
}

async function runDeno(dir: string): Promise<Report> {
  const file = join(dir, 'deno.mjs');
  await bundleSuite('deno', file);
  // No --allow-* flag: the suite needs no permission; --no-prompt makes a request fail instead of asking.
  return reportOf(
    (
      await runCommand(bin('deno'), ['run', '--no-prompt', '--no-config', '--no-npm', '--no-remote', file], {
        DENO_DIR: join(dir, 'deno-dir'),
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
      })
    ).output,
  );
}

/** The workerd configuration: one ES-module worker, no compatibility flags (so no nodejs_compat). */
function workerdConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "suite", worker = .suite) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "suite") ],
);
const suite :Workerd.Worker = (
  modules = [ (name = "suite.mjs", esModule = embed "workerd.mjs") ],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = [],
);
`;
}

async function runWorkerd(dir: string): Promise<Report> {
  await bundleSuite('workerd', join(dir, 'workerd.mjs'));
  const port = await freePort();
  writeFileSync(join(dir, 'workerd.capnp'), workerdConfig(port));
  const child = spawn(bin('workerd'), ['serve', join(dir, 'workerd.capnp'), '--verbose'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolvePromise) => {
    child.once('close', () => {
      resolvePromise();
    });
  });
  try {
    const deadline = Date.now() + RUN_LIMIT_MS;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(RUN_LIMIT_MS) });
        const text = await response.text();
        if (!response.ok) return reportOf(`workerd answered ${response.status}: ${text}\n${log}`);
        const result = JSON.parse(text) as { lines: string[]; summary: string };
        return reportOf([...result.lines, result.summary].join('\n'));
      } catch (error) {
        // Not listening yet: workerd compiles the bundle first.
        if (Date.now() > deadline || child.exitCode !== null)
          return reportOf(`workerd did not answer: ${String(error)}\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function runChromium(dir: string): Promise<Report> {
  await bundleSuite('chromium', join(dir, 'chromium.mjs'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>saslkit portable suite</title><script type="module" src="chromium.mjs"></script>\n',
  );
  const server = await serveFiles(dir);
  let browser: BrowserContext | undefined;
  try {
    browser = await launchChromium(join(dir, 'chromium-profile'));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => {
      errors.push(`page error: ${error.message}`);
    });
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(
      () => (globalThis as { SASLKIT_RESULT?: unknown }).SASLKIT_RESULT !== undefined,
      undefined,
      { timeout: RUN_LIMIT_MS },
    );
    const result = await page.evaluate(
      () => (globalThis as { SASLKIT_RESULT?: { lines?: string[]; summary?: string; error?: string } }).SASLKIT_RESULT,
    );
    if (result?.summary === undefined) return reportOf([...errors, result?.error ?? 'no result'].join('\n'));
    return reportOf([...errors, ...(result.lines ?? []), result.summary].join('\n'));
  } catch (error) {
    return reportOf(`Chromium: ${String(error)}`);
  } finally {
    await browser?.close();
    await server.close();
  }
}

const RUNNERS: Record<RuntimeName, (dir: string) => Promise<Report>> = {
  bun: runBun,
  deno: runDeno,
  workerd: runWorkerd,
  chromium: runChromium,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !ALL.includes(name as RuntimeName));
  if (unknown.length > 0) throw new Error(`unknown runtime(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  const runtimes = asked.length > 0 ? (asked as RuntimeName[]) : ALL;
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-runtimes-'));
  let failed = 0;
  try {
    for (const runtime of runtimes) {
      const started = Date.now();
      console.log(`=== portable suite in ${runtime}`);
      let report: Report;
      try {
        report = await RUNNERS[runtime](dir);
      } catch (error) {
        report = reportOf(`${runtime}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      for (const line of report.lines) console.log(line);
      console.log(`(${runtime}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      console.log(`${report.passed} passed, ${report.failed} failed, 0 skipped`);
      failed += report.failed;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
