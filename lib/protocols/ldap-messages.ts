/**
 * The LDAP messages saslkit speaks (RFC 4511) and their codec, as one import: the message types
 * and constants (ldap-types.ts), the parser (ldap-parse.ts) and the encoders (ldap-encode.ts).
 * @module
 */
export * from './ldap-types.js';
export { type LdapParseOptions, parseLdapMessage } from './ldap-parse.js';
export { encodeLdapFilter, encodeLdapMessage, encodeLdapResultResponse, ldapResponseTagFor } from './ldap-encode.js';
