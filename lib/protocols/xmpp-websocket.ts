/**
 * XMPP over WebSocket (RFC 7395) for the client profile: the framing's `<open/>` and `<close/>`,
 * a reader that turns a WHATWG WebSocket (a browser's, Deno's, Bun's, workerd's or Node 22's
 * global one) into the stream of elements {@link xmppClientAuth} reads, and a login that opens the
 * stream, reads the offered mechanisms, authenticates, and restarts the stream as RFC 6120 asks.
 * Portable: no Node built-in, no Buffer. Every WebSocket message is one whole element (RFC 7395
 * section 3.3.3), so no stream splitter is needed; each is size-checked before it is parsed.
 * @module
 */
import { utf8Length } from '../core/bytes.js';
import type { ClientCredentials } from '../passwords/credentials.js';
import {
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../core/errors.js';
import type { SessionOptions } from '../core/core.js';
import type { ClientOptions } from '../core/mechanism.js';
import type { ChooseOptions, SASLAuth } from '../core/registry.js';
import { raceSignal } from '../transport/signal.js';
import {
  DEFAULT_XMPP_MAX_ELEMENT_BYTES,
  type XmlElement,
  type XmppParseOptions,
  attribute,
  parseXml,
} from '../transport/xml.js';
import { xmppClientAuth, type XmppClientResult } from './xmpp-client.js';
import { XMPP_SASL_NS } from './xmpp-messages.js';

/** The RFC 7395 framing namespace of `<open/>` and `<close/>`. */
export const XMPP_FRAMING_NS = 'urn:ietf:params:xml:ns:xmpp-framing';

/** The WebSocket subprotocol XMPP uses (RFC 7395 section 3.1). */
export const XMPP_WEBSOCKET_PROTOCOL = 'xmpp';

/** Most elements the reader holds unread before it gives up on a peer that floods it. */
export const DEFAULT_XMPP_WEBSOCKET_MAX_QUEUED = 64;

const STREAMS_NS = 'http://etherx.jabber.org/streams';
const OPEN = 1;

/** The event fields the reader looks at (message data; close code and reason). */
export interface XmppWebSocketEvent {
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

/** The part of the WHATWG `WebSocket` interface this module uses. */
export interface XmppWebSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The subprotocol the server chose. */
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: XmppWebSocketEvent) => void): void;
  removeEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: XmppWebSocketEvent) => void,
  ): void;
}

/** A WebSocket constructor, such as `globalThis.WebSocket`. */
export type XmppWebSocketConstructor = new (url: string, protocols: string | string[]) => XmppWebSocket;

const escapeAttribute = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** The client's `<open/>` for `domain` (RFC 7395 section 3.4). */
export function buildXmppFramingOpen(domain: string, lang = 'en'): string {
  if (domain === '') throw new UsageError('the XMPP domain must not be empty');
  return `<open xmlns="${XMPP_FRAMING_NS}" to="${escapeAttribute(domain)}" version="1.0" xml:lang="${escapeAttribute(lang)}"/>`;
}

/** The `<close/>` that ends the stream (RFC 7395 section 3.6). */
export function buildXmppFramingClose(): string {
  return `<close xmlns="${XMPP_FRAMING_NS}"/>`;
}

/** Options of {@link XmppWebSocketReader}. */
export interface XmppWebSocketReaderOptions {
  /** Largest message, in UTF-8 bytes. Default {@link DEFAULT_XMPP_MAX_ELEMENT_BYTES}. */
  readonly maxElementBytes?: number;
  /** Most messages held unread. Default {@link DEFAULT_XMPP_WEBSOCKET_MAX_QUEUED}. */
  readonly maxQueued?: number;
}

/**
 * The server's messages on a WebSocket as an async iterator of element strings. Binary frames,
 * oversized messages and a flood of unread ones end the iteration with a typed error (and close
 * the socket); the socket closing ends it. Read with `next()`; call {@link detach} when done.
 */
