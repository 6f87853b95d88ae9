import { expect } from 'chai';
import { isSaslError } from '../../lib/index.js';
import { ARGV_SECRET_REFUSED, choiceOption, flag, integerOption, parseArgs, stringOption } from '../../lib/cli/args.js';
import { expectNoSecrets } from '../support/helpers.js';

const SPECS = { user: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, mode: { type: 'string' }, n: { type: 'string' } } as const;

function usage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isSaslError(error) && error.code, String(error)).to.equal('USAGE');
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('cli/args', () => {
  it('reads --name value, --name=value, switches, short aliases, positionals and --', () => {
    const args = parseArgs(['smtp://h', '--user', 'alice', '--mode=x=y', '--json', '-h', '--', '--not-an-option'], SPECS);
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
    for (const argv of [['--password', 'hunter2'], ['--password=hunter2'], ['--pass', 'hunter2'], ['--token=hunter2'], ['--secret', 'hunter2'], ['--PASSWORD=hunter2'], ['-p', 'hunter2'], ['--access-token', 'hunter2']]) {
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
    expect(choiceOption(parseArgs(['--mode', 'PREFER'], SPECS), 'mode', ['disable', 'prefer'] as const, 'disable')).to.equal('prefer');
    expect(choiceOption(parseArgs([], SPECS), 'mode', ['disable', 'prefer'] as const, 'disable')).to.equal('disable');
    expect(usage(() => choiceOption(parseArgs(['--mode', 'x'], SPECS), 'mode', ['disable', 'prefer'] as const))).to.equal('--mode must be one of: disable, prefer');
    expect(integerOption(parseArgs(['--n', '42'], SPECS), 'n', 1, 100)).to.equal(42);
    for (const bad of ['0', '101', '-1', '1e3', '4.5', '']) expect(usage(() => integerOption(parseArgs(['--n', bad], SPECS), 'n', 1, 100))).to.equal('--n must be an integer from 1 to 100');
  });
});
