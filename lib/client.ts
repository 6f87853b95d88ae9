/**
 * `saslkit/client`: the client side alone, for bundles that only log in (a browser XMPP client, a
 * database driver in a worker). Client mechanisms without their server sides, the drivers, the
 * credentials, the errors and the crypto provider; no protocol profile, store, hasher or stored
 * secret, so a bundler keeps only what the program uses. Everything here is also exported by the
 * main entry (`saslkit`).
 * @module
 */
export * from './core/errors.js';
export { EMPTY, utf8, decodeUtf8, toBase64, fromBase64, toHex, constantTimeEqual } from './core/bytes.js';
export {
  type Effect,
  type EffectKind,
  type ClientOutcome,
  type ClientYield,
  type ClientExchange,
  type ServerReply,
  NO_INITIAL_RESPONSE,
  ServerSuccess,
  isEffect,
  answerEffect,
} from './core/exchange.js';
export { type MechanismInfo, type ClientMechanism, MECHANISM_NAME } from './core/mechanism.js';
export type { ClientOptions, ScramClientOptions } from './core/options.js';
export { ClientCredentials, type SecretKind } from './passwords/credentials.js';
export { type SessionLimits, type SessionOptions, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_ROUNDS } from './core/core.js';
export { SyncClientSession } from './drivers/sync.js';
export { PromiseClientSession } from './drivers/promise.js';
export { CallbackClientSession } from './drivers/callback.js';
export { type Callback } from './drivers/callback.js';
export {
  type ServerEvent,
  type ClientStep,
  type ClientIteratorOptions,
  type IteratorOptions,
  iterateClient,
} from './drivers/iterator.js';
export { plainClient, buildPlainResponse } from './mechanisms/plain.js';
export { loginClient } from './mechanisms/login.js';
export { cramMd5Client } from './mechanisms/cram-md5.js';
export { digestMd5ClientMechanism } from './mechanisms/digest-md5.js';
export { externalClient } from './mechanisms/external.js';
export { anonymousClient } from './mechanisms/anonymous.js';
export { oauthbearerClient } from './mechanisms/oauthbearer.js';
export { xoauth2Client } from './mechanisms/xoauth2.js';
export {
  type ScramMechanismName,
  type ScramClientMechanism,
  scramClient,
  clearScramClientCache,
} from './mechanisms/scram.js';
export {
  type ChannelBindingType,
  type ChannelBindingPolicy,
  type ChannelBindingSource,
  staticChannelBinding,
} from './channel-binding/binding.js';
export { saslprep, trySaslprep } from './passwords/saslprep.js';
export {
  type CryptoProvider,
  type SyncCrypto,
  type DigestName,
  type ScryptParams,
  type KdfJob,
  cryptoProvider,
  setCryptoProvider,
} from './crypto/provider.js';
export { type WebCrypto, type WebSubtle, type WebCryptoKey, webCryptoProvider } from './crypto/web.js';
