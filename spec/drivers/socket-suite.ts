/**
 * The loopback-socket tests every driver must pass. Each driver's spec supplies the two ends of
 * the line protocol (spec/support/line-transport.ts) written with that driver.
 */
import { expect } from 'chai';
import {
  type Authenticated,
  ClientCredentials,
  type ClientExchange,
  type ClientOutcome,
  SASLAuth,
  type ServerExchange,
  type ServerMechanism,
  type ServerOptions,
  type SessionOptions,
} from '../../lib/index.js';
import { ALICE, asyncStoreOf, expectSaslRejection, storeOf } from '../support/helpers.js';
import { FinallyProbe, type LineTransport, useLoopback } from '../support/line-transport.js';

/** The registry the runners look mechanisms up in. */
export const auth = SASLAuth.all();
/** Alice's client credentials. */
export const ALICE_LOGIN = new ClientCredentials('alice', 'alice-pass');

/** How the server end should behave. */
export interface Serve {
  readonly options?: ServerOptions;
  readonly limits?: SessionOptions;
  readonly wrap?: (exchange: ServerExchange) => ServerExchange;
  /** Send `S *` instead of the first challenge, and fail with an abort of its own. */
  readonly abort?: boolean;
}

/** How the client end should behave. */
export interface Login {
  readonly credentials?: ClientCredentials;
  readonly canSendInitial?: boolean;
  readonly wrap?: (exchange: ClientExchange) => ClientExchange;
  /** Send `C *` instead of answering the first challenge, and fail with an abort of its own. */
  readonly abort?: boolean;
}

/** The two ends, written with the driver under test. */
export interface Ends {
  /** Reads `AUTH`, runs the server exchange, answers `OK`/`NO`; resolves with the outcome. */
  readonly serve: (t: LineTransport, o?: Serve) => Promise<Authenticated>;
  /** Sends `AUTH`, runs the client exchange; resolves with the outcome. */
  readonly login: (t: LineTransport, mechanism: string, o?: Login) => Promise<ClientOutcome>;
  /** Whether the driver may await effects (an async store works) or refuses them (USAGE). */
  readonly asyncEffects: boolean;
}

/** Reads the `AUTH` line and starts the named server exchange. */
export async function acceptAuth(
  t: LineTransport,
  o: Serve,
): Promise<{ exchange: ServerExchange; mechanism: ServerMechanism }> {
  const command = await t.receive();
  if (command?.kind !== 'AUTH') throw new Error('expected AUTH');
  const mechanism = auth.getServer(command.mechanism);
  if (!mechanism) throw new Error(`no server mechanism ${command.mechanism}`);
  const exchange = mechanism.server(o.options ?? { lookup: storeOf(ALICE) }, command.data);
  return { exchange: o.wrap ? o.wrap(exchange) : exchange, mechanism };
}

/** Starts the named client exchange. */
export function startLogin(mechanism: string, o: Login): ClientExchange {
  const found = auth.getClient(mechanism);
  if (!found) throw new Error(`no client mechanism ${mechanism}`);
  const exchange = found.client(o.credentials ?? ALICE_LOGIN);
  return o.wrap ? o.wrap(exchange) : exchange;
}

