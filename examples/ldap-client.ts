/**
 * Binds to an LDAP server with a SASL mechanism and prints what happened: the mechanism, whether
 * the server proved it knows the password (SCRAM, DIGEST-MD5), and "Who am I?".
 *
 *   SASLKIT_PASSWORD=alice-pass npx ts-node examples/ldap-client.ts ldap://127.0.0.1:15389 alice [--starttls] [--mechanism SCRAM-SHA-256] [--ca ca.pem] [--servername localhost]
 *   npx ts-node examples/ldap-client.ts ldaps://127.0.0.1:15636 '' --mechanism EXTERNAL --cert alice.pem --key alice.key --ca ca.pem --servername localhost
 *
 * Without --mechanism the strongest mechanism the server lists in its rootDSE is chosen (over TLS,
 * a SCRAM-*-PLUS with channel binding). Exits 0 when the bind succeeded, 1 when it was refused,
 * 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { ClientCredentials, LdapConnection, isSaslError, ldapBind, ldapWhoAmI } from 'saslkit';

function usage(): never {
  console.error(
    'usage: SASLKIT_PASSWORD=... npx ts-node examples/ldap-client.ts <ldap[s]://host:port> <user> [--starttls] [--mechanism NAME] [--ca FILE] [--cert FILE --key FILE] [--servername NAME]',
  );
  process.exit(2);
}

const [url, user, ...rest] = process.argv.slice(2);
if (url === undefined || user === undefined) usage();
const flags = new Map<string, string>();
let startTls = false;
for (let i = 0; i < rest.length; i++) {
  const flag = rest[i] as string;
  if (flag === '--starttls') startTls = true;
  else if (['--mechanism', '--ca', '--cert', '--key', '--servername'].includes(flag) && rest[i + 1] !== undefined)
    flags.set(flag, rest[++i] as string);
  else usage();
}
const file = (flag: string): Buffer | undefined =>
  flags.has(flag) ? readFileSync(flags.get(flag) as string) : undefined;
const tls = {
  ...(file('--ca') === undefined ? {} : { ca: file('--ca') }),
  ...(file('--cert') === undefined ? {} : { cert: file('--cert'), key: file('--key') }),
  ...(flags.has('--servername') ? { servername: flags.get('--servername') as string } : {}),
};
const mechanism = flags.get('--mechanism');

async function main(): Promise<number> {
  const connection = await LdapConnection.connect({ url: url as string, startTls, tls, timeoutMs: 15_000 });
  try {
    const bound = await ldapBind(connection, {
      credentials: new ClientCredentials(user as string, process.env['SASLKIT_PASSWORD'] ?? ''),
      ...(mechanism === undefined ? {} : { mechanism }),
      client: { host: flags.get('--servername') ?? new URL(url as string).hostname },
    });
    console.log(
      `bound with ${bound.mechanism} in ${bound.roundTrips} round trip(s), ${bound.serverVerified ? 'server verified' : 'server not verified'}${connection.encrypted ? ', over TLS' : ''}`,
    );
    console.log(`who am I: ${(await ldapWhoAmI(connection.requester)) || 'anonymous'}`);
    return 0;
  } catch (error) {
    if (!isSaslError(error)) throw error;
    // Typed errors never carry the password; the server's diagnostic is in error.cause.
    console.error(`bind refused: ${error.code}: ${error.message}`);
    return 1;
  } finally {
    await connection.unbind();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(isSaslError(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  },
);
