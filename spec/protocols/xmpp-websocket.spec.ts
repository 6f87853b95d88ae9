import { expect } from 'chai';
import {
  ClearIdentity,
  ClientCredentials,
  SASLAuth,
  buildXmppMechanisms,
  parseXmppSaslElement,
  xmppServerAuth,
} from '../../lib/index.js';
import {
  XMPP_FRAMING_NS,
  type XmppWebSocket,
  type XmppWebSocketConstructor,
  type XmppWebSocketEvent,
  type XmppWebSocketLoginOptions,
  type XmppWebSocketSession,
  XmppWebSocketReader,
  buildXmppFramingClose,
  buildXmppFramingOpen,
  xmppWebSocketLogin,
} from '../../lib/protocols/xmpp-websocket.js';
import { expectNoSecrets, expectSaslRejection } from '../support/helpers.js';

type Listener = (event: XmppWebSocketEvent) => void;
type Kind = 'open' | 'message' | 'close' | 'error';

/** An in-memory WebSocket: what the client sends goes to `server`, which answers with `deliver`. */
class FakeSocket implements XmppWebSocket {
  readyState = 0;
  protocol = '';
  readonly sent: string[] = [];
  readonly closes: (number | undefined)[] = [];
  readonly #listeners = new Map<Kind, Set<Listener>>();
  onSend: (data: string) => void = () => undefined;

