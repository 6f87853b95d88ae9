#!/usr/bin/env bash
# Stops the cluster started by start.sh (pg_ctl reads its own postmaster.pid).
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/postgres"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
if [ -f "$D/data/postmaster.pid" ]; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -m fast -w -t 20 stop </dev/null >/dev/null 2>&1 || true
fi
echo "postgres stopped"
