#!/usr/bin/env bash
# Smoke test of the built package as a user gets it: `npm pack`, install the tarball into a
# temporary folder outside the repo, then check that
#   - `import` (ESM) and `require` (CJS) both load it and complete a PLAIN exchange, and
#   - strict TypeScript consumers (module nodenext, an ESM and a CJS package) type-check
#     against the shipped .d.mts/.d.cts, with a @ts-expect-error proving the types are not any,
#     and their compiled output runs, and
#   - the installed command line works: `saslkit --help` lists the commands, and `saslkit demo`
#     exits 0 with an `ok` row on SMTP and IMAP for every mechanism the package registers.
# Usage: bash .ci/smoke.sh   (after `npm ci` and `npm run build`; builds if dist/ is missing)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TSC="$REPO/node_modules/.bin/tsc"
[ -x "$TSC" ] || { echo "smoke: $TSC missing; run npm ci first" >&2; exit 1; }
[ -f dist/index.mjs ] && [ -f dist/index.cjs ] && [ -f dist/index.d.mts ] && [ -f dist/index.d.cts ] || npm run build

WORK="$(mktemp -d /tmp/saslkit-smoke.XXXXXX)"
# Kept on failure, for a look at what went wrong.
trap 'rc=$?; if [ "$rc" = 0 ]; then rm -rf "$WORK"; else echo "smoke: FAILED (rc=$rc); files kept in $WORK" >&2; fi' EXIT

# prepack would rebuild; dist/ is already fresh.
TGZ="$(npm pack --ignore-scripts --silent --pack-destination "$WORK" | tail -n 1)"
echo "smoke: packed $TGZ"
tar -tzf "$WORK/$TGZ" | sort > "$WORK/contents.txt"
for f in package/package.json package/dist/index.mjs package/dist/index.cjs package/dist/index.d.mts package/dist/index.d.cts \
  package/dist/nodemailer.mjs package/dist/nodemailer.cjs package/dist/nodemailer.d.mts package/dist/nodemailer.d.cts \
  package/dist/smtp-server.mjs package/dist/smtp-server.cjs package/dist/smtp-server.d.mts package/dist/smtp-server.d.cts \
  package/dist/xmppjs.mjs package/dist/xmppjs.cjs package/dist/xmppjs.d.mts package/dist/xmppjs.d.cts; do
  grep -qx "$f" "$WORK/contents.txt" || { echo "smoke: $f missing from the tarball" >&2; exit 1; }
done

cd "$WORK"
cat > package.json <<'EOF'
{ "name": "saslkit-smoke", "version": "0.0.0", "private": true }
EOF
npm install --no-audit --no-fund --loglevel=error "./$TGZ" </dev/null
mkdir esm cjs
echo '{ "type": "module" }' > esm/package.json
echo '{ "type": "commonjs" }' > cjs/package.json

# --- plain JavaScript consumers ------------------------------------------------------------
cat > esm/use.mjs <<'EOF'
import assert from 'node:assert/strict';
import { ClearIdentity, ClientCredentials, PLAIN, SyncClientSession, SyncServerSession, isSaslError } from 'saslkit';

const store = (authcid) => (authcid === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined);
const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
const step = new SyncServerSession(PLAIN.server({ lookup: store }, client.start())).start();
assert.equal(step.done, true);
assert.equal(step.outcome.authcid, 'alice');
client.success();
assert.throws(
  () => new SyncServerSession(PLAIN.server({ lookup: store }, new TextEncoder().encode('\0alice\0wrong'))).start(),
  (error) => isSaslError(error) && error.code === 'AUTHENTICATION_FAILED',
);
// One session per exchange, in the shipped bundle too (rollup once tree-shook the mark).
const exchange = PLAIN.server({ lookup: store }, new TextEncoder().encode('\0alice\0alice-pass'));
new SyncServerSession(exchange);
assert.throws(() => new SyncServerSession(exchange), (error) => isSaslError(error) && error.code === 'USAGE');
console.log('smoke: ESM import OK');
EOF
cat > cjs/use.cjs <<'EOF'
'use strict';
const assert = require('node:assert/strict');
const { ClearIdentity, ClientCredentials, PLAIN, SyncClientSession, SyncServerSession } = require('saslkit');

