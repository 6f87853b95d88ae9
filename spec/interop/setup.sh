#!/usr/bin/env bash
# Installs the interop peers (Debian 12, as root). Idempotent: installs only what is missing.
# Starts nothing: spec/interop/up.sh starts each peer on 127.0.0.1 high ports.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-managesieved
      postgresql postgresql-client curl openssl python3 procps
      prosody                                              # XMPP (c2s + WebSocket)
      slapd ldap-utils libsasl2-modules sasl2-bin          # LDAP with Cyrus SASL (libscram: SCRAM-*)
      inspircd atheme-services                             # IRCv3 SASL (PLAIN, EXTERNAL) via services
      weechat-headless                                     # IRC client with SASL SCRAM, against saslkit's IRC server
      chromium)                                            # headless browser for WebSocket tests
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Keep the packages' own system services (dovecot on 143/993, postgres on 5432, prosody on
  # 5222, slapd on 389, inspircd on 6667, atheme) from starting during the install: the tests start
  # private instances instead.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Unprivileged owner of Dovecot's throwaway mail folders.
id saslinterop >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin saslinterop
echo "dovecot $(dovecot --version); $(psql --version); $(python3 --version)"
echo "prosody $(dpkg-query -W -f='${Version}' prosody); slapd $(dpkg-query -W -f='${Version}' slapd);" \
  "inspircd $(dpkg-query -W -f='${Version}' inspircd); atheme $(dpkg-query -W -f='${Version}' atheme-services); weechat $(dpkg-query -W -f='${Version}' weechat-headless);" \
  "$(chromium --version 2>/dev/null || echo 'chromium ?')"
