/**
 * The XMPP SASL profile (RFC 6120 section 6): the `<mechanisms>`, `<auth>`, `<challenge>`,
 * `<response>`, `<success>`, `<failure>` and `<abort>` elements, and a server and a client that
 * run an exchange over them. Not an XMPP stack: the host keeps its stream, splits it into
 * top-level elements (an XMPP-over-WebSocket message, RFC 7395, is already one element) and
 * hands saslkit those elements and a `write` function.
 *
 * The XML itself is read by lib/transport/xml.ts (deliberately small and strict: no comments,
 * processing instructions, CDATA or DTDs, which RFC 6120 section 11.1 forbids anyway) and a
 * stream is split into elements by lib/transport/elements.ts; this module gives the elements
 * their SASL grammar and runs the exchanges.
 * @module
 */
// The grammar (xmpp-messages.ts), the server (xmpp-server.ts) and the client (xmpp-client.ts),
// re-exported together: the package index and hosts import them from this module.
export * from './xmpp-messages.js';
export * from './xmpp-server.js';
export * from './xmpp-client.js';

// The XML reader, its limits and the element splitter moved to lib/transport/; re-exported here
// so the package index and hosts that imported them from this module keep working.
export {
  DEFAULT_XMPP_MAX_ELEMENT_BYTES,
  DEFAULT_XMPP_MAX_ATTRIBUTES,
  DEFAULT_XMPP_MAX_NAMESPACE_DECLARATIONS,
  DEFAULT_XMPP_MAX_ELEMENTS,
  DEFAULT_XMPP_MAX_TOTAL_ATTRIBUTES,
  DEFAULT_XMPP_MAX_REFERENCES,
  type XmppParseOptions,
  xmlWork,
} from '../transport/xml.js';
export { type XmppElementsOptions, xmppElements } from '../transport/elements.js';
export { type MessageSource, messageIterator } from '../transport/source.js';
