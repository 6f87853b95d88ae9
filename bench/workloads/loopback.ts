/**
 * Servers over 127.0.0.1, each in its own child process (bench/servers/server.ts):
 *
 * - `smtp`: the AUTH work alone. 1000 connections are opened and their greeting and EHLO done
 *   before the clock starts; then each runs one AUTH (PLAIN, LOGIN or CRAM-MD5), 50 in flight,
 *   and the clock stops at the last 235. Reported: the rate, and the server process's CPU time
 *   per AUTH (`process.cpuUsage()` read by the server over IPC right before and after), for
 *   README.md's SMTP server loop, smtp-server and a trivial hand-written line server; several
 *   rounds, the servers alternating inside each round.
 * - `imap@N`: whole IMAP sessions (connect, greeting, AUTHENTICATE PLAIN with SASL-IR, LOGOUT)
 *   in a closed loop at 1, 100 and 1000 concurrent connections; logins per second.
 * - `memory`: memory per connection parked mid-AUTH (SMTP at the `334` username prompt of AUTH
 *   LOGIN, IMAP at the `+` of AUTHENTICATE PLAIN); a fresh server process per measurement.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PASSWORD, USER } from '../baselines.js';
import { type Line, type Role, type WorkloadResult, checkTargets, median } from '../harness.js';

const ROOT = join(__dirname, '..', '..');
/** Extra node flags for the server processes, e.g. `BENCH_SERVER_FLAGS=--max-semi-space-size=1` (see README). */
const SERVER_FLAGS = (process.env['BENCH_SERVER_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');
/** `BENCH_PROFILE=<dir>`: after the measured rounds, one more AUTH round per server and mechanism under the CPU profiler. */
const PROFILE_DIR = process.env['BENCH_PROFILE'];
const PLAIN_B64 = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
const USER_B64 = Buffer.from(USER).toString('base64');
const PASSWORD_B64 = Buffer.from(PASSWORD).toString('base64');

/** A server kind of bench/servers/server.ts. */
export type ServerKind =
  'readme-smtp' | 'await-floor-smtp' | 'smtp-server' | 'trivial-smtp' | 'saslkit-imap' | 'trivial-imap';

interface ServerSpec {
  readonly kind: ServerKind;
  readonly name: string;
  readonly role: Role;
}

/** A server child process. */
export interface RunningServer {
  readonly port: number;
  /** The server process's `process.cpuUsage()`, in microseconds (user + system). */
  cpu(): Promise<number>;
  /** The server process's memory, after two full GCs unless `gc` is false. */
  memory(gc?: boolean): Promise<NodeJS.MemoryUsage>;
  /** Writes a heap snapshot of the server process to `path` (for profiling memory). */
  snapshot(path: string): Promise<void>;
  /** Starts the server's CPU profiler (100 us sampling). */
  profileStart(): Promise<void>;
  /** Stops it and writes the `.cpuprofile` to `path`. */
  profileStop(path: string): Promise<void>;
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

/** Starts a server child (node flags: `flags`, else BENCH_SERVER_FLAGS) and waits for its port. */
export function startServer(kind: ServerKind, flags: readonly string[] = SERVER_FLAGS): Promise<RunningServer> {
  const child: ChildProcess = fork(join(__dirname, '..', 'servers', 'server.ts'), [kind], {
    cwd: ROOT,
    // register.cjs, not ts-node: ts-node loads node:domain, which slows every emit (see there).
    execArgv: ['--expose-gc', ...flags, '-r', join(__dirname, '..', 'servers', 'register.cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((done, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`server ${kind} exited with ${code}`));
    });
    child.once('message', (message: { port?: number }) => {
      done({
        port: message.port ?? 0,
        cpu: async () => {
          const usage = await ask<NodeJS.CpuUsage>(child, { cmd: 'cpu' }, 'cpu');
          return usage.user + usage.system;
        },
        memory: (gc = true) => ask<NodeJS.MemoryUsage>(child, { cmd: 'memory', gc }, 'memory'),
        snapshot: async (path) => {
          await ask<string>(child, { cmd: 'snapshot', path }, 'snapshot');
        },
        profileStart: async () => {
          await ask<boolean>(child, { cmd: 'profile-start' }, 'profiling');
        },
        profileStop: async (path) => {
          await ask<string>(child, { cmd: 'profile-stop', path }, 'profiled');
        },
        stop: () => {
          child.removeAllListeners('exit');
          // Disconnecting ends the child with process.exit(), which writes a --cpu-prof profile.
          if (child.connected) child.disconnect();
          setTimeout(() => child.kill(), 2000).unref();
        },
      });
    });
  });
}

function expect(line: string, prefix: string): void {
  if (!line.startsWith(prefix)) throw new Error(`expected ${prefix}, got ${line.slice(0, 40)}`);
}

// ---------------------------------------------------------------------------------------------
// SMTP AUTH alone: connections opened and EHLO done before the clock.

/** Sees each line from the server; returns true when the exchange is over. */
type Step = (line: string, send: (text: string) => void) => boolean;

/** One client connection, driven by steps: the greeting and EHLO, then one AUTH. */
class Client {
  readonly socket: Socket;
  #rest = '';
  #step: Step | undefined;
  #done: (() => void) | undefined;
  #fail: ((error: Error) => void) | undefined;
  readonly #send = (text: string): void => {
    this.socket.write(`${text}\r\n`);
  };

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.#take(chunk);
    });
    this.socket.on('error', (error) => {
      this.#failWith(error);
    });
    this.socket.on('close', () => {
      this.#failWith(new Error('the server closed the connection'));
    });
  }

  /** Sends `first` (unless undefined) and runs `step` on every line until it says the exchange is over. */
  run(first: string | undefined, step: Step): Promise<void> {
    return new Promise((done, fail) => {
      this.#step = step;
      this.#done = done;
      this.#fail = fail;
      if (first !== undefined) this.#send(first);
    });
  }

  #failWith(error: Error): void {
    const fail = this.#fail;
    this.#step = undefined;
    this.#fail = undefined;
    this.#done = undefined;
    fail?.(error);
  }

  #take(chunk: string): void {
    const text = this.#rest + chunk;
    let start = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; start = lf + 1, lf = text.indexOf('\n', start)) {
      const step = this.#step;
      const line = text.slice(start, text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf);
      if (step === undefined) {
        this.#failWith(new Error(`unexpected line ${line.slice(0, 40)}`));
        continue;
      }
      try {
        if (step(line, this.#send)) {
          const done = this.#done;
          this.#step = undefined;
          this.#fail = undefined;
          this.#done = undefined;
          done?.();
        }
      } catch (error) {
        this.#failWith(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.#rest = text.slice(start);
  }
}

/** Greeting (multi-line or not), EHLO, and the last line of its reply. */
function greetingAndEhlo(): Step {
  let state = 0;
  return (line, send) => {
    if (state === 0) {
      expect(line, '220');
      if (line[3] === ' ') {
        send('EHLO bench.example');
        state = 1;
      }
      return false;
    }
    expect(line, '250');
    return line[3] === ' ';
  };
}

/** The SMTP AUTH mechanisms the `smtp` workload measures. */
export type SmtpMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';

/** One AUTH as a client sends it: the command, then a step per server line up to the 235. */
function authSteps(mechanism: SmtpMechanism): { first: string; step: Step } {
  const success = (line: string): boolean => {
    expect(line, '235 ');
    return true;
  };
  if (mechanism === 'PLAIN') return { first: `AUTH PLAIN ${PLAIN_B64}`, step: success };
  let state = 0;
  if (mechanism === 'LOGIN') {
    return {
      first: 'AUTH LOGIN',
      step: (line, send) => {
        if (state === 2) return success(line);
        expect(line, '334 ');
        send(state === 0 ? USER_B64 : PASSWORD_B64);
        state++;
        return false;
      },
    };
  }
  return {
    first: 'AUTH CRAM-MD5',
    step: (line, send) => {
      if (state === 1) return success(line);
      expect(line, '334 ');
      const challenge = Buffer.from(line.slice(4), 'base64');
      send(Buffer.from(`${USER} ${createHmac('md5', PASSWORD).update(challenge).digest('hex')}`).toString('base64'));
      state = 1;
      return false;
    },
  };
}

/** Runs `task` over `items`, at most `width` at a time. */
async function pool<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Opens `count` connections, greeting and EHLO done, at most `width` being set up at a time. */
async function openClients(port: number, count: number, width: number): Promise<Client[]> {
  const clients: Client[] = [];
  await pool(
    Array.from({ length: count }, (_, i) => i),
    width,
    async () => {
      const client = new Client(port);
      clients.push(client);
      await client.run(undefined, greetingAndEhlo());
    },
  );
  return clients;
}

function closeClients(clients: readonly Client[]): Promise<void> {
  for (const client of clients) client.socket.destroy();
  // Let the server see the closes before anything else is measured.
  return new Promise((done) => setTimeout(done, 100));
}

/** What {@link authRound} measured. */
export interface AuthRound {
  /** AUTHs per second, from the first AUTH sent to the last 235 received. */
  readonly rate: number;
  /** Server CPU time (user + system) per AUTH, in microseconds. */
  readonly cpuPerAuth: number;
}

/**
 * One measured round on one server: `connections` clients opened and past EHLO, then the clock
 * and the server's CPU reading, one AUTH per client with `inFlight` at a time, the clock and the
 * CPU reading again, and the clients closed.
 */
export async function authRound(
  server: RunningServer,
  mechanism: SmtpMechanism,
  connections: number,
  inFlight: number,
  profilePath?: string,
): Promise<AuthRound> {
  const clients = await openClients(server.port, connections, 200);
  try {
    if (profilePath !== undefined) await server.profileStart();
    const cpu0 = await server.cpu();
    const t0 = performance.now();
    await pool(clients, inFlight, async (client) => {
      const { first, step } = authSteps(mechanism);
      await client.run(first, step);
    });
    const t1 = performance.now();
    const cpu1 = await server.cpu();
    if (profilePath !== undefined) await server.profileStop(profilePath);
    return { rate: connections / ((t1 - t0) / 1000), cpuPerAuth: (cpu1 - cpu0) / connections };
  } finally {
    await closeClients(clients);
  }
}

const README_SMTP = 'saslkit, README server loop';
const SMTP_SERVER = 'smtp-server (nodemailer)';
const TRIVIAL_SMTP = 'trivial line server';
const AWAIT_FLOOR_SMTP = 'for await floor (no saslkit)';

const SMTP_SERVERS: readonly ServerSpec[] = [
  { kind: 'trivial-smtp', name: TRIVIAL_SMTP, role: 'baseline' },
  { kind: 'readme-smtp', name: README_SMTP, role: 'saslkit' },
  { kind: 'smtp-server', name: SMTP_SERVER, role: 'peer' },
  { kind: 'await-floor-smtp', name: AWAIT_FLOOR_SMTP, role: 'info' },
];

const SMTP_MECHANISMS: readonly SmtpMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5'];

/**
 * The `smtp` workload: server CPU time and rate of AUTH alone, per mechanism, for the three
 * servers. Each round runs every mechanism on every server, the servers in an order that
 * rotates from round to round; ratios are taken inside a round.
 */
export async function smtpAuth(
  rounds: number,
  connections: number,
  inFlight: number,
  progress: (text: string) => void,
): Promise<WorkloadResult[]> {
  const servers = await Promise.all(SMTP_SERVERS.map((spec) => startServer(spec.kind)));
  const key = (mechanism: SmtpMechanism, spec: ServerSpec): string => `${mechanism} ${spec.name}`;
  const cpu = new Map<string, number[]>();
  const rate = new Map<string, number[]>();
  for (const mechanism of SMTP_MECHANISMS) {
    for (const spec of SMTP_SERVERS) {
      cpu.set(key(mechanism, spec), []);
      rate.set(key(mechanism, spec), []);
    }
  }
  try {
    // Warm-up: every code path compiled and every pool allocated, in every server. One round
    // of 500 was not enough: the first measured round still cost 1.5-3x the others.
    for (let w = 0; w < 2; w++) {
      for (const mechanism of SMTP_MECHANISMS) {
        for (const server of servers) await authRound(server, mechanism, connections, inFlight);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const mechanism of SMTP_MECHANISMS) {
        progress(`smtp: round ${r + 1}/${rounds}, ${mechanism}`);
        for (let i = 0; i < SMTP_SERVERS.length; i++) {
          const index = (i + r) % SMTP_SERVERS.length;
          const spec = SMTP_SERVERS[index] as ServerSpec;
          const result = await authRound(servers[index] as RunningServer, mechanism, connections, inFlight);
          (cpu.get(key(mechanism, spec)) as number[]).push(result.cpuPerAuth);
          (rate.get(key(mechanism, spec)) as number[]).push(result.rate);
        }
      }
    }
    if (PROFILE_DIR !== undefined) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      for (const mechanism of SMTP_MECHANISMS) {
        for (let i = 0; i < SMTP_SERVERS.length; i++) {
          const path = resolve(
            PROFILE_DIR,
            `${(SMTP_SERVERS[i] as ServerSpec).kind}-${mechanism.toLowerCase()}.cpuprofile`,
          );
          progress(`smtp: profiling ${path}`);
          await authRound(servers[i] as RunningServer, mechanism, connections, inFlight, path);
        }
      }
    }
  } finally {
    for (const server of servers) server.stop();
  }
  return SMTP_MECHANISMS.map((mechanism) => {
    const name = `smtp-${mechanism.toLowerCase()}`;
    const baseCpu = cpu.get(key(mechanism, SMTP_SERVERS[0] as ServerSpec)) as number[];
    const baseRate = rate.get(key(mechanism, SMTP_SERVERS[0] as ServerSpec)) as number[];
    const lines: Line[] = SMTP_SERVERS.map((spec) => {
      const mine = cpu.get(key(mechanism, spec)) as number[];
      const rates = rate.get(key(mechanism, spec)) as number[];
      return {
        workload: name,
        contestant: spec.name,
        role: spec.role,
        value: median(mine),
        unit: 'us CPU/AUTH',
        vsBaseline: median(mine.map((v, i) => v / (baseCpu[i] as number))),
        samples: mine,
        extra: { 'AUTH/s': median(rates), 'rate x baseline': median(rates.map((v, i) => v / (baseRate[i] as number))) },
      };
    });
    // Per-round figures under the contestants' names, for the target machinery.
    const byName = (figures: Map<string, number[]>): Map<string, number[]> =>
      new Map(SMTP_SERVERS.map((spec) => [spec.name, figures.get(key(mechanism, spec)) as number[]]));
    const targets = [
      ...checkTargets(
        [
          {
            label: `server CPU per AUTH ${mechanism} <= 1.3x the trivial server (README loop)`,
            of: README_SMTP,
            versus: TRIVIAL_SMTP,
            kind: 'figure',
            op: '<=',
            value: 1.3,
          },
        ],
        byName(cpu),
        rounds,
      ),
      ...checkTargets(
        [
          {
            label: `server CPU per AUTH ${mechanism} <= smtp-server's`,
            of: README_SMTP,
            versus: SMTP_SERVER,
            kind: 'figure',
            op: '<=',
            value: 1,
            info: true,
          },
        ],
        byName(cpu),
        rounds,
      ),
      ...(mechanism === 'PLAIN'
        ? checkTargets(
            [
              {
                label: 'AUTH PLAIN rate >= 1.3x smtp-server',
                of: README_SMTP,
                versus: SMTP_SERVER,
                kind: 'throughput',
                op: '>=',
                value: 1.3,
                info: true,
              },
            ],
            byName(rate),
            rounds,
          )
        : []),
    ];
    return {
      name,
      title: `SMTP AUTH ${mechanism} alone over 127.0.0.1: ${connections} connections past EHLO before the clock, one AUTH each, ${inFlight} in flight`,
      rounds,
      lines,
      targets,
      notes: [
        ...(mechanism === 'PLAIN'
          ? [
              'us CPU/AUTH: the server process\'s process.cpuUsage() (user + system, all its threads) over the timed phase, divided by the AUTHs; "x baseline" is the ratio to the trivial server in the same round. AUTH/s depends on the load generator too (this process, on the same cores).',
              'saslkit runs README.md\'s "Example: an SMTP server" loop (bench/servers/readme-smtp.ts) offering PLAIN, LOGIN and CRAM-MD5 instead of the README\'s SCRAM-SHA-256 (no TLS there), and without its console.log; smtp-server runs with logger: false; the trivial server is socket I/O, one closure per connection and a Map of passwords.',
              `"${AWAIT_FLOOR_SMTP}" (info) is the README loop's shape (async function, for await over lines, every reply awaited) with a ten-line line iterator and the trivial server's checks instead of saslkit: what the loop's style costs before any library runs.`,
            ]
          : []),
        ...(mechanism === 'CRAM-MD5'
          ? [
              'Every CRAM-MD5 server draws its challenge from the CSPRNG (saslkit 8 bytes, smtp-server 16, trivial 8) and checks the HMAC-MD5 in constant time.',
            ]
          : []),
      ],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Whole sessions in a closed loop (IMAP) and parked connections (memory).

type SessionStep = (line: string, send: (text: string) => void) => 'more' | 'done';

/**
 * Runs one scripted session over a new connection: `step` sees every line from the server and
 * says when the session is over. Resolves once the socket is closed (so that concurrency stays
 * exact), or, with `park`, as soon as the script is done, leaving the socket open.
 */
function session(port: number, step: SessionStep, park = false): Promise<Socket> {
  return new Promise((done, reject) => {
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
            if (park) done(socket);
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
      if (finished) done(socket);
      else reject(new Error('the server closed the connection early'));
    });
  });
}

/** SMTP: greeting, EHLO, AUTH PLAIN with an initial response, QUIT (warm-up of the memory workload). */
function smtpLogin(): SessionStep {
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

/** SMTP: greeting, EHLO, `AUTH LOGIN`, and stop at the `334 VXNlcm5hbWU6` (Username:) prompt. */
function smtpPark(): SessionStep {
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
function imapLogin(): SessionStep {
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
function imapPark(): SessionStep {
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
async function load(
  port: number,
  makeStep: () => SessionStep,
  concurrency: number,
  windowMs: number,
  rampMs: number,
): Promise<LoadResult> {
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
        await new Promise((done) => setTimeout(done, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rate: completed / (windowMs / 1000), errors };
}

const IMAP_SERVERS: readonly ServerSpec[] = [
  { kind: 'trivial-imap', name: 'trivial line server', role: 'baseline' },
  { kind: 'saslkit-imap', name: 'saslkit imapServerAuth', role: 'saslkit' },
];

/** IMAP logins per second over loopback at each concurrency, servers measured in rotating order per round. */
export async function imapThroughput(
  levels: readonly number[],
  rounds: number,
  windowMs: number,
  progress: (text: string) => void,
): Promise<WorkloadResult[]> {
  const specs = IMAP_SERVERS;
  const servers = await Promise.all(specs.map((spec) => startServer(spec.kind)));
  const results: WorkloadResult[] = [];
  try {
    // Warm-up: code paths compiled, buffers and pools allocated, in every server.
    for (const server of servers) await load(server.port, imapLogin, 50, 400, 100);
    for (const concurrency of levels) {
      const rates = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
      const errors = new Map<string, number>(specs.map((spec) => [spec.name, 0]));
      for (let r = 0; r < rounds; r++) {
        progress(`imap@${concurrency}: round ${r + 1}/${rounds}`);
        for (let i = 0; i < specs.length; i++) {
          const index = (i + r) % specs.length;
          const spec = specs[index] as ServerSpec;
          const result = await load(
            (servers[index] as RunningServer).port,
            imapLogin,
            concurrency,
            windowMs,
            concurrency >= 1000 ? 400 : 150,
          );
          (rates.get(spec.name) as number[]).push(result.rate);
          errors.set(spec.name, (errors.get(spec.name) as number) + result.errors);
        }
      }
      const base = rates.get((specs.find((s) => s.role === 'baseline') as ServerSpec).name) as number[];
      const name = `imap@${concurrency}`;
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
          ...((errors.get(spec.name) as number) > 0
            ? { extra: { 'failed sessions': errors.get(spec.name) as number } }
            : {}),
        };
      });
      results.push({
        name,
        title: `IMAP AUTHENTICATE PLAIN (SASL-IR) over 127.0.0.1, ${concurrency} concurrent connection${concurrency === 1 ? '' : 's'}, whole sessions`,
        rounds,
        lines,
        targets: [],
        notes:
          concurrency === levels[0]
            ? ['Each server runs in its own process; the load generator (this process) shares the two cores with it.']
            : [],
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

/**
 * Node flags of the memory workload's servers: a young generation held at 1 MB per semi-space.
 * By default V8 grows it (up to 16 MB per semi-space) when many objects survive a burst, in
 * steps of several MB that no full GC gives back: parking 1000-2000 connections on README.md's
 * loop added 12-16 MB at once, smtp-server 19 MB, the trivial server nothing. That is the
 * allocation pattern of the burst, not memory per connection. BENCH_SERVER_FLAGS replaces it.
 */
const MEMORY_FLAGS = process.env['BENCH_SERVER_FLAGS'] !== undefined ? SERVER_FLAGS : ['--max-semi-space-size=1'];

/**
 * Memory per connection parked mid-AUTH: a fresh server process per measurement; `first`
 * connections parked, then more up to `connections`, the memory read (after two full GCs) before,
 * after the first step and at the end. The figure is the growth from the first step to the end,
 * per connection: the first step also pays one-time growth (V8 and malloc pages), which moves
 * RSS by as much as the trivial server's whole figure, so it is reported apart.
 */
export async function parkedMemory(
  connections: number,
  first: number,
  rounds: number,
  progress: (text: string) => void,
): Promise<WorkloadResult> {
  const specs: readonly (ServerSpec & { protocol: 'smtp' | 'imap' })[] = [
    ...SMTP_SERVERS.map((spec) => ({ ...spec, name: `SMTP ${spec.name}`, protocol: 'smtp' as const })),
    ...IMAP_SERVERS.map((spec) => ({ ...spec, name: `IMAP ${spec.name}`, protocol: 'imap' as const })),
  ];
  const rss = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  const rssFirst = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  const heap = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  for (let r = 0; r < rounds; r++) {
    // The round's fresh processes start together (starting one is most of this workload's
    // time); each is measured alone.
    const servers = await Promise.all(specs.map((spec) => startServer(spec.kind, MEMORY_FLAGS)));
    for (const [index, spec] of specs.entries()) {
      progress(`memory: ${spec.name}, round ${r + 1}/${rounds}`);
      const server = servers[index] as RunningServer;
      const sockets: Socket[] = [];
      try {
        // Warm-up: run the code paths a few times, so that lazily loaded code is not counted.
        const parkStep = spec.protocol === 'smtp' ? smtpPark : imapPark;
        await batches(5, 1, () => session(server.port, (spec.protocol === 'smtp' ? smtpLogin : imapLogin)()));
        await batches(5, 5, () => session(server.port, parkStep(), true)).then((parked) => {
          for (const socket of parked) socket.destroy();
        });
        await new Promise((done) => setTimeout(done, 200));
        const before = await server.memory();
        sockets.push(...(await batches(first, 200, () => session(server.port, parkStep(), true))));
        await new Promise((done) => setTimeout(done, 200));
        const middle = await server.memory();
        sockets.push(...(await batches(connections - first, 200, () => session(server.port, parkStep(), true))));
        await new Promise((done) => setTimeout(done, 300));
        const after = await server.memory();
        const more = connections - first;
        (rss.get(spec.name) as number[]).push((after.rss - middle.rss) / more / 1024);
        (rssFirst.get(spec.name) as number[]).push((middle.rss - before.rss) / first / 1024);
        (heap.get(spec.name) as number[]).push(
          (after.heapUsed + after.external - middle.heapUsed - middle.external) / more / 1024,
        );
      } finally {
        for (const socket of sockets) socket.destroy();
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
      extra: {
        'KB heap+external/conn': median(heap.get(spec.name) as number[]),
        [`KB RSS/conn over the first ${first}`]: median(rssFirst.get(spec.name) as number[]),
      },
    };
  });
  const readme = `SMTP ${README_SMTP}`;
  const targets = [
    ...checkTargets(
      [
        {
          label: 'SMTP memory (RSS) per mid-AUTH connection <= 1.25x the trivial server (README loop)',
          of: readme,
          versus: `SMTP ${TRIVIAL_SMTP}`,
          kind: 'figure',
          op: '<=',
          value: 1.25,
        },
      ],
      rss,
      rounds,
    ),
    ...checkTargets(
      [
        {
          label: 'SMTP JS heap per mid-AUTH connection <= 1.25x the trivial server',
          of: readme,
          versus: `SMTP ${TRIVIAL_SMTP}`,
          kind: 'figure',
          op: '<=',
          value: 1.25,
          info: true,
        },
      ],
      heap,
      rounds,
    ),
    ...checkTargets(
      [
        {
          label: 'SMTP memory (RSS) per mid-AUTH connection <= 0.6x smtp-server',
          of: readme,
          versus: `SMTP ${SMTP_SERVER}`,
          kind: 'figure',
          op: '<=',
          value: 0.6,
          info: true,
        },
      ],
      rss,
      rounds,
    ),
    ...checkTargets(
      [
        {
          label: 'SMTP JS heap per mid-AUTH connection <= 0.6x smtp-server',
          of: readme,
          versus: `SMTP ${SMTP_SERVER}`,
          kind: 'figure',
          op: '<=',
          value: 0.6,
          info: true,
        },
      ],
      heap,
      rounds,
    ),
  ];
  return {
    name: 'memory',
    title: `Server memory per connection parked mid-AUTH (${first} connections, then ${connections - first} more measured: SMTP at "334 VXNlcm5hbWU6" of AUTH LOGIN, IMAP at "+" of AUTHENTICATE PLAIN)`,
    rounds,
    lines,
    targets,
    notes: [
      `Growth of the server process's RSS (and V8 heap + external) from ${first} to ${connections} parked connections, each read after two full GCs, per connection; a fresh server process per measurement, run with ${MEMORY_FLAGS.length === 0 ? 'no extra flags' : MEMORY_FLAGS.join(' ')} (see bench/README.md, "Memory").`,
      `"SMTP ${AWAIT_FLOOR_SMTP}" (info): the README loop's shape without saslkit, parked at the same prompt; its distance to the trivial server is what any \`for await\` loop costs, its distance to the README loop is saslkit's own share.`,
    ],
  };
}
