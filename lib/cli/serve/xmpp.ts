/**
 * `serve --protocol xmpp`: one XMPP c2s stream (RFC 6120), as far as authentication goes: the
 * stream header, features (STARTTLS, the mechanisms), STARTTLS with the stream restarted over
 * TLS, SASL through {@link xmppServerAuth} (a failed attempt may be retried), the restart after
 * success with a `<bind>` feature, and `</stream:stream>`. STARTTLS is refused (`<failure>`,
 * stream closed) after a login, and everything from before TLS is forgotten when it starts. The
 * domain is `--hostname`; a `to` naming another domain gets a host-unknown stream error.
 * @module
 */
import {
  SocketChunks,
  UnexpectedMessageError,
  buildXmppMechanisms,
  xmppElements,
  xmppServerAuth,
} from '../../index.js';
import { TLS_NS, TextSource, readStreamHeader } from '../xmpp-stream.js';
import type { Session } from './session.js';

/** Serves one XMPP stream on the session's socket (already TLS with xmpps, XEP-0368). */
export async function serveXmpp(session: Session): Promise<void> {
  const domain = session.settings.hostname ?? 'localhost';
  let source = new SocketChunks(session.socket);
  let text = new TextSource(source);
  let streams = 0;
  const send = (xml: string, shown = xml): void => {
    session.tracer?.note(`S: ${shown}`);
    session.socket.write(xml);
  };
  /** Reads the client's header, answers with ours and the features of the current state. */
  const open = async (): Promise<AsyncIterator<string>> => {
    const header = await readStreamHeader(text, 'client');
    session.tracer?.note(`C: ${header}`);
    streams += 1;
    const to = /\sto=(?:'([^']*)'|"([^"]*)")/.exec(header);
    const head = `<?xml version='1.0'?><stream:stream from='${domain}' id='saslkit-${streams}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;
    if (to !== null && (to[1] ?? to[2]) !== domain) {
      send(
        `${head}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
      );
      throw new UnexpectedMessageError('the client named another domain', { party: 'client' });
    }
    const mechanisms = session.authenticated ? [] : session.offered();
    const features = session.authenticated
      ? "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
      : `${session.canStartTls ? `<starttls xmlns='${TLS_NS}'/>` : ''}${mechanisms.length > 0 ? buildXmppMechanisms(mechanisms) : ''}`;
    send(`${head}<stream:features>${features}</stream:features>`);
    return xmppElements(text);
  };
  let elements = await open();
  for (;;) {
    let next: IteratorResult<string>;
    try {
      next = await elements.next();
    } catch {
      // `</stream:stream>` (an end tag the splitter did not see open) or bad XML: close our side.
      break;
    }
    if (next.done === true) break;
    const element = next.value;
    if (/^<starttls[\s/>]/.test(element)) {
      if (!session.canStartTls || session.authenticated) {
        // RFC 6120 section 5.4.2.2: <failure/>, then the stream closes.
        send(`<failure xmlns='${TLS_NS}'/></stream:stream>`);
        break;
      }
      source.detach();
      if (source.pending) break; // bytes pipelined after <starttls/>: an injection attempt
      if (
        !(await session.startTls(
          () => true,
          () => {
            send(`<proceed xmlns='${TLS_NS}'/>`);
          },
        ))
      )
        return;
      source = new SocketChunks(session.socket);
      text = new TextSource(source);
      elements = await open();
    } else if (/^<auth[\s/>]/.test(element) && !session.authenticated) {
      const mechanism = /\smechanism=(?:'([^']*)'|"([^"]*)")/.exec(element);
      const name = (mechanism?.[1] ?? mechanism?.[2] ?? '').toUpperCase();
      const current = elements;
      let first = true;
      const outcome = await session.sasl(name, (auth, options) =>
        xmppServerAuth({
          auth,
          options,
          elements: {
            // The <auth> element was read here; the profile reads it again first.
            next: async () => {
              if (!first) return current.next();
              first = false;
              return { done: false, value: element };
            },
          },
          write: (xml) => {
            send(xml, /^<(success|challenge)\b/.test(xml) ? `<${/^<(\w+)/.exec(xml)?.[1] ?? ''}> (not shown)` : xml);
          },
        }),
      );
      if (outcome !== undefined) {
        // RFC 6120 section 6.4.6: the client restarts the stream; the splitter starts afresh.
        elements = await open();
      } else if (session.socket.destroyed) return;
    } else {
      send(
        "<stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
      );
      break;
    }
  }
  session.socket.end('</stream:stream>');
}
