/**
 * A one-page XMPP login: saslkit's XMPP client profile over a browser WebSocket (RFC 7395), with
 * the strongest SCRAM the server offers (SCRAM-SHA-256 on Prosody), the server's signature
 * checked, and a wrong password shown as saslkit's typed error. Crypto is the browser's
 * WebCrypto; nothing here is Node. The result is also written to #result's data attributes so
 * spec/interop/browser-xmpp.spec.ts can read it.
 */
import { ClientCredentials, SASLAuth, isSaslError, xmppWebSocketLogin } from 'saslkit';

// The few DOM types this page uses, declared here: the repository type-checks without the DOM lib.
interface PageElement {
  textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  addEventListener(type: 'submit', listener: (event: { preventDefault(): void }) => void): void;
}
interface PageForm extends PageElement {
  readonly elements: { namedItem(name: string): { value: string } | null };
}
declare const document: { querySelector(selector: string): PageElement | null };

/** SCRAM first; PLAIN only if the page is told the WebSocket is encrypted (wss:). */
const auth = SASLAuth.named(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);

interface Outcome {
  readonly status: 'ok' | 'error';
  readonly mechanism?: string;
  readonly serverVerified?: boolean;
  readonly features?: string;
  readonly errorName?: string;
  readonly errorCode?: string;
  readonly message: string;
}

/** Logs in, restarts the stream, and closes it again: what a client does before binding a resource. */
export async function login(url: string, domain: string, user: string, password: string): Promise<Outcome> {
  try {
    const session = await xmppWebSocketLogin({
      url,
      domain,
      auth,
      credentials: new ClientCredentials(user, password),
      session: { signal: AbortSignal.timeout(15_000) },
    });
    await session.close();
    return {
      status: 'ok',
      mechanism: session.mechanism,
      serverVerified: session.serverVerified,
      features: session.features.join(' '),
      message: `logged in as ${user}@${domain} with ${session.mechanism}${session.serverVerified ? ', server verified' : ''}`,
    };
  } catch (error) {
    if (isSaslError(error))
      return {
        status: 'error',
        errorName: error.name,
        errorCode: error.code,
        message: `${error.name} (${error.code}): ${error.message}`,
      };
    return { status: 'error', errorName: error instanceof Error ? error.name : 'Error', message: String(error) };
  }
}

/** Shows an outcome as text and as data attributes. */
function show(element: PageElement, outcome: Outcome): void {
  element.textContent = outcome.message;
  for (const [key, value] of Object.entries(outcome)) element.dataset[key] = String(value);
}

const form = document.querySelector('#login') as PageForm | null;
const result = document.querySelector('#result');
if (form !== null && result !== null) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const field = (name: string): string => form.elements.namedItem(name)?.value ?? '';
    delete result.dataset['errorName'];
    delete result.dataset['errorCode'];
    result.dataset['status'] = 'running';
    void login(field('url'), field('domain'), field('user'), field('password')).then((outcome) => {
      show(result, outcome);
    });
  });
}
