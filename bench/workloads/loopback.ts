/**
 * SMTP AUTH and IMAP AUTHENTICATE servers over 127.0.0.1: logins per second at 1, 100 and 1000
 * concurrent connections, and memory per connection parked in the middle of AUTH. Each server
 * runs in its own child process (bench/servers/server.ts); the load comes from this process,
 * a closed loop of raw sockets that each run whole sessions (connect, greeting, EHLO, AUTH
 * PLAIN with an initial response, QUIT) and reconnect.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { PASSWORD, USER } from '../baselines.js';
import { type Line, type Role, type Target, type WorkloadResult, checkTargets, median } from '../harness.js';

const ROOT = join(__dirname, '..', '..');
/** Extra node flags for the server processes, e.g. `BENCH_SERVER_FLAGS=--max-semi-space-size=1` (see README). */
const SERVER_FLAGS = (process.env['BENCH_SERVER_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');
const PLAIN_B64 = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');

/** A server kind of bench/servers/server.ts. */
export type ServerKind = 'saslkit-smtp' | 'saslkit-imap' | 'smtp-server' | 'trivial-smtp' | 'trivial-imap';

interface ServerSpec {
  readonly kind: ServerKind;
  readonly name: string;
  readonly role: Role;
}

/** A server child process. */
export interface RunningServer {
  readonly port: number;
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Writes a heap snapshot of the server process to `path` (for profiling memory). */
  snapshot(path: string): Promise<void>;
  stop(): void;
}

function ask<T>(child: ChildProcess, message: object, key: string): Promise<T> {
  return new Promise((done) => {
    const onMessage = (reply: Record<string, unknown>): void => {
      if (!(key in reply)) return;
      child.off('message', onMessage);
      done(reply[key] as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/** Starts a server child and waits for its port. */
export function startServer(kind: ServerKind): Promise<RunningServer> {
  const child: ChildProcess = fork(join(__dirname, '..', 'servers', 'server.ts'), [kind], {
    cwd: ROOT,
    execArgv: ['--expose-gc', ...SERVER_FLAGS, '-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`server ${kind} exited with ${code}`));
    });
    child.once('message', (message: { port?: number }) => {
      const port = message.port ?? 0;
      resolve({
        port,
        memory: () => ask<NodeJS.MemoryUsage>(child, { cmd: 'memory' }, 'memory'),
        snapshot: async (path) => {
          await ask<string>(child, { cmd: 'snapshot', path }, 'snapshot');
        },
        stop: () => {
          child.removeAllListeners('exit');
          child.kill();
        },
      });
    });
  });
}

type Step = (line: string, send: (text: string) => void) => 'more' | 'done';

/**
 * Runs one scripted session over a new connection: `step` sees every line from the server and
 * says when the session is over. Resolves once the socket is closed (so that concurrency stays
 * exact), or, with `park`, as soon as the script is done, leaving the socket open.
 */
function session(port: number, step: Step, park = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    let rest = '';
    let finished = false;
    const send = (text: string): void => {
      socket.write(`${text}\r\n`);
    };
    socket.on('data', (chunk: string) => {
      let text = rest + chunk;
      let lf = text.indexOf('\n');
      while (lf !== -1 && !finished) {
        const line = text.charCodeAt(lf - 1) === 13 ? text.slice(0, lf - 1) : text.slice(0, lf);
        text = text.slice(lf + 1);
        lf = text.indexOf('\n');
        try {
          if (step(line, send) === 'done') {
            finished = true;
            if (park) resolve(socket);
          }
        } catch (error) {
          socket.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
      }
      rest = text;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (finished) resolve(socket);
      else reject(new Error('the server closed the connection early'));
    });
  });
}

function expect(line: string, prefix: string): void {
  if (!line.startsWith(prefix)) throw new Error(`expected ${prefix}, got ${line.slice(0, 40)}`);
}

/** SMTP: greeting, EHLO, AUTH PLAIN with an initial response, QUIT. */
function smtpLogin(): Step {
  let state = 0;
  return (line, send) => {
    if (state === 0) {
      expect(line, '220');
      if (line[3] === ' ') {
        send('EHLO bench.example');
        state = 1;
      }
    } else if (state === 1) {
      expect(line, '250');
      if (line[3] === ' ') {
        send(`AUTH PLAIN ${PLAIN_B64}`);
        state = 2;
      }
    } else if (state === 2) {
      expect(line, '235 ');
      send('QUIT');
      state = 3;
    } else {
      expect(line, '221');
      return 'done';
    }
    return 'more';
  };
}

/** SMTP: greeting, EHLO, `AUTH LOGIN`, and stop at the `334 Username:` prompt. */
function smtpPark(): Step {
  let state = 0;
  return (line, send) => {
    if (state === 0) {
      expect(line, '220');
      if (line[3] === ' ') {
        send('EHLO bench.example');
        state = 1;
      }
    } else if (state === 1) {
      expect(line, '250');
      if (line[3] === ' ') {
        send('AUTH LOGIN');
        state = 2;
      }
    } else {
      expect(line, '334 ');
      return 'done';
    }
    return 'more';
  };
}

/** IMAP: greeting, AUTHENTICATE PLAIN with SASL-IR, LOGOUT. */
function imapLogin(): Step {
  let state = 0;
  return (line, send) => {
    if (state === 0) {
      expect(line, '* OK');
      send(`a1 AUTHENTICATE PLAIN ${PLAIN_B64}`);
      state = 1;
    } else if (state === 1) {
      if (line.startsWith('* ')) return 'more';
      expect(line, 'a1 OK');
      send('a2 LOGOUT');
      state = 2;
    } else {
      if (line.startsWith('* ')) return 'more';
      expect(line, 'a2 OK');
      return 'done';
    }
    return 'more';
  };
}

/** IMAP: greeting, `AUTHENTICATE PLAIN` without an initial response, stop at the `+` continuation. */
function imapPark(): Step {
  let state = 0;
  return (line, send) => {
    if (state === 0) {
      expect(line, '* OK');
      send('a1 AUTHENTICATE PLAIN');
      state = 1;
      return 'more';
    }
    expect(line, '+');
    return 'done';
  };
}

interface LoadResult {
  readonly rate: number;
  readonly errors: number;
}

/**
 * Keeps `concurrency` sessions going, and counts the sessions that end within a window that
 * opens after a short ramp-up (so that the first burst of connects is not what is measured).
 */
async function load(port: number, makeStep: () => Step, concurrency: number, windowMs: number, rampMs: number): Promise<LoadResult> {
  const t0 = performance.now();
  const open = t0 + rampMs;
  const close = open + windowMs;
  let completed = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < close) {
      try {
        await session(port, makeStep());
        const t = performance.now();
        if (t >= open && t <= close) completed++;
      } catch {
        errors++;
        // A refused or reset connection: back off a little rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rate: completed / (windowMs / 1000), errors };
}

const SMTP_SERVERS: readonly ServerSpec[] = [
  { kind: 'trivial-smtp', name: 'trivial line server', role: 'baseline' },
  { kind: 'saslkit-smtp', name: 'saslkit smtpServerAuth', role: 'saslkit' },
  { kind: 'smtp-server', name: 'smtp-server (nodemailer)', role: 'peer' },
];

const IMAP_SERVERS: readonly ServerSpec[] = [
  { kind: 'trivial-imap', name: 'trivial line server', role: 'baseline' },
  { kind: 'saslkit-imap', name: 'saslkit imapServerAuth', role: 'saslkit' },
];

/** Logins per second over loopback at each concurrency, servers measured in rotating order per round. */
export async function loopbackThroughput(
  protocol: 'smtp' | 'imap',
  levels: readonly number[],
  rounds: number,
  windowMs: number,
  progress: (text: string) => void,
): Promise<WorkloadResult[]> {
  const specs = protocol === 'smtp' ? SMTP_SERVERS : IMAP_SERVERS;
  const makeStep = protocol === 'smtp' ? smtpLogin : imapLogin;
  const servers = await Promise.all(specs.map((spec) => startServer(spec.kind)));
  const results: WorkloadResult[] = [];
  try {
    // Warm-up: code paths compiled, buffers and pools allocated, in every server.
    for (const server of servers) await load(server.port, makeStep, 50, 400, 100);
    for (const concurrency of levels) {
      const rates = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
      const errors = new Map<string, number>(specs.map((spec) => [spec.name, 0]));
      for (let r = 0; r < rounds; r++) {
        progress(`${protocol}@${concurrency}: round ${r + 1}/${rounds}`);
        for (let i = 0; i < specs.length; i++) {
          const index = (i + r) % specs.length;
          const spec = specs[index] as ServerSpec;
          const result = await load((servers[index] as RunningServer).port, makeStep, concurrency, windowMs, concurrency >= 1000 ? 400 : 150);
          (rates.get(spec.name) as number[]).push(result.rate);
          errors.set(spec.name, (errors.get(spec.name) as number) + result.errors);
        }
      }
      const base = rates.get((specs.find((s) => s.role === 'baseline') as ServerSpec).name) as number[];
      const name = `${protocol}@${concurrency}`;
      const lines: Line[] = specs.map((spec) => {
        const mine = rates.get(spec.name) as number[];
        return {
          workload: name,
          contestant: spec.name,
          role: spec.role,
          value: median(mine),
          unit: 'logins/s',
          vsBaseline: median(mine.map((v, i) => v / (base[i] as number))),
          samples: mine,
          ...((errors.get(spec.name) as number) > 0 ? { extra: { 'failed sessions': errors.get(spec.name) as number } } : {}),
        };
      });
      const targets: Target[] =
        protocol === 'smtp' && concurrency === 100
          ? [{ label: 'SMTP AUTH server >= 1.3x smtp-server at 100 connections', of: 'saslkit smtpServerAuth', versus: 'smtp-server (nodemailer)', kind: 'throughput', op: '>=', value: 1.3 }]
          : [];
      results.push({
        name,
        title: `${protocol === 'smtp' ? 'SMTP AUTH PLAIN' : 'IMAP AUTHENTICATE PLAIN (SASL-IR)'} over 127.0.0.1, ${concurrency} concurrent connection${concurrency === 1 ? '' : 's'}, whole sessions`,
        rounds,
        lines,
        targets: checkTargets(targets, rates, rounds),
        notes: [
          ...(concurrency === levels[0] ? ['Each server runs in its own process; the load generator (this process) shares the two cores with it.'] : []),
          ...(protocol === 'smtp' && concurrency <= 100
            ? ['smtp-server holds every greeting back 100 ms (its early-talker check, not configurable): at most 10 sessions/s per connection.']
            : []),
        ],
      });
    }
  } finally {
    for (const server of servers) server.stop();
  }
  return results;
}

function batches<T>(count: number, size: number, make: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  let chain: Promise<void> = Promise.resolve();
  for (let start = 0; start < count; start += size) {
    const n = Math.min(size, count - start);
    chain = chain.then(async () => {
      all.push(...(await Promise.all(Array.from({ length: n }, make))));
    });
  }
  return chain.then(() => all);
}

/** Memory per connection parked mid-AUTH: a fresh server process per measurement. */
export async function parkedMemory(connections: number, rounds: number, progress: (text: string) => void): Promise<WorkloadResult> {
  const specs: readonly (ServerSpec & { protocol: 'smtp' | 'imap' })[] = [
    ...SMTP_SERVERS.map((spec) => ({ ...spec, name: `SMTP ${spec.name}`, protocol: 'smtp' as const })),
    ...IMAP_SERVERS.map((spec) => ({ ...spec, name: `IMAP ${spec.name}`, protocol: 'imap' as const })),
  ];
  const rss = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  const heap = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const spec of specs) {
      progress(`memory: ${spec.name}, round ${r + 1}/${rounds}`);
      const server = await startServer(spec.kind);
      try {
        // Warm-up: run the code paths a few times, so that lazily loaded code is not counted,
        // but not so often that the heap grows spare room the parked connections would fill.
        const parkStep = spec.protocol === 'smtp' ? smtpPark : imapPark;
        await batches(5, 1, () => session(server.port, (spec.protocol === 'smtp' ? smtpLogin : imapLogin)()));
        await batches(5, 5, () => session(server.port, parkStep(), true)).then((sockets) => {
          for (const socket of sockets) socket.destroy();
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        const before = await server.memory();
        const sockets = await batches(connections, 100, () => session(server.port, parkStep(), true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const after = await server.memory();
        (rss.get(spec.name) as number[]).push((after.rss - before.rss) / connections / 1024);
        (heap.get(spec.name) as number[]).push((after.heapUsed + after.external - before.heapUsed - before.external) / connections / 1024);
        for (const socket of sockets) socket.destroy();
      } finally {
        server.stop();
      }
    }
  }
  const lines: Line[] = specs.map((spec) => {
    const mine = rss.get(spec.name) as number[];
    const baseline = rss.get(`${spec.protocol.toUpperCase()} trivial line server`) as number[];
    return {
      workload: 'memory',
      contestant: spec.name,
      role: spec.role,
      value: median(mine),
      unit: 'KB RSS/conn',
      vsBaseline: median(mine.map((v, i) => v / (baseline[i] as number))),
      samples: mine,
      extra: { 'KB heap+external/conn': median(heap.get(spec.name) as number[]) },
    };
  });
  const pair = { of: 'SMTP saslkit smtpServerAuth', versus: 'SMTP smtp-server (nodemailer)', kind: 'figure', op: '<=', value: 0.6 } as const;
  const targets = [
    ...checkTargets([{ label: 'SMTP memory (RSS) per mid-AUTH connection <= 0.6x smtp-server', ...pair }], rss, rounds),
    ...checkTargets([{ label: 'SMTP JS heap per mid-AUTH connection <= 0.6x smtp-server', ...pair, info: true }], heap, rounds),
  ];
  return {
    name: 'memory',
    title: `Server memory per connection parked mid-AUTH (${connections} connections: SMTP at "334 Username:" of AUTH LOGIN, IMAP at "+" of AUTHENTICATE PLAIN)`,
    rounds,
    lines,
    targets,
    notes: ['RSS growth of the server process after two full GCs, divided by the connections; a fresh server process per measurement.'],
  };
}