const store = (authcid) => (authcid === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined);
const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
const step = new SyncServerSession(PLAIN.server({ lookup: store }, client.start())).start();
assert.equal(step.done, true);
assert.equal(step.outcome.authcid, 'alice');
client.success();
assert.equal(require.resolve('saslkit').endsWith('index.cjs'), true);
// One session per exchange, in the shipped bundle too (rollup once tree-shook the mark).
const exchange = PLAIN.server({ lookup: store }, new TextEncoder().encode('\0alice\0alice-pass'));
new SyncServerSession(exchange);
assert.throws(() => new SyncServerSession(exchange), (error) => error.code === 'USAGE');
console.log('smoke: CJS require OK');
EOF
node esm/use.mjs
node cjs/use.cjs

# --- the integration entry points (saslkit/nodemailer, saslkit/smtp-server) ----------------------
# Their peers are optional peer dependencies: npm did not install them, and the entry points load
# without them, through the one copy of the library (./index.mjs or ./index.cjs).
for peer in nodemailer smtp-server @xmpp/client; do
  [ ! -e "node_modules/$peer" ] || { echo "smoke: npm installed the optional peer $peer" >&2; exit 1; }
done
cat > esm/integrations.mjs <<'EOF'
import assert from 'node:assert/strict';
import { ClearIdentity } from 'saslkit';
import { createCustomAuth, createTlsGetSocket } from 'saslkit/nodemailer';
import { createOnAuth } from 'saslkit/smtp-server';
import { saslkitCredentials, useSaslkitMechanisms } from 'saslkit/xmpp.js';

const saslFactory = { _mechs: [{ name: 'SCRAM-SHA-1', mech: function XmppJsOwn() {} }], use() {} };
useSaslkitMechanisms({ saslFactory });
assert.deepEqual(saslFactory._mechs.map((entry) => entry.name), ['SCRAM-SHA-512-PLUS', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'OAUTHBEARER', 'PLAIN']);
assert.equal(typeof saslkitCredentials({ username: 'alice', password: 'alice-pass' }), 'function');
assert.deepEqual(Object.keys(createCustomAuth()).sort(), ['OAUTHBEARER', 'SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-512', 'SCRAM-SHA-512-PLUS']);
assert.equal(typeof createTlsGetSocket(), 'function');
const onAuth = createOnAuth({ lookup: (name) => (name === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined) });
const call = (auth) => new Promise((resolve) => onAuth(auth, {}, (error, response) => resolve({ error, response })));
assert.deepEqual(await call({ method: 'PLAIN', username: 'alice', authcid: 'alice', authzid: '', password: 'alice-pass' }), { error: null, response: { user: 'alice' } });
assert.deepEqual((await call({ method: 'LOGIN', username: 'alice', password: 'wrong' })).response, { message: '5.7.8 Authentication credentials invalid', responseCode: 535 });
console.log('smoke: ESM import of saslkit/nodemailer, saslkit/smtp-server and saslkit/xmpp.js OK');
EOF
cat > cjs/integrations.cjs <<'EOF'
'use strict';
const assert = require('node:assert/strict');
const { createCustomAuth } = require('saslkit/nodemailer');
const { createOnAuth } = require('saslkit/smtp-server');
const { saslkitCredentials } = require('saslkit/xmpp.js');

assert.equal(typeof createCustomAuth()['SCRAM-SHA-256'], 'function');
assert.equal(typeof saslkitCredentials({ username: 'alice', token: 'alice-token' }), 'function');
assert.equal(require.resolve('saslkit/xmpp.js').endsWith('xmppjs.cjs'), true);
assert.equal(typeof createOnAuth({ verifyPassword: () => false }), 'function');
assert.equal(require.resolve('saslkit/nodemailer').endsWith('nodemailer.cjs'), true);
// One copy of the library: every entry point requires the main one.
const copies = Object.keys(require.cache).filter((file) => /saslkit[\\/]dist[\\/]index\.c?js$/.test(file));
assert.equal(copies.length, 1, `copies of the library loaded: ${copies.join(', ')}`);
console.log('smoke: CJS require of saslkit/nodemailer, saslkit/smtp-server and saslkit/xmpp.js OK');
EOF
node esm/integrations.mjs
node cjs/integrations.cjs

