#!/usr/bin/env bash
# Stops the Prosody started by start.sh, by its pid file only.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/prosody"
kill_pidfile "$D/prosody.run.pid"
rm -f "$D/prosody.pid"
echo "prosody stopped"
