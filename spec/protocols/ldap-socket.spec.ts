import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import {
  type Authenticated,
  ClearIdentity,
  ClientCredentials,
  LdapConnection,
  SASLAuth,
  ldapBind,
  ldapSupportedMechanisms,
  ldapWhoAmI,
  serveLdapSocket,
} from '../../lib/index.js';
import { expectSaslRejection } from '../support/helpers.js';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const cert = readFileSync(join(TLS_DIR, 'rsa-sha256.crt'));
const key = readFileSync(join(TLS_DIR, 'rsa-sha256.key'));
const auth = SASLAuth.named(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'PLAIN']);
const accounts = new Map([['alice', new ClearIdentity('alice', 'alice-pass')]]);

describe('protocols/ldap-socket: LdapConnection against serveLdapSocket over TCP', function () {
  this.timeout(20_000);
  let server: Server;
  let url = '';
  const sockets = new Set<Socket>();
  const ends: Promise<unknown>[] = [];
  const binds: Authenticated[] = [];

  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const options = { lookup: (authcid: string) => accounts.get(authcid) };
      ends.push(
        serveLdapSocket(socket, { auth, options, tls: { cert, key }, idleTimeoutMs: 300 }, (who) => {
          binds.push(who);
        }).catch((error: unknown) => error),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    binds.length = 0;
  });

  const tls = { ca: cert, servername: 'localhost' };

  it('StartTLS, then SCRAM-SHA-256-PLUS chosen from the rootDSE (PLAIN held back until TLS), Who am I?', async () => {
    const clear = await LdapConnection.connect({ url });
    expect(await ldapSupportedMechanisms(clear.requester)).to.deep.equal(['SCRAM-SHA-256']);
    await clear.unbind();
    const connection = await LdapConnection.connect({ url, startTls: true, tls });
    expect(connection.encrypted).to.equal(true);
    const bound = await ldapBind(connection, { credentials: new ClientCredentials('alice', 'alice-pass') });
    expect(bound).to.include({ mechanism: 'SCRAM-SHA-256-PLUS', serverVerified: true });
    expect(await ldapWhoAmI(connection.requester)).to.equal('u:alice');
    await connection.unbind();
    expect(binds.map((who) => who.mechanism)).to.deep.equal(['SCRAM-SHA-256-PLUS']);
  });

  it('RFC 5802 channel binding works against saslkit too; a wrong password is refused and the connection stays usable', async () => {
    const connection = await LdapConnection.connect({ url, startTls: true, tls });
    await expectSaslRejection(
      ldapBind(connection, { credentials: new ClientCredentials('alice', 'wrong'), mechanism: 'SCRAM-SHA-256-PLUS' }),
      'AUTHENTICATION_FAILED',
    );
    const bound = await ldapBind(connection, {
      credentials: new ClientCredentials('alice', 'alice-pass'),
      mechanism: 'SCRAM-SHA-256-PLUS',
      channelBindingStyle: 'rfc5802',
    });
    expect(bound.serverVerified).to.equal(true);
    await connection.unbind();
  });

  it('StartTLS a second time on the client: a UsageError before anything is sent', async () => {
    const connection = await LdapConnection.connect({ url, startTls: true, tls });
    try {
      expect(await connection.startTls(tls).catch((error: unknown) => (error as { code: string }).code)).to.equal(
        'USAGE',
      );
    } finally {
      connection.close();
    }
  });

  it('closes a connection that stays silent past idleTimeoutMs', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    socket.on('error', () => undefined);
    await once(socket, 'close');
    expect(socket.destroyed).to.equal(true);
  });
});
