#!/usr/bin/env node
'use strict';
// A real SMTP server peer (npm "smtp-server", from the nodemailer project) on 127.0.0.1.
//   node server.cjs [--port N] [--sink] [--max-seconds S]
// Default: AUTH required with PLAIN LOGIN CRAM-MD5 XOAUTH2, no TLS (allowInsecureAuth).
// --sink: no AUTH, accepts and discards mail; the relay target behind Dovecot submission.
// It stops by itself after --max-seconds ($INTEROP_MAX_SECONDS, default 3600), so a forgotten peer cannot linger.
const { SMTPServer } = require('smtp-server');
const { setTimeout } = require('node:timers');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(opt('--port', process.env.SMTP_SERVER_PORT || 14025));
const sink = args.includes('--sink');
const maxSeconds = Number(opt('--max-seconds', process.env.INTEROP_MAX_SECONDS || 3600));

const USERS = {
  [process.env.ALICE_USER || 'alice']: process.env.ALICE_PASS || 'alice-pass',
  [process.env.BOB_USER || 'bob']: process.env.BOB_PASS || 'bob-pass',
};
const TOKENS = { [process.env.ALICE_TOKEN || 'alice-oauth-token']: 'alice' };
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

const server = new SMTPServer({
  name: 'localhost',
  banner: sink ? 'saslkit-interop sink' : 'saslkit-interop smtp-server',
  secure: false,
  disabledCommands: sink ? ['AUTH', 'STARTTLS'] : ['STARTTLS'],
  allowInsecureAuth: true,
  authOptional: sink,
  authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
  logger: false,
  onAuth(auth, session, done) {
    const method = auth.method;
    let ok;
    if (method === 'XOAUTH2') ok = has(TOKENS, auth.accessToken) && TOKENS[auth.accessToken] === auth.username;
    else if (method === 'CRAM-MD5') ok = has(USERS, auth.username) && auth.validatePassword(USERS[auth.username]);
    else ok = has(USERS, auth.username) && USERS[auth.username] === auth.password;
    process.stderr.write(`smtp-server: AUTH ${method} user=${auth.username} -> ${ok ? 'OK' : 'FAIL'}\n`);
    if (ok) return done(null, { user: auth.username });
    // For XOAUTH2, smtp-server sends this JSON as the 334 error challenge.
    if (method === 'XOAUTH2') return done(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
    return done(new Error('Invalid username or password'));
  },
  onData(stream, session, done) {
    stream.on('data', () => undefined);
    stream.on('end', () => done());
  },
});
server.on('error', (error) => process.stderr.write(`smtp-server error: ${error.message}\n`));
server.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${port}\n`));
const stop = () => server.close(() => process.exit(0));
setTimeout(stop, maxSeconds * 1000).unref();
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
