/**
 * `saslkit secret`: reads a password (standard input or a no-echo prompt) and prints what a
 * server stores instead of it: a SCRAM secret (RFC 5803, PostgreSQL or Dovecot form), Dovecot's
 * PBKDF2, or pysasl's PBKDF2 string.
 * @module
 */
import {
  DEFAULT_MAX_STORED_COST,
  DOVECOT_PBKDF2_ROUNDS,
  DovecotPbkdf2Hasher,
  HashedIdentity,
  Pbkdf2Hasher,
  SCRAM_HASHES,
  type ScramHash,
  ScramSecret,
  UsageError,
} from '../index.js';
import { type ParsedArgs, choiceOption, flag, integerOption, parseArgs, stringOption } from './args.js';
import { type CliIo, EXIT, EXIT_CODES_HELP, describeError, exitCodeFor, readSecret } from './io.js';

/** The schemes `secret` makes. */
export const SECRET_SCHEMES = [
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
  'PBKDF2',
  'PBKDF2-SHA1',
  'PBKDF2-SHA256',
  'PBKDF2-SHA512',
] as const;
/** The output formats. */
export const SECRET_FORMATS = ['rfc5803', 'postgres', 'dovecot', 'pysasl'] as const;

type Scheme = (typeof SECRET_SCHEMES)[number];
type Format = (typeof SECRET_FORMATS)[number];

/** `saslkit secret --help`. */
export const SECRET_HELP = `Usage: saslkit secret [--scheme S] [--format F] [--iterations N] [--user U]

Reads a password from standard input (or, on a terminal, a prompt that does not echo,
asked twice) and prints the secret a server stores instead of it.

Options:
  --scheme S          SCRAM-SHA-256 (default), SCRAM-SHA-1, SCRAM-SHA-512,
                      PBKDF2 (Dovecot's {PBKDF2}: PBKDF2-HMAC-SHA1, hex),
                      PBKDF2-SHA256, PBKDF2-SHA512, PBKDF2-SHA1 (pysasl's $pbkdf2-...$ strings)
  --format F          rfc5803   SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey> (LDAP
                                authPassword; default for SCRAM)
                      postgres  the same text, for pg_authid.rolpassword (SCRAM-SHA-256 only)
                      dovecot   {SCRAM-SHA-256}4096,<salt>,<StoredKey>,<ServerKey> or
                                {PBKDF2}$1$<salt>$<rounds>$<hex> (passwd-file; default for PBKDF2)
                      pysasl    $pbkdf2-sha256$<rounds>$<salt>$<key> (pysasl's HashedIdentity;
                                default for PBKDF2-SHA*; --format pysasl alone means PBKDF2-SHA256)
  --iterations N      iteration count (default: 4096 for SCRAM-SHA-1/256, 10000 for SCRAM-SHA-512,
                      ${DOVECOT_PBKDF2_ROUNDS} for Dovecot PBKDF2, 500000 for pysasl; at most
                      ${DEFAULT_MAX_STORED_COST}, the most a server accepts by default)
  --user U            print a passwd-file line "U:<secret>" for saslkit serve and Dovecot
                      (implies --format dovecot unless --format pysasl)
  --password-file F   read the password from F instead (- for standard input)
  -h, --help          this help

The password is never taken as an argument. One trailing newline is removed.

Examples:
  printf '%s' 'alice-pass' | saslkit secret
  saslkit secret --scheme SCRAM-SHA-256 --format postgres < pw.txt
  saslkit secret --user bob --scheme SCRAM-SHA-256 >> users.txt      (prompts twice)
  saslkit secret --format pysasl --iterations 100000 < pw.txt

${EXIT_CODES_HELP}
`;

