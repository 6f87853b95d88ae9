/**
 * A real browser login: examples/browser-xmpp, bundled with esbuild and served on 127.0.0.1,
 * runs in headless Chromium (Debian's chromium, driven by playwright-core) and logs in to
 * Prosody over XMPP-over-WebSocket (RFC 7395) with SCRAM-SHA-256, crypto from WebCrypto; a wrong
 * password shows saslkit's typed error in the page. Fails under CI when Prosody or Chromium is
 * missing.
 */
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type FileServer, launchChromium, serveFiles } from '../runtimes/browser.js';
import { bundleBrowserEntry } from '../runtimes/bundle.js';
import { ACCOUNTS, HOST, PORTS, XMPP_DOMAIN, requirePeer } from './peers.js';

const WS_URL = `ws://${HOST}:${PORTS.xmppWebSocket}/xmpp-websocket`;
// The page is built here as examples/browser-xmpp/build.ts builds it, by path: specs never import an example.
const PAGE = join(__dirname, '..', '..', 'examples', 'browser-xmpp');

async function buildPage(out: string): Promise<void> {
  copyFileSync(join(PAGE, 'index.html'), join(out, 'index.html'));
  await bundleBrowserEntry(join(PAGE, 'main.ts'), join(out, 'main.js'));
}

describe('interop: browser XMPP login (Chromium -> Prosody over WebSocket)', function () {
  this.timeout(60_000);
  let dir: string;
  let server: FileServer | undefined;
  let browser: BrowserContext | undefined;
  let page: Page;

  before(async function () {
    await requirePeer(this, 'prosody');
    dir = mkdtempSync(join(tmpdir(), 'saslkit-browser-xmpp-'));
    await buildPage(dir);
    server = await serveFiles(dir);
    browser = await launchChromium(join(dir, 'profile'));
    page = await browser.newPage();
    await page.goto(`${server.url}index.html`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Fills the form, submits it, and returns #result's data attributes once the login ended. */
  async function login(user: string, password: string): Promise<Record<string, string | undefined>> {
    await page.fill('input[name=url]', WS_URL);
    await page.fill('input[name=domain]', XMPP_DOMAIN);
    await page.fill('input[name=user]', user);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#result[data-status=ok], #result[data-status=error]', { timeout: 30_000 });
    return page.evaluate(() => {
      const element = (
        globalThis as unknown as {
          document: { querySelector(s: string): { dataset: Record<string, string | undefined>; textContent: string } };
        }
      ).document.querySelector('#result');
      return { ...element.dataset, text: element.textContent };
    });
  }

  it('logs in with SCRAM-SHA-256 (the strongest Prosody offers) and checks the server signature', async () => {
    const result = await login(ACCOUNTS.alice.user, ACCOUNTS.alice.pass);
    expect(result, result['text']).to.include({ status: 'ok', mechanism: 'SCRAM-SHA-256', serverVerified: 'true' });
    // After SASL the restarted stream offers resource binding: Prosody accepted the login.
    expect(result['features']?.split(' ')).to.include('bind');
  });

  it('a wrong password is refused with a typed error shown in the page, without the password', async () => {
    const result = await login(ACCOUNTS.alice.user, 'not-alices-password');
    expect(result, result['text']).to.include({
      status: 'error',
      errorName: 'AuthenticationFailedError',
      errorCode: 'AUTHENTICATION_FAILED',
    });
    expect(result['text']).to.not.include('not-alices-password');
  });
});
