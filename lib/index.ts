/**
 * saslkit: SASL (RFC 4422) mechanisms as sans-I/O generators, with drivers for any transport.
 * @module
 */
export * from './public.js';
// Node-only: the KDF pool (libuv), TLS channel-binding extraction, Node stream line readers,
// PostgreSQL over Node sockets, and the node:crypto provider. lib/index.web.ts leaves them out.
export * from './channel-binding.js';
export { type KdfPoolOptions, type KdfPoolStatus, type KdfJobOptions, DEFAULT_KDF_MAX_QUEUED, configureKdfPool, defaultKdfConcurrency, kdfPoolStatus, runKdf } from './kdf-pool.js';
export { type LineReaderOptions, LineReader, DEFAULT_READER_MAX_LINE } from './protocols/lines.js';
export { nodeCryptoProvider } from './crypto/node.js';
export {
  PG_PROTOCOL_VERSION, PG_SSL_REQUEST_CODE, PG_GSSENC_REQUEST_CODE, PG_CANCEL_REQUEST_CODE, DEFAULT_PG_MAX_MESSAGE_BYTES, PG_MAX_STARTUP_BYTES,
  PG_AUTH, type PgMessage, type PgStartupPacket, type PgSASLInitialResponse, type PgErrorFields, type PgAuthentication, type PgReaderOptions,
  type PgWriter, type PostgresServerAuthOptions, type PostgresServerResult, type PostgresReadyOptions, type PostgresClientAuthOptions,
  type PostgresClientResult, type PostgresReady, PgMessageReader, buildPgMessage, buildPgStartupMessage, buildPgSSLRequest,
  buildPgSASLInitialResponse, buildPgSASLResponse, buildPgTerminate, parsePgStartupPacket, parsePgSASLInitialResponse,
  buildPgAuthenticationSASL, buildPgAuthenticationSASLContinue, buildPgAuthenticationSASLFinal, buildPgAuthenticationOk, buildPgErrorResponse,
  buildPgParameterStatus, buildPgBackendKeyData, buildPgReadyForQuery, parsePgAuthentication, parsePgErrorResponse, postgresErrorFor,
  postgresErrorFromResponse, postgresServerAuth, buildPostgresReady, postgresClientAuth, readPostgresReady,
} from './protocols/postgres.js';
export {
  IRC_AUTHENTICATE_CHUNK, IRC_MAX_MESSAGE_BYTES, IRC_MAX_TAG_BYTES, IRC_MAX_LINE, IRC_MAX_PARAMS, IRC_NUMERICS, IRC_DEFAULT_SERVER_NAME,
  IRC_REPLY_NUMERICS, type IrcMessage, type IrcParseOptions, type IrcClientAuthOptions, type IrcClientResult,
  type IrcLoginOptions, type IrcLoginResult, type IrcServerAuthOptions, type IrcServerRegisterOptions, type IrcRegistration, type IrcAttempt, IrcChunkJoiner,
  parseIrcMessage, formatIrcMessage, ircAuthenticateChunks, ircNumericError, parseIrcMechanisms, ircClientAuth, ircLogin, ircServerAuth,
  ircServerRegister,
} from './protocols/irc.js';
// LDAP SASL bind (RFC 4511 section 4.2, RFC 4513 section 5.2): the strict BER codec's message
// reader, the messages, the requester, client and server; LdapConnection and serveLdapSocket are Node edges.
export { DEFAULT_LDAP_MAX_MESSAGE_BYTES, LdapMessageReader, type LdapReaderOptions } from './transport/ber.js';
export {
  LDAP_OID, LDAP_OP_TAG, LDAP_RESULT, LDAP_SCOPE, type LdapAttribute, type LdapAuthentication, type LdapControl, type LdapFilter, type LdapMessage,
  type LdapParseOptions, type LdapProtocolOp, type LdapResult, encodeLdapFilter, encodeLdapMessage, parseLdapMessage,
} from './protocols/ldap-messages.js';
export {
  DEFAULT_LDAP_MAX_ENTRIES, LdapRequester, type LdapRequestOptions, type LdapSearchRequest, type LdapSearchResult, type LdapWriter, ldapAttributeValues,
  ldapSupportedMechanisms,
} from './protocols/ldap-requester.js';
export {
  type LdapBindOptions, type LdapBindResult, type LdapChannelBindingStyle, type LdapClientAuthOptions, LdapResultInfo, OPENLDAP_CB_NAME, ldapBind,
  ldapBindError, ldapClientAuth, ldapResultName, ldapWhoAmI, openLdapChannelBinding,
} from './protocols/ldap-client.js';
export { type LdapServerAuthOptions, LdapServerConnection, type LdapServerTransport, ldapResultFor, ldapServerAuth } from './protocols/ldap-server.js';
export { type LdapConnectOptions, LdapConnection, ldapUrlTarget } from './protocols/ldap-connection.js';
export { type LdapSocketOptions, serveLdapSocket } from './protocols/ldap-socket.js';
