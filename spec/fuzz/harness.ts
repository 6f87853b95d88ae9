/**
 * The world the mechanism fuzzers run in (accounts, server and client options) and the three
 * ways they drive a mechanism: a server fed scripted client messages, a client fed scripted
 * server events, and an honest client and server whose messages are tampered with in flight.
 * Each driver throws a {@link FuzzViolation} when a property breaks; the properties in
 * properties.ts are thin wrappers around them.
 */
import { inspect } from 'node:util';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  type ClientMechanism,
  type ClientOptions,
  HashedIdentity,
  type Identity,
  type Mechanism,
  Pbkdf2Hasher,
  ScramIdentity,
  type ServerMechanism,
  type ServerOptions,
  type SessionOptions,
  SyncClientSession,
  SyncServerSession,
  DEFAULT_MAX_ROUNDS,
  isSaslError,
  staticChannelBinding,
} from '../../lib/index.js';
import { CANARY, type Mutation, applyMutations } from './mutate.js';

/** A broken property. Its message says what broke; fast-check adds the seed and the input. */
export class FuzzViolation extends Error {
  override get name(): string {
    return 'FuzzViolation';
  }
}

let observer: ((outcome: string) => void) | undefined;

/**
 * Sets a function told how each case ended (`success`, `result`, or an error code), so a long
 * run can show how deep the inputs got. `undefined` removes it.
 */
export function observeOutcomes(fn: ((outcome: string) => void) | undefined): void {
  observer = fn;
}

/** Reports how a case ended to the observer, if any. */
export function noteOutcome(outcome: string): void {
  observer?.(outcome);
}

/** The real account's user name. */
export const ALICE = 'alice';
/** Its password, and the one bearer token the validator accepts (a valid b64token, so both kinds of mechanism can send it). */
export const SECRET = 'alice-fuzz-Secret-0123';
/** The identity the transport vouches for (EXTERNAL). */
export const EXTERNAL_ID = 'external-user';
/** The identity ANONYMOUS logins get. */
const ANONYMOUS_ID = 'anonymous';

// Users named in the RFC vectors exist, so mutated vector messages reach verification, but with
// passwords that no seed contains: a success for them is a success without the credential.
const VECTOR_USERS = ['user', 'tim', 'chris', 'test', 'Kurt', 'Ursel', 'sirhc', 'someuser@example.com'];

/** The accounts an in-flight client may log in as: clear, hashed and SCRAM-stored secrets. */
export const ACCOUNTS: readonly string[] = [ALICE, 'hashed', 'scrammy'];

const IDENTITIES: readonly Identity[] = [
  new ClearIdentity(ALICE, SECRET),
  HashedIdentity.create('hashed', SECRET, new Pbkdf2Hasher({ rounds: 1000 })),
  // SHA-256 only: SCRAM-SHA-1 and -512 then fail for it like a wrong password (no keys, no clear secret).
  ScramIdentity.create('scrammy', SECRET, { iterations: 4096, hashes: ['SHA-256'] }),
  ...VECTOR_USERS.map((name) => new ClearIdentity(name, `${name}-\u2603-never-sent`)),
];

function lookup(authcid: string): Identity | undefined {
  return IDENTITIES.find((identity) => identity.authcid === authcid);
}

/** Channel-binding data both ends of a -PLUS exchange agree on. */
const BINDING = staticChannelBinding({
  'tls-exporter': new Uint8Array(32).fill(7),
  'tls-server-end-point': new Uint8Array(32).fill(9),
});

/** Server settings the fuzzers vary: they change which paths a mechanism takes. */
export interface ServerVariant {
  /** SCRAM: send `e=` before failing. */
  readonly scramSendErrors: boolean;
  /** A small field limit reaches the limit checks; undefined keeps the default. */
  readonly maxFieldBytes: number | undefined;
  /**
   * SCRAM: a fixed server nonce suffix (an RFC vector's), so that mutated vector client-final
   * messages get past the nonce check to the proof; undefined keeps the random nonce.
   */
  readonly scramNonce: string | undefined;
}

/** A complete, valid server configuration: every mechanism has what it needs. */
export function serverOptions(variant: ServerVariant): ServerOptions {
  return {
    lookup,
    // Proxy authorization is always refused: a success must be for the authenticated user itself.
    authorize: () => false,
    validateToken: ({ token }) =>
      token === SECRET ? { authcid: ALICE } : { error: { status: 'invalid_token', scope: 'mail' } },
    // The realm of the RFC 2831 and RFC 5034 DIGEST-MD5 examples, so their responses get past the realm check.
    hostname: 'elwood.innosoft.com',
    // In-flight clients connect to 'localhost' (clientOptions): DIGEST-MD5's digest-uri must name this server.
    hostAliases: ['localhost'],
    externalIdentity: EXTERNAL_ID,
    channelBindingData: BINDING,
    scramIterations: 4096,
    scramSaltSecret: 'saslkit-fuzz-salt-secret-0123456789abcdef',
    scramSendErrors: variant.scramSendErrors,
    ...(variant.maxFieldBytes === undefined ? {} : { maxFieldBytes: variant.maxFieldBytes }),
    ...(variant.scramNonce === undefined ? {} : { scramNonceForTesting: variant.scramNonce }),
  };
}

