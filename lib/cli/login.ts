/**
 * `saslkit login <url>`: authenticates to a server and reports the outcome; exit 0 on success,
 * non-zero with a one-line reason on failure. Secrets come from a file, the environment or a
 * no-echo prompt, never from the command line.
 * @module
 */
import { performance } from 'node:perf_hooks';
import {
  type ChannelBindingPolicy,
  type ChooseOptions,
  ClientCredentials,
  MECHANISM_NAME,
  MechanismUnavailableError,
  SASLAuth,
  type SecretKind,
  UnexpectedMessageError,
  UsageError,
  mechanismSecretKind,
} from '../index.js';
import { type ParsedArgs, choiceOption, flag, startCommand, stringOption } from './args.js';
import type { ProtocolClient } from './client.js';
import { CONNECT_OPTIONS, type ConnectPlan, connectClient, connectOptions, planConnect, tlsFor } from './connect.js';
import { ircNick } from './irc-client.js';
import type { TlsState } from './tls-client.js';
import { type CliIo, EXIT, EXIT_CODES_HELP, readSecret, writeJson } from './io.js';
import { LineTracer } from './trace.js';
import { formatTarget, parseTarget } from './url.js';

/** `saslkit login --help`. */
export const LOGIN_HELP = `Usage: saslkit login <url> [--mech M] [--user U] [--authzid Z] [options]

Connects to an SMTP, IMAP, POP3, ManageSieve, XMPP, PostgreSQL, IRC or LDAP server and
authenticates. Without --mech, picks the strongest mechanism both sides support that suits the secret (SCRAM-*-PLUS first when TLS
is up; OAUTHBEARER or XOAUTH2 for a token). Without TLS it never picks one that sends the
password or token in clear (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2): a man in the middle could
strip the others from the server's list. Use TLS, or --allow-plaintext, or name it with --mech.

URLs: smtp://host[:25] submission://host[:587] smtps://host[:465] imap://host[:143]
      imaps://host[:993] pop3://host[:110] pop3s://host[:995] sieve://host[:4190]
      xmpp://host[:5222] xmpps://host[:5223] (XEP-0368 direct TLS)
      postgres://host[:5432][/database] (--starttls sends SSLRequest)
      irc://host[:6667] ircs://host[:6697] (registers as --nick with SASL, then QUIT)
      ldap://host[:389] ldaps://host[:636] (a SASL bind; --starttls sends StartTLS)

Options:
  --mech M               the SASL mechanism (PLAIN, SCRAM-SHA-256-PLUS, XOAUTH2, ...)
  --user U               who to log in as (or put it in the URL: imap://alice@host)
  --authzid Z            act as Z (proxy authorization), where the mechanism can carry it
  --password-file F      read the password from F (- for standard input)
  --token-file F         read an OAuth bearer token from F (- for standard input);
                         implies OAUTHBEARER or XOAUTH2
  --starttls             upgrade to TLS first (STARTTLS; STLS in POP3; SSLRequest in
                         PostgreSQL; StartTLS in LDAP)
  --insecure             accept any server certificate (self-signed, wrong name)
  --ca F                 also trust the PEM certificate(s) in F
  --cert F, --key F      present the client certificate in F (PEM) with its key; with
                         --mech EXTERNAL the server takes the identity from it
  --tls-max V            1.2 or 1.3 (default): the highest TLS version to offer; 1.2 lets
                         servers that bind only with tls-unique offer SCRAM-*-PLUS
  --domain D             XMPP: the domain of the stream (default the domain of --user
                         alice@D, else the host)
  --nick N               IRC: the nick to register (default the user name when it is a
                         valid nick, else saslkit)
  --channel-binding P    disable | prefer (default) | require: SCRAM channel binding
  --allow-plaintext      without TLS, let the automatic choice send the password or
                         token in clear (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2)
  --trace                print the exchange on standard error, decoded, secrets redacted
  --json                 print the result as one JSON object on standard output
  --timeout S            give up when the server is silent for S seconds (default 30)
  -h, --help             this help

The secret is read from --password-file / --token-file, else from the environment
(SASLKIT_PASSWORD, SASLKIT_TOKEN), else from a prompt that does not echo. It is never
taken as an argument: --password and friends are refused.

Examples:
  SASLKIT_PASSWORD=alice-pass saslkit login smtp://127.0.0.1:2525 --user alice
  saslkit login xmpp://127.0.0.1:5222 --starttls --user alice@example.com --ca ca.pem
  saslkit login sieve://127.0.0.1:4190 --starttls --user alice --ca ca.pem
  saslkit login postgres://127.0.0.1:5432/app --starttls --user alice --ca ca.pem
  saslkit login ircs://irc.example.net --user alice --nick alice_bot
  saslkit login ldap://ldap.example.com --starttls --user alice --channel-binding require
  saslkit login ircs://irc.example.net --mech EXTERNAL --cert me.pem --key me.key
  saslkit login imap://127.0.0.1:1143 --starttls --ca ca.pem --cert me.pem --key me.key --mech EXTERNAL
  saslkit login imap://mail.example.com --starttls --user alice --mech SCRAM-SHA-256-PLUS
  saslkit login imaps://127.0.0.1:9993 --user alice --ca cert.pem --channel-binding require
  saslkit login smtp://127.0.0.1:2525 --user alice --token-file token.txt --trace
  saslkit login pop3://127.0.0.1:1110 --user alice --password-file - --json < pw.txt

${EXIT_CODES_HELP}
`;

