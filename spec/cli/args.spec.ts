import { expect } from 'chai';
import {
  ARGV_SECRET_REFUSED,
  type CommandStart,
  choiceOption,
  flag,
  integerOption,
  parseArgs,
  startCommand,
  stringOption,
} from '../../lib/cli/args.js';
import { EXIT } from '../../lib/cli/io.js';
import { expectNoSecrets, expectSaslError } from '../support/helpers.js';
import { memoryIo } from './support.js';

const SPECS = {
  user: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  mode: { type: 'string' },
  n: { type: 'string' },
} as const;

/** The message of the usage error `run` throws. */
const usage = (run: () => unknown): string => expectSaslError(run, 'USAGE').message;

describe('cli/args', () => {
  it('reads --name value, --name=value, switches, short aliases, positionals and --', () => {
    const args = parseArgs(
      ['smtp://h', '--user', 'alice', '--mode=x=y', '--json', '-h', '--', '--not-an-option'],
      SPECS,
    );
    expect(stringOption(args, 'user')).to.equal('alice');
    expect(stringOption(args, 'mode')).to.equal('x=y');
    expect(flag(args, 'json')).to.equal(true);
    expect(flag(args, 'help')).to.equal(true);
    expect(stringOption(args, 'json')).to.equal(undefined);
    expect(args.positionals).to.deep.equal(['smtp://h', '--not-an-option']);
  });

  it('refuses unknown options, missing values and values for switches', () => {
    expect(usage(() => parseArgs(['--bogus'], SPECS))).to.equal('unknown option --bogus');
    expect(usage(() => parseArgs(['-x'], SPECS))).to.equal('unknown option -x');
    expect(usage(() => parseArgs(['--user'], SPECS))).to.equal('--user needs a value');
    expect(usage(() => parseArgs(['--json=1'], SPECS))).to.equal('--json takes no value');
    expect(usage(() => parseArgs(['--\u0007bell'], SPECS))).to.equal('unknown option --?bell');
  });

  it('refuses every secret-carrying option without repeating its value', () => {
    for (const argv of [
      ['--password', 'hunter2'],
      ['--password=hunter2'],
      ['--pass', 'hunter2'],
      ['--token=hunter2'],
      ['--secret', 'hunter2'],
      ['--PASSWORD=hunter2'],
      ['-p', 'hunter2'],
      ['--access-token', 'hunter2'],
    ]) {
      let thrown: unknown;
      try {
        parseArgs(argv, SPECS);
      } catch (error) {
        thrown = error;
      }
      expect((thrown as Error).message, argv.join(' ')).to.equal(ARGV_SECRET_REFUSED);
      expectNoSecrets(thrown, ['hunter2']);
    }
  });

  it('checks choices and integers', () => {
    expect(
      choiceOption(parseArgs(['--mode', 'PREFER'], SPECS), 'mode', ['disable', 'prefer'] as const, 'disable'),
    ).to.equal('prefer');
    expect(choiceOption(parseArgs([], SPECS), 'mode', ['disable', 'prefer'] as const, 'disable')).to.equal('disable');
    expect(
      usage(() => choiceOption(parseArgs(['--mode', 'x'], SPECS), 'mode', ['disable', 'prefer'] as const)),
    ).to.equal('--mode must be one of: disable, prefer');
    expect(integerOption(parseArgs(['--n', '42'], SPECS), 'n', 1, 100)).to.equal(42);
    for (const bad of ['0', '101', '-1', '1e3', '4.5', ''])
      expect(usage(() => integerOption(parseArgs(['--n', bad], SPECS), 'n', 1, 100))).to.equal(
        '--n must be an integer from 1 to 100',
      );
  });

  describe('startCommand', () => {
    const started = (start: CommandStart | number): CommandStart => {
      if (typeof start === 'number') throw new Error(`the command ended with ${start}`);
      return start;
    };

    it('prints the help for --help and -h and ends with exit 0', () => {
      for (const argv of [['--help'], ['-h', '--json']]) {
        const m = memoryIo();
        expect(startCommand('demo', argv, SPECS, 'Usage: saslkit demo\n', m.io)).to.equal(EXIT.OK);
        expect(m.out()).to.equal('Usage: saslkit demo\n');
        expect(m.err()).to.equal('');
      }
    });

    it('reports a bad command line as one line on standard error with exit 2, even with --json', () => {
      const m = memoryIo();
      expect(startCommand('demo', ['--json', '--bogus'], SPECS, 'help', m.io)).to.equal(EXIT.USAGE);
      expect(m.err()).to.equal('saslkit demo: unknown option --bogus\n');
      expect(m.out()).to.equal('');
    });

    it('hands back the arguments and a fail that writes one line, or one JSON object with --json', () => {
      const plain = memoryIo();
      const start = started(startCommand('demo', ['smtp://h', '--user', 'alice'], SPECS, 'help', plain.io));
      expect(start.json).to.equal(false);
      expect(start.args.positionals).to.deep.equal(['smtp://h']);
      expect(start.fail(new Error('no route'))).to.equal(EXIT.CONNECTION);
      expect(plain.err()).to.equal('saslkit demo: no route\n');
      const json = memoryIo();
      const withJson = started(startCommand('demo', ['--json'], SPECS, 'help', json.io));
      expect(withJson.json).to.equal(true);
      expect(withJson.fail(new Error('no route'))).to.equal(EXIT.CONNECTION);
      expect(JSON.parse(json.out())).to.deep.equal({ ok: false, exitCode: EXIT.CONNECTION, reason: 'no route' });
      expect(json.err()).to.equal('');
    });

    it('scrubs a secret pushed after the start from the reason', () => {
      const m = memoryIo();
      const secrets: string[] = [];
      const start = started(startCommand('demo', [], SPECS, 'help', m.io, secrets));
      secrets.push('hunter2');
      start.fail(new Error('the server echoed hunter2'));
      expect(m.err()).to.equal('saslkit demo: the server echoed [redacted]\n');
    });
  });
});
