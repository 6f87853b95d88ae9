/**
 * The fuzz properties, shared by `npm test` (spec/fuzz/fuzz.spec.ts, a small budget) and
 * `npm run fuzz` (bench/fuzz.ts, a large one). Every target is found at run time:
 *
 * - mechanisms: `SASLAuth.all()`'s server and client mechanisms (scripted peers), and every
 *   mechanism with both sides (an honest exchange tampered with in flight);
 * - parsers: every function exported from lib/index.ts whose name says it parses
 *   ({@link PARSER_NAME}), classes named `*Reader`/`*Parser`, and static `parse`/`tryParse`
 *   methods, with inputs built from their declared parameter types (discover.ts);
 * - protocol profiles: every exported `*ServerAuth`/`*ClientAuth` function, fed mutated lines or
 *   elements from the protocol's RFC transcripts, and byte streams in random cuts or a byte at a time;
 * - hostile shapes (hostile.ts): namespace floods, and every reader fed the same stream in one
 *   chunk, a byte at a time and in random cuts.
 *
 * Each property holds when the code under test ends in a result or a typed saslkit error; the
 * mechanism properties also bound the rounds and forbid a success without the credential.
 */
import fc from 'fast-check';
import {
  type Authenticated,
  ClientCredentials,
  type ClientMechanism,
  type Mechanism,
  SASLAuth,
  type ServerMechanism,
} from '../../lib/index.js';
import * as lib from '../../lib/index.js';
import {
  type Declaration,
  Fresh,
  LOCAL,
  type Sources,
  Unbuildable,
  allowConstruction,
  argumentArbitraries,
  declarationOf,
  materialize,
  requiredProperties,
} from './discover.js';
import {
  ACCOUNTS,
  ALICE,
  type ClientScript,
  FuzzViolation,
  type InFlightPlan,
  SECRET,
  type ServerEvent,
  type ServerScript,
  type ServerVariant,
  checkSuccess,
  checkThrown,
  clientOptions,
  noteOutcome,
  runClientScript,
  runInFlight,
  runServerScript,
  serverOptions,
} from './harness.js';
import { hostileTargets } from './hostile.js';
import { ircTargets } from './irc.js';
import { ldapTargets } from './ldap.js';
import { messageArb, mutationArb, sequenceArb, textArb, tokenize } from './mutate.js';
import {
  ALL_PROTOCOLS,
  BYTE_POOL,
  LINE_GROUPS,
  SCRAM_NONCE_SUFFIXES,
  STORED_SECRETS,
  TEXT_POOL,
  byteStreams,
  mechanismSeeds,
  scramExchange,
  transcripts,
} from './seeds.js';

/** One fuzz target: a named property over generated inputs. */
export interface FuzzTarget {
  /** `server PLAIN`, `parser parseEhlo`, `profile smtpServerAuth` ... */
  readonly name: string;
  readonly group: 'mechanism' | 'parser' | 'profile' | 'reader';
  /** Relative cost of one case (1 = a cheap parser call); budgets divide by it. */
  readonly cost: number;
  /** A new property (properties hold no state between runs). */
  property(): fc.IRawProperty<unknown>;
}

const variantArb: fc.Arbitrary<ServerVariant> = fc.record({
  scramSendErrors: fc.boolean(),
  maxFieldBytes: fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(4, 16, 64) },
  ),
  scramNonce: fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom(...SCRAM_NONCE_SUFFIXES) },
  ),
});

function isBoth(m: ServerMechanism | ClientMechanism): m is Mechanism {
  return (
    typeof (m as Partial<Mechanism>).server === 'function' && typeof (m as Partial<Mechanism>).client === 'function'
  );
}

// Measured CPU per case relative to a parser call (about 70 us): SCRAM runs HMACs and, when a
// salt is forged, a PBKDF2; in-flight cases run both sides.
function mechanismCost(name: string, kind: 'server' | 'client' | 'in-flight'): number {
  const scram = name.startsWith('SCRAM-');
  if (kind === 'server') return scram ? 6 : 4;
  if (kind === 'client') return scram ? 3 : 2;
  return scram ? 10 : 6;
}

/**
 * The scripted-client property of one server mechanism. Exported so that a spec can plant a
 * broken mechanism and check that the property catches it.
 */
