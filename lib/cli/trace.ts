/**
 * `--trace`: the lines of a connection, with SASL messages decoded from base64 and shown in
 * double quotes, and secrets replaced by `[redacted]`: PLAIN's password, LOGIN's password line,
 * CRAM-MD5's digest, DIGEST-MD5's `response=` and `rspauth=`, SCRAM's proof (`p=`) and server
 * signature (`v=`), the bearer token of OAUTHBEARER and XOAUTH2, and the password of IMAP's
 * LOGIN and POP3's PASS commands. Messages of a mechanism the tracer does not know are not
 * shown at all. On the client side the known secrets are also scrubbed from every line, as a
 * last line of defence.
 *
 * The tracer follows the line stream by itself: a client line `AUTH <mech> [ir]` or
 * `<tag> AUTHENTICATE <mech> [ir]` starts an exchange; `334`/`+` lines from the server are
 * challenges; any other server line ends it.
 * @module
 */
import { type LineSource, type LineWriter, fromBase64, lineIterator } from '../index.js';
import { scrub } from './io.js';

/** Which end of the connection the trace is written at. */
export type TraceSide = 'client' | 'server';

/** Options of {@link LineTracer}. */
export interface LineTracerOptions {
  readonly side: TraceSide;
  /** Put before every line (a connection label on a server). */
  readonly prefix?: string;
  /** Secrets to scrub from every line (the client knows its password or token). */
  readonly secrets?: readonly string[];
}

/** Where the tracer is in an exchange. */
interface Exchange {
  readonly mechanism: string;
  /** Client messages seen so far (the initial response counts). */
  clientMessages: number;
  /** The last challenge, decoded. */
  lastChallenge: string | undefined;
}

const REDACTED = '[redacted]';

