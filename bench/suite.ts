/** The benchmark suite: the workloads, the command line, the report. Started by run.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CLOCK, type OpsWorkload, type WorkloadResult, runOps } from './harness.js';
import { machineInfo, printWorkload } from './report.js';
import { SOURCE, SOURCE_PATH } from './saslkit.js';
import { drivers } from './workloads/drivers.js';
import { eventLoop } from './workloads/event-loop.js';
import {
  hostileDigest,
  hostilePlain,
  hostileScramClient,
  hostileScramServer,
  hostileXmpp,
  hostileXoauth2,
} from './workloads/hostile.js';
import { imapThroughput, parkedMemory, smtpAuth } from './workloads/loopback.js';
import { cramMd5, loginServer, oauthParse, plainClient, plainServer } from './workloads/mechanisms.js';
import { scramCached, scramClient, scramFull, scramSha1Client } from './workloads/scram.js';
import { xmppjsLogin } from './workloads/xmppjs.js';
import { browserLogins } from './workloads/browser.js';

const ROOT = join(__dirname, '..');

interface Settings {
  /** Measuring rounds for in-process workloads. */
  readonly rounds: number;
  /** Multiplies every measuring time. */
  readonly scale: number;
}

interface Entry {
  readonly name: string;
  readonly summary: string;
  run(settings: Settings, progress: (text: string) => void): Promise<WorkloadResult[]>;
}

function ops(name: string, summary: string, make: (settings: Settings) => Promise<OpsWorkload> | OpsWorkload): Entry {
  return { name, summary, run: async (settings, progress) => [await runOps(await make(settings), progress)] };
}

