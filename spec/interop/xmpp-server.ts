/**
 * A minimal XMPP client-to-server listener on 127.0.0.1 around saslkit's `xmppServerAuth`: the
 * stream header, optional STARTTLS, `<stream:features>`, SASL (RFC 6120 section 6), the stream
 * restart and resource binding, which is all `@xmpp/client` needs to go online. For the interop
 * specs (xmpp.js logging in to saslkit's server profile, a server that forges SCRAM's signature)
 * and the xmpp.js benchmark. Not a server to run: no stanza routing, no roster, no limits beyond
 * the framing's size cap.
 */
import { once } from 'node:events';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import tls, { type ConnectionOptions, TLSSocket } from 'node:tls';
import {
  type Authenticated,
  PromiseServerSession,
  type SASLAuth,
  type ServerOptions,
  advertisedMechanisms,
  buildXmppMechanisms,
  fromBase64,
  toBase64,
  tlsChannelBinding,
  xmppServerAuth,
} from '../../lib/index.js';

const STREAM_NS = 'http://etherx.jabber.org/streams';
const TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls';
const BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind';
const SASL2_NS = 'urn:xmpp:sasl:2';
/** Larger than any element xmpp.js sends in a login; a stream that grows past it is closed. */
const MAX_BUFFER = 65536;

/** What the framing found: a stream header, one complete top-level element, or the stream's end. */
export type Token =
  { readonly kind: 'header' } | { readonly kind: 'element'; readonly xml: string } | { readonly kind: 'end' };

/** Splits the text of one XML stream into tokens; enough for what xmpp.js writes. */
class StreamFraming {
  #buffer = '';
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  feed(chunk: Uint8Array): void {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    if (this.#buffer.length > MAX_BUFFER) throw new Error('the client sent more than the test server buffers');
  }

  /** The next complete token, or undefined when more bytes are needed. */
  next(): Token | undefined {
    for (;;) {
      this.#buffer = this.#buffer.trimStart();
      const text = this.#buffer;
      if (text === '') return undefined;
      if (text.startsWith('<?')) {
        const end = text.indexOf('?>');
        if (end < 0) return undefined;
        this.#buffer = text.slice(end + 2);
        continue;
      }
      if (text.startsWith('<stream:stream')) {
        const end = tagEnd(text, 0);
        if (end < 0) return undefined;
        this.#buffer = text.slice(end + 1);
        return { kind: 'header' };
      }
      if (text.startsWith('</stream:stream')) {
        const end = text.indexOf('>');
        if (end < 0) return undefined;
        this.#buffer = text.slice(end + 1);
        return { kind: 'end' };
      }
      const end = elementEnd(text);
      if (end < 0) return undefined;
      this.#buffer = text.slice(end);
      return { kind: 'element', xml: text.slice(0, end) };
    }
  }
}

/** The index of the `>` that ends the tag starting at `from`, skipping quoted values; -1 when incomplete. */
function tagEnd(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i;
    }
  }
  return -1;
}

/** The end (exclusive) of the element at the start of `text`; -1 when incomplete. */
function elementEnd(text: string): number {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('<', i);
    if (open < 0) return -1;
    const end = tagEnd(text, open);
    if (end < 0) return -1;
    if (text[open + 1] === '/') depth -= 1;
    else if (text[end - 1] !== '/') depth += 1;
    i = end + 1;
    if (depth === 0) return i;
  }
  return -1;
}

/** Reads tokens from a socket (either side of a stream); replaced by a new one when TLS starts. */
export class TokenReader {
  readonly #framing = new StreamFraming();
  readonly #socket: Socket;
  readonly #queue: (Token | undefined)[] = [];
  #waiting: ((token: Token | undefined) => void) | undefined;
  #closed = false;
  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#framing.feed(chunk);
      for (let token = this.#framing.next(); token !== undefined; token = this.#framing.next()) this.#push(token);
    } catch {
      this.#socket.destroy();
    }
  };
  readonly #onClose = (): void => {
    this.#closed = true;
    this.#push(undefined);
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('error', () => undefined);
  }

  #push(token: Token | undefined): void {
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(token);
    } else {
      this.#queue.push(token);
    }
  }

  /** The next token; undefined once the socket closed. */
  next(): Promise<Token | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift());
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** Stops reading, so that a TLSSocket can take the socket over. */
  detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
  }
}

