/**
 * A small command-line parser for the `saslkit` tool: `--name value`, `--name=value`, boolean
 * switches, `-h`, positionals and `--`. Each command declares its options; anything else is a
 * usage error. Options that would carry a secret (`--password`, `--token`, ...) are refused by
 * name, because a command line is visible to every user of the machine (`ps`, shell history).
 * @module
 */
import { UsageError } from '../index.js';
import { type CliIo, EXIT, describeError, exitCodeFor, writeJson } from './io.js';

/** How one option is read. */
export interface OptionSpec {
  /** `string` takes a value; `boolean` is a switch. */
  readonly type: 'string' | 'boolean';
  /** A one-letter alias, without the dash. */
  readonly short?: string;
}

/** The options of a command, by long name (without the dashes). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed command line: option values by long name, and the positionals in order. */
export interface ParsedArgs {
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/** Long option names that would put a secret on the command line; refused whatever the command. */
const SECRET_OPTIONS = new Set(['password', 'pass', 'passwd', 'pw', 'secret', 'token', 'access-token', 'bearer']);

/** The message for a refused secret option: the value itself is never repeated. */
export const ARGV_SECRET_REFUSED =
  'secrets are never taken on the command line (other users can read it); use --password-file, --token-file, the SASLKIT_PASSWORD environment variable or the prompt';

/** Parses `argv` (without the command name) against `specs`. Throws {@link UsageError} for anything off the grammar. */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).flatMap(([name, spec]) => (spec.short === undefined ? [] : [[spec.short, name] as const])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length > 1) {
      const short = arg.slice(1);
      const long = byShort.get(short);
      if (long === undefined)
        throw new UsageError(short === 'p' || short === 'w' ? ARGV_SECRET_REFUSED : `unknown option -${safe(short)}`);
      name = long;
    } else {
      positionals.push(arg);
      continue;
    }
    if (SECRET_OPTIONS.has(name.toLowerCase())) throw new UsageError(ARGV_SECRET_REFUSED);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option --${safe(name)}`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options.set(name, value);
  }
  return { options, positionals };
}

// Option names come from the user; keep control characters out of the message.
function safe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}

/** The string value of an option, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** True when a switch was given. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}

/** One of `choices` (compared case-insensitively), `fallback` when absent. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T;
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined;
export function choiceOption<T extends string>(
  args: ParsedArgs,
  name: string,
  choices: readonly T[],
  fallback?: T,
): T | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return fallback;
  const found = choices.find((choice) => choice.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new UsageError(`--${name} must be one of: ${choices.join(', ')}`);
  return found;
}

/** A positive integer option within `[min, max]`, or `fallback`. */
export function integerOption(
  args: ParsedArgs,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return fallback;
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return Number(value);
}

/** What {@link startCommand} hands a command whose command line parsed. */
export interface CommandStart {
  readonly args: ParsedArgs;
  /** True with `--json`: the command prints one JSON object on standard output. */
  readonly json: boolean;
  /** Reports a failure (one line on standard error, or `{ok: false, exitCode, reason}` with `--json`) and returns its exit code. */
  readonly fail: (error: unknown) => number;
}

/**
 * The start of a command with `--json` and `--help`: parses `argv`, prints `help` for `--help`,
 * and gives the one way the command reports a failure. Returns the exit code instead when the
 * command is done already (a usage error, or `--help`). `secrets` is read at each failure, so a
 * secret the command reads later (pushed into the array) is still scrubbed from the reason.
 */
export function startCommand(
  command: string,
  argv: readonly string[],
  specs: OptionSpecs,
  help: string,
  io: CliIo,
  secrets: readonly string[] = [],
): CommandStart | number {
  // Until the command line parsed, a failure cannot know about --json.
  let json = false;
  const fail = (error: unknown): number => {
    const code = exitCodeFor(error);
    const reason = describeError(error, secrets);
    if (json) writeJson(io.stdout, { ok: false, exitCode: code, reason });
    else io.stderr.write(`saslkit ${command}: ${reason}\n`);
    return code;
  };
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, specs);
  } catch (error) {
    return fail(error);
  }
  json = flag(args, 'json');
  if (flag(args, 'help')) {
    io.stdout.write(help);
    return EXIT.OK;
  }
  return { args, json, fail };
}
