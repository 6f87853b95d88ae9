/**
 * The line profiles' client framing (SMTP, IMAP, POP3, ManageSieve, IRC): a profile gives a
 * {@link ClientDialect} (its command, how a challenge and the final reply look) and
 * {@link runClientProfile} runs the exchange on the one client loop (client-loop.ts).
 * @module
 */
import type { ClientCredentials } from '../passwords/credentials.js';
import { type SaslError, UsageError } from '../core/errors.js';
import { type ClientMechanism, type ClientOptions } from '../core/mechanism.js';
import { type ChooseOptions, type ClientChoice, SASLAuth } from '../core/registry.js';
import { type LineSource, type LineWriter } from '../transport/lines.js';
import { type ClientFraming, runClientLoop } from './client-loop.js';
import {
  CANCEL_LINE,
  LineInput,
  type LineLimits,
  type ProfileContext,
  decodeLineData,
  encodeInitialResponse,
  encodeLineData,
  writeLines,
} from './line-input.js';

export type ClientReply =
  | { readonly kind: 'challenge'; readonly data: string }
  | { readonly kind: 'success'; readonly data: Uint8Array | undefined; readonly text: string }
  | { readonly kind: 'failure'; readonly error: SaslError };

/** What a client profile decides; {@link runClientProfile} does the rest. @internal */
export interface ClientDialect {
  /** Whether the server accepts an initial response with the command (SASL-IR in IMAP). */
  readonly initialResponseAllowed: boolean;
  /** The command lines; undefined when the initial response would make the command too long. */
  command(mechanism: string, initial: Uint8Array | undefined): readonly string[] | undefined;
  /** The lines that carry a response. */
  response(data: Uint8Array): readonly string[];
  /** The lines that cancel the exchange. */
  cancel(): readonly string[];
  /** Reads the server's next reply. */
  readReply(input: LineInput, context: ProfileContext): Promise<ClientReply>;
}

/**
 * The client side of the profiles that send the initial response as the command's last
 * argument and responses as bare base64 lines, `*` cancelling (SMTP, POP3, IMAP). They differ
 * in the command's words and in how replies read. @internal
 */
export abstract class Base64LineClientDialect implements ClientDialect {
  abstract readonly initialResponseAllowed: boolean;

  /** `maxCommandLength`: the longest command sent with an initial response, CRLF included. */
  constructor(private readonly maxCommandLength: number) {}

  /** The command without an initial response: `AUTH PLAIN`, `A1 AUTHENTICATE PLAIN`. */
  protected abstract commandWords(mechanism: string): string;

  abstract readReply(input: LineInput, context: ProfileContext): Promise<ClientReply>;

  command(mechanism: string, initial: Uint8Array | undefined): string[] | undefined {
    const words = this.commandWords(mechanism);
    if (initial === undefined) return [words];
    const line = `${words} ${encodeInitialResponse(initial)}`;
    return line.length + 2 > this.maxCommandLength ? undefined : [line];
  }

  response(data: Uint8Array): string[] {
    return [encodeLineData(data)];
  }

  cancel(): string[] {
    return [CANCEL_LINE];
  }
}

/** A `+ <base64>` continuation (POP3, IMAP; a bare `+` is an empty one) as a challenge, else undefined. @internal */
export function continuationChallenge(line: string): ClientReply | undefined {
  if (line === '+') return { kind: 'challenge', data: '' };
  if (line.startsWith('+ ')) return { kind: 'challenge', data: line.slice(2) };
  return undefined;
}

