/**
 * Plumbing shared by the line-based profiles (SMTP, IMAP, POP3, ManageSieve): the base64
 * framing of SASL messages, and the one exchange loop per side that the profiles plug their
 * grammar into. Where lines come from and go lives in transport/lines.ts.
 *
 * A profile never owns the connection. It reads lines from a {@link LineSource} (an async
 * iterator such as `readline`'s, a {@link LineQueue} fed by a callback transport, or a
 * {@link LineReader} over a socket) with `next()` only, never `return()`, so the host's own
 * command loop continues with the same source afterwards. It writes lines, without CRLF,
 * through a {@link LineWriter}.
 * @module
 */

// The framing and input (line-input.ts), the server loop (line-server.ts) and the client loop
// (line-client.ts), re-exported together: the four line profiles and the package index import them here.
export * from './line-input.js';
export * from './line-server.js';
export * from './line-client.js';
export { advertisedMechanisms, serverOptionsFor } from './profile.js';

// The sources and writers moved to transport/lines.ts and the signal race to transport/signal.ts;
// re-exported here for the package index and for hosts that imported them from this module.
export {
  type LineSink,
  type LineSource,
  type LineWriter,
  type LineReaderOptions,
  type Polled,
  DEFAULT_READER_MAX_LINE,
  LineQueue,
  LineReader,
  lineIterator,
  lineWriter,
  readerWork,
} from '../transport/lines.js';
export { raceSignal } from '../transport/signal.js';
