/**
 * Fuzz targets for the IRC framing (issue 15): AUTHENTICATE chunks cut at every length around
 * 400 (399, 400, 401, with and without the `+`), random and mutated registration lines against
 * the server loop, and random server lines against the client's registration. Each case must end
 * in a result or a typed saslkit error, a login must need the password, and a chunked message
 * must come back whole exactly when its chunking was right.
 */
import fc from 'fast-check';
import {
  ClearIdentity,
  ClientCredentials,
  IrcChunkJoiner,
  LineQueue,
  SASLAuth,
  ircAuthenticateChunks,
  ircLogin,
  ircServerRegister,
} from '../../lib/index.js';
import { CANARY } from './mutate.js';
import { FuzzViolation, checkThrown, noteOutcome } from './harness.js';
import type { FuzzTarget } from './properties.js';

const PASSWORD = 'irc-fuzz-Secret-0123';
const RIGHT = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64');
const AUTH = SASLAuth.named(['PLAIN', 'SCRAM-SHA-256']);
const OPTIONS = { lookup: (name: string) => (name === 'alice' ? new ClearIdentity('alice', PASSWORD) : undefined) };

/** Base64 text cut into pieces of the given lengths (the rest as one last piece). */
function cut(text: string, lengths: readonly number[]): string[] {
  const pieces: string[] = [];
  let at = 0;
  for (const length of lengths) {
    if (at >= text.length) break;
    pieces.push(text.slice(at, at + length));
    at += length;
  }
  if (at < text.length) pieces.push(text.slice(at));
  return pieces;
}

const lengthArb = fc.constantFrom(1, 4, 396, 399, 400, 401, 404, 800);
const REGISTRATION = [
  'CAP LS 302',
  'CAP LS',
  'CAP REQ :sasl',
  'CAP REQ :sasl multi-prefix',
  'CAP END',
  'CAP LIST',
  'CAP :x y',
  'NICK alice',
  'NICK :',
  'USER a 0 * :A',
  'USER',
  'PING :x',
  'PASS p',
  'AUTHENTICATE PLAIN',
  'AUTHENTICATE SCRAM-SHA-256',
  'AUTHENTICATE *',
  'AUTHENTICATE +',
  'AUTHENTICATE',
  `AUTHENTICATE ${RIGHT}`,
  `AUTHENTICATE ${'A'.repeat(400)}`,
  `AUTHENTICATE ${'A'.repeat(401)}`,
  '@a=b;c :src AUTHENTICATE PLAIN',
  'PRIVMSG x :hi',
  `NICK ${CANARY}`,
  '',
];
const SERVER_LINES = [
  ':s CAP * LS :sasl=PLAIN,EXTERNAL',
  ':s CAP * LS * :a',
  ':s CAP * LS :sasl',
  ':s CAP alice ACK :sasl',
  ':s CAP alice NAK :sasl',
  'AUTHENTICATE +',
  `AUTHENTICATE ${'A'.repeat(400)}`,
  'AUTHENTICATE QUJD',
  ':s 900 alice a!b@c alice :in',
  ':s 903 alice :ok',
  ':s 904 alice :no',
  ':s 905 alice :long',
  ':s 906 alice :abort',
  ':s 907 alice :already',
  ':s 908 alice PLAIN :mechs',
  ':s 902 alice :locked',
  ':s 001 alice :hi',
  ':s 433 * alice :in use',
  'PING :t',
  'ERROR :bye',
  `:s NOTICE * :${CANARY}`,
  '',
];

