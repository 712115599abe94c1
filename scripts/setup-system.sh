#!/usr/bin/env bash
# Install the Debian packages that the end-to-end tests start on 127.0.0.1:
# Chromium (panel tests), Dovecot with the Lua passdb, nginx with the mail module,
# Redis, and openssl (self-signed certificates). Run as root.
# Debian's policy-rc.d keeps the packaged services from starting on the stock ports;
# where that file is missing, this script adds one for the duration of the install.
set -euo pipefail

packages=(chromium dovecot-imapd dovecot-pop3d dovecot-auth-lua nginx libnginx-mod-mail redis-server openssl)

if [ "$(id -u)" != 0 ]; then
  echo "setup-system: run as root (apt-get install needs it): sudo npm run setup:system" >&2
  exit 1
fi

added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}"

if [ "$added_policy" = 1 ]; then
  rm -f /usr/sbin/policy-rc.d
fi

# Stop any packaged instance that started anyway, so the stock ports stay free.
for service in dovecot nginx redis-server; do
  if command -v service >/dev/null 2>&1; then
    service "$service" stop >/dev/null 2>&1 || true
  fi
done
echo "setup-system: installed ${packages[*]}"
