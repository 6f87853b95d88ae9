/**
 * `--trace`: the lines of a connection, with SASL messages decoded from base64 and shown in
 * double quotes, and secrets replaced by `[redacted]`: PLAIN's password, LOGIN's password line,
 * CRAM-MD5's digest, DIGEST-MD5's `response=` and `rspauth=`, SCRAM's proof (`p=`) and server
 * signature (`v=`), the bearer token of OAUTHBEARER and XOAUTH2, the password of IMAP's LOGIN
 * and POP3's PASS commands, APOP's digest, and IMAP literal data.
 *
 * The tracer fails closed. A message is shown only after the parser the exchange itself uses
 * (`parsePlainResponse`, `parseDigestMd5Directives`, `parseScramClientFinal` ...) accepted it,
 * and then rebuilt from the parsed fields with the secret ones left out: a message that parser
 * refuses, and every message of a mechanism the tracer does not know, is redacted whole
 * (`[redacted 24 bytes: ...]`, `[24 bytes, not shown]`). A line that looks like an
 * authentication command but is off the protocol's grammar (odd spacing, tabs, control
 * characters, extra words) is redacted whole too, and what follows it counts as part of an
 * exchange until the server ends it. On the client side the known secrets are also scrubbed from
 * every line, as a last line of defence.
 *
 * The tracer follows the line stream by itself: a client line `AUTH <mech> [ir]` or
 * `<tag> AUTHENTICATE <mech> [ir]` starts an exchange; `334`/`+` lines from the server are
 * challenges; any other server line ends it (IMAP's untagged `* ` lines do not).
 * @module
 */
import {
  type LineSource,
  REDACTED,
  type LineWriter,
  decodeInitialResponse,
  decodeLineData,
  MECHANISM_NAME,
  lineIterator,
} from '../index.js';
import { scrub } from './io.js';
import {
  type TraceExchange,
  displayText,
  redactedWhole,
  renderClientMessage,
  renderServerMessage,
} from './trace-messages.js';

/** Which end of the connection the trace is written at. */
export type TraceSide = 'client' | 'server';

/** Options of {@link LineTracer}. */
export interface LineTracerOptions {
  readonly side: TraceSide;
  /** Put before every line (a connection label on a server). */
  readonly prefix?: string;
  /** Secrets to scrub from every line (the client knows its password or token). */
  readonly secrets?: readonly string[];
  /** IRC: AUTHENTICATE carries the exchange in 400-byte chunks both ways; their payloads are not shown. */
  readonly irc?: boolean;
}

/** Where the tracer is in an exchange. */
interface Exchange extends TraceExchange {
  /** Upper case; `''` when the command was off the grammar, so that nothing of it is shown. */
  readonly mechanism: string;
}

/** IMAP literal data the client is sending (RFC 9051 `{n}`, RFC 7888 `{n+}`). */
interface Literal {
  /** Octets of literal data still to come. */
  remaining: number;
  /** A synchronizing literal waits for the server's `+`; a tagged refusal cancels it. */
  readonly sync: boolean;
  /** True once a line of it went by. */
  started: boolean;
}

