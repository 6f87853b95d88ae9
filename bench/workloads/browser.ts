/**
 * `npm run bench -- browser`: SCRAM client logins in headless Chromium (Debian's chromium via
 * playwright-core), all on one page (bench/browser/page.ts, bundled with esbuild, saslkit from
 * its portable build with WebCrypto), measured inside the page, ratios per round as in every
 * other workload: saslkit's SCRAM-SHA-256 client next to one WebCrypto PBKDF2-SHA-256 of 4096
 * iterations (target <= 1.15x) and strophe.js's SCRAM-SHA-256; for SCRAM-SHA-1, saslkit next to
 * sasl-scram-sha-1 (the client xmpp.js uses) and strophe.js's. What each line measures is in
 * bench/browser/page.ts and bench/README.md.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, serveFiles } from '../../spec/runtimes/browser.js';
import { REPO, bundleBrowserEntry } from '../../spec/runtimes/bundle.js';
import { type Contestant, type Role, type WorkloadResult, runOps } from '../harness.js';

const PAGE_DIR = join(REPO, 'bench', 'browser');
const version = (name: string): string =>
  (JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

const ROLES: Record<string, Role> = {
  'WebCrypto PBKDF2-SHA-256 (4096)': 'floor',
  'saslkit SCRAM-SHA-256 client': 'saslkit',
  'strophe.js SCRAM-SHA-256 client': 'peer',
  'WebCrypto PBKDF2-SHA-1 (4096)': 'info',
  'saslkit SCRAM-SHA-1 client': 'saslkit',
  'strophe.js SCRAM-SHA-1 client': 'peer',
  'sasl-scram-sha-1 (xmpp.js) client': 'peer',
};

interface Sample {
  readonly ops: number;
  readonly seconds: number;
}
interface BenchPage {
  measure(name: string, minMs: number): Promise<Sample>;
  measureInterleaved(names: readonly string[], minMs: number): Promise<Record<string, Sample>>;
}

/** A contestant measured alone in its time slot, in the page, by the page's clock. */
function inPage(page: Page, name: string): Contestant {
  return {
    name,
    role: ROLES[name] ?? 'info',
    measure: (minMs) =>
      page.evaluate(([n, ms]) => (globalThis as unknown as { saslkitBench: BenchPage }).saslkitBench.measure(n, ms), [
        name,
        minMs,
      ] as const),
  };
}

/**
 * Contestants measured interleaved (see measureInterleaved in bench/browser/page.ts): the first
 * of them that runOps asks for in a round runs one interleaved round of all of them in the page;
 * each then takes its own figure of that round. runOps asks each contestant once per round (and
 * once to warm up), so every contestant consumes exactly one figure of every interleaved round.
 */
function interleaved(page: Page, names: readonly string[]): Contestant[] {
  const pending = new Map<string, Sample[]>(names.map((name) => [name, []]));
  return names.map((name) => ({
    name,
    role: ROLES[name] ?? 'info',
    async measure(minMs: number): Promise<Sample> {
      const queue = pending.get(name) as Sample[];
      if (queue.length === 0) {
        const round = await page.evaluate(
          ([all, ms]) =>
            (globalThis as unknown as { saslkitBench: BenchPage }).saslkitBench.measureInterleaved(all, ms),
          [names, minMs] as const,
        );
        for (const other of names) (pending.get(other) as Sample[]).push(round[other] as Sample);
      }
      return queue.shift() as Sample;
    },
  }));
}

/** sasl-scram-sha-1 takes ~0.2 s a login (4096 awaited HMACs): it gets its own slot, not a turn in every cycle. */
const ALONE = new Set(['sasl-scram-sha-1 (xmpp.js) client']);

/** The browser workload: one Chromium, one page, every contestant in each round. */
export async function browserLogins(
  rounds: number,
  minMs: number,
  progress: (text: string) => void,
): Promise<WorkloadResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'saslkit-bench-browser-'));
  progress('browser: bundling the page');
  copyFileSync(join(PAGE_DIR, 'index.html'), join(dir, 'index.html'));
  await bundleBrowserEntry(join(PAGE_DIR, 'page.ts'), join(dir, 'page.js'));
  const server = await serveFiles(dir);
  const browser = await launchChromium(join(dir, 'profile')).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(() => (globalThis as { saslkitBench?: unknown }).saslkitBench !== undefined);
    const { names, userAgent } = await page.evaluate(
      () => (globalThis as unknown as { saslkitBench: { names: string[]; userAgent: string } }).saslkitBench,
    );
    const chromium = /Chrome\/([\d.]+)/.exec(userAgent)?.[1] ?? userAgent;
    const result = await runOps(
      {
        name: 'browser',
        title: `SCRAM client logins in Chromium ${chromium} (WebCrypto), one page, against recorded server messages (one login at a time)`,
        unit: 'logins',
        rounds,
        minMs,
        contestants: [
          ...interleaved(
            page,
            names.filter((name) => !ALONE.has(name)),
          ),
          ...names.filter((name) => ALONE.has(name)).map((name) => inPage(page, name)),
        ],
        targets: [
          {
            label: 'browser: saslkit SCRAM-SHA-256 login <= 1.15x one WebCrypto PBKDF2 (4096)',
            of: 'saslkit SCRAM-SHA-256 client',
            versus: 'WebCrypto PBKDF2-SHA-256 (4096)',
            kind: 'cost',
            op: '<=',
            value: 1.15,
          },
          {
            label: 'browser: saslkit SCRAM-SHA-1 login vs one WebCrypto PBKDF2-SHA-1',
            of: 'saslkit SCRAM-SHA-1 client',
            versus: 'WebCrypto PBKDF2-SHA-1 (4096)',
            kind: 'cost',
            op: '<=',
            value: 1.15,
            info: true,
          },
          {
            label: 'browser: saslkit SCRAM-SHA-256 vs strophe.js SCRAM-SHA-256 (cost)',
            of: 'saslkit SCRAM-SHA-256 client',
            versus: 'strophe.js SCRAM-SHA-256 client',
            kind: 'cost',
            op: '<=',
            value: 1.15,
            info: true,
          },
          {
            label: 'browser: saslkit SCRAM-SHA-1 vs sasl-scram-sha-1 (xmpp.js) (cost)',
            of: 'saslkit SCRAM-SHA-1 client',
            versus: 'sasl-scram-sha-1 (xmpp.js) client',
            kind: 'cost',
            op: '<=',
            value: 1.15,
            info: true,
          },
        ],
        notes: [
          `strophe.js ${version('strophe.js')}, sasl-scram-sha-1 ${version('sasl-scram-sha-1')}; x floor cost is against one WebCrypto PBKDF2-SHA-256 (4096) in the same round.`,
          'One login: client-first, client-final from the recorded server-first (PBKDF2 + HMACs), the recorded server-final verified (by the page for sasl-scram-sha-1, which never checks it). saslkit runs with its client cache off.',
          'All but sasl-scram-sha-1 run interleaved, one login of each in turn, each login timed alone: the figures are login time only; sasl-scram-sha-1 runs in its own slot.',
        ],
      },
      progress,
    );
    return [result];
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
