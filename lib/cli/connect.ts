/**
 * Opens the right client for a target: the line protocols share {@link MailClient}; PostgreSQL
 * and XMPP have their own framing.
 * @module
 */
import { type ConnectOptions, MailClient, type ProtocolClient } from './client.js';
import { PostgresClient } from './postgres-client.js';
import { XmppClient } from './xmpp-client.js';

/** Connects to `options.target` and reads what the server offers (PostgreSQL: nothing yet). */
export function connectClient(options: ConnectOptions): Promise<ProtocolClient> {
  switch (options.target.protocol) {
    case 'postgres':
      return PostgresClient.connect(options);
    case 'xmpp':
      return XmppClient.connect(options);
    default:
      return MailClient.connect(options);
  }
}