const OPTIONS = {
  ...CONNECT_OPTIONS,
  mech: { type: 'string' },
  user: { type: 'string' },
  authzid: { type: 'string' },
  'password-file': { type: 'string' },
  'token-file': { type: 'string' },
  'channel-binding': { type: 'string' },
  'allow-plaintext': { type: 'boolean' },
  nick: { type: 'string' },
} as const;

/** What a login needs, read from the command line. */
export interface LoginPlan extends ConnectPlan {
  readonly mechanism: string | undefined;
  readonly user: string;
  readonly authzid: string;
  readonly secretKind: SecretKind;
  readonly channelBinding: ChannelBindingPolicy;
  /** Let the automatic choice send the secret in clear without TLS. */
  readonly allowPlaintext: boolean;
  /** IRC: the nick to register. */
  readonly nick: string | undefined;
}

/** Reads and checks the command line of `login`. Throws {@link UsageError}. */
export function planLogin(args: ParsedArgs): LoginPlan {
  if (args.positionals.length !== 1)
    throw new UsageError('login needs exactly one server URL (see saslkit login --help)');
  const target = parseTarget(args.positionals[0] as string);
  const named = stringOption(args, 'mech');
  let mechanism: string | undefined;
  if (named !== undefined) {
    const found = SASLAuth.all().getClient(named);
    if (found === undefined)
      throw new MechanismUnavailableError(
        `saslkit has no mechanism named ${MECHANISM_NAME.test(named) ? named.toUpperCase() : '(invalid name)'}`,
        { party: 'local' },
      );
    mechanism = found.name;
  }
  const tokenFile = stringOption(args, 'token-file');
  const passwordFile = stringOption(args, 'password-file');
  if (tokenFile !== undefined && passwordFile !== undefined)
    throw new UsageError('give --password-file or --token-file, not both');
  let secretKind: LoginPlan['secretKind'] = tokenFile !== undefined ? 'token' : 'password';
  if (mechanism !== undefined) secretKind = mechanismSecretKind(mechanism);
  if (tokenFile !== undefined && secretKind !== 'token')
    throw new UsageError(`--token-file is for OAUTHBEARER and XOAUTH2, not ${mechanism ?? ''}`);
  const user = stringOption(args, 'user') ?? target.user ?? '';
  if (user === '' && secretKind !== 'none') throw new UsageError('login needs --user (or a user in the URL)');
  const connect = planConnect(args, target, user);
  const nick = stringOption(args, 'nick');
  if (nick !== undefined && target.protocol !== 'irc') throw new UsageError('--nick is for irc:// and ircs:// URLs');
  const channelBinding = choiceOption(args, 'channel-binding', ['disable', 'prefer', 'require'] as const, 'prefer');
  const tls = connect.starttls || target.implicitTls;
  if (mechanism?.endsWith('-PLUS') === true && !tls)
    throw new MechanismUnavailableError(`${mechanism} needs TLS: ${tlsFor(target)}`, { party: 'local' });
  if (channelBinding === 'require' && !tls)
    throw new MechanismUnavailableError(`--channel-binding require needs TLS: ${tlsFor(target)}`, { party: 'local' });
  if (mechanism === 'EXTERNAL' && connect.certFile === undefined)
    throw new UsageError('EXTERNAL takes the identity from a client certificate: give --cert and --key');
  if (mechanism === 'EXTERNAL' && !tls)
    throw new MechanismUnavailableError(`EXTERNAL needs TLS with a client certificate: ${tlsFor(target)}`, {
      party: 'local',
    });
  if (target.protocol === 'postgres' && user === '')
    throw new UsageError('PostgreSQL needs a role: --user or postgres://user@host');
  if (channelBinding === 'require' && mechanism !== undefined && !mechanism.endsWith('-PLUS'))
    throw new MechanismUnavailableError(`--channel-binding require needs a -PLUS mechanism, not ${mechanism}`, {
      party: 'local',
    });
  if (channelBinding === 'disable' && mechanism?.endsWith('-PLUS') === true)
    throw new MechanismUnavailableError(
      `${mechanism} binds the channel; it cannot run with --channel-binding disable`,
      { party: 'local' },
    );
  return {
    ...connect,
    mechanism,
    user,
    authzid: stringOption(args, 'authzid') ?? '',
    secretKind,
    channelBinding,
    allowPlaintext: flag(args, 'allow-plaintext'),
    nick: target.protocol === 'irc' ? ircNick(nick, user) : undefined,
  };
}

