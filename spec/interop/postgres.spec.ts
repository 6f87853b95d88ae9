/**
 * saslkit's PostgreSQL client (postgresClientAuth) logging in to PostgreSQL 15: SCRAM-SHA-256
 * in the clear, SCRAM-SHA-256-PLUS over TLS with tls-server-end-point channel binding, and the
 * refusals: a wrong password (28P01), channel binding required where none is offered, and
 * binding data that does not match the server's certificate.
 */
import { expect } from 'chai';
import {
  type ChannelBindingSource,
  type ClientOptions,
  type PostgresClientResult,
  postgresClientAuth,
  readPostgresReady,
  tlsChannelBinding,
} from '../../lib/index.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';
import { type PgConnection, closeAll, openPostgres, pgQueryValue } from './connect.js';
import { ACCOUNTS, requirePeer } from './peers.js';

const { alice, bob } = ACCOUNTS;

/** Authenticates on `pg` as `user`; with TLS, hands the client the connection's channel-binding data. */
function authenticate(
  pg: PgConnection,
  user: string,
  password: string,
  client: ClientOptions = {},
): Promise<PostgresClientResult> {
  const binding = pg.tls === undefined ? {} : { channelBindingData: tlsChannelBinding(pg.tls, 'client') };
  return postgresClientAuth({
    messages: pg.reader,
    write: pg.write,
    user,
    password,
    database: 'postgres',
    parameters: { application_name: 'saslkit-interop' },
    client: { ...binding, ...client },
  });
}

describe('interop: saslkit PostgreSQL client against PostgreSQL', function () {
  this.timeout(30_000);

  before(async function () {
    await requirePeer(this, 'postgres');
  });
  afterEach(closeAll);

  it('SCRAM-SHA-256 without TLS: server verified, and the session runs queries as alice', async () => {
    const pg = await openPostgres();
    const result = await authenticate(pg, alice.user, alice.pass);
    expect(result).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    const ready = await readPostgresReady(result.reader);
    expect(ready.parameters['server_version']).to.match(/^15\./);
    expect(ready.transactionStatus).to.equal('I');
    expect(await pgQueryValue(pg, 'select current_user')).to.equal('alice');
  });

  it("SCRAM-SHA-256-PLUS over TLS with channelBinding 'require' (tls-server-end-point)", async () => {
    const pg = await openPostgres({ tls: true });
    expect(tlsChannelBinding(pg.tls!, 'client').types).to.include('tls-server-end-point');
    const result = await authenticate(pg, bob.user, bob.pass, { channelBinding: 'require' });
    expect(result).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true });
    await readPostgresReady(result.reader);
    expect(await pgQueryValue(pg, 'select current_user')).to.equal('bob');
    expect(await pgQueryValue(pg, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()')).to.equal('t');
  });

  it("over TLS with channelBinding 'disable': SCRAM-SHA-256, which the server still accepts", async () => {
    const pg = await openPostgres({ tls: true });
    const result = await authenticate(pg, alice.user, alice.pass, { channelBinding: 'disable' });
    expect(result).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    await readPostgresReady(result.reader);
    expect(await pgQueryValue(pg, 'select current_user')).to.equal('alice');
  });

  it('a wrong password: AUTHENTICATION_FAILED from the server with SQLSTATE 28P01, without the password', async () => {
    const wrong = 'not-alice-pass';
    const pg = await openPostgres({ tls: true });
    const error = await expectSaslRejection(
      authenticate(pg, alice.user, wrong, { channelBinding: 'require' }),
      'AUTHENTICATION_FAILED',
    );
    expect(error).to.include({ party: 'server', mechanism: 'SCRAM-SHA-256-PLUS', serverError: '28P01' });
    expect(error.message).to.include('28P01');
    expectNoSecrets(error, [wrong, alice.pass]);
  });

  it("channelBinding 'require' without TLS: MECHANISM_UNAVAILABLE, since the server offers no -PLUS there", async () => {
    const pg = await openPostgres();
    const error = await expectSaslRejection(
      authenticate(pg, alice.user, alice.pass, { channelBinding: 'require' }),
      'MECHANISM_UNAVAILABLE',
    );
    expect(error.party).to.equal('server');
    expectNoSecrets(error, [alice.pass]);
  });

  it('binding data that is not the certificate the server holds: PostgreSQL refuses the proof with 28000 (a man in the middle would look like this)', async () => {
    const pg = await openPostgres({ tls: true });
    const forged: ChannelBindingSource = { types: ['tls-server-end-point'], data: () => Buffer.alloc(32, 0x42) };
    const error = await expectSaslRejection(
      authenticate(pg, alice.user, alice.pass, { channelBinding: 'require', channelBindingData: forged }),
      'AUTHENTICATION_FAILED',
    );
    expect(error).to.include({ party: 'server', mechanism: 'SCRAM-SHA-256-PLUS' });
    expect((error as { serverError?: string }).serverError).to.equal('28000');
    expectNoSecrets(error, [alice.pass]);
  });
});
