/**
 * The mechanism registry: pysasl's `SASLAuth`, with case-insensitive names and client-side
 * negotiation.
 * @module
 */
import type { ClientMechanism, MechanismInfo, ServerMechanism } from './mechanism.js';
import { BUILTIN_MECHANISMS } from './mechanisms/builtin.js';

/** How a client picks among the mechanisms a server offers. */
export interface ChooseOptions {
  /**
   * An explicit preference order, strongest first; names not listed are never chosen. Default:
   * every registered client mechanism, ordered by {@link MechanismInfo.priority}.
   */
  readonly preference?: readonly string[];
  /** Whether the connection can do channel binding; when false, `-PLUS` mechanisms are skipped. Default false. */
  readonly channelBinding?: boolean;
}

function key(name: string): string {
  return name.toUpperCase();
}

function isServer(mechanism: MechanismInfo): mechanism is ServerMechanism {
  return typeof (mechanism as Partial<ServerMechanism>).server === 'function';
}

function isClient(mechanism: MechanismInfo): mechanism is ClientMechanism {
  return typeof (mechanism as Partial<ClientMechanism>).client === 'function';
}

/** A set of mechanisms, in advertising order. */
export class SASLAuth {
  readonly #servers = new Map<string, ServerMechanism>();
  readonly #clients = new Map<string, ClientMechanism>();

  /**
   * Registers `mechanisms` in order. A later mechanism with the same name (compared
   * case-insensitively) replaces an earlier one and keeps its position.
   */
  constructor(mechanisms: Iterable<ServerMechanism | ClientMechanism>) {
    for (const mechanism of mechanisms) {
      if (isServer(mechanism)) this.#servers.set(key(mechanism.name), mechanism);
      if (isClient(mechanism)) this.#clients.set(key(mechanism.name), mechanism);
    }
  }

  /** PLAIN and LOGIN, as in pysasl: the mechanisms that work with any password store. */
  static defaults(): SASLAuth {
    return SASLAuth.named(['PLAIN', 'LOGIN']);
  }

  /** The built-in mechanisms with these names, in this order. Unknown names are ignored; case does not matter. */
  static named(names: Iterable<string>): SASLAuth {
    const found: (ServerMechanism & ClientMechanism)[] = [];
    for (const name of names) {
      const mechanism = BUILTIN_MECHANISMS.find((m) => m.name === key(name));
      if (mechanism) found.push(mechanism);
    }
    return new SASLAuth(found);
  }

  /** Every built-in mechanism, strongest first. */
  static all(): SASLAuth {
    return new SASLAuth([...BUILTIN_MECHANISMS].sort((a, b) => b.priority - a.priority));
  }

  /** The server mechanisms, in advertising order. */
  get serverMechanisms(): ServerMechanism[] {
    return [...this.#servers.values()];
  }

  /** The client mechanisms, in registration order. */
  get clientMechanisms(): ClientMechanism[] {
    return [...this.#clients.values()];
  }

  /** The server mechanism with this name (any case), or undefined. */
  getServer(name: string): ServerMechanism | undefined {
    return this.#servers.get(key(name));
  }

  /** The client mechanism with this name (any case), or undefined. */
  getClient(name: string): ClientMechanism | undefined {
    return this.#clients.get(key(name));
  }

  /**
   * The strongest client mechanism that the server offers, or undefined when there is none in
   * common. `offered` is the server's list (EHLO `AUTH`, IMAP `AUTH=`, ...), in any case.
   */
  chooseClient(offered: Iterable<string>, options: ChooseOptions = {}): ClientMechanism | undefined {
    const offeredKeys = new Set([...offered].map(key));
    const candidates = options.preference
      ? options.preference.map((name) => this.#clients.get(key(name))).filter((m): m is ClientMechanism => m !== undefined)
      : [...this.#clients.values()].sort((a, b) => b.priority - a.priority);
    return candidates.find((m) => offeredKeys.has(m.name) && (options.channelBinding === true || !m.name.endsWith('-PLUS')));
  }
}