/**
 * Why the automatic choice found nothing, in the words of the command line: the same rules as
 * {@link MailClient.authenticate} (the registry's), with the options that would change them.
 */
function noMechanism(
  plan: LoginPlan,
  offered: readonly string[],
  tls: TlsState | undefined,
  startTlsOffered: boolean,
): MechanismUnavailableError | undefined {
  const registry = SASLAuth.all();
  const canBind = tls !== undefined && plan.channelBinding !== 'disable' && tls.bindingTypes.length > 0;
  const candidates = plan.channelBinding === 'require' ? offered.filter((name) => name.endsWith('-PLUS')) : offered;
  const choose: ChooseOptions = {
    credentials: plan.secretKind,
    channelBinding: canBind,
    encrypted: tls !== undefined,
    allowPlaintext: plan.allowPlaintext,
  };
  if (registry.chooseClient(candidates, choose) !== undefined) return undefined;
  const inClear =
    tls === undefined && !plan.allowPlaintext
      ? registry.chooseClient(candidates, { ...choose, allowPlaintext: true })
      : undefined;
  if (inClear !== undefined) {
    return new MechanismUnavailableError(
      `without TLS, the server offers only mechanisms that send the ${plan.secretKind} in clear (it offers: ${offered.join(' ')}): ${tlsFor(plan.target)}; or, to send it in clear anyway, pass --allow-plaintext or name the mechanism with --mech ${inClear.name}`,
      { party: 'server' },
    );
  }
  if (offered.length === 0 && tls === undefined && startTlsOffered) {
    return new MechanismUnavailableError('the server offers nothing before TLS: add --starttls', { party: 'server' });
  }
  return new MechanismUnavailableError(
    `the server offers no mechanism saslkit can use with a ${plan.secretKind}${plan.channelBinding === 'require' ? ' and channel binding' : ''} (it offers: ${offered.join(' ') || 'nothing'})`,
    { party: 'server' },
  );
}

