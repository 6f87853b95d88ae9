# Settings shared by saslkit's interop peer scripts. Source this file; do not run it.
# Every peer binds to 127.0.0.1 only. Any value can be overridden from the environment;
# spec/interop/peers.ts reads the same variables with the same defaults.
INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export INTEROP_DIR
# Runtime state (configs, pid files, logs, data): outside the repo so a clone stays clean.
export INTEROP_RUN="${INTEROP_RUN:-/tmp/saslkit-interop}"
export INTEROP_HOST=127.0.0.1

export DOVECOT_IMAP_PORT="${DOVECOT_IMAP_PORT:-14143}"
export DOVECOT_IMAPS_PORT="${DOVECOT_IMAPS_PORT:-14993}"
export DOVECOT_POP3_PORT="${DOVECOT_POP3_PORT:-14110}"
export DOVECOT_SUBMISSION_PORT="${DOVECOT_SUBMISSION_PORT:-14587}"
export OAUTH_STUB_PORT="${OAUTH_STUB_PORT:-14080}"
export SMTP_SERVER_PORT="${SMTP_SERVER_PORT:-14025}"
export SMTP_SINK_PORT="${SMTP_SINK_PORT:-14026}"   # relay target behind Dovecot submission
export PG_PORT="${PG_PORT:-15432}"
export DOVECOT_SIEVE_PORT="${DOVECOT_SIEVE_PORT:-14190}"   # ManageSieve, in the Dovecot peer
export PROSODY_C2S_PORT="${PROSODY_C2S_PORT:-15222}"       # XMPP c2s, STARTTLS
export PROSODY_HTTP_PORT="${PROSODY_HTTP_PORT:-15280}"     # XMPP over WebSocket (RFC 7395), plain HTTP
export XMPP_DOMAIN="${XMPP_DOMAIN:-localhost}"
export LDAP_PORT="${LDAP_PORT:-15389}"                     # slapd ldap:// (StartTLS offered)
export LDAPS_PORT="${LDAPS_PORT:-15636}"                   # slapd ldaps://
export LDAP_BASE="${LDAP_BASE:-dc=example,dc=test}"
export IRC_PORT="${IRC_PORT:-16667}"                       # InspIRCd, plaintext
export IRC_TLS_PORT="${IRC_TLS_PORT:-16697}"               # InspIRCd over TLS
export IRC_LINK_PORT="${IRC_LINK_PORT:-16900}"             # InspIRCd <-> Atheme services link

# Test accounts, identical on every peer that can hold them (see spec/interop/README.md).
export ALICE_USER=alice ALICE_PASS='alice-pass'   # Dovecot {PLAIN}: every mechanism works
export BOB_USER=bob     BOB_PASS='bob-pass'       # Dovecot {SCRAM-SHA-256} only
export CAROL_USER=carol CAROL_PASS='carol-pass'   # Dovecot {CRAM-MD5} only
export DAVE_USER=dave   DAVE_PASS='dave-pass'     # Dovecot {SCRAM-SHA-1} only
export ADMIN_USER=admin ADMIN_PASS='admin-pass'   # Dovecot master user
export ALICE_TOKEN='alice-oauth-token'            # OAUTHBEARER / XOAUTH2 bearer token for alice
export PG_SUPERUSER_PASS='postgres-superuser-pass' # lets specs read pg_authid over TCP

# True when something accepts connections on HOST:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Refuses to start a peer on a port that something else already holds: the specs would
# silently talk to the wrong server.
require_free_port() {
  if port_open "$INTEROP_HOST" "$1"; then
    echo "port $INTEROP_HOST:$1 is already in use (another interop peer?); stop it or set the port variables" >&2
    return 1
  fi
}

# Bounded wait for a TCP port: wait_port HOST PORT [TENTHS_OF_SECONDS]
wait_port() {
  local host="$1" port="$2" n="${3:-100}" i
  for ((i = 0; i < n; i++)); do
    if port_open "$host" "$port"; then return 0; fi
    sleep 0.1
  done
  echo "timeout waiting for $host:$port" >&2
  return 1
}

# Ends a process we started, by its pid file: TERM, then KILL after ~3 s.
kill_pidfile() {
  local f="$1" pid i
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}