export function serverTarget(mechanism: ServerMechanism): FuzzTarget {
  const seeds = mechanismSeeds(mechanism.name);
  const message = messageArb(seeds.client);
  // Server-first mechanisms refuse an initial response at once; mostly send none.
  const initial = mechanism.clientFirst
    ? fc.oneof({ weight: 3, arbitrary: message }, { weight: 1, arbitrary: fc.constant(undefined) })
    : fc.oneof({ weight: 1, arbitrary: message }, { weight: 5, arbitrary: fc.constant(undefined) });
  const random: fc.Arbitrary<ServerScript> = fc.record({
    initial,
    responses: fc.array(message, { maxLength: 5 }),
    variant: variantArb,
  });
  // A vector's client messages in order, some mutated: the initial response first when the
  // mechanism is client-first.
  const coherent: fc.Arbitrary<ServerScript> = fc
    .tuple(sequenceArb(seeds.clientSequences, seeds.client), variantArb)
    .map(([messages, variant]) =>
      mechanism.clientFirst
        ? { initial: messages[0], responses: messages.slice(1), variant }
        : { initial: undefined, responses: messages, variant },
    );
  const script = seeds.clientSequences.length === 0 ? random : fc.oneof(random, coherent);
  return {
    name: `server ${mechanism.name}`,
    group: 'mechanism',
    cost: mechanismCost(mechanism.name, 'server'),
    property: () =>
      fc.property(script, (s) => {
        runServerScript(mechanism, s);
      }),
  };
}

