/**
 * An XMPP SASL negotiation (RFC 6120 section 6) between a saslkit server and a saslkit client,
 * in one process over a 127.0.0.1 socket pair, printing every element. The first attempt uses a
 * wrong password and gets `<not-authorized/>`; the client retries on the same stream (RFC 6120
 * allows retries) and SCRAM-SHA-256 succeeds, its server signature arriving inside `<success>`.
 *
 *   npx ts-node examples/xmpp-sasl.ts
 *
 * A real XMPP server would send `<mechanisms>` inside `<stream:features>` and restart the stream
 * after `<success>`; here the socket carries only the SASL elements.
 */
import { once } from 'node:events';
import { type Socket, createConnection, createServer } from 'node:net';
import {
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  buildXmppMechanisms,
  isSaslError,
  xmppClientAuth,
  xmppElements,
  xmppServerAuth,
} from 'saslkit';

const accounts = [new ClearIdentity('juliet', 'r0m30myr0m30')];

function writer(socket: Socket, arrow: string): (element: string) => void {
  return (element) => {
    console.log(`${arrow} ${element}`);
    socket.write(element);
  };
}

async function serve(socket: Socket): Promise<void> {
  const auth = SASLAuth.named(['SCRAM-SHA-256', 'PLAIN']);
  const write = writer(socket, 'S:');
  const elements = xmppElements(socket);
  write(buildXmppMechanisms(auth.serverMechanisms.map((m) => m.name)));
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const who = await xmppServerAuth({
        auth,
        options: { lookup: (name) => accounts.find((a) => a.authcid === name) },
        elements,
        write,
      });
      console.log(`   server: ${who.authcid} authenticated with ${who.mechanism}`);
      return;
    } catch (error) {
      if (!isSaslError(error) || error.code === 'ABORTED') throw error;
      console.log(`   server: attempt ${attempt} failed (${error.code})`);
    }
  }
}

/** Tries a wrong password, then the right one; true once logged in. */
async function login(socket: Socket): Promise<boolean> {
  const elements = xmppElements(socket);
  const features = await elements.next();
  if (features.done === true) throw new Error('no stream features');
  const auth = SASLAuth.all();
  const write = writer(socket, 'C:');
  for (const password of ['wrong-password', 'r0m30myr0m30']) {
    try {
      // No TLS here: `encrypted: false` keeps the client from choosing PLAIN by itself.
      const result = await xmppClientAuth({
        auth,
        credentials: new ClientCredentials('juliet', password),
        mechanisms: features.value,
        elements,
        write,
        choose: { encrypted: false },
      });
      console.log(`   client: logged in with ${result.mechanism}; server proved itself: ${result.serverVerified}`);
      return result.serverVerified;
    } catch (error) {
      if (!isSaslError(error)) throw error;
      console.log(`   client: ${error.code} (${error.message})`);
    }
  }
  return false;
}

async function main(): Promise<void> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = createConnection({ host: '127.0.0.1', port: address.port });
  const [[server]] = await Promise.all([accepted, once(client, 'connect')]);
  try {
    const [, ok] = await Promise.all([serve(server), login(client)]);
    process.exitCode = ok ? 0 : 1;
  } finally {
    client.destroy();
    server.destroy();
    listener.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
