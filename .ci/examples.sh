#!/usr/bin/env bash
# Runs every example in examples/ as a user would, against the BUILT package: the examples
# import 'saslkit', which Node resolves through package.json "exports" to dist/.
#   1. type-checks them against dist/index.d.cts (tsconfig.examples.json);
#   2. runs the standalone ones: examples/xmpp-sasl.ts, examples/for-await-socket.ts and
#      examples/smtp-demo.ts (server and client in one process, with its own checks);
#   3. starts examples/smtp-server.ts on a free 127.0.0.1 port and logs in to it with
#      examples/smtp-client.ts (STARTTLS and SCRAM-SHA-256-PLUS, PLAIN, in the clear, a wrong
#      password, an unverified certificate), then stops it with SIGTERM;
#   4. runs the clients against the interop peers: examples/smtp-client.ts against smtp-server,
#      examples/imap-client.ts against Dovecot (IMAP and IMAPS), examples/postgres-client.ts
#      against PostgreSQL (plain and TLS). A peer that is not up fails with CI=true, else is
#      skipped with a note (start them with spec/interop/up.sh).
# Each run is bounded by `timeout`, and its exit code and output are checked. Every process
# started here is stopped on exit. Prints one line per check and a summary; exits 1 if one failed.
# Usage: bash .ci/examples.sh   (after npm ci; builds if dist/ is missing)
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=../spec/interop/lib/env.sh
. spec/interop/lib/env.sh
export FORCE_COLOR=0
# Step 1 type-checks them; running them needs only the transpiler.
export TS_NODE_TRANSPILE_ONLY=1
TS_NODE="$REPO/node_modules/.bin/ts-node"
TSC="$REPO/node_modules/.bin/tsc"
[ -x "$TS_NODE" ] || { echo "examples: $TS_NODE missing; run npm ci first" >&2; exit 1; }
if [ ! -f dist/index.cjs ] || [ ! -f dist/index.d.cts ]; then npm run build </dev/null || exit 1; fi

WORK="$(mktemp -d /tmp/saslkit-examples.XXXXXX)"
server_pid=
passed=0 failed=0 skipped=0 began=$(date +%s%N)
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ "$failed" = 0 ]; then rm -rf "$WORK"; else echo "examples: logs kept in $WORK"; fi
}
trap cleanup EXIT

seconds() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# check NAME WANT_RC PATTERN COMMAND...: runs COMMAND (60 s at most), then passes when it exited
# with WANT_RC and its output matches the extended regex PATTERN (`-`: no output check).
check() {
  local name="$1" want="$2" pattern="$3" log start rc
  shift 3
  log="$WORK/$(echo "$name" | tr -c 'A-Za-z0-9.-' '_').log"
  start=$(date +%s%N)
  timeout -k 5 60 "$@" </dev/null >"$log" 2>&1
  rc=$?
  if [ "$rc" = "$want" ] && { [ "$pattern" = - ] || grep -qE -- "$pattern" "$log"; }; then
    passed=$((passed + 1))
    printf 'ok    %-58s %7s  %s\n' "$name" "$(seconds "$start")" "$(grep -E -- "${pattern/#-/.}" "$log" | tail -n 1 | cut -c1-110)"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-58s %7s  exit %s (wanted %s), output matching /%s/ wanted:\n' "$name" "$(seconds "$start")" "$rc" "$want" "$pattern"
    sed 's/^/      /' "$log" | tail -n 40
  fi
}

# peer NAME PORT: true when the peer listens; else a failure under CI=true, a skip otherwise.
peer() {
  port_open "$INTEROP_HOST" "$2" && return 0
  if [ "${CI:-}" = true ]; then
    failed=$((failed + 1)); echo "FAIL  $1 is not listening on $INTEROP_HOST:$2 (spec/interop/up.sh)"
  else
    skipped=$((skipped + 1)); echo "skip  $1 is not listening on $INTEROP_HOST:$2 (start it with spec/interop/up.sh)"
  fi
  return 1
}

echo "examples: node $(node --version), against $(node -p "require.resolve('saslkit')")"

# --- 1. as a user compiles them ----------------------------------------------------------------
check 'type-check against dist/index.d.cts' 0 - "$TSC" -p tsconfig.examples.json

# --- 2. standalone -------------------------------------------------------------------------------
check 'examples/xmpp-sasl.ts' 0 'client: logged in with SCRAM-SHA-256; server proved itself: true' "$TS_NODE" examples/xmpp-sasl.ts
check 'examples/for-await-socket.ts' 0 '^ok: logged in once, second AUTH refused$' "$TS_NODE" examples/for-await-socket.ts
check 'examples/smtp-demo.ts' 0 '^every check passed$' "$TS_NODE" examples/smtp-demo.ts
# The browser page is bundled from the build (the package's "browser" export); the login itself runs
# in Chromium against Prosody in spec/interop/browser-xmpp.spec.ts.
check 'examples/browser-xmpp/build.ts (bundle for the browser)' 0 '^built .*index.html and main.js$' \
  "$TS_NODE" examples/browser-xmpp/build.ts "$WORK/browser-xmpp"

# --- 3. examples/smtp-server.ts and examples/smtp-client.ts --------------------------------------
server_log="$WORK/smtp-server.log"
timeout -k 5 300 "$TS_NODE" examples/smtp-server.ts --port 0 </dev/null >"$server_log" 2>&1 &
server_pid=$!
port=
for ((i = 0; i < 300; i++)); do
  port="$(sed -nE 's/^SMTP server on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$server_log")"
  [ -n "$port" ] || ! kill -0 "$server_pid" 2>/dev/null && break
  sleep 0.1