function mechanismTargets(): FuzzTarget[] {
  const auth = SASLAuth.all();
  const targets: FuzzTarget[] = [];
  for (const mechanism of auth.serverMechanisms) targets.push(serverTarget(mechanism));
  for (const mechanism of auth.clientMechanisms) {
    const seeds = mechanismSeeds(mechanism.name);
    const message = messageArb(seeds.server);
    const event: fc.Arbitrary<ServerEvent> = fc.oneof(
      { weight: 6, arbitrary: message.map((data) => ({ kind: 'challenge' as const, data })) },
      {
        weight: 2,
        arbitrary: fc.option(message, { nil: undefined }).map((data) => ({ kind: 'success' as const, data })),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'failure' as const }) },
    );
    const random: fc.Arbitrary<ClientScript> = fc.record({
      canSendInitial: fc.boolean(),
      events: fc.array(event, { maxLength: 6 }),
    });
    // A vector's server messages in order, some mutated; the last may come with success.
    const coherent: fc.Arbitrary<ClientScript> = fc
      .tuple(fc.boolean(), sequenceArb(seeds.serverSequences, seeds.server), fc.boolean())
      .map(([canSendInitial, messages, lastWithSuccess]) => ({
        canSendInitial,
        events: messages.map((data, i): ServerEvent =>
          lastWithSuccess && i === messages.length - 1 ? { kind: 'success', data } : { kind: 'challenge', data },
        ),
      }));
    const script = seeds.serverSequences.length === 0 ? random : fc.oneof(random, coherent);
    targets.push({
      name: `client ${mechanism.name}`,
      group: 'mechanism',
      cost: mechanismCost(mechanism.name, 'client'),
      property: () =>
        fc.property(script, (s) => {
          runClientScript(mechanism, s);
        }),
    });
  }
  for (const mechanism of auth.serverMechanisms) {
    if (!isBoth(mechanism)) continue;
    const seeds = mechanismSeeds(mechanism.name);
    const pool = [...seeds.client, ...seeds.server];
    const tokens = tokenize(pool);
    const plan: fc.Arbitrary<InFlightPlan> = fc.record({
      // Mostly the clear-text account; the hashed and SCRAM-stored ones cost a PBKDF2 per PLAIN login.
      account: fc.oneof(
        { weight: 6, arbitrary: fc.constant(ACCOUNTS[0] as string) },
        { weight: 2, arbitrary: fc.constantFrom(...ACCOUNTS.slice(1)) },
      ),
      successData: fc.boolean(),
      tampers: fc.array(
        fc.record({ at: fc.nat({ max: 6 }), mutations: fc.array(mutationArb(tokens), { minLength: 1, maxLength: 3 }) }),
        { maxLength: 2 },
      ),
      variant: variantArb,
    });
    targets.push({
      name: `in-flight ${mechanism.name}`,
      group: 'mechanism',
      cost: mechanismCost(mechanism.name, 'in-flight'),
      property: () =>
        fc.property(plan, (p) => {
          runInFlight(mechanism, p, pool);
        }),
    });
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Parsers

/** Export names that parse or decode outside input. */
export const PARSER_NAME =
  /^(?:parse|decode|unescape|read|detect)[A-Z0-9]|^(?:fromBase64|saslprep|trySaslprep|verifyScramServerFinal)$|Elements$/;
/** Exported classes that parse a stream. */
export const PARSER_CLASS = /(?:Reader|Parser)$/;
/** Static methods of exported classes that parse text. */
export const PARSER_STATIC = /^(?:parse|tryParse)$/;

function peerSources(bytes: readonly Uint8Array[], texts: readonly string[], groups: readonly string[][]): Sources {
  const text = textArb(texts);
  const mutatedGroup =
    groups.length === 0
      ? fc.array(text, { maxLength: 8 })
      : fc.tuple(fc.constantFrom(...groups), fc.nat(), text, fc.boolean()).map(([group, i, line, insert]) => {
          const copy = [...group];
          const at = i % (copy.length + 1);
          if (insert || at === copy.length) copy.splice(at, 0, line);
          else copy[at] = line;
          return copy;
        });
  return { text, bytes: messageArb(bytes), lines: fc.oneof(fc.array(text, { maxLength: 8 }), mutatedGroup) };
}

const GENERIC_PEER: Sources = peerSources(BYTE_POOL, TEXT_POOL, LINE_GROUPS);

/**
 * Peer sources for a parser named after a mechanism family (`parsePlainResponse`,
 * `parseScramServerFirst`): that mechanism's messages first, from the server when the name says
 * so, then everything else.
 */
function peerFor(parser: string): Sources {
  const lower = parser.toLowerCase();
  const mechanism = SASLAuth.all().serverMechanisms.find((m) =>
    lower.includes((m.name.split('-')[0] ?? '').toLowerCase()),
  );
  if (mechanism === undefined) return GENERIC_PEER;
  const seeds = mechanismSeeds(mechanism.name);
  const own = /server|challenge|error/.test(lower) ? seeds.server : seeds.client;
  const texts = own.map((bytes) => Buffer.from(bytes).toString('utf8'));
  const specific = peerSources(own, texts, []);
  return {
    text: fc.oneof({ weight: 3, arbitrary: specific.text }, { weight: 1, arbitrary: GENERIC_PEER.text }),
    bytes: fc.oneof({ weight: 3, arbitrary: specific.bytes }, { weight: 1, arbitrary: GENERIC_PEER.bytes }),
    lines: GENERIC_PEER.lines,
  };
}

/**
 * Argument tuples for parsers whose other parameters must match the message to get far (a
 * nonce, a signature, a direction). The first element is the peer input and is mutated.
 */
const PARSER_SEEDS: Readonly<Record<string, () => unknown[][]>> = {
  parseScramServerFirst: () => scramTuples((x) => [x.messages[1], x.clientNonce]),
  parseScramClientFirst: () => scramTuples((x) => [x.messages[0]]),
  parseScramClientFinal: () => scramTuples((x) => [x.messages[2], x.hash]),
  verifyScramServerFinal: () => scramTuples((x) => [x.messages[3], x.serverSignature]),
  parseCramMd5Response: () => {
    const seeds = mechanismSeeds('CRAM-MD5');
    return seeds.client.map((response, i) => [response, seeds.server[i] ?? seeds.server[0]]);
  },
  parseLoginResponses: () => {
    const seeds = mechanismSeeds('LOGIN');
    return [[seeds.client[0], seeds.client[1]]];
  },
  parseXmppSaslElement: () => transcripts('xmpp').flatMap((t) => t.lines.map((line) => [line.text, line.from])),
  'ScramSecret.parse': () => STORED_SECRETS.map((text) => [text]),
  'ScramSecret.tryParse': () => STORED_SECRETS.map((text) => [text]),
};

function scramTuples(pick: (x: ReturnType<typeof scramExchange>) => unknown[]): unknown[][] {
  return (['scram-sha-1-rfc5802', 'scram-sha-256-rfc7677'] as const).map((id) => pick(scramExchange(id)));
}

function seededArguments(name: string, generic: fc.Arbitrary<unknown[]>): fc.Arbitrary<unknown[]> {
  const make = PARSER_SEEDS[name];
  if (make === undefined) return generic;
  const tuples = make();
  const first = tuples.map((t) => t[0]);
  const peer = first[0] instanceof Uint8Array ? messageArb(first as Uint8Array[]) : textArb(first as string[]);
  const seeded = fc
    .tuple(peer, fc.constantFrom(...tuples.map((t) => t.slice(1))))
    .map(([head, rest]) => [head, ...rest]);
  return fc.oneof({ weight: 1, arbitrary: generic }, { weight: 2, arbitrary: seeded });
}

/** Consumes what a parser returns: awaits promises, drains iterators (bounded). */
async function consume(result: unknown): Promise<void> {
  let value = result;
  if (typeof (value as PromiseLike<unknown> | null)?.then === 'function') value = await value;
  const iterator = value as Partial<AsyncIterator<unknown> & Iterator<unknown>> | null | undefined;
  const isIterable =
    typeof value === 'object' &&
    value !== null &&
    (Symbol.asyncIterator in value || Symbol.iterator in value) &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map);
  if (isIterable && typeof iterator?.next === 'function') {
    for (let i = 0; i < 100000; i++) {
      const step = await (iterator.next as () => unknown)();
      if ((step as IteratorResult<unknown>).done === true) return;
    }
    throw new FuzzViolation('an iterator did not end after 100000 items from finite input');
  }
}

