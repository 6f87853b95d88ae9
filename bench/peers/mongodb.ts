/**
 * mongodb's SCRAM-SHA-256 client, driven standalone. The driver's auth provider
 * (mongodb/lib/cmap/auth/scram.js, class ScramSHA256) talks to the server only through
 * `authContext.connection.command(ns, cmd)`, sending saslStart / saslContinue documents; a fake
 * connection answers those from a fixed server, with the reply shape the wire gives (payload as a
 * BSON Binary, conversationId, done, ok: 1). No socket, no BSON serialisation, no hello: what is
 * left is the driver's SCRAM code, as it runs on every new connection.
 *
 * mongodb compares the server signature itself (constant-time loop; it throws "Server returned an
 * invalid signature"), and caches salted passwords in a module-level map keyed by
 * password + salt + iterations, dropped whole when it reaches 200 entries.
 */
import { createRequire } from 'node:module';
import { check } from '../harness.js';
import type { FixedScramServer } from './fixed-server.js';

/** The BSON Binary the driver sends and expects (bson's class, re-exported by mongodb). */
interface BsonBinary {
  readonly buffer: Uint8Array;
  readonly position: number;
}
type BinaryClass = new (bytes: Uint8Array) => BsonBinary;

interface SaslReply {
  conversationId: number;
  payload: BsonBinary;
  done: boolean;
  ok: 1;
}

interface SaslCommand {
  readonly saslStart?: 1;
  readonly saslContinue?: 1;
  readonly mechanism?: string;
  readonly conversationId?: number;
  readonly payload: BsonBinary | Uint8Array;
}

interface FakeConnection {
  command(ns: unknown, cmd: SaslCommand, options: unknown): Promise<SaslReply>;
}

/** The internal classes (mongodb publishes no types for them). */
interface AuthContextClass {
  new (connection: FakeConnection, credentials: unknown, options: unknown): object;
}
interface ScramProvider {
  prepare(handshakeDoc: object, context: object): Promise<object>;
  auth(context: object): Promise<void>;
}
type CredentialsClass = new (options: {
  username: string;
  password: string;
  source: string;
  mechanism: string;
  mechanismProperties: object;
}) => unknown;

const load = createRequire(__filename);
const { Binary } = load('mongodb') as { Binary: BinaryClass };
const { ScramSHA256 } = load('mongodb/lib/cmap/auth/scram') as { ScramSHA256: new () => ScramProvider };
const { AuthContext } = load('mongodb/lib/cmap/auth/auth_provider') as { AuthContext: AuthContextClass };
const { MongoCredentials } = load('mongodb/lib/cmap/auth/mongo_credentials') as { MongoCredentials: CredentialsClass };

/** The installed driver's version, for the report. */
export const MONGODB_VERSION = (load('mongodb/package.json') as { version: string }).version;

const bytesOf = (payload: BsonBinary | Uint8Array): Uint8Array =>
  payload instanceof Uint8Array ? payload : payload.buffer.subarray(0, payload.position);

/** A connection that answers saslStart / saslContinue from one fixed-server login. */
class FixedServerConnection implements FakeConnection {
  /** Set when the server accepted the proof and sent its signature. */
  accepted = false;

  constructor(private readonly server: FixedScramServer) {}

  command(_ns: unknown, cmd: SaslCommand): Promise<SaslReply> {
    if (cmd.saslStart === 1) {
      check(cmd.mechanism === 'SCRAM-SHA-256', 'mongodb asks for SCRAM-SHA-256');
      return Promise.resolve({
        conversationId: 1,
        payload: new Binary(this.server.first(bytesOf(cmd.payload))),
        done: false,
        ok: 1,
      });
    }
    check(
      cmd.saslContinue === 1 && cmd.conversationId === 1 && !this.accepted,
      'mongodb continues the conversation once',
    );
    // Throws when the proof is wrong, which rejects the driver's auth().
    const serverFinal = this.server.final(bytesOf(cmd.payload));
    this.accepted = true;
    // done: true saves the driver its empty third round trip (MongoDB 4.4+ with skipEmptyExchange).
    return Promise.resolve({ conversationId: 1, payload: new Binary(serverFinal), done: true, ok: 1 });
  }
}

/** A mongodb SCRAM-SHA-256 client for one user, reused across logins as a MongoClient reuses its provider. */
export class MongodbScramClient {
  readonly #provider = new ScramSHA256();
  readonly #credentials: unknown;

  constructor(user: string, password: string) {
    this.#credentials = new MongoCredentials({
      username: user,
      password,
      source: 'admin',
      mechanism: 'SCRAM-SHA-256',
      mechanismProperties: {},
    });
  }

  /**
   * One login: prepare (the client nonce) and auth (saslStart, saslContinue). Resolves only when
   * the server verified the proof and the driver verified the server signature.
   */
  async login(server: FixedScramServer): Promise<void> {
    const connection = new FixedServerConnection(server);
    const context = new AuthContext(connection, this.#credentials, {});
    await this.#provider.prepare({}, context);
    await this.#provider.auth(context);
    check(connection.accepted, 'mongodb login accepted by the fixed server');
  }
}
