/**
 * The XMPP half of `login` and `mechs` (RFC 6120 client-to-server): the stream header, stream
 * features, STARTTLS (or XEP-0368 direct TLS with `xmpps://`), SASL through
 * {@link xmppClientAuth}, and the stream restart after STARTTLS and after SASL success. The
 * stream's `to` is the domain: `--domain`, else the domain of the user's JID, else the host.
 * @module
 */
import {
  ClientCredentials,
  SASLAuth,
  UnexpectedMessageError,
  parseXmppMechanisms,
  xmppClientAuth,
  xmppElements,
} from '../index.js';
import { type AuthResult, type AuthenticateArgs, type ProtocolClient, SocketClient, peerText } from './client.js';
import { ClientSocket } from './socket.js';
import type { ConnectOptions } from './tls-client.js';
import { TLS_NS, TextSource, readStreamHeader } from './xmpp-stream.js';

/** Splits `user@domain` into its local part and domain; a name without `@` has no domain. */
export function splitJid(user: string): { local: string; domain: string | undefined } {
  const at = user.lastIndexOf('@');
  if (at <= 0) return { local: user, domain: undefined };
  return { local: user.slice(0, at), domain: user.slice(at + 1).replace(/\/.*$/, '') };
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
}

/** A c2s stream to an XMPP server, up to the end of authentication. */
export class XmppClient extends SocketClient implements ProtocolClient {
  readonly #domain: string;
  #text: TextSource;
  #elements: AsyncIterator<string> | undefined;
  #features = '';

  private constructor(options: ConnectOptions, conn: ClientSocket) {
    super(options, conn);
    this.#domain = options.domain ?? options.target.host;
    this.#text = new TextSource(conn.source);
  }

  /** Connects, opens the stream and reads its features. */
  static async connect(options: ConnectOptions): Promise<XmppClient> {
    const client = new XmppClient(options, await ClientSocket.open(options));
    return client.start(() => client.#open());
  }

  get protocol(): 'xmpp' {
    return 'xmpp';
  }

  #send(xml: string, shown = xml): void {
    this.tracer?.note(`C: ${shown}`);
    this.conn.write(xml);
  }

  /** Sends the stream header, reads the server's, then its features. */
  async #open(): Promise<void> {
    this.#send(
      `<?xml version='1.0'?><stream:stream to='${escapeAttribute(this.#domain)}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
    );
    await this.#readHeader();
    this.#elements = xmppElements(this.#text);
    const features = await this.#element();
    if (!/^<stream:features[\s>/]/.test(features))
      throw new UnexpectedMessageError(`expected <stream:features>, got ${peerText(features.slice(0, 60))}`, {
        party: 'server',
      });
    this.#features = features;
    const mechanisms = /<mechanisms\b[\s\S]*?<\/mechanisms>/.exec(features)?.[0];
    this.mechanisms = mechanisms === undefined ? [] : parseXmppMechanisms(mechanisms);
    this.startTlsOffered = new RegExp(`<starttls\\s+xmlns=['"]${TLS_NS}['"]`).test(features);
  }

  /** Reads the server's `<?xml?>` and `<stream:stream ...>` start tag; the rest goes back. */
  async #readHeader(): Promise<void> {
    const header = await readStreamHeader(this.#text, 'server');
    this.tracer?.note(`S: ${peerText(header)}`);
  }

  async #element(): Promise<string> {
    const elements = this.#elements;
    if (elements === undefined) throw new UnexpectedMessageError('the stream is not open', { party: 'local' });
    const next = await elements.next();
    if (next.done === true) throw new UnexpectedMessageError('the server closed the stream', { party: 'server' });
    if (/^<stream:error[\s>]/.test(next.value))
      throw new UnexpectedMessageError(`the XMPP server sent a stream error: ${peerText(next.value)}`, {
        party: 'server',
      });
    return next.value;
  }

  /** STARTTLS, then the stream restarts over TLS (RFC 6120 section 5.4.3.3). */
  async startTls(): Promise<void> {
    if (this.tls !== undefined) throw new UnexpectedMessageError('TLS is already active', { party: 'local' });
    await this.conn.guard(async () => {
      this.#send(`<starttls xmlns='${TLS_NS}'/>`);
      const answer = await this.#element();
      this.tracer?.note(`S: ${peerText(answer)}`);
      if (!/^<proceed[\s/>]/.test(answer))
        throw new UnexpectedMessageError(`the XMPP server refused STARTTLS: ${peerText(answer)}`, { party: 'server' });
      await this.conn.upgrade();
      this.#text = new TextSource(this.conn.source);
      await this.#open();
    });
  }

  /** Runs SASL, then restarts the stream as an authenticated client must. */
  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const { credentials } = args;
    // XMPP's SASL authcid is the JID's local part (RFC 6120 section 6.3.8).
    const local = splitJid(credentials.authcid).local;
    const own =
      local === credentials.authcid
        ? credentials
        : new ClientCredentials(local, credentials.secret, credentials.authzid, { kind: credentials.kind });
    const named = typeof args.mechanism === 'string' ? SASLAuth.all().getClient(args.mechanism) : args.mechanism;
    let roundTrips = 0;
    return this.conn.guard(async () => {
      const result = await xmppClientAuth({
        auth: named === undefined ? SASLAuth.all() : SASLAuth.named([named.name]),
        credentials: own,
        mechanisms: this.mechanisms,
        elements: {
          next: async () => {
            const element = await this.#element();
            this.tracer?.note(
              `S: ${/^<(success|challenge)\b/.test(element) ? `<${/^<(\w+)/.exec(element)?.[1] ?? ''}> (${element.length} bytes, not shown)` : peerText(element)}`,
            );
            return { done: false, value: element };
          },
        },
        write: (element) => {
          roundTrips += 1;
          // <auth> and <response> carry the password or the proof: only the element's name is shown.
          this.#send(
            element,
            `<${/^<(\w+)/.exec(element)?.[1] ?? ''}${/mechanism='([A-Z0-9_-]+)'/.exec(element)?.[0] === undefined ? '' : ` ${/mechanism='([A-Z0-9_-]+)'/.exec(element)?.[0] ?? ''}`}> (${element.length} bytes, not shown)`,
          );
        },
        client: {
          host: this.#domain,
          service: 'xmpp',
          channelBinding: args.channelBinding ?? 'prefer',
          ...(this.tls === undefined ? {} : { channelBindingData: this.tls.binding }),
        },
        choose: {
          encrypted: this.tls !== undefined,
          allowPlaintext: args.allowPlaintext === true,
          ...(args.preference === undefined ? {} : { preference: args.preference }),
        },
      });
      // RFC 6120 section 6.4.6: after <success>, the client restarts the stream.
      await this.#open();
      return { mechanism: result.mechanism, serverVerified: result.serverVerified, roundTrips };
    });
  }

  /** Closes the stream (`</stream:stream>`) and the connection; never throws. */
  async quit(): Promise<void> {
    this.tracer?.note('C: </stream:stream>');
    await this.conn.end('</stream:stream>');
  }

  /** The last stream features (for tests and traces). */
  get features(): string {
    return this.#features;
  }
}