/** Escapes text for display inside double quotes: control characters, quotes and backslashes. */
export function escapeText(text: string): string {
  return text.replace(/[\p{Cc}"\\]/gu, (char) => {
    if (char === '\0') return '\\0';
    if (char === '"' || char === '\\') return `\\${char}`;
    if (char === '\r') return '\\r';
    if (char === '\n') return '\\n';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Escapes a raw protocol line (no quotes around it). */
function escapeLine(line: string): string {
  return line.replace(/\p{Cc}/gu, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Decodes a base64 payload for display; undefined when it is not strict base64. */
function decode(payload: string): string | undefined {
  if (payload === '=' || payload === '') return '';
  try {
    return Buffer.from(fromBase64(payload)).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Replaces the values of `name=` fields separated by `separator`. */
function redactFields(text: string, separator: string, names: readonly string[]): string {
  return text
    .split(separator)
    .map((field) => {
      const eq = field.indexOf('=');
      return eq !== -1 && names.includes(field.slice(0, eq).toLowerCase()) ? `${field.slice(0, eq + 1)}${REDACTED}` : field;
    })
    .join(separator);
}

/** A client message of `mechanism`, secrets redacted, escaped and quoted. */
export function renderClientMessage(mechanism: string, text: string, exchange: Pick<Exchange, 'clientMessages' | 'lastChallenge'>): string {
  const quote = (shown: string): string => `"${shown}"`;
  if (mechanism === 'PLAIN') {
    const parts = text.split('\0');
    return parts.length === 3 ? quote(`${escapeText(parts[0] ?? '')}\\0${escapeText(parts[1] ?? '')}\\0${REDACTED}`) : REDACTED;
  }
  if (mechanism === 'LOGIN') {
    // The user name is the initial response or the answer to a "Username:" prompt; anything else is the password.
    const isUser = exchange.lastChallenge === undefined ? exchange.clientMessages === 0 : /user/i.test(exchange.lastChallenge);
    return isUser ? quote(escapeText(text)) : REDACTED;
  }
  if (mechanism === 'CRAM-MD5') {
    const space = text.lastIndexOf(' ');
    return space === -1 ? REDACTED : quote(`${escapeText(text.slice(0, space))} ${REDACTED}`);
  }
  if (mechanism === 'DIGEST-MD5') return quote(escapeText(text).replace(/(^|,)(response=)[^,]*/gi, `$1$2${REDACTED}`));
  // Only the client-final message carries the proof; client-first's `p=` is the channel-binding type.
  if (mechanism.startsWith('SCRAM-')) return quote(escapeText(text.startsWith('c=') ? redactFields(text, ',', ['p']) : text));
  if (mechanism === 'OAUTHBEARER' || mechanism === 'XOAUTH2') return quote(escapeText(redactFields(text, '\x01', ['auth'])));
  if (mechanism === 'EXTERNAL' || mechanism === 'ANONYMOUS') return quote(escapeText(text));
  return `[${Buffer.byteLength(text)} bytes, not shown]`;
}

/** A server challenge of `mechanism`, secrets redacted, escaped and quoted. */
export function renderServerMessage(mechanism: string, text: string): string {
  if (mechanism.startsWith('SCRAM-')) return `"${escapeText(redactFields(text, ',', ['v']))}"`;
  if (mechanism === 'DIGEST-MD5') return `"${escapeText(text).replace(/(^|,)(rspauth=)[^,]*/gi, `$1$2${REDACTED}`)}"`;
  return `"${escapeText(text)}"`;
}

const IMAP_AUTH = /^(\S+ AUTHENTICATE) ([A-Za-z0-9_-]{1,20})(?: (\S+))? *$/i;
const AUTH = /^(AUTH) ([A-Za-z0-9_-]{1,20})(?: (\S+))? *$/i;
const IMAP_LOGIN = /^(\S+ LOGIN )((?:"(?:[^"\\]|\\.)*"|[^\s"{]+) )?/i;
const POP3_SECRET = /^(PASS|APOP \S+)( |$)/i;
const SMTP_CHALLENGE = /^334(?: (.*))?$/;
const CONTINUATION = /^\+(?: (.*))?$/;

/** Follows one connection's lines and writes the trace. */
export class LineTracer {
  readonly #out: (line: string) => void;
  readonly #options: LineTracerOptions;
  #exchange: Exchange | undefined;

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
    this.#emit(`${from === 'client' ? 'C' : 'S'}: ${from === 'client' ? this.#client(text) : this.#server(text)}`);
  }

  #emit(text: string): void {
    this.#out(scrub(`${this.#options.prefix ?? ''}${text}`, this.#options.secrets ?? []));
  }

  #client(line: string): string {
    const exchange = this.#exchange;
    if (exchange !== undefined) {
      if (line === '*') return '*';
      const text = decode(line);
      const shown = text === undefined ? `[not base64, ${line.length} characters]` : renderClientMessage(exchange.mechanism, text, exchange);
      exchange.clientMessages += 1;
      return shown;
    }
    const command = IMAP_AUTH.exec(line) ?? AUTH.exec(line);
    if (command) {
      const mechanism = (command[2] ?? '').toUpperCase();
      const started: Exchange = { mechanism, clientMessages: 0, lastChallenge: undefined };
      this.#exchange = started;
      const initial = command[3];
      if (initial === undefined) return `${command[1] ?? ''} ${mechanism}`;
      const text = decode(initial);
      const shown = text === undefined ? '[not base64]' : renderClientMessage(mechanism, text, started);
      started.clientMessages += 1;
      return `${command[1] ?? ''} ${mechanism} ${shown}`;
    }
    const login = IMAP_LOGIN.exec(line);
    if (login) return `${escapeLine(login[1] ?? '')}${escapeLine(login[2] ?? '')}${REDACTED}`;
    const pop3 = POP3_SECRET.exec(line);
    if (pop3) return `${escapeLine(pop3[1] ?? '')} ${REDACTED}`;
    return escapeLine(line);
  }

  #server(line: string): string {
    const exchange = this.#exchange;
    if (exchange === undefined) return escapeLine(line);
    const challenge = SMTP_CHALLENGE.exec(line) ?? CONTINUATION.exec(line);
    if (challenge) {
      const payload = challenge[1] ?? '';
      const text = decode(payload);
      exchange.lastChallenge = text;
      const head = line.startsWith('334') ? '334' : '+';
      return `${head} ${text === undefined ? `[not base64, ${payload.length} characters]` : renderServerMessage(exchange.mechanism, text)}`;
    }
    // Untagged IMAP data during an exchange (a CAPABILITY update) does not end it.
    if (!line.startsWith('* ')) this.#exchange = undefined;
    return escapeLine(line);
  }
}
