#!/usr/bin/env bash
# Starts the interop peers (all, or those named: dovecot postgres smtp-server prosody slapd irc)
# on 127.0.0.1.
# Run spec/interop/setup.sh once before, and `npm ci` (smtp-server comes from node_modules).
# Exits non-zero if any peer failed to start; the others are left running.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers=("$@")
[ "${#peers[@]}" -gt 0 ] || peers=(smtp-server postgres dovecot prosody slapd irc)
failed=()
for peer in "${peers[@]}"; do
  if [ ! -x "$HERE/peers/$peer/start.sh" ]; then echo "unknown peer: $peer" >&2; failed+=("$peer"); continue; fi
  "$HERE/peers/$peer/start.sh" </dev/null || failed+=("$peer")
done
if [ "${#failed[@]}" -gt 0 ]; then echo "FAILED to start: ${failed[*]}" >&2; exit 1; fi