/** Options of {@link startXmppServer}. */
export interface XmppServerOptions {
  /** The mechanisms offered (the -PLUS ones only over TLS). */
  readonly auth: SASLAuth;
  /** Store and policy for xmppServerAuth. */
  readonly options: ServerOptions;
  /** Offers STARTTLS with this key and certificate (PEM); SASL is offered before it too, unless `requireTls`. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Offers SASL only after STARTTLS. */
  readonly requireTls?: boolean;
  /** The domain in the stream header. Default `localhost`. */
  readonly domain?: string;
  /** Rewrites an element the server writes during SASL (a server that forges its SCRAM signature). */
  readonly tamper?: (element: string) => string;
  /**
   * Offers XEP-0388 (SASL2, `<authentication>`) instead of RFC 6120 SASL, with a small exchange
   * of its own over saslkit's server session: `<authenticate>`, `<challenge>`/`<response>`, and
   * `<success>` carrying `<additional-data>` (SCRAM's server-final); no stream restart after it.
   */
  readonly sasl2?: boolean;
}

/** A running test server. */
export interface RunningXmppServer {
  readonly port: number;
  /** Every verified login, in order. */
  readonly logins: Authenticated[];
  /** Every refused attempt's error, in order. */
  readonly refusals: unknown[];
  /** The TLS version of each login (`null` without TLS). */
  readonly tlsVersions: (string | null)[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (a free port). */
export async function startXmppServer(settings: XmppServerOptions): Promise<RunningXmppServer> {
  const sockets = new Set<Socket>();
  const logins: Authenticated[] = [];
  const refusals: unknown[] = [];
  const tlsVersions: (string | null)[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, settings, { logins, refusals, tlsVersions }, sockets).catch(() => {
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    logins,
    refusals,
    tlsVersions,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

interface Records {
  readonly logins: Authenticated[];
  readonly refusals: unknown[];
  readonly tlsVersions: (string | null)[];
}

async function serve(raw: Socket, settings: XmppServerOptions, records: Records, sockets: Set<Socket>): Promise<void> {
  const domain = settings.domain ?? 'localhost';
  let socket: Socket = raw;
  let reader = new TokenReader(socket);
  let tls: TLSSocket | undefined;
  let user: Authenticated | undefined;
  const write = (text: string): void => {
    socket.write(text);
  };
  const header = (): void => {
    write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' id='${Math.random().toString(36).slice(2)}' from='${domain}' version='1.0' xml:lang='en'>`,
    );
  };
  const features = (): void => {
    if (user !== undefined) {
      write(`<stream:features><bind xmlns='${BIND_NS}'/></stream:features>`);
      return;
    }
    const starttls =
      settings.tls !== undefined && tls === undefined
        ? `<starttls xmlns='${TLS_NS}'>${settings.requireTls === true ? '<required/>' : ''}</starttls>`
        : '';
    const binding = tls === undefined ? undefined : tlsChannelBinding(tls, 'server');
    const names = advertisedMechanisms(settings.auth, { channelBinding: (binding?.types.length ?? 0) > 0 });
    const offer =
      settings.sasl2 === true
        ? `<authentication xmlns='${SASL2_NS}'>${names.map((name) => `<mechanism>${name}</mechanism>`).join('')}</authentication>`
        : buildXmppMechanisms(names);
    const sasl = settings.requireTls === true && tls === undefined ? '' : offer;
    write(`<stream:features>${starttls}${sasl}</stream:features>`);
  };
  // Elements read but not yet handled: xmppServerAuth starts with the <auth> the loop saw.
  const pending: string[] = [];
  const elements: AsyncIterator<string> = {
    next: async () => {
      const queued = pending.shift();
      if (queued !== undefined) return { done: false, value: queued };
      const token = await reader.next();
      if (token?.kind !== 'element') return { done: true, value: undefined };
      return { done: false, value: token.xml };
    },
  };
  for (;;) {
    const token = await reader.next();
    if (token === undefined) return;
    if (token.kind === 'end') {
      write('</stream:stream>');
      socket.end();
      return;
    }
    if (token.kind === 'header') {
      header();
      features();
      continue;
    }
    const xml = token.xml;
    if (xml.startsWith('<starttls') && settings.tls !== undefined && tls === undefined) {
      write(`<proceed xmlns='${TLS_NS}'/>`);
      reader.detach();
      tls = new TLSSocket(raw, { isServer: true, key: settings.tls.key, cert: settings.tls.cert });
      sockets.add(tls);
      tls.on('close', () => sockets.delete(tls as TLSSocket));
      socket = tls;
      reader = new TokenReader(tls);
      continue;
    }
    if (/^<auth[\s>/]/.test(xml) && settings.sasl2 !== true && user === undefined) {
      pending.push(xml);
      const binding = tls === undefined ? undefined : tlsChannelBinding(tls, 'server');
      const tamper = settings.tamper;
      try {
        user = await xmppServerAuth({
          auth: settings.auth,
          options: { ...settings.options, channelBindingData: binding },
          elements,
          write: (element) => {
            write(tamper === undefined ? element : tamper(element));
          },
        });
        records.logins.push(user);
        records.tlsVersions.push(tls?.getProtocol() ?? null);
      } catch (error) {
        records.refusals.push(error);
      }
      continue;
    }
    if (xml.startsWith('<authenticate') && settings.sasl2 === true && user === undefined) {
      const tamper = settings.tamper ?? ((element: string): string => element);
      try {
        user = await sasl2Exchange(xml, settings, elements, (element) => {
          write(tamper(element));
        });
        records.logins.push(user);
        records.tlsVersions.push(tls?.getProtocol() ?? null);
        // XEP-0388: no restart; the authenticated stream's features follow <success>.
        features();
      } catch (error) {
        write(`<failure xmlns='${SASL2_NS}'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>`);
        records.refusals.push(error);
      }
      continue;
    }
    const bind = /^<iq\b[^>]*\bid=(['"])([^'"]*)\1/.exec(xml);
    if (bind !== null && user !== undefined && xml.includes(BIND_NS)) {
      write(
        `<iq type='result' id='${bind[2] ?? ''}'><bind xmlns='${BIND_NS}'><jid>${user.authzid}@${domain}/saslkit</jid></bind></iq>`,
      );
    }
    // Anything else (presence, other stanzas) is ignored: no routing here.
  }
}

/**
 * xmpp.js's STARTTLS takes no TLS options: it calls `tls.connect({ socket, host: domain })`, so
 * it trusts only the system's CAs and negotiates the highest TLS version. Until the returned
 * function is called, connections to `localhost` also get `extra` (the test CA, `maxVersion`).
 * Users of xmpp.js would set NODE_EXTRA_CA_CERTS instead; a spec cannot, once Node is running.
 */
export function extendXmppJsTls(extra: ConnectionOptions): () => void {
  const original = tls.connect;
  const patched = (...args: unknown[]): TLSSocket => {
    const [options, ...rest] = args;
    if (typeof options === 'object' && options !== null && (options as ConnectionOptions).host === 'localhost') {
      return (original as (...a: unknown[]) => TLSSocket)({ ...(options as ConnectionOptions), ...extra }, ...rest);
    }
    return (original as (...a: unknown[]) => TLSSocket)(...args);
  };
  tls.connect = patched;
  return () => {
    tls.connect = original;
  };
}

/** The text between an element's tags, for the base64 payloads of SASL2 elements (tests only). */
function payload(xml: string, name: string): Uint8Array | undefined {
  const match = new RegExp(`<${name}\\b[^>]*>([^<]*)</${name}>`).exec(xml);
  return match === null ? undefined : fromBase64(match[1] ?? '');
}

/** One XEP-0388 exchange over saslkit's server session; resolves with the verified result. */
async function sasl2Exchange(
  first: string,
  settings: XmppServerOptions,
  elements: AsyncIterator<string>,
  write: (element: string) => void,
): Promise<Authenticated> {
  const name = /\bmechanism=(["'])([^"']+)\1/.exec(first)?.[2] ?? '';
  const mechanism = settings.auth.getServer(name);
  if (mechanism === undefined) throw new Error(`SASL2 mechanism ${name} not offered`);
  const initial = payload(first, 'initial-response');
  const session = new PromiseServerSession(mechanism.server(settings.options, initial), {
    mechanism: mechanism.name,
    initialResponse: initial,
  });
  let step = await session.start();
  while (!step.done) {
    write(`<challenge xmlns='${SASL2_NS}'>${toBase64(step.challenge)}</challenge>`);
    const next = await elements.next();
    if (next.done === true) throw new Error('the client closed the stream');
    step = await session.respond(payload(next.value, 'response') ?? new Uint8Array(0));
  }
  const data = step.outcome.additionalData;
  write(
    `<success xmlns='${SASL2_NS}'>${data === undefined ? '' : `<additional-data>${toBase64(data)}</additional-data>`}<authorization-identifier>${step.outcome.authzid}@${settings.domain ?? 'localhost'}</authorization-identifier></success>`,
  );
  return step.outcome;
}