export class XmppWebSocketReader implements AsyncIterator<string> {
  readonly #socket: XmppWebSocket;
  readonly #maxBytes: number;
  readonly #maxQueued: number;
  readonly #queue: string[] = [];
  #head = 0;
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  readonly #onMessage = (event: XmppWebSocketEvent): void => {
    if (this.#error !== undefined || this.#closed) return;
    const data = event.data;
    if (typeof data !== 'string') {
      this.#fail(
        new MalformedMessageError('XMPP over WebSocket uses text frames only (RFC 7395 section 3.2)', {
          party: 'server',
        }),
      );
      return;
    }
    // A UTF-16 string of n units has at most 3n UTF-8 bytes; only long ones are measured.
    if (data.length * 3 > this.#maxBytes && utf8Length(data) > this.#maxBytes) {
      this.#fail(
        new LimitExceededError(
          'maxElementBytes',
          `XMPP element from the server is longer than ${this.#maxBytes} bytes`,
          { party: 'server' },
        ),
      );
      return;
    }
    if (this.#queue.length - this.#head >= this.#maxQueued) {
      this.#fail(
        new LimitExceededError('maxQueued', `more than ${this.#maxQueued} unread XMPP elements from the server`, {
          party: 'server',
        }),
      );
      return;
    }
    this.#queue.push(data);
    this.#notify();
  };

  readonly #onClose = (): void => {
    this.#closed = true;
    this.#notify();
  };

  readonly #onError = (): void => {
    this.#fail(new ExchangeAbortedError('the WebSocket failed', { party: 'server' }));
  };

  constructor(socket: XmppWebSocket, options: XmppWebSocketReaderOptions = {}) {
    this.#socket = socket;
    this.#maxBytes = options.maxElementBytes ?? DEFAULT_XMPP_MAX_ELEMENT_BYTES;
    this.#maxQueued = options.maxQueued ?? DEFAULT_XMPP_WEBSOCKET_MAX_QUEUED;
    socket.addEventListener('message', this.#onMessage);
    socket.addEventListener('close', this.#onClose);
    socket.addEventListener('error', this.#onError);
  }

  /** The next element; done once the socket closed and every element was read. */
  async next(): Promise<IteratorResult<string, undefined>> {
    for (;;) {
      if (this.#head < this.#queue.length) {
        const value = this.#queue[this.#head] ?? '';
        this.#head++;
        // Drop read elements in bulk, so reading stays linear in what arrived.
        if (this.#head > 32 && this.#head * 2 > this.#queue.length) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        return { done: false, value };
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#closed) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Stops listening to the socket. */
  detach(): void {
    this.#socket.removeEventListener('message', this.#onMessage);
    this.#socket.removeEventListener('close', this.#onClose);
    this.#socket.removeEventListener('error', this.#onError);
    this.#notify();
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.#queue.length = 0;
    this.#head = 0;
    if (this.#socket.readyState === OPEN) this.#socket.close(1002, 'protocol error');
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Arguments of {@link xmppWebSocketLogin}. */
export interface XmppWebSocketLoginOptions {
  /** The server's WebSocket endpoint, `wss://host/xmpp-websocket` (`ws://` only over loopback or behind TLS). */
  readonly url: string;
  /** The XMPP domain (the `to` of `<open/>`), e.g. `example.org`. */
  readonly domain: string;
  /** The mechanisms the client may use, e.g. `SASLAuth.defaults()`. */
  readonly auth: SASLAuth;
  /** Who to authenticate as. */
  readonly credentials: ClientCredentials;
  /** Options for the client mechanism. */
  readonly client?: ClientOptions;
  /**
   * How to choose among the offered mechanisms. `encrypted` defaults to whether the URL is `wss:`,
   * so over `ws:` PLAIN is chosen only with `allowPlaintext`.
   */
  readonly choose?: ChooseOptions;
  /** Limits on messages and rounds, and `signal`, which bounds the whole login. */
  readonly session?: SessionOptions;
  /** Element parser limits. */
  readonly parse?: XmppParseOptions;
  /** Reader limits. */
  readonly reader?: XmppWebSocketReaderOptions;
  /** The WebSocket constructor. Default `globalThis.WebSocket`. */
  readonly WebSocket?: XmppWebSocketConstructor;
}

/** A logged-in XMPP stream over WebSocket, restarted after SASL (RFC 6120 section 6.4.6). */
export interface XmppWebSocketSession extends XmppClientResult {
  /** The features the server offered on the restarted stream (e.g. `bind`), by element name. */
  readonly features: readonly string[];
  /** Reads the server's next elements (the host goes on with resource binding). */
  readonly elements: AsyncIterator<string>;
  /** Sends an element. */
  send(element: string): void;
  /** Sends `<close/>`, waits (bounded) for the server's `<close/>` and closes the socket. */
  close(): Promise<void>;
}

/** What a server's `<open/>` and `<features>` said. */
interface Opened {
  readonly mechanisms: string[];
  readonly features: string[];
}

function childElements(element: XmlElement): XmlElement[] {
  return element.children.filter((child): child is XmlElement => typeof child !== 'string');
}

function text(element: XmlElement): string {
  return element.children
    .filter((child): child is string => typeof child === 'string')
    .join('')
    .trim();
}

/**
 * Sends `<open/>`, then reads the server's `<open/>` and `<stream:features>`: the offered SASL
 * mechanisms and the names of all features. A `<close/>` or stream error instead is a typed error.
 */
async function openStream(
  socket: XmppWebSocket,
  read: () => Promise<string>,
  domain: string,
  parse: XmppParseOptions,
): Promise<Opened> {
  socket.send(buildXmppFramingOpen(domain));
  const open = parseXml(await read(), 'server', parse);
  if (open.namespace !== XMPP_FRAMING_NS || open.local !== 'open') {
    throw new UnexpectedMessageError(`expected the server's <open/>, got <${open.local}>`, { party: 'server' });
  }
  if (attribute(open, 'version') !== '1.0')
    throw new UnexpectedMessageError('the server did not open an XMPP 1.0 stream', { party: 'server' });
  const features = parseXml(await read(), 'server', parse);
  if (features.namespace !== STREAMS_NS || features.local !== 'features') {
    throw new UnexpectedMessageError(`expected <stream:features>, got <${features.local}>`, { party: 'server' });
  }
  const offered = childElements(features);
  const sasl = offered.find((child) => child.namespace === XMPP_SASL_NS && child.local === 'mechanisms');
  const mechanisms =
    sasl === undefined
      ? []
      : childElements(sasl)
          .filter((m) => m.namespace === XMPP_SASL_NS && m.local === 'mechanism')
          .map(text);
  return { mechanisms, features: offered.map((child) => child.local) };
}

function connect(options: XmppWebSocketLoginOptions): Promise<XmppWebSocket> {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: XmppWebSocketConstructor }).WebSocket;
  if (Ctor === undefined) throw new UsageError('no WebSocket here: pass the WebSocket option');
  const socket = new Ctor(options.url, XMPP_WEBSOCKET_PROTOCOL);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onFail);
      socket.removeEventListener('close', onFail);
    };
    const onOpen = (): void => {
      done();
      // RFC 7395 section 3.1: a server that did not agree to "xmpp" is not speaking XMPP.
      if (socket.protocol !== XMPP_WEBSOCKET_PROTOCOL) {
        socket.close(1002, 'xmpp subprotocol required');
        reject(
          new UnexpectedMessageError('the server did not accept the "xmpp" WebSocket subprotocol', { party: 'server' }),
        );
      } else resolve(socket);
    };
    const onFail = (): void => {
      done();
      reject(new ExchangeAbortedError('the WebSocket connection failed', { party: 'server' }));
    };
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onFail);
    socket.addEventListener('close', onFail);
  });
}

/** How long {@link XmppWebSocketSession.close} waits for the server's `<close/>`. */
const CLOSE_WAIT_MS = 2000;

/**
 * Ends the stream: sends `<close/>`, waits for the server's (bounded, and only when `wait`: after
 * a failure nothing useful is left to read), then closes the socket and detaches the reader.
 */
async function closeStream(socket: XmppWebSocket, reader: XmppWebSocketReader, wait: boolean): Promise<void> {
  if (socket.readyState === OPEN) {
    try {
      socket.send(buildXmppFramingClose());
      if (!wait) throw new Error('not waiting');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS);
      });
      const answered = (async () => {
        for (;;) {
          const next = await reader.next();
          if (next.done === true || next.value.includes(XMPP_FRAMING_NS)) return;
        }
      })().catch(() => undefined);
      await Promise.race([answered, waited]);
      clearTimeout(timer);
    } catch {
      // The socket went away under us: it is closed either way.
    }
  }
  reader.detach();
  if (socket.readyState < 2) socket.close(1000);
}