type Call = (...args: unknown[]) => unknown;

/** Every parser export, with the way to call it, or the reason it cannot be fuzzed. */
export interface ParserEntry {
  readonly name: string;
  /** Called with the generated arguments and, for classes, the order of `read*` calls. */
  readonly call?: (args: unknown[], reads: readonly number[]) => unknown;
  readonly params?: Declaration['params'];
  readonly problem?: string;
}

/** `read*` methods of a parser class instance, in a stable order. */
function readMethods(instance: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (/^read/.test(key) && typeof (instance as Record<string, unknown>)[key] === 'function') names.add(key);
    }
  }
  return [...names].sort();
}

/**
 * Exercises a parser class instance: drains it when it is an async iterable (LineReader);
 * otherwise calls its `read*` methods in the generated order (PgMessageReader), stopping at the
 * first error, which the caller checks.
 */
async function exercise(instance: unknown, reads: readonly number[]): Promise<void> {
  if (typeof instance !== 'object' || instance === null) return;
  if (Symbol.asyncIterator in instance) {
    await consume(instance);
    return;
  }
  const methods = readMethods(instance);
  if (methods.length === 0) return;
  for (const index of reads) {
    const method = methods[index % methods.length] as string;
    await consume((instance as Record<string, () => unknown>)[method]?.());
  }
}

/** Finds the parsers in lib/index.ts's exports. */
export function discoverParsers(): ParserEntry[] {
  const entries: ParserEntry[] = [];
  // Parser classes can be handed to other parsers (readPostgresReady takes a PgMessageReader).
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value === 'function' && PARSER_CLASS.test(name))
      allowConstruction(name, value as new (...args: unknown[]) => unknown);
  }
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function') continue;
    const isParserFunction = PARSER_NAME.test(name);
    const isParserClass = PARSER_CLASS.test(name);
    const staticNames = Object.getOwnPropertyNames(value).filter(
      (key) => PARSER_STATIC.test(key) && typeof (value as unknown as Record<string, unknown>)[key] === 'function',
    );
    if (!isParserFunction && !isParserClass && staticNames.length === 0) continue;
    const decl = declarationOf(name);
    if (decl === undefined) {
      entries.push({ name, problem: 'no declaration found from lib/index.ts' });
      continue;
    }
    if (decl.kind === 'function' && isParserFunction) {
      const fn = value as Call;
      entries.push({ name, params: decl.params, call: (args) => fn(...args) });
    }
    if (decl.kind === 'class' && isParserClass) {
      const ctor = value as new (...args: unknown[]) => unknown;
      entries.push({
        name: `new ${name}`,
        params: decl.params,
        call: (args, reads) => exercise(new ctor(...args), reads),
      });
    }
    if (decl.kind === 'class') {
      for (const key of staticNames) {
        const method = (value as unknown as Record<string, Call>)[key] as Call;
        const params = decl.statics.get(key);
        if (params === undefined)
          entries.push({ name: `${name}.${key}`, problem: 'no declaration of the static method' });
        else entries.push({ name: `${name}.${key}`, params, call: (args) => method.apply(value, args) });
      }
    }
  }
  return entries;
}

