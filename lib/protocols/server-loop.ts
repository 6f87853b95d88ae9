/**
 * The one server loop every protocol profile runs (SMTP, IMAP, POP3, ManageSieve, IRC, XMPP,
 * PostgreSQL, LDAP): a profile subclasses {@link ServerLoop} with its framing (how the opening
 * message names a mechanism, how a challenge, a response, a success and a failure look on its
 * wire, and where the peer's messages come from) and the loop does the rest once: the registry
 * lookup, the exchange on the stepping core, server-final data as a last challenge where a
 * success cannot carry it, cancel, and settling the host's promise once.
 *
 * The rules the core enforces (message and round limits, the initial response, the signal) are
 * left to the core; the loop only hands it messages. The loop is a callback state machine, not
 * an async function: a connection parked mid-exchange is this object registered with its input
 * (no suspended async frame, no promise), and a step the core finishes on the calling tick (a
 * store in memory) costs no promise either; `npm run bench -- smtp memory` measures both.
 * @module
 */
import { type ServerStep, type SessionOptions } from '../core/core.js';
import { ServerCore } from '../core/server-core.js';
import {
  ExchangeAbortedError,
  MechanismUnavailableError,
  UnexpectedMessageError,
  isSaslError,
} from '../core/errors.js';
import type { Authenticated } from '../core/exchange.js';
import type { ServerMechanism } from '../core/mechanism.js';
import type { ServerOptions } from '../core/options.js';
import {
  CANCEL,
  type MessageConsumer,
  type MessageInput,
  type ProfileContext,
  ProfileFailure,
  unwrapFailure,
} from './profile.js';
import { newPromise, takeReject, takeResolve } from '../transport/line-queue.js';

/** What the client's opening message asks for: a mechanism by name, and its initial response in the wire's form. @internal */
export interface ServerOpening {
  /** The mechanism name as the client sent it. */
  readonly mechanism: string;
}

/** A write that may have to wait (backpressure): a promise then, `undefined` when it is done. @internal */
export type Written = Promise<void> | undefined;

const CLIENT_CONTEXT: ProfileContext = Object.freeze({ party: 'client' });
// One frozen context per mechanism name, shared by every exchange of it.
const MECHANISM_CONTEXTS = new Map<string, ProfileContext>();

/** The error context of an exchange of `mechanism` whose peer is the client. @internal */
export function clientContext(mechanism: string): ProfileContext {
  let context = MECHANISM_CONTEXTS.get(mechanism);
  if (context === undefined) {
    context = Object.freeze({ mechanism, party: 'client' as const });
    MECHANISM_CONTEXTS.set(mechanism, context);
  }
  return context;
}

/**
 * One server exchange over a profile's framing. `M` is the wire's message (a line, an XML
 * element, a PostgreSQL or LDAP message) and `O` the parsed opening. A subclass implements the
 * framing and calls {@link ServerLoop.run}; the loop calls back into it. @internal
 */
export abstract class ServerLoop<M, O extends ServerOpening> implements MessageConsumer<M> {
  /** The error context: the client, with the mechanism once it is known. */
  protected context: ProfileContext = CLIENT_CONTEXT;
  #core: ServerCore | undefined;
  // Set once server-final data went out as a challenge: the next message acknowledges it.
  #final: Authenticated | undefined;
  #resolve: ((outcome: Authenticated) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  /** The message of the error for a mechanism the server does not offer. (Getters, not fields: a parked exchange carries no slot for them.) */
  protected get unknownMechanismText(): string {
    return 'the client asked for a mechanism the server does not offer';
  }

  /** Where the client's messages come from. */
  protected abstract readonly input: MessageInput<M>;

  /** Whether the success message can carry additional data; otherwise it goes out as a last challenge first. */
  protected abstract get successCarriesData(): boolean;

  /** Parses the opening message (it may read more, e.g. an IMAP literal); throws a {@link ProfileFailure} or a typed error. */
  protected abstract open(message: M): O | Promise<O>;