# --- the credential stores (saslkit/stores/postgres, saslkit/stores/ldap) ---------------------------
# pg is an optional peer: the stores use the pool the application passes and never load pg.
[ ! -e node_modules/pg ] || { echo "smoke: npm installed the optional peer pg" >&2; exit 1; }
cat > esm/stores.mjs <<'EOF'
import assert from 'node:assert/strict';
import { postgresStore } from 'saslkit/stores/postgres';
import { ldapStore } from 'saslkit/stores/ldap';

const pool = { query: async () => ({ rows: [] }) };
const store = postgresStore({ pool, table: 'accounts', userColumn: 'name', secretColumns: ['secret'] });
assert.match(store.query, /FROM "accounts" WHERE "name" = \$1/);
assert.equal(await store.lookup('nobody', { mechanism: 'PLAIN' }), undefined);
assert.equal(store.queries, 1);
assert.equal(typeof ldapStore, 'function');
console.log('smoke: ESM import of saslkit/stores/postgres and saslkit/stores/ldap OK (no pg installed)');
EOF
cat > cjs/stores.cjs <<'EOF'
'use strict';
const assert = require('node:assert/strict');
const { postgresStore } = require('saslkit/stores/postgres');
const { ldapStore } = require('saslkit/stores/ldap');

assert.equal(typeof postgresStore, 'function');
assert.equal(typeof ldapStore, 'function');
assert.equal(require.resolve('saslkit/stores/postgres').endsWith('stores-postgres.cjs'), true);
assert.equal(require.resolve('saslkit/stores/ldap').endsWith('stores-ldap.cjs'), true);
console.log('smoke: CJS require of saslkit/stores/postgres and saslkit/stores/ldap OK');
EOF
node esm/stores.mjs
node cjs/stores.cjs

# --- strict TypeScript consumers -------------------------------------------------------------
for kind in esm cjs; do
  cat > "$kind/consumer.ts" <<'EOF'
import { ClearIdentity, ClientCredentials, type Identity, PLAIN, SyncClientSession, SyncServerSession } from 'saslkit';
import { type NodemailerAuthHandler, createCustomAuth } from 'saslkit/nodemailer';
import { type SmtpServerOnAuth, createOnAuth } from 'saslkit/smtp-server';
import { type XmppJsCredentialsFunction, saslkitCredentials } from 'saslkit/xmpp.js';

const store = (authcid: string): Identity | undefined => (authcid === 'alice' ? new ClearIdentity('alice', 'alice-pass') : undefined);
const handlers: Record<string, NodemailerAuthHandler> = createCustomAuth({ mechanisms: ['SCRAM-SHA-256'] });
const onAuth: SmtpServerOnAuth = createOnAuth({ lookup: store });
const xmppCredentials: XmppJsCredentialsFunction = saslkitCredentials({ username: 'alice', password: 'alice-pass' }, { client: { channelBinding: 'require' } });
if (typeof handlers['SCRAM-SHA-256'] !== 'function' || typeof onAuth !== 'function' || typeof xmppCredentials !== 'function') throw new Error('integration entry points');
const client = new SyncClientSession(PLAIN.client(new ClientCredentials('alice', 'alice-pass')));
const step = new SyncServerSession(PLAIN.server({ lookup: store }, client.start())).start();
if (!step.done) throw new Error('PLAIN should finish on its initial response');
const authcid: string = step.outcome.authcid;
if (authcid !== 'alice') throw new Error(`unexpected authcid ${authcid}`);
// Never called: it only has to fail to compile, which it does only if the types are real, not any.
export const wrongArgument = (): unknown =>
  // @ts-expect-error the authcid is a string
  new ClientCredentials(42, 'alice-pass');