done
if [ -z "$port" ]; then
  failed=$((failed + 1)); echo "FAIL  examples/smtp-server.ts did not start:"; sed 's/^/      /' "$server_log"
else
  echo "      examples/smtp-server.ts listens on 127.0.0.1:$port"
  check 'examples/smtp-client.ts: STARTTLS, strongest' 0 'logged in as alice with SCRAM-SHA-256-PLUS .*server verified' \
    env SASLKIT_TLS_INSECURE=1 "$TS_NODE" examples/smtp-client.ts 127.0.0.1 "$port"
  check 'examples/smtp-client.ts: STARTTLS, PLAIN as bob' 0 'logged in as bob with PLAIN' \
    env SASLKIT_TLS_INSECURE=1 SASLKIT_PASSWORD=bob-pass "$TS_NODE" examples/smtp-client.ts 127.0.0.1 "$port" PLAIN bob
  check 'examples/smtp-client.ts: --no-starttls' 0 'logged in as alice with SCRAM-SHA-256 in' \
    "$TS_NODE" examples/smtp-client.ts 127.0.0.1 "$port" '' alice --no-starttls
  check 'examples/smtp-client.ts: wrong password' 1 'login failed: AUTHENTICATION_FAILED: .*535 5\.7\.8' \
    env SASLKIT_TLS_INSECURE=1 SASLKIT_PASSWORD=wrong-pass "$TS_NODE" examples/smtp-client.ts 127.0.0.1 "$port"
  check 'examples/smtp-client.ts: certificate not verified' 1 'login failed: .*self-signed certificate' \
    "$TS_NODE" examples/smtp-client.ts 127.0.0.1 "$port"
  kill -TERM "$server_pid"
  wait "$server_pid"
  rc=$?
  server_pid=
  if [ "$rc" = 0 ] && grep -q '^stopped$' "$server_log" && grep -q 'AUTH SCRAM-SHA-256-PLUS: authenticated alice inside TLS' "$server_log" \
    && grep -q 'AUTH SCRAM-SHA-256-PLUS refused: AUTHENTICATION_FAILED' "$server_log"; then
    passed=$((passed + 1)); echo "ok    examples/smtp-server.ts logged each login and stopped on SIGTERM"
  else
    failed=$((failed + 1)); echo "FAIL  examples/smtp-server.ts (exit $rc):"; sed 's/^/      /' "$server_log" | tail -n 40
  fi
fi

# --- 4. against the interop peers ------------------------------------------------------------------
if peer smtp-server "$SMTP_SERVER_PORT"; then
  # No TLS there: the client picks CRAM-MD5 over PLAIN and LOGIN by itself.
  check 'examples/smtp-client.ts -> smtp-server (no TLS)' 0 'logged in as alice with CRAM-MD5' \
    "$TS_NODE" examples/smtp-client.ts "$INTEROP_HOST" "$SMTP_SERVER_PORT"
fi
if peer Dovecot "$DOVECOT_IMAP_PORT"; then
  check 'examples/imap-client.ts -> Dovecot IMAP' 0 'logged in as alice with SCRAM-SHA-256 ' \
    env SASLKIT_PASSWORD="$ALICE_PASS" "$TS_NODE" examples/imap-client.ts "$INTEROP_HOST" "$DOVECOT_IMAP_PORT" alice
  check 'examples/imap-client.ts -> Dovecot IMAPS (--tls)' 0 'logged in as alice with SCRAM-SHA-256 ' \
    env SASLKIT_PASSWORD="$ALICE_PASS" SASLKIT_TLS_INSECURE=1 "$TS_NODE" examples/imap-client.ts "$INTEROP_HOST" "$DOVECOT_IMAPS_PORT" alice --tls
