/**
 * Fuzz targets for the LDAP profile (issue 15): the strict BER codec and parseLdapMessage fed
 * mutated LDAPMessages, the LdapMessageReader fed the same stream in one chunk, a byte at a time
 * and cut at random points (same outcome, work within a small constant of one chunk's), and the
 * LDAP server fed mutated request sequences. Each ends in a value or a typed error; the server
 * may only authenticate a stream that carries the password, and writes only LDAPMessages.
 */
import fc from 'fast-check';
import {
  ClearIdentity,
  type LdapMessage,
  LdapServerConnection,
  SASLAuth,
  encodeLdapMessage,
  parseLdapMessage,
  staticChannelBinding,
} from '../../lib/index.js';
import { readerWork } from '../../lib/transport/lines.js';
import { LdapMessageReader, berChildren, decodeBer } from '../../lib/transport/ber.js';
import { ALICE, FuzzViolation, SECRET, checkSuccess, checkThrown, noteOutcome } from './harness.js';
import { messageArb } from './mutate.js';
import type { FuzzTarget } from './properties.js';

const b = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'utf8'));
const result = { resultCode: 0, matchedDN: '', diagnosticMessage: '' };

/** Requests a client sends, then responses a server sends: every kind saslkit reads. */
const SEED_MESSAGES: readonly LdapMessage[] = [
  {
    messageId: 1,
    op: {
      type: 'bindRequest',
      version: 3,
      name: '',
      authentication: { sasl: { mechanism: 'PLAIN', credentials: b(`\0${ALICE}\0${SECRET}`) } },
    },
  },
  {
    messageId: 1,
    op: {
      type: 'bindRequest',
      version: 3,
      name: '',
      authentication: {
        sasl: { mechanism: 'SCRAM-SHA-256', credentials: b(`n,,n=${ALICE},r=fyko+d2lbbFgONRv9qkxdawL`) },
      },
    },
  },
  {
    messageId: 2,
    op: { type: 'bindRequest', version: 3, name: '', authentication: { sasl: { mechanism: 'CRAM-MD5' } } },
  },
  { messageId: 3, op: { type: 'bindRequest', version: 3, name: '', authentication: { simple: b('') } } },
  {
    messageId: 4,
    op: {
      type: 'searchRequest',
      baseObject: '',
      scope: 0,
      derefAliases: 0,
      sizeLimit: 0,
      timeLimit: 0,
      typesOnly: false,
      filter: { and: [{ present: 'objectClass' }, { not: { equality: { attribute: 'uid', value: 'x' } } }] },
      attributes: ['supportedSASLMechanisms', '+'],
    },
  },
  { messageId: 5, op: { type: 'extendedRequest', requestName: '1.3.6.1.4.1.4203.1.11.3' } },
  { messageId: 6, op: { type: 'extendedRequest', requestName: '1.3.6.1.4.1.1466.20037' } },
  { messageId: 7, op: { type: 'abandonRequest', messageId: 3 } },
  { messageId: 8, op: { type: 'unbindRequest' }, controls: [{ type: '1.2.3', criticality: true, value: b('v') }] },
  {
    messageId: 1,
    op: {
      type: 'bindResponse',
      result: { ...result, resultCode: 14 },
      serverSaslCreds: b('r=abc,s=QSXCR+Q6sek8bf92,i=4096'),
    },
  },
  {
    messageId: 4,
    op: {
      type: 'searchResultEntry',
      objectName: '',
      attributes: [{ type: 'supportedSASLMechanisms', values: [b('PLAIN'), b('SCRAM-SHA-256')] }],
    },
  },
  { messageId: 4, op: { type: 'searchResultDone', result } },
  { messageId: 4, op: { type: 'searchResultReference', uris: ['ldap://x/'] } },
  {
    messageId: 0,
    op: { type: 'extendedResponse', result: { ...result, resultCode: 2 }, responseName: '1.3.6.1.4.1.1466.20036' },
  },
];
const SEEDS: readonly Uint8Array[] = SEED_MESSAGES.map((message) => encodeLdapMessage(message));
const REQUEST_SEEDS = SEEDS.slice(0, 9);
const SECRET_BYTES = Buffer.from(SECRET);

/** Walks a parsed element tree the way a message parser does, to fuzz the codec under it. */
function walk(bytes: Uint8Array): number {
  let count = 0;
  const visit = (element: ReturnType<typeof decodeBer>, depth: number): void => {
    count++;
    if ((element.tag & 0x20) !== 0) for (const child of berChildren(element, depth)) visit(child, depth + 1);
  };
  visit(decodeBer(bytes, { party: 'client' }), 0);
  return count;
}

