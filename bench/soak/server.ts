/**
 * The soak test's server, run in its own process (forked by bench/soak.ts with --expose-gc) so
 * that its memory and event-loop delay are measured alone. It serves a small SMTP and a small
 * IMAP command loop on 127.0.0.1, each handing AUTH/AUTHENTICATE to saslkit's profiles, and
 * answers the parent's requests over IPC: `stats` (after a forced GC) and `stop`.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  type Identity,
  LineReader,
  SASLAuth,
  ScramIdentity,
  type ServerOptions,
  formatSmtpReply,
  imapCapabilityAtoms,
  imapServerAuth,
  isSaslError,
  lineWriter,
  smtpAuthKeyword,
  smtpServerAuth,
} from '../../lib/index.js';
import {
  type ServerSettings,
  type ServerStats,
  type ToServer,
  passwordOf,
  setUsers,
  userCount,
  userName,
} from './shared.js';
import { type OpenStore, openStore } from './store.js';

const settings = JSON.parse(process.env['SOAK_SERVER_SETTINGS'] ?? '{}') as ServerSettings;
setUsers(settings.users);
const auth = SASLAuth.named(['SCRAM-SHA-256', 'PLAIN']);
// With --store postgres every server process reads the same table; otherwise each has its own map.
const shared: OpenStore | undefined = settings.store === undefined ? undefined : openStore(settings.store);
const options: ServerOptions = {
  lookup: shared?.lookup ?? memoryLookup(),
  scramSaltSecret: 'soak-test-salt-secret-of-32-bytes!!',
};

function memoryLookup(): NonNullable<ServerOptions['lookup']> {
  const store = new Map<string, Identity>();
  for (let i = 0; i < userCount(); i++)
    store.set(userName(i), ScramIdentity.create(userName(i), passwordOf(i), { hashes: ['SHA-256'] }));
  return (authcid) => store.get(authcid);
}

const counters = { connections: 0, active: 0, logins: 0, failures: {} as Record<string, number>, timeouts: 0 };
let histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
// Busy time and CPU since the last stats: a long loop delay with a low utilization means the
// process waited for a CPU (a loaded machine), not that the server blocked its loop.
let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
let lastCpu = process.cpuUsage();

function countFailure(error: unknown): void {
  const code = isSaslError(error) ? error.code : 'HOST_ERROR';
  counters.failures[code] = (counters.failures[code] ?? 0) + 1;
}

/**
 * The exchange's time limit: a signal for the session and a destroyed socket when it fires. A
 * controller with a timer (cleared when the exchange ends), not `AbortSignal.timeout`, because
 * the connection lives on after a successful login.
 */
async function withTimeLimit<T>(socket: Socket, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    counters.timeouts += 1;
    controller.abort(new DOMException('the exchange took too long', 'TimeoutError'));
    socket.destroy();
  }, settings.exchangeTimeoutMs);
  try {
    return await run(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function serve(socket: Socket, protocol: 'smtp' | 'imap'): Promise<void> {
  const reader = new LineReader(socket, { maxLineLength: 16384 });
  const send = lineWriter(socket);
  const write = (line: string): Promise<void> | undefined => (socket.destroyed ? undefined : send(line));
  const limits = { maxLineLength: 12288 };
  if (protocol === 'smtp') await write('220 soak.test ESMTP saslkit soak');
  else
    await write(
      `* OK [CAPABILITY ${[
        'IMAP4rev1',
        ...imapCapabilityAtoms(
          auth.serverMechanisms.map((m) => m.name),
          { saslIr: true },
        ),
      ].join(' ')}] soak ready`,
    );
  for (;;) {
    const next = await reader.next();
    if (next.done === true) return;
    const line = next.value;
    if (protocol === 'smtp') {
      const verb = line.slice(0, 5).toUpperCase();
      if (verb.startsWith('EHLO')) {
        for (const out of formatSmtpReply(
          250,
          `soak.test\n${smtpAuthKeyword(auth.serverMechanisms.map((m) => m.name))}`,
        ))
          await write(out);
      } else if (verb === 'AUTH ') {
        try {
          await withTimeLimit(socket, (signal) =>
            smtpServerAuth({
              command: line,
              auth,
              options,
              lines: reader,
              write: (l) => write(l),
              limits: { ...limits, signal },
            }),
          );
          counters.logins += 1;
        } catch (error) {
          countFailure(error);
        }
      } else if (verb.startsWith('QUIT')) {
        await write('221 2.0.0 bye');
        return;
      } else {
        await write('500 5.5.1 unknown command');
      }
    } else {
      const [tag = '*', command = ''] = line.split(' ', 3);
      const upper = command.toUpperCase();
      if (upper === 'CAPABILITY') {
        await write(
          `* CAPABILITY ${[
            'IMAP4rev1',
            ...imapCapabilityAtoms(
              auth.serverMechanisms.map((m) => m.name),
              { saslIr: true },
            ),
          ].join(' ')}`,
        );
        await write(`${tag} OK done`);
      } else if (upper === 'AUTHENTICATE') {
        try {
          await withTimeLimit(socket, (signal) =>
            imapServerAuth({
              command: line,
              auth,
              options,
              lines: reader,
              write: (l) => write(l),
              limits: { ...limits, signal },
            }),
          );
          counters.logins += 1;
        } catch (error) {
          countFailure(error);
        }
      } else if (upper === 'LOGOUT') {
        await write('* BYE soak');
        await write(`${tag} OK bye`);
        return;
      } else {
        await write(`${tag} BAD unknown command`);
      }
    }
  }
}

function listen(protocol: 'smtp' | 'imap'): Promise<Server> {
  const server = createServer((socket) => {
    counters.connections += 1;
    counters.active += 1;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    // An idle connection outside an exchange goes too; nothing stays half-open.
    socket.setTimeout(settings.idleTimeoutMs, () => socket.destroy());
    serve(socket, protocol)
      .catch(() => undefined)
      .finally(() => {
        socket.end();
        socket.destroySoon();
      });
    socket.on('close', () => {
      counters.active -= 1;
    });
  });
  return new Promise((resolve) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
      resolve(server);
    }),
  );
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run the soak server with --expose-gc');
  collect();
  collect();
}

function stats(): ServerStats {
  // Read the loop figures first and stop sampling: the forced GC below blocks the loop, and that
  // pause belongs to the measurement, not to the server.
  const loopMaxMs = histogram.max / 1e6;
  const loopP99Ms = histogram.percentile(99) / 1e6;
  histogram.disable();
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  gc();
  const memory = process.memoryUsage();
  setImmediate(() => {
    histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
  });
  return {
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    loopMaxMs,
    loopP99Ms,
    loopUtilization: elu.utilization,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    store: shared?.figures(),
    counters: { ...counters, failures: { ...counters.failures } },
  };
}

async function main(): Promise<void> {
  const smtp = await listen('smtp');
  const imap = await listen('imap');
  const port = (server: Server): number => (server.address() as { port: number }).port;
  process.on('message', (message: ToServer) => {
    if (message.type === 'stats') process.send?.({ type: 'stats', stats: stats() });
    if (message.type === 'stop') {
      smtp.close();
      imap.close();
      void (shared?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    }
  });
  // The parent gone (killed, crashed): so is the server, with its sockets.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', smtpPort: port(smtp), imapPort: port(imap) });
}

void main();
