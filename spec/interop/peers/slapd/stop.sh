#!/usr/bin/env bash
# Stops the slapd started by start.sh, by its pid file only.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/slapd"
kill_pidfile "$D/slapd.run.pid"
rm -f "$D/slapd.pid"
echo "slapd stopped"