/** Escapes a raw protocol line (no quotes around it). */
function escapeLine(line: string): string {
  return line.replace(/\p{Cc}/gu, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// The strict forms of the authentication commands: SMTP's and POP3's AUTH (parseAuthCommand)
// and IMAP's AUTHENTICATE with its tag (the IMAP profile's parseCommand). Printable ASCII,
// single spaces, a valid mechanism name, at most one argument, trailing spaces tolerated.
const NAME = MECHANISM_NAME.source.slice(1, -1);
const AUTH = new RegExp(`^(AUTH) (${NAME})(?: ([\\x21-\\x7e]+))? *$`, 'i');
const IMAP_AUTH = new RegExp(
  `^([!#$&'\\x2c-\\x5b\\x5d-\\x7a|}~]+ AUTHENTICATE) (${NAME})(?: ([\\x21-\\x7e]+))? *$`,
  'i',
);
// Commands that ask for nothing and carry nothing: POP3's mechanism list, an AUTHENTICATE without a mechanism.
const HARMLESS_AUTH = /^(?:AUTH|[\x21-\x7e]+ AUTHENTICATE) *$/i;
const IMAP_LOGIN = /^([!#$&'\x2c-\x5b\x5d-\x7a|}~]+ LOGIN) ("(?:[^"\\\r\n]|\\["\\])*"|[^\s"{}()%*\\]+) /i;
const APOP = /^(APOP) ([\x21-\x7e]+) /i;
const LITERAL = /\{([0-9]{1,10})(\+?)\}$/;
const BASE64_TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;
// Single-word commands of SMTP and POP3 that may look like base64.
const PLAIN_COMMANDS = new Set([
  'QUIT',
  'NOOP',
  'RSET',
  'DATA',
  'HELP',
  'STARTTLS',
  'STLS',
  'CAPA',
  'STAT',
  'LIST',
  'UIDL',
  'LAST',
  'TURN',
]);
const SMTP_CHALLENGE = /^334(?: (.*))?$/;
const CONTINUATION = /^\+(?: (.*))?$/;
// An IRC message: optional tags and source (kept as they are), the command, the rest.
const IRC_LINE = /^((?:@\S+ +)?(?::\S+ +)?)(\S+)(?: +(.*))?$/;

/** The words of a line, split at white space and control characters (as a lenient peer might). */
function looseWords(line: string): string[] {
  // eslint-disable-next-line no-control-regex -- splitting at control characters is the point
  return line.split(/[\s\x00-\x1f\x7f]+/u).filter((word) => word !== '');
}

/** Follows one connection's lines and writes the trace. */
export class LineTracer {
  readonly #out: (line: string) => void;
  readonly #options: LineTracerOptions;
  #exchange: Exchange | undefined;
  #literal: Literal | undefined;
  /** IRC: an AUTHENTICATE exchange is under way (its mechanism was named). */
  #ircExchange = false;

  constructor(out: (line: string) => void, options: LineTracerOptions) {
    this.#out = out;
    this.#options = options;
  }

  /** A source that traces every line read from `source` (the peer's lines). Reads with `next()` only. */
  source(source: LineSource): AsyncIterator<string> {
    const iterator = lineIterator(source);
    const fromPeer = this.#options.side === 'client' ? 'server' : 'client';
    return {
      next: async () => {
        const result = await iterator.next();
        if (result.done !== true) this.line(fromPeer, result.value);
        return result;
      },
    };
  }

  /** A writer that traces every line before handing it to `write` (our lines). */
  writer(write: LineWriter): LineWriter {
    return (line) => {
      this.line(this.#options.side, line);
      return write(line);
    };
  }

  /** Writes a note (`-- TLS established ...`). */
  note(text: string): void {
    this.#emit(`-- ${text}`);
  }

  /** Traces one line sent by `from`. */
  line(from: TraceSide, line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const shown =
      this.#options.irc === true ? this.#irc(from, text) : from === 'client' ? this.#client(text) : this.#server(text);
    this.#emit(`${from === 'client' ? 'C' : 'S'}: ${shown}`);
  }

  #emit(text: string): void {
    this.#out(scrub(`${this.#options.prefix ?? ''}${text}`, this.#options.secrets ?? []));
  }

  /**
   * An IRC line. The client's first AUTHENTICATE names the mechanism; after it, until a 90x
   * numeric ends the exchange, every AUTHENTICATE argument but `+` and `*` is a chunk of a SASL
   * message, shown only by its length (a chunk may look like a mechanism name). PASS is hidden.
   */
  #irc(from: TraceSide, line: string): string {
    const message = IRC_LINE.exec(line);
    const command = (message?.[2] ?? '').toUpperCase();
    if (/^90[0-8]$/.test(command)) this.#ircExchange = false;
    if (command === 'PASS') return `${message?.[1] ?? ''}PASS ${REDACTED}`;
    if (command !== 'AUTHENTICATE') return escapeLine(line);
    const argument = (message?.[3] ?? '').replace(/^:/, '');
    const head = `${message?.[1] ?? ''}AUTHENTICATE`;
    if (argument === '+' || argument === '*') {
      if (argument === '*') this.#ircExchange = false;
      return `${head} ${argument}`;
    }
    if (from === 'client' && !this.#ircExchange && MECHANISM_NAME.test(argument)) {
      this.#ircExchange = true;
      return `${head} ${argument}`;
    }
    return `${head} [${argument.length} characters, not shown]`;
  }

  #client(line: string): string {
    if (this.#literal !== undefined) return this.#literalLine(line);
    const exchange = this.#exchange;
    if (exchange !== undefined) {
      if (line === '*') return '*';
      let bytes: Uint8Array;
      try {
        bytes = decodeLineData(line, 'client response');
      } catch {
        return `[not base64, ${line.length} characters]`;
      }
      const shown = renderClientMessage(exchange.mechanism, bytes, exchange);
      exchange.clientMessages += 1;
      return shown;
    }
    const shown = this.#command(line);
    this.#expectLiteral(line);
    return shown;
  }

  /** A command line outside an exchange. */
  #command(line: string): string {
    const words = looseWords(line);
    const verb = (words[0] ?? '').toUpperCase();
    const second = (words[1] ?? '').toUpperCase();
    if (verb.startsWith('AUTH') || second.startsWith('AUTH')) return this.#authCommand(line);
    if (verb === 'LOGIN' || second === 'LOGIN') {
      const login = IMAP_LOGIN.exec(line);
      return login
        ? `${login[1] ?? ''} ${escapeLine(login[2] ?? '')} ${REDACTED}`
        : redactedWhole(Buffer.byteLength(line));
    }
    if (verb === 'PASS') return `PASS ${REDACTED}`;
    if (verb === 'APOP') {
      const apop = APOP.exec(line);
      return apop ? `${apop[1] ?? ''} ${apop[2] ?? ''} ${REDACTED}` : `APOP ${REDACTED}`;
    }
    // A lone base64 word is a response out of step with the exchange (a client that pipelined
    // after a refused AUTH), not a command.
    if (words.length === 1 && BASE64_TOKEN.test(verb) && verb.length % 4 === 0 && !PLAIN_COMMANDS.has(verb))
      return redactedWhole(Buffer.byteLength(line));
    return escapeLine(line);
  }

  /** A line that looks like AUTH or AUTHENTICATE: shown only in its strict form; it starts an exchange. */
  #authCommand(line: string): string {
    if (HARMLESS_AUTH.test(line)) return line;
    const command = AUTH.exec(line) ?? IMAP_AUTH.exec(line);
    if (!command) {
      // Off the grammar: nothing of it is shown, and nothing until the server ends the exchange.
      this.#exchange = { mechanism: '', clientMessages: 1, lastChallenge: undefined };
      return redactedWhole(Buffer.byteLength(line));
    }
    const mechanism = (command[2] ?? '').toUpperCase();
    const started: Exchange = { mechanism, clientMessages: 0, lastChallenge: undefined };
    this.#exchange = started;
    const initial = command[3];
    if (initial === undefined) return `${command[1] ?? ''} ${mechanism}`;
    let shown: string;
    try {
      shown = renderClientMessage(mechanism, decodeInitialResponse(initial), started);
    } catch {
      shown = '[not base64]';
    }
    started.clientMessages += 1;
    return `${command[1] ?? ''} ${mechanism} ${shown}`;
  }

  /** After a client line that ends with `{n}` or `{n+}`, the next lines hold literal data. */
  #expectLiteral(line: string): void {
    const literal = LITERAL.exec(line);
    this.#literal = literal ? { remaining: Number(literal[1]), sync: literal[2] !== '+', started: false } : undefined;
  }

  /**
   * A line holding literal data: redacted whole, even the part after the literal (the rest of
   * the command), which may start another literal.
   */
  #literalLine(line: string): string {
    const literal = this.#literal as Literal;
    literal.started = true;
    const bytes = Buffer.byteLength(line);
    if (literal.remaining > bytes) {
      // The literal goes on past this line's CRLF.
      literal.remaining = Math.max(0, literal.remaining - bytes - 2);
    } else {
      this.#expectLiteral(line);
    }
    return redactedWhole(bytes);
  }

  #server(line: string): string {
    const literal = this.#literal;
    // A tagged refusal before any literal data cancels a synchronizing literal (RFC 9051 section 4.3).
    if (literal !== undefined && literal.sync && !literal.started && !line.startsWith('+') && !line.startsWith('* '))
      this.#literal = undefined;
    const exchange = this.#exchange;
    if (exchange === undefined) return escapeLine(line);
    const challenge = SMTP_CHALLENGE.exec(line) ?? CONTINUATION.exec(line);
    if (challenge) {
      const payload = challenge[1] ?? '';
      const head = line.startsWith('334') ? '334' : '+';
      let bytes: Uint8Array;
      try {
        bytes = decodeLineData(payload, 'challenge');
      } catch {
        exchange.lastChallenge = undefined;
        exchange.lastChallengeBytes = undefined;
        return `${head} [not base64, ${payload.length} characters]`;
      }
      exchange.lastChallenge = displayText(bytes);
      exchange.lastChallengeBytes = bytes;
      return `${head} ${renderServerMessage(exchange.mechanism, bytes, exchange)}`;
    }
    // Untagged IMAP data during an exchange (a CAPABILITY update) does not end it.
    if (!line.startsWith('* ')) this.#exchange = undefined;
    return escapeLine(line);
  }
}