  constructor(
    readonly url: string,
    readonly protocols: string | string[],
    acceptProtocol = 'xmpp',
  ) {
    queueMicrotask(() => {
      this.readyState = 1;
      this.protocol = acceptProtocol;
      this.emit('open', {});
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
    this.onSend(data);
  }

  close(code?: number): void {
    this.closes.push(code);
    if (this.readyState >= 2) return;
    this.readyState = 3;
    queueMicrotask(() => {
      this.emit('close', { code: code ?? 1005 });
    });
  }

  addEventListener(type: Kind, listener: Listener): void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: Kind, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  emit(type: Kind, event: XmppWebSocketEvent): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }

  deliver(data: unknown): void {
    queueMicrotask(() => {
      this.emit('message', { data });
    });
  }

  get listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}

const STREAMS = 'http://etherx.jabber.org/streams';
const serverOpen = `<open xmlns="${XMPP_FRAMING_NS}" from="localhost" id="s1" version="1.0" xml:lang="en"/>`;
const features = (inner: string): string => `<stream:features xmlns:stream="${STREAMS}">${inner}</stream:features>`;

/**
 * A WebSocket constructor whose server is saslkit's own XMPP SASL server (xmppServerAuth) behind
 * RFC 7395 framing, so the client's elements are checked by a real parser, not by string matching.
 */
function serverSocket(offer: string[], sockets: FakeSocket[]): XmppWebSocketConstructor {
  const auth = SASLAuth.named(offer);
  const options = {
    lookup: (authcid: string) => (authcid === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined),
  };
  return class extends FakeSocket {
    constructor(url: string, protocols: string | string[]) {
      super(url, protocols);
      sockets.push(this);
      const inbox: string[] = [];
      let wake: (() => void) | undefined;
      let opens = 0;
      this.onSend = (data) => {
        if (data.startsWith('<open')) {
          opens++;
          this.deliver(serverOpen);
          this.deliver(
            features(
              opens === 1
                ? buildXmppMechanisms(auth.serverMechanisms.map((m) => m.name))
                : '<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>',
            ),
          );
          if (opens === 1) {
            const elements: AsyncIterator<string> = {
              next: async () => {
                while (inbox.length === 0)
                  await new Promise<void>((r) => {
                    wake = r;
                  });
                return { done: false, value: inbox.shift()! };
              },
            };
            void xmppServerAuth({
              auth,
              options,
              elements,
              write: (element) => {
                this.deliver(element);
              },
            }).catch(() => undefined);
          }
        } else if (data.startsWith('<close')) {
          this.deliver(buildXmppFramingClose());
          this.close(1000);
        } else {
          inbox.push(data);
          wake?.();
        }
      };
    }
  };
}

describe('XMPP over WebSocket (RFC 7395)', () => {
  it('builds the framing <open/> and <close/>', () => {
    expect(buildXmppFramingOpen('example.org')).to.equal(
      `<open xmlns="${XMPP_FRAMING_NS}" to="example.org" version="1.0" xml:lang="en"/>`,
    );
    expect(buildXmppFramingOpen('a"<&b')).to.include('to="a&quot;&lt;&amp;b"');
    expect(buildXmppFramingClose()).to.equal(`<close xmlns="${XMPP_FRAMING_NS}"/>`);
    expect(() => buildXmppFramingOpen('')).to.throw('domain');
  });

  it('the element size limit counts UTF-8 bytes without Buffer (2-, 3- and 4-byte characters, lone surrogates)', () => {
    for (const [char, bytes] of [
      ['\u00e9', 2],
      ['\u20ac', 3],
      ['\u{1F600}', 4],
      ['\ud800', 3],
    ] as const) {
      const element = `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>${char.repeat(20)}</text></failure>`;
      const size = element.length - char.length * 20 + bytes * 20;
      expect(
        parseXmppSaslElement(element.replaceAll('\ud800', 'x'), 'server', { maxElementBytes: size }).kind,
      ).to.equal('failure');
      expect(() => parseXmppSaslElement(element, 'server', { maxElementBytes: size - 1 }))
        .to.throw()
        .with.property('code', 'LIMIT_EXCEEDED');
    }
  });

  // alice's login over the fake `WebSocket`; each case overrides what it is about.
  const webSocketLogin = (
    WebSocket: XmppWebSocketConstructor,
    overrides: Partial<XmppWebSocketLoginOptions> = {},
  ): Promise<XmppWebSocketSession> =>
    xmppWebSocketLogin({
      url: 'ws://127.0.0.1/xmpp-websocket',
      domain: 'localhost',
      auth: SASLAuth.all(),
      credentials: new ClientCredentials('alice', 'alice-pass'),
      WebSocket,
      ...overrides,
    });

  it('logs in with the strongest SCRAM offered, verifies the server, restarts the stream and closes it', async () => {
    const sockets: FakeSocket[] = [];
    const session = await webSocketLogin(serverSocket(['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN'], sockets));
    expect(session).to.include({ mechanism: 'SCRAM-SHA-256', serverVerified: true });
    expect(session.features).to.deep.equal(['bind']);
    const socket = sockets[0]!;
    expect(socket.protocols).to.equal('xmpp');
    expect(socket.sent[0]).to.equal(buildXmppFramingOpen('localhost'));
    expect(socket.sent[1]).to.match(
      /^<auth xmlns=["']urn:ietf:params:xml:ns:xmpp-sasl["'] mechanism=["']SCRAM-SHA-256["']>/,
    );
    expect(socket.sent.filter((e) => e.startsWith('<open'))).to.have.length(2);
    await session.close();
    expect(socket.sent.at(-1)).to.equal(buildXmppFramingClose());
    expect(socket.readyState).to.equal(3);
    expect(socket.listenerCount).to.equal(0);
  });

  it('a wrong password rejects with AUTHENTICATION_FAILED, the stream closed, no secret in the error', async () => {
    const sockets: FakeSocket[] = [];
    const error = await expectSaslRejection(
      webSocketLogin(serverSocket(['SCRAM-SHA-256'], sockets), {
        credentials: new ClientCredentials('alice', 'wrong-pass'),
      }),
      'AUTHENTICATION_FAILED',
    );
    expect(error.name).to.equal('AuthenticationFailedError');
    expectNoSecrets(error, ['wrong-pass', 'alice-pass']);
    expect(sockets[0]!.sent.at(-1)).to.equal(buildXmppFramingClose());
    expect(sockets[0]!.readyState).to.equal(3);
  });

  it('does not choose PLAIN over ws: (not encrypted) unless allowed', async () => {
    await expectSaslRejection(webSocketLogin(serverSocket(['PLAIN'], [])), 'MECHANISM_UNAVAILABLE');
    const session = await webSocketLogin(serverSocket(['PLAIN'], []), { choose: { allowPlaintext: true } });
    expect(session.mechanism).to.equal('PLAIN');
    await session.close();
  });

  it('refuses a server that did not accept the xmpp subprotocol', async () => {
    const Ctor = class extends FakeSocket {
      constructor(url: string, protocols: string | string[]) {
        super(url, protocols, '');
      }
    };
    await expectSaslRejection(webSocketLogin(Ctor), 'UNEXPECTED_MESSAGE');
  });

  describe('malformed or hostile servers -> typed errors', () => {
    const cases: [string, (socket: FakeSocket) => void, string][] = [
      [
        'a <close/> instead of <open/>',
        (s) => {
          s.deliver(buildXmppFramingClose());
        },
        'UNEXPECTED_MESSAGE',
      ],
      [
        'an <open/> of another version',
        (s) => {
          s.deliver(serverOpen.replace('1.0', '0.9'));
        },
        'UNEXPECTED_MESSAGE',
      ],
      [
        'a binary frame',
        (s) => {
          s.deliver(new Uint8Array(3));
        },
        'MALFORMED_MESSAGE',
      ],
      [
        'malformed XML',
        (s) => {
          s.deliver('<open xmlns="x"');
        },
        'MALFORMED_MESSAGE',
      ],
      [
        'an oversized element',
        (s) => {
          s.deliver(`<open xmlns="${XMPP_FRAMING_NS}" x="${'a'.repeat(40000)}"/>`);
        },
        'LIMIT_EXCEEDED',
      ],
      [
        'no mechanisms',
        (s) => {
          s.deliver(serverOpen);
          s.deliver(features(''));
        },
        'UNEXPECTED_MESSAGE',
      ],
      [
        'features of another namespace',
        (s) => {
          s.deliver(serverOpen);
          s.deliver('<features xmlns="jabber:client"/>');
        },
        'UNEXPECTED_MESSAGE',
      ],
      [
        'the socket closing mid-stream',
        (s) => {
          s.deliver(serverOpen);
          s.close(1006);
        },
        'ABORTED',
      ],
      [
        'a socket error',
        (s) => {
          queueMicrotask(() => {
            s.emit('error', {});
          });
        },
        'ABORTED',
      ],
    ];
    for (const [name, misbehave, code] of cases) {
      it(name, async () => {
        const sockets: FakeSocket[] = [];
        const Ctor = class extends FakeSocket {
          constructor(url: string, protocols: string | string[]) {
            super(url, protocols);
            sockets.push(this);
            this.onSend = (data) => {
              if (data.startsWith('<open')) misbehave(this);
            };
          }
        };
        await expectSaslRejection(webSocketLogin(Ctor), code as 'ABORTED');
        expect(sockets[0]!.readyState).to.equal(3);
        expect(sockets[0]!.listenerCount).to.equal(0);
      });
    }

    it('a flood of unread elements is a LIMIT_EXCEEDED and closes the socket', async () => {
      const socket = new FakeSocket('ws://x', 'xmpp');
      await new Promise((r) => {
        queueMicrotask(() => {
          r(undefined);
        });
      });
      const reader = new XmppWebSocketReader(socket, { maxQueued: 4 });
      for (let i = 0; i < 5; i++) socket.emit('message', { data: `<a${i}/>` });
      await expectSaslRejection(reader.next(), 'LIMIT_EXCEEDED');
      expect(socket.closes).to.deep.equal([1002]);
      reader.detach();
    });

    it('hands over every element in order while it drops read ones in bulk, and ends when the socket closes', async () => {
      const socket = new FakeSocket('ws://x', 'xmpp');
      await new Promise((r) => {
        queueMicrotask(() => {
          r(undefined);
        });
      });
      const reader = new XmppWebSocketReader(socket, { maxQueued: 1000 });
      const got: string[] = [];
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 1000; i++) socket.emit('message', { data: `<a n="${round * 1000 + i}"/>` });
        for (let i = 0; i < 1000; i++) {
          const next = await reader.next();
          if (next.done !== true) got.push(next.value);
        }
      }
      expect(got).to.have.length(10_000);
      expect(got.every((element, i) => element === `<a n="${i}"/>`)).to.equal(true);
      socket.close(1000);
      expect((await reader.next()).done).to.equal(true);
      reader.detach();
    });
  });
});