/** Arguments every client profile takes. */
export interface LineClientAuthOptions {
  /** Who to authenticate as. */
  readonly credentials: ClientCredentials;
  /** The mechanism to use, by name or as an object. Default: the strongest one the server offers. */
  readonly mechanism?: string | ClientMechanism;
  /** The client mechanisms to choose from and to look names up in. Default {@link SASLAuth.all}. */
  readonly auth?: SASLAuth;
  /**
   * How to choose among the offered mechanisms: preference, and `encrypted: false` on a
   * connection without TLS (then PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 are not chosen unless
   * `allowPlaintext`). The credentials' kind (password or token) is considered, and -PLUS is
   * chosen when `client` carries channel-binding data, unless this says otherwise.
   */
  readonly choose?: ChooseOptions;
  /** Options for the client mechanism (host name, service, channel binding ...). */
  readonly client?: ClientOptions;
  /** The server's lines after the command is sent. */
  readonly lines: LineSource;
  /** Sends a line to the server (the writer adds CRLF). */
  readonly write: LineWriter;
  /** Line, message and round limits. */
  readonly limits?: LineLimits;
  /** Set to false to never send an initial response with the command. Default true (where the server allows it). */
  readonly initialResponse?: boolean;
}

/** The result of a client exchange the server accepted. */
export interface LineClientResult {
  /** The mechanism used. */
  readonly mechanism: string;
  /** True when the server proved that it knows the credentials too (SCRAM, DIGEST-MD5). */
  readonly serverVerified: boolean;
  /** How many times the client sent and waited for the server: the command, then each response. */
  readonly roundTrips: number;
  /** The text of the server's success reply. */
  readonly text: string;
}

/**
 * Picks the client mechanism (the one named, or the strongest offered that suits the
 * credentials and the transport) and the options to run it with, through
 * {@link SASLAuth.negotiateClient}: the GS2 channel-binding flag follows RFC 5802 section 6. @internal
 */
export function pickClientMechanism(
  args: LineClientAuthOptions,
  offered: Iterable<string> | undefined,
  protocol: string,
): ClientChoice {
  const registry = args.auth ?? SASLAuth.all();
  if (args.mechanism === undefined && offered === undefined)
    throw new UsageError(`${protocol}: pass the mechanism to use, or what the server offers`);
  return registry.negotiateClient(offered, {
    mechanism: args.mechanism,
    credentials: args.credentials,
    choose: args.choose,
    client: args.client,
    peer: `the ${protocol} server`,
  });
}

/**
 * Runs the client side of one exchange on the one client loop (client-loop.ts) with the line
 * framing: the command carries the initial response when it fits and the server allows it
 * (otherwise it follows the server's empty challenge), responses and the cancel are the
 * dialect's lines, and the server's replies read through the dialect. A failure reply rejects
 * with the error the dialect built from it (the mechanism may refine it). When the client
 * mechanism cannot answer a challenge, the client cancels, consumes the server's reply to that,
 * and rejects with its own error. @internal
 */
export async function runClientProfile(
  dialect: ClientDialect,
  args: LineClientAuthOptions,
  pick: () => ClientChoice,
  defaultMaxLineLength: number,
): Promise<LineClientResult> {
  const { mechanism, client } = pick();
  const limits = args.limits ?? {};
  const input = new LineInput(args.lines, limits.maxLineLength ?? defaultMaxLineLength, limits.signal);
  const context: ProfileContext = { mechanism: mechanism.name, party: 'server' };
  const write = async (lines: readonly string[]): Promise<void> => {
    await writeLines(args.write, lines);
  };
  const framing: ClientFraming<string> = {
    initialResponseAllowed: dialect.initialResponseAllowed,
    async open(name, initial) {
      const command = dialect.command(name, initial);
      // RFC 4954 section 4: an initial response that does not fit waits for the empty challenge.
      await write(command ?? dialect.command(name, undefined) ?? []);
      return command !== undefined;
    },
    respond: (data) => write(dialect.response(data)),
    next: () => dialect.readReply(input, context),
    decode: (text) => decodeLineData(text, 'server challenge', context),
    async cancel() {
      try {
        await write(dialect.cancel());
        // Servers answer a cancellation with BAD, NO, 501 or -ERR; any answer puts the connection back in step.
        await dialect.readReply(input, context);
      } catch {
        // The exchange already failed; how the server takes the cancellation does not change that.
      }
    },
  };
  const { outcome, roundTrips, text } = await runClientLoop(
    framing,
    mechanism.name,
    mechanism.client(args.credentials, client),
    limits,
    args.initialResponse !== false,
  );
  return { mechanism: mechanism.name, serverVerified: outcome.serverVerified, roundTrips, text };
}
