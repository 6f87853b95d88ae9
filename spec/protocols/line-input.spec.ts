/**
 * parseAuthCommand (lib/protocols/line-input.ts) finds its words by position instead of
 * splitting the line, and compares the verb without upper-casing a copy; it must accept and
 * refuse exactly what the split grammar did, with the same typed error and message: checked
 * against that grammar, kept here as the reference, on every sequence of up to four probing
 * tokens.
 */
import { expect } from 'chai';
import { MalformedMessageError } from '../../lib/core/errors.js';
import { MECHANISM_NAME, ProfileFailure, parseAuthCommand } from '../../lib/protocols/line-input.js';

/** The grammar as it was written before (split on spaces): the result, or the failure's message. */
const PRINTABLE = /^[\x20-\x7e]*$/;

function reference(command: string, verb: string): { mechanism: string; initial: string | undefined } | string {
  if (!PRINTABLE.test(command)) return `the ${verb} command has characters outside printable ASCII`;
  const words = command.trimEnd().split(' ');
  if (words.length < 2 || words.length > 3 || (words[0] ?? '').toUpperCase() !== verb)
    return `expected ${verb} mechanism [initial-response]`;
  const mechanism = words[1] ?? '';
  if (!MECHANISM_NAME.test(mechanism)) return `the ${verb} command names no valid mechanism`;
  const initial = words[2];
  if (initial === '') return `the ${verb} command has an empty initial-response argument`;
  return { mechanism, initial };
}

// The result, or the failure's message when it is the typed syntax failure the profiles reply to.
function actual(command: string, verb: string): { mechanism: string; initial: string | undefined } | string {
  try {
    const { mechanism, initial } = parseAuthCommand(command, verb);
    return { mechanism, initial };
  } catch (error) {
    const typed =
      error instanceof ProfileFailure &&
      error.kind === 'syntax' &&
      error.error instanceof MalformedMessageError &&
      error.error.party === 'client';
    return typed ? error.error.message : `not the syntax failure: ${String(error)}`;
  }
}

const TOKENS = ['AUTH', 'auth', 'AuT', 'h', 'PLAIN', 'X-1_Y', 'dGVzdA==', '=', ' ', '  ', 'x y', '\t', 'é', '\x7f'];

describe('protocols/line-input', () => {
  it('parseAuthCommand accepts and refuses what the split grammar did, with the same message', () => {
    let checked = 0;
    const wrong: string[] = [];
    const probe = (prefix: string, depth: number): void => {
      for (const verb of ['AUTH', 'AUTHENTICATE']) {
        const expected = JSON.stringify(reference(prefix, verb));
        const got = JSON.stringify(actual(prefix, verb));
        if (got !== expected) wrong.push(`${JSON.stringify(prefix)}: ${got}, expected ${expected}`);
        checked += 1;
      }
      if (depth === 4) return;
      for (const token of TOKENS) probe(prefix + token, depth + 1);
    };
    probe('', 0);
    for (const command of ['AUTH PLAIN', 'AUTH PLAIN =', 'AUTH PLAIN dGVzdA== ', ' AUTH PLAIN', 'AUTH  PLAIN x'])
      probe(command, 4);
    expect(wrong.slice(0, 10)).to.deep.equal([]);
    expect(checked).to.be.greaterThan(80000);
  });

  it('parseAuthCommand returns the mechanism as sent and the raw initial-response token', () => {
    expect(parseAuthCommand('auth plain dGVzdA==  ', 'AUTH')).to.deep.equal({
      mechanism: 'plain',
      initial: 'dGVzdA==',
    });
    expect(parseAuthCommand('AUTH LOGIN', 'AUTH')).to.deep.equal({ mechanism: 'LOGIN', initial: undefined });
  });
});
