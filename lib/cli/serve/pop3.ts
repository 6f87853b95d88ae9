/**
 * `serve --protocol pop3`: the greeting, CAPA, STLS, AUTH through {@link pop3ServerAuth} (and
 * its pre-RFC 5034 listing form), USER/PASS (held back until TLS when TLS is configured), and
 * QUIT. STLS only in the AUTHORIZATION state (RFC 2595 section 4); a pending USER is forgotten
 * when TLS starts.
 * @module
 */
import { POP3_MAX_AUTH_LINE, pop3SaslCapability, pop3ServerAuth } from '../../index.js';
import type { LineConnection, LineProtocol } from './lines.js';

/** The POP3 commands of one connection. */
export function pop3Commands(connection: LineConnection): LineProtocol {
  const { session, send: write } = connection;
  /** The name from USER, waiting for PASS. */
  let user: string | undefined;
  const capa = async (): Promise<void> => {
    const mechanisms = session.offered();
    await write('+OK Capability list follows');
    if (session.plaintextAllowed) await write('USER');
    if (mechanisms.length > 0) await write(pop3SaslCapability(mechanisms));
    if (session.canStartTls) await write('STLS');
    await write('IMPLEMENTATION saslkit');
    await write('.');
  };
  const pass = async (password: string): Promise<string> => {
    if (session.authenticated) return '-ERR Already authenticated';
    if (user === undefined) return '-ERR USER first';
    const ok = await session.password('USER/PASS', user, password);
    user = undefined;
    return ok ? '+OK Logged in' : '-ERR [AUTH] Authentication failed';
  };
  return {
    maxLine: POP3_MAX_AUTH_LINE,
    reset: () => {
      user = undefined;
    },
    greet: () => write('+OK saslkit test server ready'),
    async command(line) {
      const space = line.indexOf(' ');
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const arg = space === -1 ? '' : line.slice(space + 1);
      switch (verb) {
        case 'CAPA':
          await capa();
          return true;
        case 'STLS':
          if (!session.canStartTls) await write('-ERR STLS not available');
          // RFC 2595 section 4: STLS only in the AUTHORIZATION state (a pending USER is dropped with the rest).
          else if (session.authenticated) await write('-ERR STLS is not permitted after authentication');
          else return connection.startTls('+OK Begin TLS negotiation');
          return true;
        case 'AUTH':
          if (session.authenticated) await write('-ERR Already authenticated');
          else if (arg === '') {
            // The pre-RFC 5034 form: list the mechanisms.
            await write('+OK');
            for (const name of session.offered()) await write(name);
            await write('.');
          } else await connection.sasl((arg.split(' ')[0] ?? '').toUpperCase(), line, pop3ServerAuth);
          return true;
        case 'USER':
          if (session.authenticated) await write('-ERR Already authenticated');
          else if (!session.plaintextAllowed)
            await write('-ERR [AUTH] Plaintext authentication is disabled before STLS');
          else if (arg === '') await write('-ERR Syntax: USER name');
          else {
            user = arg;
            await write('+OK');
          }
          return true;
        case 'PASS':
          await write(await pass(arg));
          return true;
        case 'NOOP':
          await write('+OK');
          return true;
        case 'QUIT':
          await write('+OK Bye');
          connection.end();
          return false;
        default:
          await write('-ERR Command not supported by this test server');
          return true;
      }
    },
  };
}
