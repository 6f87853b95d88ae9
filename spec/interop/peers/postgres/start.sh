#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on 127.0.0.1:$PG_PORT that accepts only SCRAM-SHA-256
# (and SCRAM-SHA-256-PLUS over TLS, tls-server-end-point), with ssl=on and a self-signed
# certificate. Runs as the 'postgres' OS user. Roles: alice, bob (LOGIN), and the superuser
# postgres with $PG_SUPERUSER_PASS. Stop with stop.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/postgres"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
"$INTEROP_DIR/peers/postgres/stop.sh" >/dev/null 2>&1 || true
require_free_port "$PG_PORT"
rm -rf "$D"; mkdir -p "$D/sock"; chmod 0755 "$INTEROP_RUN"
echo "$PG_SUPERUSER_PASS" > "$D/pwfile"
chown -R postgres: "$D"
aspg() { runuser -u postgres -- "$@"; }
aspg "$PGBIN/initdb" -D "$D/data" -U postgres --pwfile="$D/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$D/initdb.log" 2>&1
aspg openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
  -keyout "$D/data/server.key" -out "$D/data/server.crt" >/dev/null 2>&1
chmod 0600 "$D/data/server.key"
cat >> "$D/data/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$D/sock'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
log_connections = on
fsync = off
shared_buffers = 16MB
EOC
cat > "$D/data/pg_hba.conf" <<EOC
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
EOC
aspg "$PGBIN/pg_ctl" -D "$D/data" -l "$D/postgres.log" -w -t 30 start </dev/null >/dev/null
asp() { aspg "$PGBIN/psql" -h "$D/sock" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
asp -c "CREATE ROLE $ALICE_USER LOGIN PASSWORD '$ALICE_PASS'" \
    -c "CREATE ROLE $BOB_USER LOGIN PASSWORD '$BOB_PASS'"
wait_port "$INTEROP_HOST" "$PG_PORT" 100
echo "postgres up on $INTEROP_HOST:$PG_PORT (data $D/data, log $D/postgres.log)"
