#!/usr/bin/env bash
# Stops the interop peers started by up.sh (all, or those named), each by its own pid file.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers=("$@")
[ "${#peers[@]}" -gt 0 ] || peers=(irc slapd prosody dovecot postgres smtp-server)
for peer in "${peers[@]}"; do "$HERE/peers/$peer/stop.sh" </dev/null; done
