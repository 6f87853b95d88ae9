/**
 * `serve --protocol sieve` (ManageSieve, RFC 5804): the capability listing as greeting and as
 * CAPABILITY's reply, STARTTLS with the listing re-issued over TLS (section 2.2), AUTHENTICATE
 * through {@link manageSieveServerAuth}, and LOGOUT. STARTTLS is refused after a login.
 * @module
 */
import { MANAGESIEVE_MAX_AUTH_LINE, manageSieveSaslCapability, manageSieveServerAuth } from '../../index.js';
import type { LineConnection, LineProtocol } from './lines.js';

/** The ManageSieve commands of one connection. */
export function sieveCommands(connection: LineConnection): LineProtocol {
  const { session, send: write } = connection;
  /** The capability listing and its OK: the greeting, the CAPABILITY reply, and again after STARTTLS. */
  const listing = async (ok: string): Promise<void> => {
    const mechanisms = session.offered();
    await write('"IMPLEMENTATION" "saslkit test server"');
    if (mechanisms.length > 0) await write(manageSieveSaslCapability(mechanisms));
    if (session.canStartTls) await write('"STARTTLS"');
    await write('"VERSION" "1.0"');
    await write(`OK "${ok}"`);
  };
  return {
    maxLine: MANAGESIEVE_MAX_AUTH_LINE,
    greet: () => listing('saslkit test server ready'),
    async command(line) {
      switch ((/^[A-Za-z]+/.exec(line)?.[0] ?? '').toUpperCase()) {
        case 'CAPABILITY':
          await listing('CAPABILITY completed');
          return true;
        case 'NOOP':
          await write('OK "NOOP completed"');
          return true;
        case 'STARTTLS':
          if (!session.canStartTls) await write('NO "STARTTLS not available"');
          // As in IMAP: after a login, TLS would start under a session a man in the middle may own.
          else if (session.authenticated) await write('NO "STARTTLS is not permitted after authentication"');
          else if (!(await connection.startTls('OK "Begin TLS negotiation now"'))) return false;
          // RFC 5804 section 2.2: the server re-issues its capabilities once TLS is up.
          else await listing('TLS negotiation successful');
          return true;
        case 'AUTHENTICATE':
          if (session.authenticated) await write('NO "Already authenticated"');
          else
            await connection.sasl(
              (/^AUTHENTICATE\s+"([^"]*)"/i.exec(line)?.[1] ?? '').toUpperCase(),
              line,
              manageSieveServerAuth,
            );
          return true;
        case 'LOGOUT':
          await write('OK "Logout completed"');
          connection.end();
          return false;
        default:
          await write('NO "Command not supported by this test server"');
          return true;
      }
    },
  };
}