const OPTIONS = {
  scheme: { type: 'string' },
  format: { type: 'string' },
  iterations: { type: 'string' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What to make, from the command line. */
export interface SecretPlan {
  readonly scheme: Scheme;
  readonly format: Format;
  readonly iterations: number | undefined;
  readonly user: string | undefined;
}

/** Reads and checks the options of `secret`. Throws {@link UsageError}. */
export function planSecret(args: ParsedArgs): SecretPlan {
  const user = stringOption(args, 'user');
  let format = choiceOption(args, 'format', SECRET_FORMATS);
  const scheme =
    choiceOption(args, 'scheme', SECRET_SCHEMES) ?? (format === 'pysasl' ? 'PBKDF2-SHA256' : 'SCRAM-SHA-256');
  const scram = scheme.startsWith('SCRAM-');
  const pysasl = scheme.startsWith('PBKDF2-');
  format ??= user !== undefined && scram ? 'dovecot' : scram ? 'rfc5803' : pysasl ? 'pysasl' : 'dovecot';
  if (scram && format === 'pysasl')
    throw new UsageError('pysasl stores PBKDF2 hashes, not SCRAM secrets: use --scheme PBKDF2-SHA256 --format pysasl');
  if (scram && format === 'postgres' && scheme !== 'SCRAM-SHA-256')
    throw new UsageError('PostgreSQL stores SCRAM-SHA-256 only');
  if (scheme === 'PBKDF2' && format !== 'dovecot')
    throw new UsageError("the PBKDF2 scheme is Dovecot's: use --format dovecot (or --scheme PBKDF2-SHA256 for pysasl)");
  if (pysasl && format !== 'pysasl') throw new UsageError(`${scheme} strings are pysasl's: use --format pysasl`);
  if (user !== undefined && (user === '' || /[:\p{Cc}]/u.test(user)))
    throw new UsageError('--user must be a non-empty name without ":" or control characters');
  if (user !== undefined && format !== 'dovecot' && format !== 'pysasl')
    throw new UsageError('--user writes a passwd-file line: use --format dovecot or pysasl');
  return {
    scheme,
    format,
    iterations: integerOption(args, 'iterations', scram ? 4096 : 1000, DEFAULT_MAX_STORED_COST),
    user,
  };
}

/** Makes the stored secret for `password`. */
export function makeSecret(plan: SecretPlan, password: string): string {
  if (plan.scheme.startsWith('SCRAM-')) {
    const hash = plan.scheme.slice('SCRAM-'.length) as ScramHash;
    const secret = ScramSecret.fromPassword(hash, password, {
      iterations: plan.iterations ?? SCRAM_HASHES[hash].defaultIterations,
    });
    return secret.format(plan.format === 'dovecot' ? 'dovecot' : plan.format === 'postgres' ? 'postgresql' : 'rfc5803');
  }
  if (plan.scheme === 'PBKDF2')
    return `{PBKDF2}${new DovecotPbkdf2Hasher({ rounds: plan.iterations ?? DOVECOT_PBKDF2_ROUNDS }).hash(password)}`;
  const digest = plan.scheme.slice('PBKDF2-'.length).toLowerCase() as 'sha1' | 'sha256' | 'sha512';
  // HashedIdentity.create prepares the password with SASLprep first, as pysasl does.
  return HashedIdentity.create(
    'user',
    password,
    new Pbkdf2Hasher({ digest, ...(plan.iterations === undefined ? {} : { rounds: plan.iterations }) }),
  ).digest;
}

/** Runs `saslkit secret`. Resolves with the exit code. */
export async function secretCommand(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv, OPTIONS);
    if (flag(args, 'help')) {
      io.stdout.write(SECRET_HELP);
      return EXIT.OK;
    }
    if (args.positionals.length > 0)
      throw new UsageError(
        'secret takes no positional arguments; the password is read from standard input or the prompt',
      );
    const plan = planSecret(args);
    const file =
      stringOption(args, 'password-file') ??
      (io.stdin.isTTY === true || io.env['SASLKIT_PASSWORD'] !== undefined ? undefined : '-');
    const password = await readSecret(io, {
      what: 'password',
      file,
      envName: 'SASLKIT_PASSWORD',
      fileOption: '--password-file',
      confirm: true,
    });
    const secret = makeSecret(plan, password);
    io.stdout.write(`${plan.user === undefined ? '' : `${plan.user}:`}${secret}\n`);
    return EXIT.OK;
  } catch (error) {
    io.stderr.write(`saslkit secret: ${describeError(error)}\n`);
    return exitCodeFor(error);
  }
}