console.log(`smoke: TypeScript consumer OK (${authcid})`);
EOF
  cat > "$kind/tsconfig.json" <<EOF
{
  "compilerOptions": {
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2022",
    "lib": ["es2022"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "skipLibCheck": false,
    "types": ["node"],
    "typeRoots": ["$REPO/node_modules/@types"],
    "rootDir": ".",
    "outDir": "out"
  },
  "files": ["consumer.ts"]
}
EOF
  "$TSC" -p "$kind/tsconfig.json" --traceResolution > "$kind/resolution.log" || {
    "$TSC" -p "$kind/tsconfig.json" || true
    echo "smoke: TypeScript consumer ($kind) does not type-check" >&2; exit 1; }
  want=$([ "$kind" = esm ] && echo index.d.mts || echo index.d.cts)
  for sub in nodemailer smtp-server; do
    grep -q "Module name 'saslkit/$sub' was successfully resolved to '.*/node_modules/saslkit/dist/${want/index/$sub}'" "$kind/resolution.log" || {
      echo "smoke: the $kind consumer did not resolve saslkit/$sub to dist/${want/index/$sub}" >&2; exit 1; }
  done
  grep -q "Module name 'saslkit/xmpp.js' was successfully resolved to '.*/node_modules/saslkit/dist/${want/index/xmppjs}'" "$kind/resolution.log" || {
    echo "smoke: the $kind consumer did not resolve saslkit/xmpp.js to dist/${want/index/xmppjs}" >&2; exit 1; }
  grep -q "Module name 'saslkit' was successfully resolved to '.*/node_modules/saslkit/dist/$want'" "$kind/resolution.log" || {
    echo "smoke: the $kind consumer did not resolve saslkit to dist/$want" >&2
    grep "Module name 'saslkit'" "$kind/resolution.log" >&2 || true
    exit 1; }
  node "$kind/out/consumer.js"
  echo "smoke: the $kind TypeScript consumer type-checked against dist/$want and ran"
done
# --- the installed command line ----------------------------------------------------------------
BIN="$WORK/node_modules/.bin/saslkit"
[ -x "$BIN" ] || { echo "smoke: npm did not install the saslkit command in node_modules/.bin" >&2; exit 1; }
"$BIN" --help > cli-help.txt 2>&1 || { cat cli-help.txt >&2; echo "smoke: saslkit --help failed" >&2; exit 1; }
grep -q '^Usage: saslkit <command>' cli-help.txt || { cat cli-help.txt >&2; echo "smoke: saslkit --help printed no usage" >&2; exit 1; }
for command in demo mechs login serve secret; do
  grep -qE "^  $command " cli-help.txt || { echo "smoke: saslkit --help does not list $command" >&2; exit 1; }
done
echo "smoke: saslkit --help OK"
rc=0; timeout 120 "$BIN" demo > cli-demo.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat cli-demo.txt >&2; echo "smoke: saslkit demo exited $rc" >&2; exit 1; }
# Every mechanism the installed package registers, by name, one a line.
node -e "const { SASLAuth } = require('saslkit'); console.log(SASLAuth.all().clientMechanisms.map((m) => m.name).join('\\n'))" > mechanisms.txt
[ -s mechanisms.txt ] || { echo "smoke: the installed package lists no mechanism" >&2; exit 1; }
missing=()
while read -r mechanism; do
  for protocol in smtp imap; do
    grep -qE "^$protocol +$mechanism +ok" cli-demo.txt || missing+=("$protocol $mechanism")
  done
done < mechanisms.txt
if [ "${#missing[@]}" -gt 0 ]; then
  cat cli-demo.txt >&2
  echo "smoke: saslkit demo has no ok row for: ${missing[*]}" >&2; exit 1
fi
echo "smoke: saslkit demo OK ($(wc -l < mechanisms.txt) mechanisms on smtp and imap)"
echo "smoke: all checks passed"