/**
 * Logs in to an XMPP server over WebSocket (RFC 7395): connects with the `xmpp` subprotocol,
 * opens the stream, runs {@link xmppClientAuth} on the offered mechanisms (the strongest the
 * registry allows, e.g. SCRAM-SHA-256), and restarts the stream. Resolves with the open session;
 * on any failure the stream is closed and the typed error (AuthenticationFailedError for a wrong
 * password) rejects.
 */
export async function xmppWebSocketLogin(options: XmppWebSocketLoginOptions): Promise<XmppWebSocketSession> {
  const parse = options.parse ?? {};
  const signal = options.session?.signal;
  const socket = await raceSignal(connect(options), signal, { party: 'server' });
  const reader = new XmppWebSocketReader(socket, options.reader);
  const read = async (): Promise<string> => {
    const next = await raceSignal(reader.next(), signal, { party: 'server' });
    if (next.done === true) throw new ExchangeAbortedError('the server closed the WebSocket', { party: 'server' });
    return next.value;
  };
  try {
    const first = await openStream(socket, read, options.domain, parse);
    if (first.mechanisms.length === 0)
      throw new UnexpectedMessageError('the server offered no SASL mechanism', { party: 'server' });
    const result = await xmppClientAuth({
      auth: options.auth,
      credentials: options.credentials,
      mechanisms: first.mechanisms,
      elements: { next: async () => ({ done: false, value: await read() }) },
      write: (element) => {
        socket.send(element);
      },
      ...(options.client === undefined ? {} : { client: options.client }),
      choose: { encrypted: options.url.startsWith('wss:'), ...options.choose },
      ...(options.session === undefined ? {} : { session: options.session }),
      parse,
    });
    const restarted = await openStream(socket, read, options.domain, parse);
    return {
      ...result,
      features: restarted.features,
      elements: reader,
      send: (element) => {
        socket.send(element);
      },
      close: () => closeStream(socket, reader, true),
    };
  } catch (error) {
    await closeStream(socket, reader, false);
    if (isSaslError(error)) throw error;
    throw new ExchangeAbortedError('the XMPP WebSocket login failed', { party: 'local', cause: error });
  }
}
