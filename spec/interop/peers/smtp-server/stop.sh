#!/usr/bin/env bash
# Stops the smtp-server peer started by start.sh (with --sink: the sink), by its pid file only.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
if [ "${1:-}" = "--sink" ]; then name=sink; else name=auth; fi
kill_pidfile "$INTEROP_RUN/smtp-server/$name.pid"
echo "smtp-server ($name) stopped"
