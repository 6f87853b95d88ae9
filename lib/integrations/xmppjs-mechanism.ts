/**
 * The xmpp.js side of a saslkit login (for `saslkit/xmpp.js`, see xmppjs.ts): the mechanism
 * classes xmpp.js's `saslmechanisms` factory instantiates, and the {@link Attempt} each drives,
 * one saslkit client session that also watches the stream for the `<success>` data xmpp.js drops.
 * Strings crossing to xmpp.js are binary strings (one character per byte).
 * @module
 */
import {
  type ClientCredentials,
  type ClientMechanism,
  type ClientOptions,
  MalformedMessageError,
  PromiseClientSession,
  type SaslError,
  type SessionOptions,
  UsageError,
  XMPP_FAILURE_CONDITIONS,
  XMPP_SASL_NS,
  type XmppFailureCondition,
  isSaslError,
  parseXmppSaslElement,
  xmppFailureError,
} from '../index.js';

/** XEP-0388 (SASL2): xmpp.js runs the same factory mechanisms inside `<authenticate>`. */
export const SASL2_NS = 'urn:xmpp:sasl:2';

/** An xmpp.js element (ltx), as far as this module reads it. */
export interface XmppJsElement {
  readonly name: string;
  is(name: string, xmlns?: string): boolean;
  getNS(): string | undefined;
  toString(): string;
}

/** A mechanism class of the `saslmechanisms` factory: xmpp.js creates one per attempt with `new`. */
export interface XmppJsMechanismClass {
  new (): XmppJsMechanism;
  readonly prototype: XmppJsMechanism;
}

/**
 * A `saslmechanisms` mechanism as xmpp.js drives it: `response` for the initial response and
 * after each `challenge`, `final` with XEP-0388's additional data on success. Strings are binary
 * strings (one character per byte): xmpp.js passes them through `btoa` and `atob`.
 */
export interface XmppJsMechanism {
  readonly name: string;
  readonly clientFirst: boolean;
  response(credentials: object): Promise<string>;
  challenge(challenge: string): Promise<unknown>;
  final?(data: string): Promise<void>;
}

/** Where the credentials object xmpp.js hands a mechanism carries the login's {@link Attempt}. */
export const ATTEMPT = Symbol('saslkit.xmppjs.attempt');

/** The classes made here: how saslkitCredentials tells its mechanisms from xmpp.js's own. */
const OURS = new WeakSet();

/** True for a factory entry's class that {@link mechanismClass} made. */
export function isSaslkitMechanism(mech: unknown): boolean {
  return typeof mech === 'function' && OURS.has(mech);
}

function toBinary(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  let text = '';
  // Chunks keep String.fromCharCode under the engine's argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return text;
}

function fromBinary(text: string, mechanism: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff)
      throw new MalformedMessageError('xmpp.js passed a challenge that is not a binary string', {
        mechanism,
        party: 'server',
      });
    bytes[i] = code;
  }
  return bytes;
}

/** One login: the saslkit session the mechanism instance drives, and what the stream showed. */
export class Attempt {
  readonly mechanism: ClientMechanism;
  readonly channelBinding: 'p' | 'y' | 'n';
  readonly #session: PromiseClientSession;
  #started = false;
  #refusedChallenge = false;
  #successSeen = false;
  #successData: Uint8Array | undefined;
  #successError: SaslError | undefined;
  #namespace = XMPP_SASL_NS;
  #verified: boolean | undefined;