/** A complete client configuration. -PLUS mechanisms (RFC 5056 naming) get the binding data. */
export function clientOptions(mechanism: string): ClientOptions {
  return {
    host: 'localhost',
    port: 143,
    service: 'imap',
    // The lowest count a client accepts, so a forged count never buys a long PBKDF2.
    scramMaxIterations: 4096,
    ...(mechanism.endsWith('-PLUS') ? { channelBindingData: BINDING } : {}),
  };
}

/** The session limits for fuzzed exchanges (the defaults). */
function sessionOptions(mechanism: string): SessionOptions {
  return { mechanism };
}

function describeError(error: unknown): string {
  if (error instanceof Error)
    return `${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return inspect(error);
}

/**
 * Checks an error thrown at a peer's input: it must be a saslkit error, must not blame the host
 * (USAGE: the configuration is complete, so only the peer's bytes changed), and must not echo
 * the peer's bytes ({@link CANARY}).
 */
export function checkThrown(
  error: unknown,
  where: string,
  options: { readonly canary?: boolean; readonly usage?: boolean; readonly note?: boolean } = {},
): void {
  if (error instanceof FuzzViolation) throw error;
  if (!isSaslError(error)) throw new FuzzViolation(`${where}: untyped error ${describeError(error)}`, { cause: error });
  if (options.usage !== true && error.code === 'USAGE')
    throw new FuzzViolation(`${where}: peer input produced a UsageError (blames the host): ${error.message}`, {
      cause: error,
    });
  // The message only: the rest of a stack is code locations, and formatting it (source maps) costs more than the case.
  if (options.canary !== false && error.message.includes(CANARY)) {
    throw new FuzzViolation(`${where}: the error message echoes the peer's bytes: ${error.message}`, { cause: error });
  }
  if (options.note !== false) noteOutcome(error.code);
}

/** A success that needed no credential: the transport's identity (EXTERNAL) or an anonymous login. */
function credentialFree(outcome: Authenticated): boolean {
  return outcome.authcid === EXTERNAL_ID || (outcome.authcid === ANONYMOUS_ID && outcome.trace !== undefined);
}

/** Checks a server's success: for a credential the peer knew (in-flight), or only one that needs none. */
export function checkSuccess(outcome: Authenticated, where: string, knewCredential: boolean): void {
  if (!credentialFree(outcome) && !(knewCredential && ACCOUNTS.includes(outcome.authcid))) {
    throw new FuzzViolation(`${where}: authenticated ${JSON.stringify(outcome.authcid)} without its credential`);
  }
  if (outcome.authzid !== outcome.authcid)
    throw new FuzzViolation(
      `${where}: authorized ${JSON.stringify(outcome.authzid)} although the policy refuses every proxy authorization`,
    );
}

/** Most responses a server gets before it must have finished: the round limit, plus slack. */
const MAX_STEPS = DEFAULT_MAX_ROUNDS + 4;

/** Client messages for a server: the initial response (or none) and the responses, reused in turn. */
export interface ServerScript {
  readonly initial: Uint8Array | undefined;
  readonly responses: readonly Uint8Array[];
  readonly variant: ServerVariant;
}

/**
 * Drives a server with scripted client messages until it finishes. Properties: it ends in
 * success or a typed error, within the round limit, and never succeeds for a credential-checking
 * mechanism (no script carries a valid credential).
 */
export function runServerScript(mechanism: ServerMechanism, script: ServerScript): void {
  const where = `${mechanism.name} server`;
  try {
    const session = new SyncServerSession(
      mechanism.server(serverOptions(script.variant), script.initial),
      sessionOptions(mechanism.name),
    );
    let step = session.start();
    for (let i = 0; !step.done; i++) {
      if (i >= MAX_STEPS)
        throw new FuzzViolation(`${where}: still running after ${MAX_STEPS} responses (no round bound)`);
      const response =
        script.responses.length === 0
          ? new Uint8Array(0)
          : (script.responses[i % script.responses.length] as Uint8Array);
      step = session.respond(response);
    }
    checkSuccess(step.outcome, where, false);
    noteOutcome('success');
  } catch (error) {
    checkThrown(error, where);
  }
}