  /** The mechanism the opening names, among those the server offers: the registry's lookup, maybe narrowed. */
  protected abstract select(opening: O): ServerMechanism | undefined;

  /** Decodes the opening's initial response (`undefined`: none); {@link ServerLoop.context} names the mechanism by then. */
  protected abstract initial(opening: O): Uint8Array | undefined;

  /** The options the mechanism runs with. */
  protected abstract serverOptions(mechanism: ServerMechanism): ServerOptions;

  /** The session's limits and signal. */
  protected abstract limits(): SessionOptions;

  /** Writes a challenge. */
  protected abstract challenge(data: Uint8Array): Written;

  /** Parses a client message that answers a challenge: its data, or {@link CANCEL}. */
  protected abstract response(message: M): Uint8Array | typeof CANCEL | Promise<Uint8Array | typeof CANCEL>;

  /** Writes the success message (with the outcome's additional data where {@link successCarriesData}) and returns what the host gets. */
  protected abstract success(outcome: Authenticated): Authenticated | Promise<Authenticated>;

  /** Writes the failure reply `thrown` calls for, unless the connection is gone. Must not throw. */
  protected abstract failure(thrown: unknown): Written;

  /** The core runs: what only the start needed (the opening's arguments) can be let go. */
  protected started(): void {
    // Nothing to let go by default.
  }

  /**
   * Runs the exchange from the opening message (read from the input when `opening` is
   * undefined). Resolves once the success went out; rejects with the typed error (or the error
   * a store threw) once the failure reply went out.
   */
  protected run(opening: M | undefined): Promise<Authenticated> {
    // No closure per exchange for the executor (`npm run bench -- smtp`): see newPromise.
    const promise = newPromise<Authenticated>();
    this.#resolve = takeResolve();
    this.#reject = takeReject();
    try {
      const message = opening ?? this.input.poll(this, this.context);
      if (message !== undefined) this.#opened(message);
    } catch (thrown) {
      this.#fail(thrown);
    }
    return promise;
  }

  /** {@link MessageConsumer}: the message the exchange waited for. */
  message(message: M): void {
    try {
      if (this.#core === undefined) this.#opened(message);
      else this.#answered(message);
    } catch (thrown) {
      this.#fail(thrown);
    }
  }

  /** {@link MessageConsumer}: the input ended, failed or timed out instead. */
  failed(error: unknown): void {
    this.#fail(error);
  }

  #opened(message: M): void {
    const opening = this.open(message);
    if (opening instanceof Promise) {
      opening.then(
        (parsed) => {
          try {
            this.#start(parsed);
          } catch (thrown) {
            this.#fail(thrown);
          }
        },
        (thrown: unknown) => {
          this.#fail(thrown);
        },
      );
    } else {
      this.#start(opening);
    }
  }