/** Runs `saslkit login`. Resolves with the exit code. */
export async function loginCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const secrets: string[] = [];
  const start = startCommand('login', argv, OPTIONS, LOGIN_HELP, io, secrets);
  if (typeof start === 'number') return start;
  const { args, json, fail } = start;
  let client: ProtocolClient | undefined;
  try {
    const plan = planLogin(args);
    const kind = plan.secretKind;
    const secret =
      kind === 'none'
        ? ''
        : await readSecret(io, {
            what: kind,
            file: stringOption(args, `${kind}-file`),
            envName: kind === 'token' ? 'SASLKIT_TOKEN' : 'SASLKIT_PASSWORD',
            fileOption: `--${kind}-file`,
          });
    if (secret !== '') secrets.push(secret);
    const tracer = flag(args, 'trace')
      ? new LineTracer((line) => io.stderr.write(`${line}\n`), {
          side: 'client',
          secrets,
          irc: plan.target.protocol === 'irc',
        })
      : undefined;
    client = await connectClient({ ...(await connectOptions(plan, tracer)), nick: plan.nick });
    if (plan.starttls) {
      if (!client.startTlsOffered)
        throw new UnexpectedMessageError(
          `the server does not offer ${plan.target.protocol === 'pop3' ? 'STLS' : 'STARTTLS'}`,
          { party: 'server' },
        );
      await client.startTls();
    }
    await client.offer?.(plan.user);
    const tls = client.tls;
    if (plan.mechanism !== undefined && client.mechanisms.length > 0 && !client.mechanisms.includes(plan.mechanism)) {
      throw new MechanismUnavailableError(
        `the server does not offer ${plan.mechanism} (it offers: ${client.mechanisms.join(' ') || 'nothing'})`,
        { party: 'server' },
      );
    }
    if (plan.mechanism === undefined && client.noCapa) {
      // Nothing to choose from: only the user knows what the server takes.
      throw new MechanismUnavailableError(
        `the POP3 server does not answer CAPA, so it lists no mechanisms: name one with --mech (e.g. --mech SCRAM-SHA-256, or --mech PLAIN${tls === undefined ? ' with --starttls or a pop3s URL' : ''})`,
        { party: 'server' },
      );
    }
    if (plan.mechanism === undefined) {
      const refusal = noMechanism(plan, client.mechanisms, tls, client.startTlsOffered);
      if (refusal !== undefined) throw refusal;
    }
    // EXTERNAL sends only the authzid; ANONYMOUS sends the user as its trace. The kind keeps a
    // token away from password mechanisms, and a password away from OAuth ones.
    const credentials = new ClientCredentials(plan.user, secret, plan.authzid, { kind: plan.secretKind });
    const started = performance.now();
    const result = await client.authenticate({
      credentials,
      ...(plan.mechanism === undefined ? {} : { mechanism: plan.mechanism }),
      channelBinding: plan.channelBinding,
      allowPlaintext: plan.allowPlaintext,
    });
    const ms = performance.now() - started;
    await client.quit();
    const binding = result.mechanism.endsWith('-PLUS') ? (result.channelBinding ?? tls?.bindingTypes[0] ?? null) : null;
    if (json) {
      writeJson(io.stdout, {
        ok: true,
        url: formatTarget(plan.target),
        protocol: plan.target.protocol,
        tls: tls?.version ?? null,
        certificateVerified: tls?.authorized ?? null,
        mechanism: result.mechanism,
        user: plan.user,
        authzid: plan.authzid === '' ? null : plan.authzid,
        serverVerified: result.serverVerified,
        channelBinding: binding,
        roundTrips: result.roundTrips,
        ms: Math.round(ms * 10) / 10,
      });
    } else {
      const who =
        plan.user === '' ? '' : ` as ${plan.user}${plan.authzid === '' ? '' : ` (acting as ${plan.authzid})`}`;
      const over =
        tls === undefined
          ? 'without TLS'
          : `over ${tls.version}${binding === null ? '' : ` with channel binding ${binding}`}${tls.authorized ? '' : ' (certificate not verified)'}`;
      const proof = result.serverVerified ? '; the server proved it knows the credentials' : '';
      io.stdout.write(
        `authenticated${who} with ${result.mechanism} ${over}${proof}; ${result.roundTrips} round trip${result.roundTrips === 1 ? '' : 's'}, ${ms.toFixed(1)} ms\n`,
      );
    }
    return EXIT.OK;
  } catch (error) {
    client?.close();
    return fail(error);
  }
}
