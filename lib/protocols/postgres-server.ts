/**
 * The server side of PostgreSQL SASL authentication: {@link postgresServerAuth} reads the
 * startup packet, offers the mechanisms and runs the exchange as the framing of the one server
 * loop (server-loop.ts): SASLInitialResponse opens, SASLContinue and SASLResponse carry the
 * exchange, SASLFinal and AuthenticationOk end it, and a failure is a FATAL ErrorResponse.
 * @module
 */
import { concat, utf8 } from '../core/bytes.js';
import { NO_OPTIONS, type SessionOptions } from '../core/core.js';
import { AuthenticationFailedError, UnexpectedMessageError, UsageError, isSaslError } from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { ServerMechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import { SASLAuth } from '../core/registry.js';
import type { PgMessage } from '../transport/pg.js';
import { raceSignal } from '../transport/signal.js';
import type { MessageSource } from '../transport/source.js';
import { PromisedInput, advertisedMechanisms, unwrapFailure } from './profile.js';
import { ServerLoop, type ServerOpening, type Written } from './server-loop.js';
import {
  PG_PROTOCOL_VERSION,
  type PgMessageReader,
  type PgStartupPacket,
  type PgWriter,
  buildPgAuthenticationOk,
  buildPgAuthenticationSASL,
  buildPgAuthenticationSASLContinue,
  buildPgAuthenticationSASLFinal,
  buildPgBackendKeyData,
  buildPgErrorResponse,
  buildPgMessage,
  buildPgParameterStatus,
  buildPgReadyForQuery,
  int32,
  parsePgSASLInitialResponse,
  readerOf,
} from './postgres-messages.js';

/**
 * The SQLSTATE and message a server reports for an error: `28P01` for wrong credentials,
 * `28000` when the user may not log in as asked, `08P01` for a protocol violation, `XX000`
 * otherwise (a credential store that threw). Messages are fixed texts.
 */
export function postgresErrorFor(error: unknown): { readonly code: string; readonly message: string } {
  if (!isSaslError(error)) return { code: 'XX000', message: 'authentication could not be completed' };
  switch (error.code) {
    case 'AUTHENTICATION_FAILED':
      return { code: '28P01', message: 'password authentication failed' };
    case 'AUTHORIZATION_FAILED':
    case 'MECHANISM_UNAVAILABLE':
      return { code: '28000', message: 'authentication refused' };
    case 'MALFORMED_MESSAGE':
    case 'UNEXPECTED_MESSAGE':
    case 'LIMIT_EXCEEDED':
    case 'ABORTED':
      return { code: '08P01', message: 'invalid SASL authentication message' };
    default:
      return { code: 'XX000', message: 'authentication could not be completed' };
  }
}

/** Arguments of {@link postgresServerAuth}. */
export interface PostgresServerAuthOptions {
  /**
   * The mechanisms to offer. Default: SCRAM-SHA-256-PLUS (when `options.channelBindingData`
   * has a type) and SCRAM-SHA-256, as PostgreSQL. -PLUS mechanisms are never advertised
   * without channel-binding data; with it and `options.requireChannelBinding`, only they are.
   */
  readonly auth?: SASLAuth;
  /** Store, policy and channel binding for the server mechanisms. */
  readonly options?: ServerOptions;
  /** The client's bytes (a socket), or a reader already in use. */
  readonly messages: PgMessageReader | MessageSource<Uint8Array>;
  /** Sends bytes to the client. */
  readonly write: PgWriter;
  /**
   * The startup packet's parameters, when the host read it already. Without them the server
   * reads the startup packet first, answering SSLRequest and GSSENCRequest with `N`.
   */
  readonly startup?: Readonly<Record<string, string>>;
  /**
   * Limits on SASL messages and rounds, and the exchange's time limit (`signal`): when it fires, a wait
   * for the client's next message ends too, with TIMEOUT (ABORTED for another abort
   * reason) blamed on the client; the connection is then out of step, so close it.
   */
  readonly session?: SessionOptions;
  /** Largest message accepted when `messages` is not a reader already. */
  readonly maxMessageBytes?: number;
}

/** The result of {@link postgresServerAuth}. */
export interface PostgresServerResult {
  /** The verified result; its `authcid` is the startup packet's user. */
  readonly authenticated: Authenticated;
  /** The startup parameters (`user`, `database`, `application_name`, ...). */
  readonly parameters: Readonly<Record<string, string>>;
  /** The reader, holding any bytes that arrived after the last authentication message. */
  readonly reader: PgMessageReader;
}

function advertised(auth: SASLAuth, options: ServerOptions): string[] {
  const channelBinding = (options.channelBindingData?.types.length ?? 0) > 0;
  return advertisedMechanisms(auth, { channelBinding, requireChannelBinding: options.requireChannelBinding === true });
}

async function readStartupParameters(
  readStartup: () => Promise<PgStartupPacket>,
  write: PgWriter,
): Promise<Readonly<Record<string, string>>> {
  // One SSLRequest and one GSSENCRequest at most, as PostgreSQL allows.
  for (let negotiations = 0; ; negotiations++) {
    const packet = await readStartup();
    if (packet.kind === 'startup') {
      // Answer a newer minor version with the one we speak (NegotiateProtocolVersion).
      if ((packet.version & 0xffff) !== 0)
        await write(buildPgMessage('v', concat(int32(PG_PROTOCOL_VERSION), int32(0))));
      return packet.parameters;
    }
    if (packet.kind === 'cancel')
      throw new UnexpectedMessageError('a CancelRequest is not a login', { party: 'client' });
    if (negotiations >= 2) throw new UnexpectedMessageError('too many encryption requests', { party: 'client' });
    // This server does not do TLS itself; the client may go on in the clear or hang up.
    await write(utf8('N'));
  }
}

/**
 * Runs the server side of PostgreSQL SASL authentication: optionally reads the startup packet,
 * sends AuthenticationSASL, runs the exchange (SCRAM's `n=` is ignored: the startup `user` is
 * the user, as in PostgreSQL), and writes SASLFinal (when the mechanism has final data) and
 * AuthenticationOk before resolving. The host then sends ParameterStatus, BackendKeyData and
 * ReadyForQuery ({@link buildPostgresReady}). On failure it writes a FATAL ErrorResponse
 * ({@link postgresErrorFor}) unless the client hung up, and rejects with the typed error (or
 * the error a credential store threw); PostgreSQL then closes the connection.
 */
export async function postgresServerAuth(args: PostgresServerAuthOptions): Promise<PostgresServerResult> {
  const reader = readerOf(args.messages, 'client', args.maxMessageBytes);
  const serverOptions = args.options ?? {};
  const run = new PgServerRun(args, reader);
  let parameters: Readonly<Record<string, string>>;
  let user: string;
  let names: string[];
  const auth = args.auth ?? SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
  try {
    // Before the exchange: the startup packet (its wait covered by the session's time limit too) and the offer.
    parameters =
      args.startup ??
      (await readStartupParameters(
        () => run.before(raceSignal(reader.readStartup(), args.session?.signal, { party: 'client' })),
        args.write,
      ));
    const named = parameters['user'];
    if (named === undefined || named === '') throw new UsageError('the startup parameters have no user');
    user = named;
    names = advertised(auth, serverOptions);
    if (names.length === 0) throw new UsageError('no mechanism to offer: -PLUS mechanisms need channelBindingData');
    await args.write(buildPgAuthenticationSASL(names));
  } catch (error) {
    await run.refuse(error);
    throw error;
  }
  const authenticated = await run.start(auth, names, user);
  return { authenticated, parameters, reader };
}

interface PgOpening extends ServerOpening {
  readonly initial: Uint8Array | undefined;
}

/** One PostgreSQL server exchange: the {@link ServerLoop} over PostgreSQL messages. */
class PgServerRun extends ServerLoop<PgMessage, PgOpening> {
  protected readonly input: PromisedInput<PgMessage>;
  protected get successCarriesData(): boolean {
    return true;
  }

  protected override get unknownMechanismText(): string {
    return 'the client chose a mechanism the server did not offer';
  }
  readonly #args: PostgresServerAuthOptions;
  #auth: SASLAuth | undefined;
  #names: readonly string[] = [];
  #user = '';
  // The client hung up before the exchange: no ErrorResponse then.
  #closed = false;

  constructor(args: PostgresServerAuthOptions, reader: PgMessageReader) {
    super();
    this.#args = args;
    this.input = new PromisedInput(() => reader.read(), args.session?.signal);
  }

  /** A read before the exchange: one that ends with the connection marks it closed. */
  before<T>(pending: Promise<T>): Promise<T> {
    return pending.catch((error: unknown) => {
      if (isSaslError(error) && error.code === 'ABORTED') this.#closed = true;
      throw error;
    });
  }

  /** Writes the ErrorResponse for a failure before the exchange. */
  async refuse(error: unknown): Promise<void> {
    try {
      await this.failure(error);
    } catch {
      // The connection is gone; the SASL outcome is what we report.
    }
  }

  start(auth: SASLAuth, names: readonly string[], user: string): Promise<Authenticated> {
    this.#auth = auth;
    this.#names = names;
    this.#user = user;
    return this.run(undefined);
  }

  protected open(message: PgMessage): PgOpening {
    if (message.type !== 'p') throw new UnexpectedMessageError('expected SASLInitialResponse', { party: 'client' });
    const initial = parsePgSASLInitialResponse(message.body);
    return { mechanism: initial.mechanism, initial: initial.data };
  }

  protected select(opening: PgOpening): ServerMechanism | undefined {
    return this.#names.includes(opening.mechanism) ? this.#auth?.getServer(opening.mechanism) : undefined;
  }

  protected initial(opening: PgOpening): Uint8Array | undefined {
    return opening.initial;
  }

  protected serverOptions(): ServerOptions {
    return { ...this.#args.options, transportAuthcid: this.#user };
  }

  protected limits(): SessionOptions {
    return this.#args.session ?? NO_OPTIONS;
  }

  protected challenge(data: Uint8Array): Written {
    return this.#args.write(buildPgAuthenticationSASLContinue(data)) ?? undefined;
  }

  protected response(message: PgMessage): Uint8Array {
    if (message.type !== 'p') throw new UnexpectedMessageError('expected SASLResponse', this.context);
    return message.body;
  }

  protected async success(outcome: Authenticated): Promise<Authenticated> {
    const user = this.#user;
    // Mechanisms that carry their own user name (PLAIN) must name the startup user.
    const sameUser = outcome.identity ? outcome.identity.compareAuthcid(user) : outcome.authcid === user;
    if (!sameUser) throw new AuthenticationFailedError(undefined, this.context);
    const write = this.#args.write;
    if (outcome.additionalData !== undefined) await write(buildPgAuthenticationSASLFinal(outcome.additionalData));
    await write(buildPgAuthenticationOk());
    return { ...outcome, authcid: user, authzid: outcome.authzid === outcome.authcid ? user : outcome.authzid };
  }

  protected failure(thrown: unknown): Written {
    if (this.#closed || this.input.closed) return undefined;
    const error = unwrapFailure(thrown);
    return this.#args.write(buildPgErrorResponse({ severity: 'FATAL', ...postgresErrorFor(error) })) ?? undefined;
  }
}

/** What a server sends after AuthenticationOk so that a client (psql) considers itself connected. */
export interface PostgresReadyOptions {
  /** ParameterStatus values; saslkit adds `server_version` 15.0, UTF8 encodings and ISO dates unless given. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** The backend process id for BackendKeyData. Default 1. */
  readonly processId?: number;
  /** The cancel key for BackendKeyData. Default 4 zero bytes (this server cannot cancel anything). */
  readonly secretKey?: Uint8Array;
}

/** Builds ParameterStatus messages, BackendKeyData and ReadyForQuery(`I`), in that order. */
export function buildPostgresReady(options: PostgresReadyOptions = {}): Uint8Array {
  const parameters = {
    server_version: '15.0',
    server_encoding: 'UTF8',
    client_encoding: 'UTF8',
    DateStyle: 'ISO, MDY',
    integer_datetimes: 'on',
    standard_conforming_strings: 'on',
    ...options.parameters,
  };
  return concat(
    ...Object.entries(parameters).map(([name, value]) => buildPgParameterStatus(name, value)),
    buildPgBackendKeyData(options.processId ?? 1, options.secretKey ?? new Uint8Array(4)),
    buildPgReadyForQuery('I'),
  );
}
