/**
 * The portable public face: everything both entries export (lib/index.ts for Node, and
 * lib/index.web.ts for browsers, workers and Deno). No module reached from here imports a Node
 * built-in except through ./crypto/default.ts, which the portable build swaps for
 * ./crypto/default.web.ts. @internal
 * @module
 */
export * from './core/errors.js';
export * from './core/bytes.js';
export * from './core/exchange.js';
export * from './core/mechanism.js';
export * from './core/options.js';
export * from './passwords/credentials.js';
export * from './passwords/identity.js';
export type {
  AsyncPasswordHasher,
  PasswordHasher,
  PasswordHasherBase,
  SyncPasswordHasher,
} from './passwords/hashers/hasher.js';
export {
  DEFAULT_MAX_PBKDF2_ROUNDS,
  Pbkdf2Hasher,
  type Pbkdf2Digest,
  type Pbkdf2Format,
  type Pbkdf2Options,
} from './passwords/hashers/pbkdf2.js';
export {
  DOVECOT_PBKDF2_ROUNDS,
  DovecotPbkdf2Hasher,
  type DovecotPbkdf2Options,
} from './passwords/hashers/dovecot-pbkdf2.js';
export { DEFAULT_MAX_SCRYPT_MEMORY, ScryptHasher, type ScryptOptions } from './passwords/hashers/scrypt.js';
export { CleartextHasher } from './passwords/hashers/cleartext.js';
export { detectHasher } from './passwords/hashers/detect.js';
export * from './passwords/saslprep.js';
export {
  type SessionLimits,
  type SessionOptions,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_ROUNDS,
  type ServerStep,
} from './core/core.js';
export * from './core/registry.js';
export * from './drivers/sync.js';
export * from './drivers/promise.js';
export * from './drivers/callback.js';
export * from './drivers/iterator.js';
export { authenticatePassword, authorize, lookupEffect, verifyEffect } from './passwords/server-auth.js';
export { PLAIN, plainClient, parsePlainResponse, buildPlainResponse } from './mechanisms/plain.js';
export { LOGIN, loginClient, parseLoginResponses } from './mechanisms/login.js';
export {
  CRAM_MD5,
  cramMd5Client,
  CramMD5Credentials,
  buildCramMd5Response,
  cramMd5Challenge,
  cramMd5Digest,
  cramMd5Server,
  parseCramMd5Response,
} from './mechanisms/cram-md5.js';
export { EXTERNAL, externalClient, buildExternalResponse, parseExternalResponse } from './mechanisms/external.js';
export { ANONYMOUS, anonymousClient, buildAnonymousMessage, parseAnonymousMessage } from './mechanisms/anonymous.js';
export { XOAUTH2, xoauth2Client, buildXoauth2Response, parseXoauth2Response } from './mechanisms/xoauth2.js';
export {
  OAUTHBEARER,
  oauthbearerClient,
  type OauthbearerFields,
  buildOauthbearerResponse,
  parseOauthbearerResponse,
} from './mechanisms/oauthbearer.js';
export { escapeSaslname, unescapeSaslname } from './mechanisms/gs2.js';
export {
  DIGEST_MD5,
  digestMd5ClientMechanism,
  type DigestMd5Digests,
  type DigestMd5Input,
  computeDigestMd5,
  parseDigestMd5Directives,
} from './mechanisms/digest-md5.js';
export { BearerCredentials, type ParsedTokenError, encodeTokenError, parseTokenError } from './mechanisms/oauth.js';
export { REDACTED, Redacting } from './core/redact.js';
export * from './channel-binding/binding.js';
export * from './passwords/scram-secret.js';
export { CramMd5StateIdentity, dovecotCramMd5 } from './passwords/cram-md5-state.js';
export {
  SCRAM_HASHES,
  SCRAM_MAX_STORED_ITERATIONS,
  SCRAM_SALT_LENGTH,
  type ScramHash,
  type ScramHashInfo,
  deriveEffect,
  performDerive,
  scramClientKey,
  scramH,
  scramHStep,
  scramHmac,
  scramHmacStep,
  scramNormalizePassword,
  scramSaltedPassword,
  scramServerKey,
  scramStoredKey,
} from './passwords/scram-keys.js';
export {
  DEFAULT_STORE_CACHE_ENTRIES,
  DEFAULT_STORE_CACHE_MAX_KEY_LENGTH,
  DEFAULT_STORE_CACHE_TTL_MS,
  StoreCache,
  type StoreCacheOptions,
  type StoreCacheStats,
} from './stores/cache.js';
export {
  DEFAULT_SCRAM_CACHE,
  SCRAM_SERVER_CACHE_SIZE,
  ScramCache,
  type ScramCacheOptions,
} from './mechanisms/scram-cache.js';
export {
  SCRAM_SHA_1,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  SCRAM_SHA_512_PLUS,
  type ScramMechanism,
  scramMechanism,
  type ScramMechanismName,
  type ScramClientMechanism,
  scramClient,
  SCRAM_SERVER_ERRORS,
  type ScramServerError,
  SCRAM_MIN_ITERATIONS,
  SCRAM_DEFAULT_MAX_ITERATIONS,
  SCRAM_CLIENT_CACHE_SIZE,
  scramServerErrorOf,
  scramGs2Header,
  scramChannelBindingAttribute,
  scramAuthMessage,
  scramClientSignature,
  scramServerSignature,
  scramXor,
  parseScramClientFirst,
  parseScramClientFinal,
  parseScramServerFirst,
  verifyScramServerFinal,
  clearScramClientCache,
  type ClientFirst as ScramClientFirst,
  type ClientFinal as ScramClientFinal,
  type ServerFirst as ScramServerFirst,
} from './mechanisms/scram.js';
export {
  XMPP_SASL_NS,
  DEFAULT_XMPP_MAX_ELEMENT_BYTES,
  DEFAULT_XMPP_MAX_ATTRIBUTES,
  DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS,
  DEFAULT_XMPP_MAX_ELEMENTS,
  DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES,
  DEFAULT_XMPP_MAX_REFERENCES,
  XMPP_FAILURE_CONDITIONS,
  type XmppFailureCondition,
  type XmppSaslElement,
  type XmppSaslElementKind,
  type XmppParseOptions,
  type XmppElementsOptions,
  type XmppServerAuthOptions,
  type XmppClientAuthOptions,
  type XmppClientResult,
  type MessageSource,
  type ElementWriter,
  parseXmppSaslElement,
  parseXmppMechanisms,
  buildXmppMechanisms,
  buildXmppAuth,
  buildXmppChallenge,
  buildXmppResponse,
  buildXmppSuccess,
  buildXmppFailure,
  buildXmppAbort,
  xmppFailureCondition,
  xmppFailureError,
  xmppElements,
  xmppServerAuth,
  xmppClientAuth,
} from './protocols/xmpp.js';
export {
  XMPP_FRAMING_NS,
  XMPP_WEBSOCKET_PROTOCOL,
  DEFAULT_XMPP_WEBSOCKET_MAX_QUEUED,
  type XmppWebSocket,
  type XmppWebSocketConstructor,
  type XmppWebSocketEvent,
  type XmppWebSocketReaderOptions,
  type XmppWebSocketLoginOptions,
  type XmppWebSocketSession,
  XmppWebSocketReader,
  buildXmppFramingOpen,
  buildXmppFramingClose,
  xmppWebSocketLogin,
} from './protocols/xmpp-websocket.js';
export {
  type LineSource,
  type LineWriter,
  type LineLimits,
  type ReplyKind,
  type ReplyTexts,
  type LineServerAuthOptions,
  type LineClientAuthOptions,
  type LineClientResult,
  LineQueue,
  lineIterator,
  lineWriter,
  CANCEL_LINE,
  MECHANISM_NAME,
  encodeInitialResponse,
  decodeInitialResponse,
  decodeLineData,
  advertisedMechanisms,
} from './protocols/lines.js';
export {
  SMTP_MAX_AUTH_LINE,
  SMTP_MAX_COMMAND_LINE,
  SMTP_REPLY_CODES,
  type SmtpReply,
  type EhloInfo,
  type SmtpServerAuthOptions,
  type SmtpClientAuthOptions,
  formatSmtpReply,
  readSmtpReply,
  parseEhlo,
  smtpAuthKeyword,
  smtpServerAuth,
  smtpClientAuth,
} from './protocols/smtp.js';
export {
  IMAP_MAX_AUTH_LINE,
  IMAP_MAX_COMMAND_LINE,
  IMAP_REPLY_STATUS,
  type ImapCapabilities,
  type ImapServerAuthOptions,
  type ImapClientAuthOptions,
  type ImapClientResult,
  parseImapCapabilities,
  imapCapabilityAtoms,
  imapServerAuth,
  imapClientAuth,
} from './protocols/imap.js';
export {
  POP3_MAX_AUTH_LINE,
  POP3_MAX_COMMAND_LINE,
  type Pop3Capabilities,
  type Pop3ServerAuthOptions,
  type Pop3ClientAuthOptions,
  parsePop3Capa,
  pop3SaslCapability,
  pop3ServerAuth,
  pop3ClientAuth,
} from './protocols/pop3.js';
export {
  MANAGESIEVE_MAX_AUTH_LINE,
  MANAGESIEVE_MAX_QUOTED,
  type ManageSieveCapabilities,
  type ManageSieveServerAuthOptions,
  type ManageSieveClientAuthOptions,
  quoteSieveString,
  parseManageSieveCapabilities,
  manageSieveSaslCapability,
  manageSieveServerAuth,
  manageSieveClientAuth,
} from './protocols/managesieve.js';
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
export { type CryptoStep, type CryptoSteps } from './crypto/ops.js';
export { KdfTicket } from './crypto/ticket.js';
