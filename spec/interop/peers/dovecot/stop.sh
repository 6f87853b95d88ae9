#!/usr/bin/env bash
# Stops the Dovecot started by start.sh, with its OAuth stub and SMTP sink, by pid files only.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/env.sh"
D="$INTEROP_RUN/dovecot"
if [ -f "$D/dovecot.conf" ] && [ -f "$D/base/master.pid" ]; then
  doveadm -c "$D/dovecot.conf" stop 2>/dev/null || true   # signals only this instance's master
  for ((i = 0; i < 50; i++)); do
    [ -f "$D/base/master.pid" ] && kill -0 "$(cat "$D/base/master.pid")" 2>/dev/null || break
    sleep 0.1
  done
  kill_pidfile "$D/base/master.pid"
fi
kill_pidfile "$D/oauth-stub.pid"
"$INTEROP_DIR/peers/smtp-server/stop.sh" --sink >/dev/null
echo "dovecot stopped"