/** A line from the pool, sometimes with a byte-level edit. */
function lineArb(pool: readonly string[]): fc.Arbitrary<string> {
  const pick = fc.constantFrom(...pool);
  const edited = fc
    .tuple(pick, fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
    .map(([line, at, insert, drop]) => {
      const i = at % (line.length + 1);
      return line.slice(0, i) + insert + line.slice(i + drop);
    });
  return fc.oneof(
    { weight: 4, arbitrary: pick },
    { weight: 1, arbitrary: edited },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
}

// Random registrations, and honest logins with random lines around them (so logins happen).
const registrationArb = fc.oneof(
  fc.array(lineArb(REGISTRATION), { maxLength: 14 }),
  fc
    .tuple(fc.array(lineArb(REGISTRATION), { maxLength: 5 }), fc.array(lineArb(REGISTRATION), { maxLength: 5 }))
    .map(([before, after]) => [
      ...before,
      'CAP REQ :sasl',
      'AUTHENTICATE PLAIN',
      `AUTHENTICATE ${RIGHT}`,
      ...after,
      'NICK alice',
      'USER a 0 * a',
      'CAP END',
    ]),
);

/** The IRC fuzz targets, registered in properties.ts fuzzTargets(). */
export function ircTargets(): FuzzTarget[] {
  return [
    {
      name: 'irc AUTHENTICATE chunks round trip',
      group: 'parser',
      cost: 1,
      property: () =>
        fc.property(
          fc.uint8Array({ maxLength: 1500, size: 'max' }),
          fc.array(lengthArb, { maxLength: 6 }),
          fc.boolean(),
          (data, lengths, dropPlus) => {
            const base64 = Buffer.from(data).toString('base64');
            const honest = ircAuthenticateChunks(data);
            // Honest chunks come back whole; re-cut ones only when every piece but the last is exactly 400.
            const pieces = lengths.length === 0 ? honest : cut(base64, lengths);
            if (pieces.length > 0 && pieces[pieces.length - 1] !== '+' && base64.length % 400 === 0 && !dropPlus)
              pieces.push('+');
            const joiner = new IrcChunkJoiner(16384, { party: 'client' });
            let joined: string | undefined;
            let finished = -1;
            try {
              for (const [i, piece] of pieces.entries()) {
                const got = joiner.push(piece);
                if (got !== undefined && joined === undefined) {
                  joined = got;
                  finished = i;
                }
              }
            } catch (error) {
              checkThrown(error, 'IrcChunkJoiner');
              if (lengths.length === 0) throw new FuzzViolation(`honest chunks of ${data.length} bytes were refused`);
              return;
            }
            noteOutcome(joined === undefined ? 'pending' : 'joined');
            const wellCut = pieces.slice(0, -1).every((piece) => piece.length === 400 || piece === '+');
            if (lengths.length === 0 && joined !== base64)
              throw new FuzzViolation(`honest chunks of ${data.length} bytes did not come back whole`);
            if (joined !== undefined && finished === pieces.length - 1 && wellCut && joined !== base64 && base64 !== '')
              throw new FuzzViolation('well-cut chunks joined to something else');
          },
        ),
    },
    {
      name: 'profile ircServerRegister',
      group: 'profile',
      cost: 3,
      property: () =>
        fc.asyncProperty(registrationArb, async (lines) => {
          const queue = new LineQueue();
          for (const line of lines) queue.push(line);
          queue.end();
          try {
            const result = await ircServerRegister({
              auth: AUTH,
              options: OPTIONS,
              lines: queue,
              write: () => undefined,
              maxCommands: 30,
            });
            if (result.sasl !== undefined && !lines.some((line) => line.includes(RIGHT)))
              throw new FuzzViolation('logged in without the password');
            noteOutcome(result.sasl === undefined ? 'registered' : 'registered with SASL');
          } catch (error) {
            checkThrown(error, 'ircServerRegister');
          }
        }),
    },
    {
      name: 'profile ircLogin',
      group: 'profile',
      cost: 2,
      property: () =>
        fc.asyncProperty(
          fc.array(lineArb(SERVER_LINES), { maxLength: 12 }),
          fc.constantFrom('PLAIN', 'SCRAM-SHA-256', undefined),
          async (lines, mechanism) => {
            const queue = new LineQueue();
            for (const line of lines) queue.push(line);
            queue.end();
            const written: string[] = [];
            try {
              await ircLogin({
                nick: 'alice',
                credentials: new ClientCredentials('alice', PASSWORD),
                auth: AUTH,
                ...(mechanism === undefined ? {} : { mechanism }),
                lines: queue,
                write: (line) => {
                  written.push(line);
                },
                requireSasl: lines.length % 2 === 0,
              });
              noteOutcome('welcomed');
            } catch (error) {
              checkThrown(error, 'ircLogin');
            }
            if (written.some((line) => line.length > 510))
              throw new FuzzViolation('the client wrote a line over 510 octets');
          },
        ),
    },
  ];
}