  #start(opening: O): void {
    const mechanism = this.select(opening);
    if (mechanism === undefined)
      throw new ProfileFailure(
        'unknownMechanism',
        new MechanismUnavailableError(this.unknownMechanismText, this.context),
      );
    this.context = clientContext(mechanism.name);
    const initial = this.initial(opening);
    const core = new ServerCore(mechanism.server(this.serverOptions(mechanism), initial), {
      ...this.limits(),
      mechanism: mechanism.name,
      initialResponse: initial,
    });
    this.#core = core;
    this.started();
    let step: ServerStep | Promise<ServerStep>;
    try {
      step = core.start(false);
    } catch (error) {
      throw refused(error, mechanism, initial);
    }
    if (step instanceof Promise)
      step.then(
        (first) => {
          this.#advance(first);
        },
        (error: unknown) => {
          this.#fail(refused(error, mechanism, initial));
        },
      );
    else this.#advance(step);
  }

  // Sends steps and reads answers until the exchange needs a message that is not there yet, or ends.
  #advance(first: ServerStep): void {
    let step = first;
    try {
      for (;;) {
        let written: Written;
        if (!step.done) {
          written = this.challenge(step.challenge);
        } else {
          const outcome = step.outcome;
          const extra = outcome.additionalData;
          if (this.#final !== undefined || extra === undefined || extra.length === 0 || this.successCarriesData) {
            this.#succeed(outcome);
            return;
          }
          // RFC 4422 section 5 (point 7): without a success-data field the data is a challenge
          // and the client acknowledges it with an empty response.
          this.#final = outcome;
          written = this.challenge(extra);
        }
        if (written !== undefined) {
          written.then(
            () => {
              this.#next();
            },
            (error: unknown) => {
              this.#fail(error);
            },
          );
          return;
        }
        const message = this.input.poll(this, this.context);
        if (message === undefined) return;
        const next = this.#answer(message);
        if (next instanceof Promise) {
          this.#later(next);
          return;
        }
        step = next;
      }
    } catch (thrown) {
      this.#fail(thrown);
    }
  }

  // After a write that waited: the client's next message, now or when it comes.
  #next(): void {
    try {
      const message = this.input.poll(this, this.context);
      if (message !== undefined) this.#answered(message);
    } catch (thrown) {
      this.#fail(thrown);
    }
  }

  #answered(message: M): void {
    const next = this.#answer(message);
    if (next instanceof Promise) this.#later(next);
    else this.#advance(next);
  }

  #later(next: Promise<ServerStep>): void {
    next.then(
      (step) => {
        this.#advance(step);
      },
      (error: unknown) => {
        this.#fail(error);
      },
    );
  }

  // A client message: a response for the mechanism, or the acknowledgement of server-final data.
  #answer(message: M): ServerStep | Promise<ServerStep> {
    const parsed = this.response(message);
    if (parsed instanceof Promise) return parsed.then((response) => this.#step(response));
    return this.#step(parsed);
  }

  #step(response: Uint8Array | typeof CANCEL): ServerStep | Promise<ServerStep> {
    const core = this.#core as ServerCore;
    const final = this.#final;
    if (final !== undefined) {
      if (response === CANCEL) throw new ProfileFailure('cancelled', new ExchangeAbortedError(undefined, this.context));
      if (response.length > 0)
        throw new ProfileFailure(
          'malformed',
          new UnexpectedMessageError('expected an empty response to the server-final data', this.context),
        );
      return { done: true, outcome: final };
    }
    if (response === CANCEL) throw new ProfileFailure('cancelled', core.abort('client'));
    return core.respond(response, false);
  }

  #succeed(outcome: Authenticated): void {
    const result = this.success(outcome);
    if (result instanceof Promise)
      result.then(
        (value) => {
          this.#settle(value, undefined);
        },
        (error: unknown) => {
          this.#fail(error);
        },
      );
    else this.#settle(result, undefined);
  }

  // Writes the reply the failure calls for (the framing knows whether the connection is still there) and rejects.
  #fail(thrown: unknown): void {
    const core = this.#core;
    if (core !== undefined && !core.finished) core.abort('local');
    const error = unwrapFailure(thrown);
    let written: Written;
    try {
      written = this.failure(thrown);
    } catch {
      // A writer that threw: the connection is gone, and the exchange's own error is what the host needs.
    }
    if (written === undefined) this.#settle(undefined, error);
    else
      written.then(
        () => {
          this.#settle(undefined, error);
        },
        () => {
          // The connection is gone; the exchange's own error is what the host needs.
          this.#settle(undefined, error);
        },
      );
  }

  // Settles the host's promise once; later calls (a late write failure) are dropped.
  #settle(outcome: Authenticated | undefined, error: unknown): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    if (outcome !== undefined) resolve?.(outcome);
    else reject?.(error);
  }
}

// Whether a server-first mechanism takes an initial response is the mechanism's call (LOGIN
// takes the user name; CRAM-MD5 refuses); a refusal gets the protocol's own reply where it has one.
function refused(error: unknown, mechanism: ServerMechanism, initial: Uint8Array | undefined): unknown {
  if (initial !== undefined && !mechanism.clientFirst && isSaslError(error) && error.code === 'UNEXPECTED_MESSAGE')
    return new ProfileFailure('initialNotAllowed', error);
  return error;
}
