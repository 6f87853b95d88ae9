/** Printing the results, one line per (workload, contestant), and the JSON report. */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Line, TargetResult, WorkloadResult } from './harness.js';

/** The machine, as the README records it. */
export interface MachineInfo {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the run started: a shared machine moves every figure. */
  readonly load: number;
}

/** Describes this machine: CPU model from /proc/cpuinfo when there is one. */
export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) cpu = match[1].trim();
  } catch {
    // Not Linux: os.cpus() is what there is.
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    load: loadavg()[0] ?? 0,
  };
}

function figure(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratio(value: number | undefined, label: string): string {
  return value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(2)}x ${label}`;
}

/** One line for one contestant. */
export function formatLine(line: Line): string {
  const value = `${figure(line.value)} ${line.unit}`;
  const baseline = line.role === 'baseline' ? '(baseline)' : ratio(line.vsBaseline, 'baseline');
  const floorLabel = line.unit.endsWith('/s') ? 'floor cost' : 'one PBKDF2';
  const floor = line.role === 'floor' ? '(floor)' : ratio(line.vsFloor, floorLabel);
  const extra = line.extra
    ? Object.entries(line.extra)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? figure(v) : v}`)
        .join(', ')
    : '';
  return `${line.workload.padEnd(18)} ${line.contestant.padEnd(40)} ${value.padStart(18)}  ${baseline.padEnd(17)} ${floor.padEnd(19)} ${extra}`.trimEnd();
}

/** One line for a target. */
export function formatTarget(target: TargetResult): string {
  const verdict = target.info === true ? `(${target.met ? 'holds' : 'does not hold'})` : target.met ? 'MET' : 'NOT MET';
  return `${''.padEnd(18)}   ${target.info === true ? 'check' : 'target'}: ${target.label}: ${target.measured.toFixed(2)}x  ${verdict}`;
}

/** Prints a workload's lines and targets. */
export function printWorkload(result: WorkloadResult, print: (text: string) => void): void {
  const load = result.load === undefined ? '' : `; load ${result.load.toFixed(1)}`;
  print(`== ${result.name}: ${result.title} (median of ${result.rounds} rounds${load})`);
  for (const line of result.lines) print(formatLine(line));
  for (const target of result.targets) print(formatTarget(target));
  for (const note of result.notes) print(`${''.padEnd(18)}   note: ${note}`);
}
