/**
 * `serve --protocol smtp`: the greeting, EHLO/HELO, STARTTLS, AUTH through
 * {@link smtpServerAuth}, and QUIT; mail itself is refused. AUTH waits for EHLO, and for a new
 * one after STARTTLS (RFC 3207 section 4.2).
 * @module
 */
import { SMTP_MAX_AUTH_LINE, formatSmtpReply, smtpAuthKeyword, smtpServerAuth } from '../../index.js';
import type { LineConnection, LineProtocol } from './lines.js';

/** The SMTP commands of one connection. */
export function smtpCommands(connection: LineConnection): LineProtocol {
  const { session, send: write } = connection;
  const name = session.settings.hostname ?? 'localhost';
  /** EHLO or HELO was received (in the current TLS state). */
  let greeted = false;
  return {
    maxLine: SMTP_MAX_AUTH_LINE,
    reset: () => {
      greeted = false;
    },
    greet: () => write(`220 ${name} ESMTP saslkit test server`),
    async command(line) {
      const verb = (line.split(' ')[0] ?? '').toUpperCase();
      switch (verb) {
        case 'EHLO': {
          greeted = true;
          const mechanisms = session.offered();
          const keywords = [
            `${name} Hello`,
            'ENHANCEDSTATUSCODES',
            ...(session.canStartTls ? ['STARTTLS'] : []),
            ...(mechanisms.length > 0 ? [smtpAuthKeyword(mechanisms)] : []),
          ];
          for (const reply of formatSmtpReply(250, keywords.join('\n'))) await write(reply);
          return true;
        }
        case 'HELO':
          greeted = true;
          await write(`250 ${name}`);
          return true;
        case 'STARTTLS':
          if (!session.canStartTls)
            await write(session.tls ? '503 5.5.1 TLS already active' : '502 5.5.1 STARTTLS not available');
          // RFC 3207 lets a server refuse STARTTLS; after AUTH the login would outlive TLS's start.
          else if (session.authenticated) await write('503 5.5.1 STARTTLS not permitted after AUTH');
          else return connection.startTls('220 2.0.0 Ready to start TLS');
          return true;
        case 'AUTH':
          if (session.authenticated) await write('503 5.5.1 Already authenticated');
          else if (!greeted) await write('503 5.5.1 Send EHLO first');
          else await connection.sasl((line.split(' ')[1] ?? '').toUpperCase(), line, smtpServerAuth);
          return true;
        case 'NOOP':
        case 'RSET':
          await write('250 2.0.0 OK');
          return true;
        case 'QUIT':
          await write('221 2.0.0 Bye');
          connection.end();
          return false;
        case 'MAIL':
        case 'RCPT':
        case 'DATA':
          await write(
            session.authenticated
              ? '502 5.5.1 This test server does not take mail'
              : '530 5.7.0 Authentication required',
          );
          return true;
        default:
          await write('500 5.5.2 Command not recognized');
          return true;
      }
    },
  };
}
