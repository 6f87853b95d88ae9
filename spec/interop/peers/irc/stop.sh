#!/usr/bin/env bash
# Stops the InspIRCd and Atheme started by start.sh, by their pid files only.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/irc"
kill_pidfile "$D/atheme.run.pid"
kill_pidfile "$D/inspircd.run.pid"
rm -f "$D/atheme.pid"
echo "irc stopped"
