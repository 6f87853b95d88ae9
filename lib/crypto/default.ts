/**
 * The build's default crypto provider: node:crypto. The browser, worker and Deno build
 * (rollup.config.mjs) replaces this module with ./default.web.ts, so that no Node module is
 * bundled there. This file is an edge: the one link from portable code to node:crypto.
 * @module
 */
import type { CryptoProvider } from './provider.js';
import { nodeCryptoProvider } from './node.js';

/** The provider used until {@link setCryptoProvider} names another. @internal */
export function defaultCryptoProvider(): CryptoProvider {
  return nodeCryptoProvider;
}
