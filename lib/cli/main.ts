/**
 * The `saslkit` command-line tool: `demo`, `mechs`, `login`, `serve` and `secret`. Run it as
 * `npx saslkit <command>` from an installed package (dist/cli.cjs), or `npm start` /
 * `npx ts-node lib/cli/main.ts <command>` in the repository. Not part of the library's API.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { demoCommand } from './demo.js';
import { type CliIo, EXIT, EXIT_CODES_HELP } from './io.js';
import { loginCommand } from './login.js';
import { mechsCommand } from './mechs.js';
import { secretCommand } from './secret.js';
import { serveCommand } from './serve.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: demoCommand,
  mechs: mechsCommand,
  login: loginCommand,
  serve: serveCommand,
  secret: secretCommand,
};

/** `saslkit --help`. */
export const MAIN_HELP = `Usage: saslkit <command> [options]     (saslkit <command> --help for details)

Commands:
  demo     start SMTP and IMAP test servers on 127.0.0.1 and log in to them with every
           mechanism; prints a table (this is what npm start runs)
  mechs    list the SASL mechanisms a server advertises, before and after STARTTLS
  login    authenticate to an SMTP, IMAP or POP3 server; exit 0 on success
  serve    run a test SMTP, IMAP or POP3 server with users from a Dovecot passwd-file
  secret   turn a password into a stored secret (SCRAM, PBKDF2) for Dovecot, PostgreSQL,
           LDAP (RFC 5803) or pysasl

Examples:
  saslkit demo
  saslkit mechs imap://127.0.0.1:1143 --starttls
  SASLKIT_PASSWORD=alice-pass saslkit login smtp://127.0.0.1:2525 --user alice --json
  saslkit serve --protocol smtp --listen 127.0.0.1:2525 --users users.txt --tls-self-signed
  printf '%s' 'bob-pass' | saslkit secret --user bob --scheme SCRAM-SHA-256

Secrets (passwords, tokens) are never command-line arguments: they come from a file
(--password-file, --token-file), the environment (SASLKIT_PASSWORD, SASLKIT_TOKEN) or a
prompt that does not echo.

${EXIT_CODES_HELP}
`;

/** The package version, from the nearest package.json named saslkit. */
function version(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (data.name === 'saslkit' && typeof data.version === 'string') return data.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Runs the tool with `argv` (without `node` and the script). Resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    if (command !== undefined) return command(['--help'], io);
    (name === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`saslkit ${version()}\n`);
    return EXIT.OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr.write(
      `saslkit: unknown command ${JSON.stringify(name.slice(0, 40))}; commands: ${Object.keys(COMMANDS).join(', ')} (saslkit --help)\n`,
    );
    return EXIT.USAGE;
  }
  return command(rest, io);
}

/** Runs the tool in this process: real streams, SIGINT/SIGTERM stop `serve`, exit with its code. */
export function runCli(argv: readonly string[] = process.argv.slice(2)): void {
  const controller = new AbortController();
  const long = argv[0] === 'serve';
  const stop = (signal: NodeJS.Signals): void => {
    // `serve` closes its server and exits 0; anything else stops at once, as without a handler.
    if (long && !controller.signal.aborted) controller.abort();
    else process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  };
  main(argv, io).then(
    (code) => {
      process.exitCode = code;
      // A socket that refuses to close must not keep a finished command alive.
      setTimeout(() => process.exit(code), 2000).unref();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
    (error: unknown) => {
      process.stderr.write(`saslkit: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(70);
    },
  );
}

if (require.main === module) runCli();
