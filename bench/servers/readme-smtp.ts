/**
 * The SMTP server of README.md's "Example: an SMTP server", copied as a user would copy it, for
 * the `smtp` loopback workload. Differences from the README, and why:
 *
 * - mechanisms: PLAIN, LOGIN and CRAM-MD5 instead of SCRAM-SHA-256 (the README offers no clear-text
 *   mechanism because it has no TLS; the benchmark measures these three, on loopback);
 * - accounts: the benchmark's one user, as a ClearIdentity (CRAM-MD5 needs the clear secret);
 * - the two `console.log` calls write nothing (`log` below): logging is the host's business and
 *   neither smtp-server (`logger: false`) nor the trivial server logs; their arguments are still
 *   evaluated as in the README;
 * - `listen()` takes a port and a callback (the benchmark picks a free port) and `import`s come
 *   from bench/saslkit.ts (the bundle under test) instead of the package name.
 *
 * Everything else (LineReader with its defaults, lineWriter awaited for every line, the
 * `for await` loop, `split(' ')`, the `503` for a second AUTH) is the README's code unchanged.
 * Keep it in step with README.md: the workload measures the loop users copy.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { PASSWORD, USER } from '../baselines.js';
import { sk } from '../saslkit.js';

const {
  ClearIdentity,
  LineReader,
  SASLAuth,
  advertisedMechanisms,
  isSaslError,
  lineWriter,
  smtpAuthKeyword,
  smtpServerAuth,
} = sk;
type Identity = import('../../lib/index.js').Identity;

// Where the README prints; see the header.
const log: (...args: unknown[]) => void = () => undefined;

// ---- README.md, "Example: an SMTP server" (mechanisms and accounts changed: see the header) ----
const auth = SASLAuth.named(['PLAIN', 'LOGIN', 'CRAM-MD5']);
const accounts = new Map<string, Identity>([[USER, new ClearIdentity(USER, PASSWORD)]]);
const options = { lookup: (authcid: string) => accounts.get(authcid) };

async function session(socket: Socket): Promise<void> {
  const lines = new LineReader(socket); // or readline's iterator, or a LineQueue
  const write = lineWriter(socket);
  let authenticated = false;
  await write('220 mail.example.com ESMTP');
  for await (const line of lines) {
    const verb = line.split(' ')[0]?.toUpperCase();
    if (verb === 'EHLO') {
      await write('250-mail.example.com');
      await write(`250 ${smtpAuthKeyword(advertisedMechanisms(auth))}`);
    } else if (verb === 'AUTH' && authenticated) {
      await write('503 5.5.1 Already authenticated');
    } else if (verb === 'AUTH') {
      try {
        const who = await smtpServerAuth({ command: line, auth, options, lines, write });
        authenticated = true;
        log('authenticated', who.authcid, 'with', who.mechanism);
      } catch (error) {
        // The reply is already written; a SaslError never carries a secret.
        log('refused:', isSaslError(error) ? error.code : error);
      }
    } else if (verb === 'QUIT') {
      await write('221 Bye');
      socket.end();
      return;
    } else {
      await write('502 5.5.2 Not implemented');
    }
  }
}

/** Starts the README's server on 127.0.0.1 and a free port; `ready` gets the port. */
export function listenReadmeSmtp(ready: (port: number) => void): Server {
  const server = createServer((socket) => {
    session(socket).catch(() => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    ready(typeof address === 'object' && address !== null ? address.port : 0);
  });
  return server;
}
