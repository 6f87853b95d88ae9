#!/usr/bin/env bash
# Starts the npm smtp-server peer on $SMTP_SERVER_PORT (AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2).
# Usage: start.sh [--sink]   (--sink: no AUTH, on $SMTP_SINK_PORT, for Dovecot submission)
# smtp-server resolves from the repo's node_modules (a devDependency): run `npm ci` first.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/smtp-server"; mkdir -p "$D"
if [ "${1:-}" = "--sink" ]; then name=sink; port=$SMTP_SINK_PORT; extra=(--sink); else name=auth; port=$SMTP_SERVER_PORT; extra=(); fi
kill_pidfile "$D/$name.pid"
require_free_port "$port"
nohup node "$INTEROP_DIR/peers/smtp-server/server.cjs" --port "$port" "${extra[@]}" </dev/null >"$D/$name.log" 2>&1 &
echo $! > "$D/$name.pid"
if ! wait_port "$INTEROP_HOST" "$port" 100; then cat "$D/$name.log" >&2; exit 1; fi
echo "smtp-server ($name) up on $INTEROP_HOST:$port (log $D/$name.log)"