function parserTarget(): FuzzTarget {
  return {
    name: 'ldap BER and parseLdapMessage on mutated messages',
    group: 'parser',
    cost: 1,
    property: () =>
      fc.property(messageArb(SEEDS), (bytes) => {
        for (const [where, run] of [
          ['decodeBer', () => walk(bytes)],
          ['parseLdapMessage', () => parseLdapMessage(bytes, { party: 'client' })],
        ] as const) {
          try {
            run();
            noteOutcome('parsed');
          } catch (error) {
            checkThrown(error, where, { canary: true });
          }
        }
      }),
  };
}

async function* items<T>(list: readonly T[]): AsyncGenerator<T> {
  for (const item of list) yield await Promise.resolve(item);
}

/** Most work a delivery may cost per byte, however it is cut. */
const MAX_WORK_PER_BYTE = 8;

function readerTarget(): FuzzTarget {
  const stream = fc
    .array(messageArb(SEEDS), { minLength: 1, maxLength: 4 })
    .map((list) => new Uint8Array(Buffer.concat(list)));
  const plan = fc.record({
    bytes: stream,
    max: fc.constantFrom(undefined, 16, 4096),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
  });
  return {
    name: 'ldap LdapMessageReader chunking',
    group: 'reader',
    cost: 12,
    property: () =>
      fc.asyncProperty(plan, async ({ bytes, max, cuts }) => {
        const deliveries: Uint8Array[][] = [[bytes], Array.from(bytes, (byte) => Uint8Array.of(byte))];
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
        deliveries.push(
          [...points, bytes.length].map((point, i, all) => bytes.subarray(i === 0 ? 0 : (all[i - 1] as number), point)),
        );
        const outcomes: string[] = [];
        const ends: string[] = [];
        const works: number[] = [];
        for (const chunks of deliveries) {
          const before = readerWork.units;
          const reader = new LdapMessageReader(
            items(chunks),
            max === undefined ? { peer: 'client' } : { peer: 'client', maxMessageBytes: max },
          );
          const read: string[] = [];
          let end: string;
          try {
            for (;;) read.push(Buffer.from(await reader.readBytes()).toString('hex'));
          } catch (error) {
            checkThrown(error, 'LdapMessageReader', { canary: false, note: false });
            end = (error as { code: string }).code;
          }
          const work = readerWork.units - before;
          if (work > MAX_WORK_PER_BYTE * bytes.length + 64)
            throw new FuzzViolation(`LdapMessageReader: ${work} units of work for ${bytes.length} bytes`);
          outcomes.push(JSON.stringify({ read, end }));
          ends.push(end);
          works.push(work);
        }
        noteOutcome(ends[0] ?? 'none');
        if (new Set(outcomes).size !== 1)
          throw new FuzzViolation(
            `LdapMessageReader: outcomes differ with the chunking: ${outcomes.map((o) => o.slice(0, 200)).join(' / ')}`,
          );
        const bound = 3 * Math.max(works[0] as number, bytes.length) + 64;
        if (works.some((work) => work > bound))
          throw new FuzzViolation(`LdapMessageReader: work ${works.join(', ')} for ${bytes.length} bytes`);
      }),
  };
}

function serverTarget(): FuzzTarget {
  const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'EXTERNAL']);
  const identity = new ClearIdentity(ALICE, SECRET);
  const plan = fc.record({
    messages: fc.array(messageArb(REQUEST_SEEDS), { maxLength: 6 }),
    binding: fc.boolean(),
    startTls: fc.boolean(),
  });
  return {
    name: 'ldap server on mutated request sequences',
    group: 'profile',
    cost: 6,
    property: () =>
      fc.asyncProperty(plan, async ({ messages, binding, startTls }) => {
        const written: Uint8Array[] = [];
        const connection = new LdapServerConnection({
          auth,
          options: {
            lookup: (authcid) => (authcid === ALICE ? identity : undefined),
            ...(binding
              ? { channelBindingData: staticChannelBinding({ 'tls-server-end-point': Uint8Array.of(7) }) }
              : {}),
          },
          messages: items(messages),
          write: (data) => {
            written.push(data);
          },
          ...(startTls
            ? { startTls: () => Promise.resolve({ messages: items<Uint8Array>([]), write: () => undefined }) }
            : {}),
        });
        const knew = messages.some((message) => Buffer.from(message).includes(SECRET_BYTES));
        try {
          checkSuccess(await connection.authenticate(), 'LdapServerConnection', knew);
          noteOutcome('success');
        } catch (error) {
          checkThrown(error, 'LdapServerConnection', { canary: true });
        }
        for (const data of written) {
          try {
            parseLdapMessage(data);
          } catch (error) {
            throw new FuzzViolation(
              `the LDAP server wrote a message it cannot parse: ${Buffer.from(data).toString('hex').slice(0, 200)}`,
              { cause: error },
            );
          }
        }
      }),
  };
}

/** The LDAP fuzz targets. */
export function ldapTargets(): FuzzTarget[] {
  return [parserTarget(), readerTarget(), serverTarget()];
}
