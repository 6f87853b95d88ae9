/**
 * SCRAM-SHA-1/256/512, client and server, through the promise drivers: the RFC 5802 and RFC 7677
 * exchanges byte for byte, every hash paired, wrong passwords, forged server signatures.
 */
import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  type ClientOptions,
  PromiseClientSession,
  PromiseServerSession,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  SCRAM_SHA_512,
  type ScramHash,
  ScramIdentity,
  type ScramMechanism,
  type ServerOptions,
  clearScramClientCache,
  toBase64,
} from '../../lib/index.js';
import {
  RUNTIME,
  asyncStoreOf,
  b,
  bytesOf,
  expectNoSecrets,
  rejection,
  runPair,
  s,
  textOf,
  vector,
} from './support.js';

interface ExchangeVector {
  readonly id: string;
  readonly hash: ScramHash;
  readonly mechanism: ScramMechanism;
  readonly clientNonce: string;
  readonly serverNonce: string;
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly messages: [string, string, string, string];
}

function exchangeVector(id: string, mechanism: ScramMechanism): ExchangeVector {
  const v = vector(id);
  return {
    id,
    hash: v.inputs['hash'] as ScramHash,
    mechanism,
    clientNonce: textOf(v.inputs['client_nonce']),
    serverNonce: textOf(v.inputs['server_nonce_suffix']),
    salt: bytesOf(v.inputs['salt']),
    iterations: v.inputs['iterations'] as number,
    messages: (v.expected['messages'] as { value: unknown }[]).map((m) => textOf(m.value)) as [
      string,
      string,
      string,
      string,
    ],
  };
}

describe(`portable SCRAM (${RUNTIME})`, () => {
  beforeEach(() => {
    clearScramClientCache();
  });

  for (const v of [
    exchangeVector('scram-sha-1-rfc5802', SCRAM_SHA_1),
    exchangeVector('scram-sha-256-rfc7677', SCRAM_SHA_256),
  ]) {
    describe(`${v.mechanism.name} (${v.id})`, () => {
      const [clientFirst, serverFirst, clientFinal, serverFinal] = v.messages;
      const clientOptions: ClientOptions = { scram: { nonceForTesting: v.clientNonce } };
      let identity: ScramIdentity;
      before(async () => {
        identity = await ScramIdentity.createAsync('user', 'pencil', {
          salt: v.salt,
          iterations: v.iterations,
          hashes: [v.hash],
        });
      });
      const serverOptions = (): ServerOptions => ({
        lookup: asyncStoreOf(identity),
        scram: { nonceForTesting: v.serverNonce },
      });

      it('client sends the RFC messages byte for byte and verifies the server', async () => {
        const client = new PromiseClientSession(
          v.mechanism.client(new ClientCredentials('user', 'pencil'), clientOptions),
        );
        expect(s(await client.start(true))).to.equal(clientFirst);
        expect(s(await client.challenge(b(serverFirst)))).to.equal(clientFinal);
        expect(await client.success(b(serverFinal))).to.deep.equal({ serverVerified: true });
      });

      it('server answers the RFC messages byte for byte', async () => {
        const server = new PromiseServerSession(v.mechanism.server(serverOptions(), b(clientFirst)));
        const first = await server.start();
        expect(!first.done && s(first.challenge)).to.equal(serverFirst);
        const done = await server.respond(b(clientFinal));
        expect(done.done && done.outcome).to.include({ mechanism: v.mechanism.name, authcid: 'user', authzid: 'user' });
        expect(done.done && s(done.outcome.additionalData)).to.equal(serverFinal);
      });

      it('server derives the same keys from a clear password (ClearIdentity)', async () => {
        const options: ServerOptions = { lookup: asyncStoreOf(new ClearIdentity('user', 'pencil')) };
        const result = await runPair(
          v.mechanism.client(new ClientCredentials('user', 'pencil')),
          (ir) => v.mechanism.server(options, ir),
          true,
        );
        expect(result.server.authcid).to.equal('user');
        expect(result.client.serverVerified).to.equal(true);
      });

      it('client refuses a forged server signature without leaking secrets', async () => {
        const client = new PromiseClientSession(
          v.mechanism.client(new ClientCredentials('user', 'pencil'), clientOptions),
        );
        await client.start(true);
        await client.challenge(b(serverFirst));
        const forged = `v=${toBase64(new Uint8Array(v.hash === 'SHA-1' ? 20 : 32).fill(1))}`;
        const error = await rejection(client.success(b(forged)), 'SERVER_NOT_VERIFIED');
        expectNoSecrets(error, ['pencil', serverFinal.slice(2)]);
      });
    });
  }

  for (const mechanism of [SCRAM_SHA_1, SCRAM_SHA_256, SCRAM_SHA_512]) {
    describe(mechanism.name, () => {
      let options: ServerOptions;
      before(async () => {
        const alice = await ScramIdentity.createAsync('alice', 'alice-pass', {
          hashes: [mechanism.hash],
          iterations: 4096,
        });
        options = { lookup: asyncStoreOf(alice, new ClearIdentity('bob', 'bob-pass')) };
      });

      it('client and server agree, server-final as a challenge and as success data', async () => {
        for (const [user, pass] of [
          ['alice', 'alice-pass'],
          ['bob', 'bob-pass'],
        ] as const) {
          for (const successData of [false, true]) {
            const result = await runPair(
              mechanism.client(new ClientCredentials(user, pass)),
              (ir) => mechanism.server(options, ir),
              successData,
            );
            expect(result.server).to.include({ mechanism: mechanism.name, authcid: user, authzid: user });
            expect(result.client.serverVerified).to.equal(true);
          }
        }
      });

      it('refuses a wrong password and an unknown user alike', async () => {
        for (const user of ['alice', 'nobody']) {
          const error = await rejection(
            runPair(mechanism.client(new ClientCredentials(user, 'wrong-pass')), (ir) => mechanism.server(options, ir)),
            'AUTHENTICATION_FAILED',
          );
          expectNoSecrets(error, ['wrong-pass', 'alice-pass']);
        }
      });

      it('server refuses malformed client messages with a typed error', async () => {
        for (const message of [
          '',
          'x',
          'n,,',
          'y,,n=alice',
          'n,,n=alice',
          'n,,r=abc',
          'n,,n=al,ice,r=x',
          'p,,n=alice,r=abc',
          'n,,n=a=3Db,r=x,',
        ]) {
          const error = await rejection(
            new PromiseServerSession(mechanism.server(options, b(message))).start(),
            'MALFORMED_MESSAGE',
          );
          expect(error.party).to.equal('client');
        }
      });
    });
  }
});
