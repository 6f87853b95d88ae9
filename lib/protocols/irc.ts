/**
 * The IRCv3 SASL profile (https://ircv3.net/specs/extensions/sasl-3.1 and sasl-3.2), client and
 * server: the framing (irc-framing.ts: IRC messages, 400-byte AUTHENTICATE chunks, the 90x
 * numerics), the client (irc-client.ts: {@link ircClientAuth}, {@link ircLogin}) and the
 * server (irc-server.ts: {@link ircServerAuth}, {@link ircServerRegister}). Nothing here owns
 * the socket: each side reads lines from a {@link LineSource} and writes them through a
 * {@link LineWriter}, so a host wires it to `net`, `tls` or anything that carries lines.
 * @module
 */
export * from './irc-framing.js';
export * from './irc-client.js';
export * from './irc-server.js';