const ENTRIES: readonly Entry[] = [
  ops('scram-full', 'SCRAM-SHA-256 client+server, PBKDF2 each login', (s) => scramFull(s.rounds + 6, 250 * s.scale)),
  ops('scram-client', 'SCRAM-SHA-256 client vs pg and mongodb', (s) => scramClient(s.rounds + 6, 250 * s.scale)),
  ops('scram-cached', 'SCRAM-SHA-256 with a cached salted password', (s) => scramCached(s.rounds, 150 * s.scale)),
  // sasl-scram-sha-1 takes about 0.7 s a login (a round's slot holds one): 3 rounds keep this under 10 s.
  ops('scram-sha1-client', 'SCRAM-SHA-1 client vs sasl-scram-sha-1', (s) =>
    scramSha1Client(Math.max(3, s.rounds - 2), 150 * s.scale),
  ),
  ops('plain', 'PLAIN server: parse, SASLprep, verify', (s) => plainServer(s.rounds, 150 * s.scale)),
  ops('plain-client', 'PLAIN client response vs sasl-plain', (s) => plainClient(s.rounds, 60 * s.scale)),
  ops('login', 'LOGIN server', (s) => loginServer(s.rounds, 150 * s.scale)),
  ops('cram-md5', 'CRAM-MD5 full exchange', (s) => cramMd5(s.rounds, 150 * s.scale)),
  {
    name: 'oauth',
    summary: 'XOAUTH2 and OAUTHBEARER parsers',
    run: async (s, progress) => {
      const results: WorkloadResult[] = [];
      for (const workload of oauthParse(s.rounds, 100 * s.scale)) results.push(await runOps(workload, progress));
      return results;
    },
  },
  ops('xmppjs', 'xmpp.js login: saslkit SCRAM-SHA-256 vs its own SCRAM-SHA-1 (SASL only)', (s) =>
    xmppjsLogin(Math.max(3, s.rounds - 2), 150 * s.scale),
  ),
  ops('drivers', 'driver overhead on a PLAIN exchange', (s) => drivers(s.rounds + 2, 250 * s.scale)),
  {
    name: 'smtp',
    summary:
      'SMTP AUTH alone (PLAIN, LOGIN, CRAM-MD5): server CPU per AUTH and rate, README loop vs smtp-server vs trivial',
    // 15 rounds (9 with --quick): one round of 1000 AUTHs is 10-40 ms of server CPU, and with 7
    // the verdicts moved by a third between runs (bench/README.md, "Issue 12, session 5").
    run: (s, progress) => smtpAuth(3 * s.rounds, 1000, 50, progress),
  },
  {
    name: 'imap',
    summary: 'IMAP AUTHENTICATE servers over loopback at 1, 100, 1000 connections',
    run: (s, progress) => imapThroughput([1, 100, 1000], Math.max(3, s.rounds - 2), 700 * s.scale, progress),
  },
  {
    name: 'memory',
    summary: 'server memory per connection parked mid-AUTH',
    run: async (s, progress) => [await parkedMemory(3000, 1000, s.rounds >= 5 ? 3 : 1, progress)],
  },
  {
    name: 'hostile',
    summary: 'hostile inputs vs the normal exchange they imitate (SECURITY.md table)',
    run: async (s, progress) => {
      const results: WorkloadResult[] = [];
      for (const make of [
        hostilePlain,
        hostileScramServer,
        hostileScramClient,
        hostileDigest,
        hostileXoauth2,
        hostileXmpp,
      ]) {
        results.push(await runOps(make(s.rounds, 100 * s.scale), progress));
      }
      return results;
    },
  },
  {
    name: 'browser',
    summary: 'SCRAM client logins in Chromium: saslkit vs one WebCrypto PBKDF2, strophe.js, sasl-scram-sha-1',
    run: (s, progress) => browserLogins(s.rounds, 400 * s.scale, progress),
  },
  {
    name: 'event-loop',
    summary: 'worst event-loop delay during 100 concurrent SCRAM logins',
    run: async (s, progress) => [await eventLoop(s.rounds + 2, progress)],
  },
];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((arg) => !arg.startsWith('--'));
  if (args.includes('--list')) {
    for (const entry of ENTRIES) console.log(`${entry.name.padEnd(16)} ${entry.summary}`);
    return 0;
  }
  const chosen =
    names.length === 0
      ? ENTRIES
      : ENTRIES.filter((entry) => names.some((name) => entry.name === name || entry.name.startsWith(name)));
  if (chosen.length === 0) {
    console.error(`no workload matches ${names.join(' ')}; try --list`);
    return 2;
  }
  const print = (text: string): void => {
    console.log(text);
  };
  const machine = machineInfo();
  print(
    `saslkit bench: ${machine.date}, ${machine.nproc} x ${machine.cpu}, node ${machine.node}, load ${machine.load.toFixed(1)}; saslkit from ${SOURCE} (${SOURCE_PATH.startsWith(ROOT) ? SOURCE_PATH.slice(ROOT.length + 1) : SOURCE_PATH}); clock ${CLOCK}`,
  );
  const settings: Settings = quick ? { rounds: 3, scale: 0.3 } : { rounds: 5, scale: 1 };
  const started = Date.now();
  const results: WorkloadResult[] = [];
  for (const entry of chosen) {
    const load = loadavg()[0] ?? 0;
    for (const measured of await entry.run(settings, (text) => process.stderr.write(`  ${text}\r`))) {
      const result = { ...measured, load };
      process.stderr.write(`${' '.repeat(60)}\r`);
      printWorkload(result, print);
      results.push(result);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const targets = results.flatMap((r) => r.targets).filter((t) => t.info !== true);
  const unmet = targets.filter((t) => !t.met);
  print(
    `targets: ${targets.length - unmet.length} of ${targets.length} met; ${seconds.toFixed(0)} s; load ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
  );
  for (const target of unmet) print(`  NOT MET: ${target.label} (${target.measured.toFixed(2)}x)`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const report = {
    machine,
    source: SOURCE,
    sourcePath: SOURCE_PATH,
    clock: CLOCK,
    quick,
    seconds,
    loadAtEnd: loadavg()[0] ?? 0,
    workloads: results,
  };
  writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  print('wrote bench/results/latest.json');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
