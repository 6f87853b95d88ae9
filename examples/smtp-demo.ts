/**
 * The SMTP half of `saslkit demo` (`npm start` runs both SMTP and IMAP): starts the test server
 * on a free 127.0.0.1 port with STARTTLS and a throwaway certificate, logs in with every
 * mechanism (-PLUS with channel binding), and prints a table. Exits 0 only if every login
 * succeeded. The code is in lib/cli/demo.ts.
 *
 *   npx ts-node examples/smtp-demo.ts
 */
import { demoCredentials } from '../lib/cli/demo.js';
import { runCli } from '../lib/cli/main.js';

export { demoCredentials };

if (require.main === module) runCli(['demo', '--protocol', 'smtp']);