function parserTargets(entries: readonly ParserEntry[]): FuzzTarget[] {
  const targets: FuzzTarget[] = [];
  for (const entry of entries) {
    if (entry.call === undefined || entry.params === undefined) continue;
    let generic: fc.Arbitrary<unknown[]>;
    try {
      generic = fc.tuple(...argumentArbitraries(entry.params, peerFor(entry.name)));
    } catch (error) {
      if (error instanceof Unbuildable) continue;
      throw error;
    }
    const args = fc.tuple(
      seededArguments(entry.name, generic),
      fc.array(fc.nat({ max: 15 }), { minLength: 1, maxLength: 6 }),
    );
    const call = entry.call;
    targets.push({
      name: `parser ${entry.name}`,
      group: 'parser',
      cost: 1,
      property: () =>
        fc.asyncProperty(args, async ([values, reads]) => {
          try {
            await consume(call(materialize(values) as unknown[], reads));
            noteOutcome('result');
          } catch (error) {
            // Parsers of local data (stored secrets) report bad input as a UsageError by design.
            checkThrown(error, entry.name, { usage: true });
          }
        }),
    });
  }
  return targets;
}

/** Parsers that cannot be fuzzed (no declaration, or a parameter type without a generator). */
export function discoveryProblems(): string[] {
  const problems: string[] = [];
  for (const entry of discoverParsers()) {
    if (entry.problem !== undefined) problems.push(`${entry.name}: ${entry.problem}`);
    else if (entry.params !== undefined) {
      try {
        argumentArbitraries(entry.params, LOCAL);
      } catch (error) {
        if (!(error instanceof Unbuildable)) throw error;
        problems.push(`${entry.name}: ${error.message}`);
      }
    }
  }
  for (const profile of discoverProfiles())
    if (profile.problem !== undefined) problems.push(`${profile.name}: ${profile.problem}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Protocol profiles

/** Export names of protocol profiles: one side of a whole SASL negotiation over a transport. */
export const PROFILE_NAME = /(?:Server|Client)Auth$/;

interface ProfileEntry {
  readonly name: string;
  readonly side: 'server' | 'client';
  readonly protocol: string | undefined;
  readonly run?: (args: Record<string, unknown>) => unknown;
  readonly required: readonly string[];
  readonly optional: readonly string[];
  readonly problem?: string;
}

const AUTH_COMMAND = /^(?:\S+ )?AUTH(?:ENTICATE)? |^(?:\S+ )?AUTH(?:ENTICATE)?$|^<auth[ >]/i;

// What the fuzzers know how to supply, by argument property name.
const SERVER_KNOWN = new Set(['command', 'lines', 'elements', 'messages', 'write', 'auth', 'options', 'startup']);
const CLIENT_KNOWN = new Set([
  'credentials',
  'user',
  'password',
  'lines',
  'elements',
  'messages',
  'write',
  'auth',
  'mechanism',
  'mechanisms',
  'capabilities',
  'offered',
  'tag',
  'client',
]);

/** The protocol a profile speaks, from its name's first word: `smtp`ServerAuth, `manageSieve`..., `postgres`... */
function protocolOf(name: string): string | undefined {
  const word = (/^[a-z0-9]+/.exec(name)?.[0] ?? name).toLowerCase();
  return ALL_PROTOCOLS.find((p) => p.startsWith(word) || word.startsWith(p));
}

function discoverProfiles(): ProfileEntry[] {
  const entries: ProfileEntry[] = [];
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function' || !PROFILE_NAME.test(name)) continue;
    const side = name.endsWith('ServerAuth') ? 'server' : 'client';
    const protocol = protocolOf(name);
    const decl = declarationOf(name);
    const argType = decl?.params[0]?.type;
    const { required, optional } = requiredProperties(argType);
    const known = side === 'server' ? SERVER_KNOWN : CLIENT_KNOWN;
    const missing = required.filter((prop) => !known.has(prop));
    const base = { name, side, protocol, required, optional } as const;
    if (decl === undefined || argType === undefined)
      entries.push({ ...base, problem: 'no declaration with a typed argument object' });
    else if (required.length === 0) entries.push({ ...base, problem: 'its argument type could not be read' });
    else if (missing.length > 0)
      entries.push({
        ...base,
        problem: `no generator for the required argument properties ${missing.join(', ')} (add one in spec/fuzz/properties.ts)`,
      });
    else entries.push({ ...base, run: value as (args: Record<string, unknown>) => unknown });
  }
  return entries;
}

function linesArb(groups: readonly (readonly string[])[], pool: readonly string[]): fc.Arbitrary<string[]> {
  const text = textArb(pool.length > 0 ? pool : TEXT_POOL);
  if (groups.length === 0) return fc.array(text, { maxLength: 8 });
  const mutated = fc
    .tuple(
      fc.constantFrom(...groups),
      fc.array(fc.tuple(fc.nat(), text, fc.constantFrom('replace', 'insert', 'delete')), { maxLength: 3 }),
    )
    .map(([group, edits]) => {
      const copy = [...group];
      for (const [i, line, how] of edits) {
        const at = i % (copy.length + 1);
        if (how === 'insert' || at === copy.length) copy.splice(at, 0, line);
        else if (how === 'delete') copy.splice(at, 1);
        else copy[at] = line;
      }
      return copy;
    });
  return fc.oneof(
    { weight: 1, arbitrary: fc.array(text, { maxLength: 8 }) },
    { weight: 3, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...groups.map((g) => [...g])) },
  );
}

/** The command, what follows it from the client, and the server's lines after it, per transcript. */
function profileSeeds(protocol: string | undefined): {
  commands: string[];
  clientAfter: string[][];
  serverAfter: string[][];
  serverLines: string[];
  clientLines: string[];
} {
  const out = {
    commands: [] as string[],
    clientAfter: [] as string[][],
    serverAfter: [] as string[][],
    serverLines: [] as string[],
    clientLines: [] as string[],
  };
  for (const t of protocol === undefined ? [] : transcripts(protocol)) {
    out.serverLines.push(...t.lines.filter((l) => l.from === 'server').map((l) => l.text));
    out.clientLines.push(...t.lines.filter((l) => l.from === 'client').map((l) => l.text));
    const start = t.lines.findIndex((l) => l.from === 'client' && AUTH_COMMAND.test(l.text));
    if (start < 0) continue;
    const rest = t.lines.slice(start);
    out.commands.push(rest[0]?.text ?? '');
    out.clientAfter.push(rest.filter((l, i) => i > 0 && l.from === 'client').map((l) => l.text));
    out.serverAfter.push(rest.filter((l) => l.from === 'server').map((l) => l.text));
  }
  return out;
}

/** Byte chunks from the peer: a seed stream (mutated) cut at random points or sent a byte at a time, or random chunks. */
function chunksArb(streams: readonly Uint8Array[]): fc.Arbitrary<Uint8Array[]> {
  const random = fc.array(messageArb(BYTE_POOL), { maxLength: 6 });
  if (streams.length === 0) return random;
  const cut = fc.tuple(messageArb(streams), fc.array(fc.nat({ max: 4096 }), { maxLength: 5 })).map(([stream, cuts]) => {
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let start = 0;
    for (const point of [...points, stream.length]) {
      chunks.push(stream.subarray(start, point));
      start = point;
    }
    return chunks;
  });
  const bytewise = messageArb(streams).map((stream) => Array.from(stream, (byte) => Uint8Array.of(byte)));
  return fc.oneof({ weight: 1, arbitrary: random }, { weight: 3, arbitrary: cut }, { weight: 1, arbitrary: bytewise });
}

function asyncItems<T>(items: readonly T[]): Fresh<AsyncIterable<T>> {
  return new Fresh(
    () =>
      (async function* () {
        for (const item of items) yield await Promise.resolve(item);
      })(),
    () => `items(${fc.stringify(items)})`,
  );
}

function profileTargets(): FuzzTarget[] {
  const auth = SASLAuth.all();
  const names = auth.clientMechanisms.map((m) => m.name);
  const targets: FuzzTarget[] = [];
  for (const entry of discoverProfiles()) {
    const run = entry.run;
    if (run === undefined) continue;
    const seeds = profileSeeds(entry.protocol);
    const has = (prop: string): boolean => entry.required.includes(prop) || entry.optional.includes(prop);
    const lineBased = has('lines');
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    const streams = entry.protocol === undefined ? { client: [], server: [] } : byteStreams(entry.protocol);
    fields['chunks'] = chunksArb(entry.side === 'server' ? streams.client : streams.server);
    fields['withStartup'] = fc.boolean();
    if (entry.side === 'server') {
      if (has('command')) {
        fields['command'] = textArb(seeds.commands.length > 0 ? seeds.commands : TEXT_POOL);
        fields['input'] = linesArb(seeds.clientAfter, seeds.clientLines);
      } else {
        // Element protocols (XMPP): the command is the first element.
        fields['input'] = linesArb(
          seeds.clientAfter.map((after, i) => [seeds.commands[i] ?? '', ...after]),
          seeds.clientLines,
        );
      }
      fields['variant'] = variantArb;
    } else {
      fields['input'] = linesArb(seeds.serverAfter, seeds.serverLines);
      fields['mechanism'] = fc.constantFrom(...names);
      fields['offered'] = fc.oneof(fc.subarray(names), linesArb([], seeds.serverLines));
      // What a server advertises: its own feature lines or elements, mutated, or a list of names.
      fields['advertised'] = fc.oneof(
        textArb(seeds.serverLines.length > 0 ? seeds.serverLines : TEXT_POOL),
        fc.subarray(names),
        fc.subarray(names).map((list) => list.map((n) => `AUTH=${n}`)),
      );
      fields['useOffer'] = fc.boolean();
    }
    targets.push({
      name: `profile ${entry.name}`,
      group: 'profile',
      cost: 6,
      property: () =>
        fc.asyncProperty(fc.record(fields), async (generated) => {
          const written: unknown[] = [];
          const args: Record<string, unknown> = {
            write: (line: unknown) => {
              written.push(line);
            },
            auth,
          };
          const input = asyncItems(generated['input'] as string[]).make();
          if (has('lines')) args['lines'] = input;
          if (has('elements')) args['elements'] = input;
          if (has('messages')) args['messages'] = asyncItems(generated['chunks'] as Uint8Array[]).make();
          // A host that read the startup packet itself passes its parameters (the vectors' user).
          if (has('startup') && generated['withStartup'] === true) args['startup'] = { user: 'user' };
          if (entry.side === 'server') {
            if (has('command')) args['command'] = generated['command'];
            args['options'] = serverOptions(generated['variant'] as ServerVariant);
          } else {
            const offered = generated['offered'] as string[];
            // Either the mechanism is named, or the client picks from what the server offered.
            const named = has('mechanism') && !(generated['useOffer'] === true && has('offered'));
            const mechanism = named ? (generated['mechanism'] as string) : '';
            args['credentials'] = new ClientCredentials(ALICE, SECRET);
            if (has('user')) args['user'] = ALICE;
            if (has('password')) args['password'] = SECRET;
            if (named) args['mechanism'] = mechanism;
            args['client'] = clientOptions(mechanism);
            if (has('tag')) args['tag'] = 'A01';
            // Peer-supplied offers: raw lines or elements from the server.
            if (has('capabilities')) args['capabilities'] = generated['advertised'];
            if (has('mechanisms')) args['mechanisms'] = generated['advertised'];
            if (has('offered') && !named) args['offered'] = offered;
          }
          try {
            const result = (await run(args)) as Authenticated | { readonly authenticated: Authenticated };
            // A server profile resolves with the verified result (PostgreSQL wraps it): as for the
            // scripted servers, no generated input carries a credential.
            if (entry.side === 'server')
              checkSuccess('authenticated' in result ? result.authenticated : result, entry.name, false);
            noteOutcome('success');
          } catch (error) {
            // Client profiles quote the server's reply text (sanitized) in their errors by design.
            checkThrown(error, entry.name, { canary: entry.side === 'server' });
          }
          for (const item of written) {
            if (typeof item !== 'string' && !(item instanceof Uint8Array))
              throw new FuzzViolation(`${entry.name} wrote ${fc.stringify(item)}, neither text nor bytes`);
            if (lineBased && (typeof item !== 'string' || /[\r\n]/.test(item)))
              throw new FuzzViolation(
                `${entry.name} wrote a line that is not a string without CR and LF: ${fc.stringify(item)}`,
              );
          }
        }),
    });
  }
  return targets;
}

/** Every fuzz target, in a stable order: mechanisms, parsers, profiles, then the readers' hostile shapes (hostile.ts). */
export function fuzzTargets(): FuzzTarget[] {
  return [
    ...mechanismTargets(),
    ...parserTargets(discoverParsers()),
    ...profileTargets(),
    ...hostileTargets(),
    ...ircTargets(),
    ...ldapTargets(),
  ];
}

/** The seed of one target: the run's base seed mixed with the target's name, so targets do not shift each other. */
export function targetSeed(base: number, name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash ^ base) | 0;
}