/** What a server can do to a client: challenge, report success (with data), report failure. */
export type ServerEvent =
  | { readonly kind: 'challenge'; readonly data: Uint8Array }
  | { readonly kind: 'success'; readonly data: Uint8Array | undefined }
  | { readonly kind: 'failure' };

/** Server events for a client. */
export interface ClientScript {
  readonly canSendInitial: boolean;
  readonly events: readonly ServerEvent[];
}

function clientSession(mechanism: ClientMechanism, authcid: string): SyncClientSession {
  return new SyncClientSession(
    mechanism.client(new ClientCredentials(authcid, SECRET), clientOptions(mechanism.name)),
    sessionOptions(mechanism.name),
  );
}

/**
 * Drives a client with scripted server events. Properties: only typed errors, and the client
 * never reports a verified server (no script can know the password-derived proof).
 */
export function runClientScript(mechanism: ClientMechanism, script: ClientScript): void {
  const where = `${mechanism.name} client`;
  let session: SyncClientSession;
  try {
    session = clientSession(mechanism, ALICE);
    session.start(script.canSendInitial);
  } catch (error) {
    throw new FuzzViolation(
      `${where}: failed before any server input (fuzz configuration incomplete?): ${describeError(error)}`,
      { cause: error },
    );
  }
  try {
    for (const event of script.events) {
      if (session.finished) return;
      if (event.kind === 'challenge') session.challenge(event.data);
      else if (event.kind === 'failure') session.failure();
      else {
        const outcome = session.success(event.data);
        if (outcome.serverVerified)
          throw new FuzzViolation(`${where}: reported a verified server from forged server messages`);
        noteOutcome('success');
        return;
      }
    }
  } catch (error) {
    checkThrown(error, where);
  }
}

/** Mutations applied to the n-th message on the wire (counting both directions from 0). */
export interface Tamper {
  readonly at: number;
  readonly mutations: readonly Mutation[];
}

/** An honest exchange with tampering. */
export interface InFlightPlan {
  readonly account: string;
  /** The protocol carries success data (XMPP) rather than a final challenge (SMTP). */
  readonly successData: boolean;
  readonly tampers: readonly Tamper[];
  readonly variant: ServerVariant;
}

/**
 * Runs an honest client against a server with the account's real credentials, tampering with
 * messages in flight. Properties: both sides end only in success or typed errors, within the
 * round limit, and a server success is for the client's own account (or needs no credential).
 */
export function runInFlight(mechanism: Mechanism, plan: InFlightPlan, pool: readonly Uint8Array[]): void {
  let index = 0;
  const wire = (data: Uint8Array): Uint8Array => {
    let out = data;
    for (const tamper of plan.tampers) if (tamper.at === index) out = applyMutations(out, tamper.mutations, pool);
    index += 1;
    return out;
  };
  const client = (() => {
    try {
      return clientSession(mechanism, plan.account);
    } catch (error) {
      throw new FuzzViolation(
        `${mechanism.name} client: failed to start (fuzz configuration incomplete?): ${describeError(error)}`,
        { cause: error },
      );
    }
  })();
  let initial: Uint8Array | undefined;
  try {
    initial = client.start(true);
  } catch (error) {
    throw new FuzzViolation(`${mechanism.name} client: failed before any server input: ${describeError(error)}`, {
      cause: error,
    });
  }
  let where = `${mechanism.name} server`;
  try {
    const server = new SyncServerSession(
      mechanism.server(serverOptions(plan.variant), initial === undefined ? undefined : wire(initial)),
      sessionOptions(mechanism.name),
    );
    let step = server.start();
    for (let i = 0; !step.done; i++) {
      if (i >= MAX_STEPS)
        throw new FuzzViolation(`${where}: still running after ${MAX_STEPS} responses (no round bound)`);
      where = `${mechanism.name} client`;
      const response = client.challenge(wire(step.challenge));
      where = `${mechanism.name} server`;
      step = server.respond(wire(response));
    }
    checkSuccess(step.outcome, where, true);
    where = `${mechanism.name} client`;
    const extra = step.outcome.additionalData;
    if (plan.successData) client.success(extra === undefined ? undefined : wire(extra));
    else {
      if (extra !== undefined) client.challenge(wire(extra));
      client.success();
    }
    noteOutcome('success');
  } catch (error) {
    checkThrown(error, where);
    if (where.endsWith('server') && !client.finished) {
      // Tell the client, as a protocol would; it must fail with a typed error too.
      try {
        client.failure();
      } catch (failure) {
        checkThrown(failure, `${mechanism.name} client (after the server failed)`, { note: false });
      }
    }
  }
}
