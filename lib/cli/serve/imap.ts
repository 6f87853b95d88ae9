/**
 * `serve --protocol imap`: the greeting with capabilities, CAPABILITY, STARTTLS, AUTHENTICATE
 * through {@link imapServerAuth}, LOGIN (held back as LOGINDISABLED until TLS when TLS is
 * configured), and LOGOUT. STARTTLS is valid only before a login (RFC 9051 section 6.2.1).
 * @module
 */
import { IMAP_MAX_AUTH_LINE, imapCapabilityAtoms, imapServerAuth } from '../../index.js';
import type { LineConnection, LineProtocol } from './lines.js';

/** Splits an IMAP argument list of atoms and quoted strings; undefined for anything else (literals). */
export function parseImapStrings(text: string): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  while (rest !== '') {
    const quoted = /^"((?:[^"\\\r\n]|\\["\\])*)"(?: |$)/.exec(rest);
    const atom = /^([^\s"(){%*\\]+)(?: |$)/.exec(rest);
    const match = quoted ?? atom;
    if (!match) return undefined;
    out.push(quoted ? (match[1] ?? '').replace(/\\(["\\])/g, '$1') : (match[1] ?? ''));
    rest = rest.slice(match[0].length);
  }
  return out;
}

/** The IMAP commands of one connection. */
export function imapCommands(connection: LineConnection): LineProtocol {
  const { session, send: write } = connection;
  const capabilities = (): string => {
    const loginDisabled = !session.plaintextAllowed;
    return [
      'IMAP4rev1',
      ...(session.canStartTls ? ['STARTTLS'] : []),
      ...(loginDisabled ? ['LOGINDISABLED'] : []),
      ...imapCapabilityAtoms(session.offered()),
    ].join(' ');
  };
  /** LOGIN's reply to `tag`. */
  const login = async (tag: string, args: string): Promise<string> => {
    const strings = parseImapStrings(args);
    if (session.authenticated) return `${tag} BAD Already authenticated`;
    if (!session.plaintextAllowed) return `${tag} NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS`;
    if (strings?.length !== 2) return `${tag} BAD Syntax: LOGIN user password (no literals)`;
    if (await session.password('LOGIN command', strings[0] ?? '', strings[1] ?? '')) return `${tag} OK LOGIN completed`;
    return `${tag} NO [AUTHENTICATIONFAILED] Authentication failed`;
  };
  return {
    maxLine: IMAP_MAX_AUTH_LINE,
    greet: () => write(`* OK [CAPABILITY ${capabilities()}] saslkit test server ready`),
    async command(line) {
      const match = /^([^\s(){%*"\\+]+) ([A-Za-z]+)(?: (.*))?$/.exec(line);
      if (!match) {
        await write('* BAD Missing tag or command');
        return true;
      }
      const tag = match[1] ?? '*';
      const args = match[3] ?? '';
      switch ((match[2] ?? '').toUpperCase()) {
        case 'CAPABILITY':
          await write(`* CAPABILITY ${capabilities()}`);
          await write(`${tag} OK CAPABILITY completed`);
          return true;
        case 'NOOP':
          await write(`${tag} OK NOOP completed`);
          return true;
        case 'STARTTLS':
          if (!session.canStartTls) await write(`${tag} BAD STARTTLS not available`);
          // RFC 9051 section 6.2.1: STARTTLS is valid only in the not-authenticated state.
          else if (session.authenticated) await write(`${tag} BAD STARTTLS is not permitted after authentication`);
          else return connection.startTls(`${tag} OK Begin TLS negotiation now`);
          return true;
        case 'AUTHENTICATE':
          if (session.authenticated) await write(`${tag} BAD Already authenticated`);
          else await connection.sasl((args.split(' ')[0] ?? '').toUpperCase(), line, imapServerAuth);
          return true;
        case 'LOGIN':
          await write(await login(tag, args));
          return true;
        case 'LOGOUT':
          await write('* BYE saslkit test server logging out');
          await write(`${tag} OK LOGOUT completed`);
          connection.end();
          return false;
        default:
          await write(`${tag} BAD Command not supported by this test server`);
          return true;
      }
    },
  };
}