  constructor(
    mechanism: ClientMechanism,
    credentials: ClientCredentials,
    client: ClientOptions,
    channelBinding: 'p' | 'y' | 'n',
    session: SessionOptions | undefined,
  ) {
    this.mechanism = mechanism;
    this.channelBinding = channelBinding;
    this.#session = new PromiseClientSession(mechanism.client(credentials, client), {
      ...session,
      mechanism: mechanism.name,
    });
  }

  get namespace(): string {
    return this.#namespace;
  }

  start(): Promise<Uint8Array | undefined> {
    this.#started = true;
    return this.#session.start(true);
  }

  /** True when the mechanism refused a challenge: the server still waits for a response. */
  get refusedChallenge(): boolean {
    return this.#refusedChallenge;
  }

  async challenge(data: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.#session.challenge(data);
    } catch (error) {
      this.#refusedChallenge = true;
      throw error;
    }
  }

  /** XEP-0388's additional data, which xmpp.js hands the mechanism's `final`. */
  async final(data: Uint8Array): Promise<void> {
    this.#verified = (await this.#session.success(data)).serverVerified;
  }

  /** Watches the stream while xmpp.js runs the exchange: RFC 6120's `<success>` data reaches no mechanism. */
  observe(element: XmppJsElement): void {
    const namespace = element.getNS();
    if (namespace !== XMPP_SASL_NS && namespace !== SASL2_NS) return;
    this.#namespace = namespace;
    if (namespace !== XMPP_SASL_NS || !element.is('success', XMPP_SASL_NS)) return;
    this.#successSeen = true;
    try {
      const parsed = parseXmppSaslElement(element.toString(), 'server');
      if (parsed.kind === 'success') this.#successData = parsed.data;
    } catch (error) {
      this.#successError = isSaslError(error)
        ? error
        : new MalformedMessageError('the <success> element cannot be read', {
            mechanism: this.mechanism.name,
            party: 'server',
          });
    }
  }

  /** After xmpp.js's success: verifies the server with `<success>`'s data, unless `final` did. Throws when it cannot. */
  async finish(): Promise<boolean> {
    if (this.#verified !== undefined) return this.#verified;
    if (this.#successError !== undefined) throw this.#successError;
    if (!this.#started)
      throw new UsageError(
        `xmpp.js ran its own ${this.mechanism.name}, not saslkit's: call useSaslkitMechanisms(xmpp)`,
        { mechanism: this.mechanism.name },
      );
    // SASL2 without additional data, or <success/> without data: the mechanism decides (SCRAM refuses).
    const outcome = await this.#session.success(this.#successSeen ? this.#successData : undefined);
    this.#verified = outcome.serverVerified;
    return outcome.serverVerified;
  }

  /** The error to report for what xmpp.js threw: a `<failure>` becomes saslkit's typed error. */
  async failed(error: unknown): Promise<unknown> {
    if (isSaslError(error) || this.#session.finished) {
      if (!this.#session.finished) this.#session.abort();
      return error;
    }
    const condition = (error as { condition?: unknown } | null)?.condition;
    if (typeof condition === 'string' && error instanceof Error && error.name === 'SASLError') {
      const known = (XMPP_FAILURE_CONDITIONS as readonly string[]).includes(condition)
        ? (condition as XmppFailureCondition)
        : 'not-authorized';
      try {
        await this.#session.failure(xmppFailureError(known, this.mechanism.name));
      } catch (refined) {
        return refined;
      }
    }
    this.#session.abort();
    return error;
  }
}

function attemptOf(credentials: object, name: string): Attempt {
  const attempt = (credentials as { [ATTEMPT]?: unknown })[ATTEMPT];
  if (!(attempt instanceof Attempt))
    throw new UsageError(`saslkit's ${name} runs only with saslkitCredentials(...) as the client's credentials`, {
      mechanism: name,
    });
  if (attempt.mechanism.name !== name)
    throw new UsageError(`saslkitCredentials chose ${attempt.mechanism.name}, but xmpp.js ran ${name}`, {
      mechanism: name,
    });
  return attempt;
}

const classes = new Map<string, XmppJsMechanismClass>();

/** The factory class of one saslkit mechanism: xmpp.js makes an instance per login. */
export function mechanismClass(name: string): XmppJsMechanismClass {
  const known = classes.get(name);
  if (known !== undefined) return known;
  class SaslkitMechanism implements XmppJsMechanism {
    declare readonly name: string;
    declare readonly clientFirst: boolean;
    #attempt: Attempt | undefined;
    #next: Uint8Array | undefined;

    async response(credentials: object): Promise<string> {
      if (this.#attempt === undefined) {
        this.#attempt = attemptOf(credentials, name);
        return toBinary(await this.#attempt.start());
      }
      const next = this.#next;
      this.#next = undefined;
      if (next === undefined)
        throw new UsageError('xmpp.js asked for a second response without a challenge', { mechanism: name });
      return toBinary(next);
    }

    async challenge(challenge: string): Promise<this> {
      if (this.#attempt === undefined)
        throw new UsageError('xmpp.js sent a challenge before the initial response', { mechanism: name });
      this.#next = await this.#attempt.challenge(fromBinary(challenge, name));
      return this;
    }

    async final(data: string): Promise<void> {
      if (this.#attempt === undefined)
        throw new UsageError('xmpp.js reported success before the initial response', { mechanism: name });
      await this.#attempt.final(fromBinary(data, name));
    }
  }
  // saslmechanisms reads the name from the prototype; xmpp.js sends <auth> only for client-first mechanisms.
  Object.defineProperty(SaslkitMechanism.prototype, 'name', { value: name });
  Object.defineProperty(SaslkitMechanism.prototype, 'clientFirst', { value: true });
  OURS.add(SaslkitMechanism);
  classes.set(name, SaslkitMechanism);
  return SaslkitMechanism;
}
