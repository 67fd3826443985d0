#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (idempotent: a
# second run installs nothing), with sudo when not root; the package lists are refreshed only
# when apt does not know one of them (a fresh machine).
# Usage: bash scripts/apt-install.sh PACKAGE...
# The status is compared, not piped into `grep -q`: under pipefail such a pipe can die of
# SIGPIPE and fail the caller.
set -euo pipefail
missing=()
for p in "$@"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
((${#missing[@]})) || exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
apt-cache show "${missing[@]}" >/dev/null 2>&1 || $sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