/** Registers the shared socket tests for one driver. */
export function socketSuite(driver: string, { serve, login, asyncEffects }: Ends): void {
  describe(`${driver} driver over a 127.0.0.1 socket`, () => {
    const connect = useLoopback();

    it('completes PLAIN with an initial response', async () => {
      const { server, client } = await connect();
      const [outcome, result] = await Promise.all([serve(server), login(client, 'PLAIN')]);
      expect(outcome).to.include({ mechanism: 'PLAIN', authcid: 'alice', authzid: 'alice' });
      expect(result.serverVerified).to.equal(false);
      expect(client.log).to.deep.equal(['> AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3M=', '< OK']);
    });

    it('completes PLAIN when the initial response must wait for an empty challenge', async () => {
      const { server, client } = await connect();
      const [outcome] = await Promise.all([serve(server), login(client, 'PLAIN', { canSendInitial: false })]);
      expect(outcome.authcid).to.equal('alice');
      expect(client.log).to.deep.equal(['> AUTH PLAIN', '< S =', '> C AGFsaWNlAGFsaWNlLXBhc3M=', '< OK']);
    });

    it('completes LOGIN', async () => {
      const { server, client } = await connect();
      const [outcome] = await Promise.all([serve(server), login(client, 'LOGIN')]);
      expect(outcome).to.include({ mechanism: 'LOGIN', authcid: 'alice' });
      expect(client.log).to.deep.equal([
        '> AUTH LOGIN',
        '< S VXNlcm5hbWU6',
        '> C YWxpY2U=',
        '< S UGFzc3dvcmQ6',
        '> C YWxpY2UtcGFzcw==',
        '< OK',
      ]);
    });

    it('completes CRAM-MD5', async () => {
      const { server, client } = await connect();
      const [outcome] = await Promise.all([serve(server), login(client, 'CRAM-MD5')]);
      expect(outcome).to.include({ mechanism: 'CRAM-MD5', authcid: 'alice' });
      expect(client.log.map((line) => line.split(' ')[1])).to.deep.equal(['AUTH', 'S', 'C', 'OK']);
    });

    it('refuses a wrong password: the server fails with AUTHENTICATION_FAILED, the client hears NO', async () => {
      const { server, client } = await connect();
      const served = serve(server);
      const logged = login(client, 'LOGIN', { credentials: new ClientCredentials('alice', 'wrong') });
      const [serverError, clientError] = await Promise.all([
        expectSaslRejection(served, 'AUTHENTICATION_FAILED'),
        expectSaslRejection(logged, 'AUTHENTICATION_FAILED'),
      ]);
      expect([serverError.party, clientError.party]).to.deep.equal(['client', 'server']);
    });

    if (asyncEffects) {
      it('works with an async credential store', async () => {
        const { server, client } = await connect();
        const [outcome] = await Promise.all([
          serve(server, { options: { lookup: asyncStoreOf(ALICE) } }),
          login(client, 'CRAM-MD5'),
        ]);
        expect(outcome.authcid).to.equal('alice');
      });
    } else {
      it('refuses an async credential store with USAGE', async () => {
        const { server, client } = await connect();
        const served = serve(server, { options: { lookup: asyncStoreOf(ALICE) } });
        const logged = login(client, 'PLAIN');
        await Promise.all([expectSaslRejection(served, 'USAGE'), expectSaslRejection(logged, 'AUTHENTICATION_FAILED')]);
      });
    }

    it('ends with ABORTED on both sides and runs both finally blocks when the client sends *', async () => {
      const { server, client } = await connect();
      const [serverProbe, clientProbe] = [new FinallyProbe(), new FinallyProbe()];
      const served = serve(server, { wrap: serverProbe.wrap });
      const logged = login(client, 'LOGIN', { abort: true, wrap: clientProbe.wrap });
      const [serverError, clientError] = await Promise.all([
        expectSaslRejection(served, 'ABORTED'),
        expectSaslRejection(logged, 'ABORTED'),
      ]);
      expect([serverError.party, clientError.party]).to.deep.equal(['client', 'local']);
      expect([serverProbe.ran, clientProbe.ran]).to.deep.equal([true, true]);
    });

    it('ends with ABORTED on both sides and runs both finally blocks when the server sends *', async () => {
      const { server, client } = await connect();
      const [serverProbe, clientProbe] = [new FinallyProbe(), new FinallyProbe()];
      const served = serve(server, { abort: true, wrap: serverProbe.wrap });
      const logged = login(client, 'CRAM-MD5', { wrap: clientProbe.wrap });
      const [serverError, clientError] = await Promise.all([
        expectSaslRejection(served, 'ABORTED'),
        expectSaslRejection(logged, 'ABORTED'),
      ]);
      expect([serverError.party, clientError.party]).to.deep.equal(['local', 'server']);
      expect([serverProbe.ran, clientProbe.ran]).to.deep.equal([true, true]);
    });

    it('enforces maxMessageBytes with LIMIT_EXCEEDED', async () => {
      const { server, client } = await connect();
      const served = serve(server, { limits: { maxMessageBytes: 8 } });
      const [error] = await Promise.all([
        expectSaslRejection(served, 'LIMIT_EXCEEDED'),
        expectSaslRejection(login(client, 'LOGIN'), 'AUTHENTICATION_FAILED'),
      ]);
      expect(error).to.include({ party: 'client', limit: 'maxMessageBytes' });
    });

    it('enforces maxRounds with LIMIT_EXCEEDED', async () => {
      const { server, client } = await connect();
      const served = serve(server, { limits: { maxRounds: 1 } });
      const [error] = await Promise.all([
        expectSaslRejection(served, 'LIMIT_EXCEEDED'),
        expectSaslRejection(login(client, 'LOGIN'), 'AUTHENTICATION_FAILED'),
      ]);
      expect(error).to.include({ party: 'client', limit: 'maxRounds' });
    });

    it('surfaces the error a credential store throws, as it is', async () => {
      const { server, client } = await connect();
      const down = new Error('database down');
      const lookup = (): never => {
        throw down;
      };
      const [served, logged] = await Promise.allSettled([
        serve(server, { options: { lookup } }),
        login(client, 'PLAIN'),
      ]);
      expect(served.status === 'rejected' && served.reason).to.equal(down);
      expect(logged.status).to.equal('rejected');
    });
  });
}
