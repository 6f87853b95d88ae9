/**
 * saslkit for browsers, workers (Cloudflare workerd) and Deno: the same public face as the Node
 * entry, without its Node-only parts (the KDF pool, TLS channel-binding extraction, Node stream
 * line readers, PostgreSQL over Node sockets). Crypto is WebCrypto: hashes, HMACs and PBKDF2 are
 * asynchronous there, so SCRAM runs under the async drivers (promise, callback, iterator); the
 * sync driver refuses those steps with a UsageError. package.json's "browser", "worker",
 * "workerd" and "deno" conditions point at the build of this file (dist/index.browser.mjs).
 * @module
 */
export * from './public.js';
