import { expect } from 'chai';
import {
  IRC_AUTHENTICATE_CHUNK,
  IRC_NUMERICS,
  IrcChunkJoiner,
  formatIrcMessage,
  ircAuthenticateChunks,
  ircNumericError,
  isSaslError,
  parseIrcMechanisms,
  parseIrcMessage,
} from '../../lib/index.js';

const CONTEXT = { party: 'client' as const };

/** Runs `fn`, returning the saslkit error code it threw (or 'ok'). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (!isSaslError(error)) throw error;
    return error.code;
  }
}

/** Joins the `AUTHENTICATE` parameters, returning each push's result. */
function join(params: readonly string[], maxMessageBytes = 16384): (string | undefined)[] {
  const joiner = new IrcChunkJoiner(maxMessageBytes, CONTEXT);
  return params.map((param) => joiner.push(param));
}

describe('IRC framing', () => {
  describe('parseIrcMessage', () => {
    it('reads tags, source, command and parameters, the trailing one with spaces', () => {
      const message = parseIrcMessage(
        '@time=2026-12-07T19:00:00Z;+example.com/x=a\\sb\\:c;flag :irc.example 904 alice :SASL authentication failed',
      );
      expect(Object.fromEntries(message.tags)).to.deep.equal({
        time: '2026-12-07T19:00:00Z',
        '+example.com/x': 'a b;c',
        flag: '',
      });
      expect(message.source).to.equal('irc.example');
      expect(message.command).to.equal('904');
      expect(message.params).to.deep.equal(['alice', 'SASL authentication failed']);
    });

    it('upper-cases the command, skips repeated spaces and keeps an empty trailing parameter', () => {
      const message = parseIrcMessage('cap  *   LS  :');
      expect(message.command).to.equal('CAP');
      expect(message.params).to.deep.equal(['*', 'LS', '']);
      expect(parseIrcMessage('AUTHENTICATE +').params).to.deep.equal(['+']);
    });

    it('takes the 15th parameter as the trailing one, spaces and all', () => {
      const middles = Array.from({ length: 14 }, (_, i) => `p${i}`);
      const message = parseIrcMessage(`CMD ${middles.join(' ')} last one here`);
      expect(message.params).to.have.length(15);
      expect(message.params[14]).to.equal('last one here');
    });

    it('accepts a body of 510 octets and tags of 8191 with the @ and the space, and refuses one more of either', () => {
      const body = `PRIVMSG x :${'a'.repeat(510 - 'PRIVMSG x :'.length)}`;
      expect(codeOf(() => parseIrcMessage(body))).to.equal('ok');
      expect(codeOf(() => parseIrcMessage(`${body}a`))).to.equal('LIMIT_EXCEEDED');
      const tags = `@k=${'v'.repeat(8190 - 3)}`;
      expect(codeOf(() => parseIrcMessage(`${tags} PING x`))).to.equal('ok');
      expect(codeOf(() => parseIrcMessage(`${tags}v PING x`))).to.equal('LIMIT_EXCEEDED');
    });

    it('counts octets, not characters', () => {
      expect(codeOf(() => parseIrcMessage(`PRIVMSG x :${'é'.repeat(250)}`))).to.equal('LIMIT_EXCEEDED');
    });

    const malformed: readonly [string, string][] = [
      ['an empty line', ''],
      ['only spaces', '   '],
      ['tags without a command', '@a=b'],
      ['tags and a space only', '@a=b '],
      ['a prefix without a command', ':irc.example'],
      ['an empty prefix', ': PING'],
      ['a bad tag key', '@a_b=c PING x'],
      ['a tag key of a slash only', '@/=c PING x'],
      ['a numeric of two digits', '90 x'],
      ['a numeric of four digits', '9000 x'],
      ['a command with a digit', 'AUTH3NTICATE x'],
      ['a NUL', 'AUTHENTICATE a\0b'],
      ['a CR', 'AUTHENTICATE a\rb'],
      ['an LF', 'AUTHENTICATE a\nb'],
    ];
    for (const [what, line] of malformed) {
      it(`refuses ${what} as MALFORMED_MESSAGE`, () => {
        expect(codeOf(() => parseIrcMessage(line))).to.equal('MALFORMED_MESSAGE');
      });
    }

    it("never puts the peer's bytes in its errors", () => {
      try {
        parseIrcMessage('@bad_key=zQ9canary PING x');
        expect.fail('parsed');
      } catch (error) {
        expect((error as Error).message).to.not.include('zQ9canary');
      }
    });
  });

  describe('formatIrcMessage', () => {
    it('puts a colon before a last parameter that is empty, has a space or starts with a colon', () => {
      expect(formatIrcMessage('CAP', ['*', 'LS', 'sasl=PLAIN'])).to.equal('CAP * LS sasl=PLAIN');
      expect(formatIrcMessage('904', ['*', 'SASL authentication failed'], 'irc.example')).to.equal(
        ':irc.example 904 * :SASL authentication failed',
      );
      expect(formatIrcMessage('CAP', ['*', 'LIST', ''])).to.equal('CAP * LIST :');
      expect(formatIrcMessage('PONG', [':x'])).to.equal('PONG ::x');
    });

    it('refuses a middle parameter it could not write, and line breaks anywhere', () => {
      expect(codeOf(() => formatIrcMessage('X', ['a b', 'c']))).to.equal('MALFORMED_MESSAGE');
      expect(codeOf(() => formatIrcMessage('X', ['', 'c']))).to.equal('MALFORMED_MESSAGE');
      expect(codeOf(() => formatIrcMessage('X', ['a\r\nQUIT']))).to.equal('MALFORMED_MESSAGE');
    });

    it('round-trips through parseIrcMessage', () => {
      const params = ['alice', 'alice!a@h', 'alice', 'You are now logged in as alice'];
      expect(parseIrcMessage(formatIrcMessage('900', params, 'srv')).params).to.deep.equal(params);
    });
  });

  describe('AUTHENTICATE chunks', () => {
    // Payload sizes whose base64 is 0, 4, 396, 400, 404, 800 and 1200 characters long.
    for (const size of [0, 1, 297, 300, 303, 600, 900]) {
      it(`cuts and joins a ${size}-byte message (base64 ${Math.ceil(size / 3) * 4})`, () => {
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
        const chunks = ircAuthenticateChunks(data);
        const base64 = Buffer.from(data).toString('base64');
        expect(chunks.every((chunk) => chunk.length <= IRC_AUTHENTICATE_CHUNK)).to.equal(true);
        // An exact multiple of 400 (and an empty message) ends with `+`; anything else with a short chunk.
        expect(chunks[chunks.length - 1] === '+').to.equal(base64.length % 400 === 0);
        const joined = join(chunks);
        expect(joined.slice(0, -1).every((part) => part === undefined)).to.equal(true);
        expect(joined[joined.length - 1]).to.equal(base64);
      });
    }

    const table: readonly [string, readonly string[], string | undefined][] = [
      ['a 399-byte final chunk', ['A'.repeat(399)], 'A'.repeat(399)],
      ['a 400-byte chunk waits for more', ['A'.repeat(400)], undefined],
      ['a 400-byte chunk followed by +', ['A'.repeat(400), '+'], 'A'.repeat(400)],
      ['a 400-byte chunk followed by a 4-byte one', ['A'.repeat(400), 'AAAA'], `${'A'.repeat(400)}AAAA`],
      ['a 401-byte chunk', ['A'.repeat(401)], 'LIMIT_EXCEEDED'],
      ['an empty parameter', [''], 'MALFORMED_MESSAGE'],
      ['a chunk outside the base64 alphabet', ['QUJD!'], 'MALFORMED_MESSAGE'],
      ['a chunk with a space', ['QU JD'], 'MALFORMED_MESSAGE'],
    ];
    for (const [what, params, expected] of table) {
      it(`joins ${what}`, () => {
        let last: string | undefined;
        try {
          last = join(params).pop();
        } catch (error) {
          if (!isSaslError(error)) throw error;
          last = error.code;
        }
        expect(last).to.equal(expected);
      });
    }

    it('refuses a message over the size limit while it arrives, before it is complete', () => {
      // 500 decoded bytes are at most 668 base64 characters.
      const joiner = new IrcChunkJoiner(500, CONTEXT);
      expect(joiner.push('A'.repeat(400))).to.equal(undefined);
      expect(joiner.pending).to.equal(true);
      expect(codeOf(() => joiner.push('A'.repeat(400)))).to.equal('LIMIT_EXCEEDED');
      // 600 decoded bytes are exactly 800 base64 characters: still accepted.
      expect(join(['A'.repeat(400), 'A'.repeat(400), '+'], 600).pop()).to.equal('A'.repeat(800));
    });

    it('starts a new message after each complete one', () => {
      expect(join(['QUJD', 'REVG'])).to.deep.equal(['QUJD', 'REVG']);
    });
  });

  describe('numerics', () => {
    const error = (line: string, options?: Parameters<typeof ircNumericError>[1]): string | undefined =>
      ircNumericError(parseIrcMessage(line), options)?.code;

    it('maps 902, 904, 905, 906 and 907 to typed errors, and nothing else', () => {
      expect(error(':s 902 * :You must use a nick assigned to you')).to.equal('AUTHENTICATION_FAILED');
      expect(error(':s 904 * :SASL authentication failed')).to.equal('AUTHENTICATION_FAILED');
      expect(error(':s 905 * :SASL message too long')).to.equal('LIMIT_EXCEEDED');
      expect(error(':s 906 * :SASL authentication aborted')).to.equal('ABORTED');
      expect(error(':s 907 * :You have already authenticated using SASL')).to.equal('UNEXPECTED_MESSAGE');
      for (const numeric of ['900', '901', '903', '908', '001', '433'])
        expect(error(`:s ${numeric} * x`), numeric).to.equal(undefined);
    });

    it('904 after a 908 list without the mechanism is MECHANISM_UNAVAILABLE; with it, a failed login', () => {
      expect(error(':s 904 * :failed', { mechanism: 'SCRAM-SHA-256', offered: ['PLAIN', 'EXTERNAL'] })).to.equal(
        'MECHANISM_UNAVAILABLE',
      );
      expect(error(':s 904 * :failed', { mechanism: 'plain', offered: ['PLAIN', 'EXTERNAL'] })).to.equal(
        'AUTHENTICATION_FAILED',
      );
    });

    it("keeps the numeric as serverError and cleans the server's text", () => {
      const failure = ircNumericError(parseIrcMessage(':s 904 * :bad\x01text'));
      expect(failure && 'serverError' in failure ? failure.serverError : undefined).to.equal('904');
      expect(failure?.message).to.include('bad?text');
      expect(failure?.party).to.equal('server');
    });

    it('names the numerics of sasl-3.1', () => {
      expect(IRC_NUMERICS).to.include({
        RPL_LOGGEDIN: '900',
        RPL_SASLSUCCESS: '903',
        ERR_SASLFAIL: '904',
        RPL_SASLMECHS: '908',
      });
    });

    it('parses sasl= and 908 lists: upper case, de-duplicated, invalid names dropped', () => {
      expect(parseIrcMechanisms('plain,EXTERNAL,,SCRAM-SHA-256,PLAIN,bad name')).to.deep.equal([
        'PLAIN',
        'EXTERNAL',
        'SCRAM-SHA-256',
      ]);
      expect(parseIrcMechanisms('')).to.deep.equal([]);
    });
  });
});
