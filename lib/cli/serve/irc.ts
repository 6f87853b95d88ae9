/**
 * `serve --protocol irc` (IRCv3 SASL): the connection registration through
 * {@link ircServerRegister} (CAP LS with `sasl=`, CAP REQ :sasl, AUTHENTICATE in 400-byte chunks,
 * CAP END, NICK, USER, then 001), each attempt logged; after the welcome only PING and QUIT are
 * answered. TLS is `--implicit-tls` (ircs); EXTERNAL takes the verified client certificate's CN.
 * @module
 */
import { IRC_MAX_LINE, formatIrcMessage, ircServerRegister, isSaslError, parseIrcMessage } from '../../index.js';
import { LineConnection } from './lines.js';
import type { Session } from './session.js';

/** Serves one IRC connection: registration with SASL, then PING and QUIT until the client leaves. */
export async function serveIrc(session: Session): Promise<void> {
  const connection = new LineConnection(session);
  connection.start(IRC_MAX_LINE, undefined);
  const server = session.settings.hostname ?? 'localhost';
  try {
    const registered = await ircServerRegister({
      auth: session.offeredAuth(),
      // As offered now (with -PLUS over TLS), for CAP LS and 908.
      mechanisms: session.offered(),
      options: session.serverOptions(),
      lines: connection.lines,
      write: connection.write,
      serverName: server,
      host: session.socket.remoteAddress ?? '*',
      onAttempt: (attempt) => {
        if (attempt.outcome !== undefined) session.report(attempt.outcome.mechanism, { outcome: attempt.outcome });
        else
          session.report((isSaslError(attempt.error) ? attempt.error.mechanism : undefined) ?? 'AUTHENTICATE', {
            error: attempt.error,
          });
      },
    });
    session.authenticated = registered.sasl !== undefined;
    for (;;) {
      const line = await connection.next();
      if (line === undefined) return;
      const message = parseIrcMessage(line, { party: 'client' });
      if (message.command === 'PING')
        await connection.send(formatIrcMessage('PONG', [server, message.params[0] ?? server], server));
      else if (message.command === 'QUIT') {
        await connection.send(formatIrcMessage('ERROR', ['Closing link']));
        connection.end();
        return;
      } else
        await connection.send(
          formatIrcMessage(
            '421',
            [registered.nick, message.command.slice(0, 32), 'Unknown command (this test server stops at the welcome)'],
            server,
          ),
        );
    }
  } finally {
    connection.close();
  }
}