fi
if peer PostgreSQL "$PG_PORT"; then
  check 'examples/postgres-client.ts -> PostgreSQL' 0 'authenticated as alice with SCRAM-SHA-256; server verified: true' \
    env SASLKIT_PASSWORD="$ALICE_PASS" "$TS_NODE" examples/postgres-client.ts "$INTEROP_HOST" "$PG_PORT" alice --database postgres
  check 'examples/postgres-client.ts -> PostgreSQL (--tls)' 0 'authenticated as alice with SCRAM-SHA-256-PLUS; server verified: true' \
    env SASLKIT_PASSWORD="$ALICE_PASS" "$TS_NODE" examples/postgres-client.ts "$INTEROP_HOST" "$PG_PORT" alice --tls --database postgres
  check 'examples/stores.ts -> PostgreSQL store (pg_authid)' 0 'logged in as alice with SCRAM-SHA-256; store queries: 1' \
    env SASLKIT_PASSWORD="$ALICE_PASS" SASLKIT_PG_PASSWORD="$PG_SUPERUSER_PASS" "$TS_NODE" examples/stores.ts "$INTEROP_HOST" "$PG_PORT" postgres alice
  check 'examples/stores.ts -> PostgreSQL store, wrong password' 1 'refused: AUTHENTICATION_FAILED' \
    env SASLKIT_PASSWORD=wrong-password SASLKIT_PG_PASSWORD="$PG_SUPERUSER_PASS" "$TS_NODE" examples/stores.ts "$INTEROP_HOST" "$PG_PORT" postgres alice
fi

if peer InspIRCd "$IRC_PORT"; then
  check 'examples/irc-client.ts -> InspIRCd+Atheme (--tls)' 0 'logged in as alice with PLAIN over TLS' \
    env SASLKIT_PASSWORD="$ALICE_PASS" SASLKIT_TLS_CA="$INTEROP_RUN/irc/server.pem" "$TS_NODE" examples/irc-client.ts "$INTEROP_HOST" "$IRC_TLS_PORT" alice --tls
  check 'examples/irc-client.ts -> EXTERNAL' 0 'logged in as alice with EXTERNAL' \
    env SASLKIT_TLS_CA="$INTEROP_RUN/irc/server.pem" "$TS_NODE" examples/irc-client.ts "$INTEROP_HOST" "$IRC_TLS_PORT" alice EXTERNAL --tls --cert "$INTEROP_RUN/irc/alice.pem" --key "$INTEROP_RUN/irc/alice.key"
fi

if peer slapd "$LDAP_PORT"; then
  check 'examples/ldap-client.ts -> slapd (mechanism from the rootDSE)' 0 'bound with SCRAM-SHA-512 in 2 round trip\(s\), server verified' \
    env SASLKIT_PASSWORD="$ALICE_PASS" "$TS_NODE" examples/ldap-client.ts "ldap://$INTEROP_HOST:$LDAP_PORT" alice
  check 'examples/ldap-client.ts -> slapd (--starttls, -PLUS)' 0 'bound with SCRAM-SHA-512-PLUS .*over TLS' \
    env SASLKIT_PASSWORD="$ALICE_PASS" "$TS_NODE" examples/ldap-client.ts "ldap://$INTEROP_HOST:$LDAP_PORT" alice --starttls --ca "$INTEROP_RUN/slapd/tls/ca.pem" --servername localhost
  check 'examples/ldap-client.ts -> slapd EXTERNAL (ldaps)' 0 'bound with EXTERNAL' \
    "$TS_NODE" examples/ldap-client.ts "ldaps://$INTEROP_HOST:$LDAPS_PORT" '' --mechanism EXTERNAL --ca "$INTEROP_RUN/slapd/tls/ca.pem" --servername localhost --cert "$INTEROP_RUN/slapd/tls/alice.pem" --key "$INTEROP_RUN/slapd/tls/alice.key"
  check 'examples/ldap-client.ts -> slapd: wrong password' 1 'bind refused: AUTHENTICATION_FAILED' \
    env SASLKIT_PASSWORD=wrong-pass "$TS_NODE" examples/ldap-client.ts "ldap://$INTEROP_HOST:$LDAP_PORT" alice
fi
echo "examples: $passed passed, $failed failed, $skipped skipped in $(seconds "$began")"
[ "$failed" = 0 ]
