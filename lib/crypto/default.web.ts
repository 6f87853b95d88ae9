/**
 * The default crypto provider of the browser, worker and Deno build: WebCrypto. rollup.config.mjs
 * puts this module in place of ./default.ts there.
 * @module
 */
import type { CryptoProvider } from './provider.js';
import { webCryptoProvider } from './web.js';

/** The provider used until {@link setCryptoProvider} names another. @internal */
export function defaultCryptoProvider(): CryptoProvider {
  return webCryptoProvider();
}
