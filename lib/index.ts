/**
 * saslkit: SASL (RFC 4422) mechanisms as sans-I/O generators, with drivers for any transport.
 * @module
 */
export * from './errors.js';
export * from './bytes.js';
export * from './exchange.js';
export * from './mechanism.js';
export * from './options.js';
export * from './credentials.js';
export * from './identity.js';
export * from './hashing.js';
export * from './saslprep.js';
export * from './core.js';
export * from './registry.js';
export * from './drivers/sync.js';
export * from './drivers/promise.js';
export { authenticatePassword, authorize, lookupEffect, verifyEffect } from './server-auth.js';
export { PLAIN, parsePlainResponse, buildPlainResponse } from './mechanisms/plain.js';
export { REDACTED } from './redact.js';
