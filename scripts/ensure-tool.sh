#!/usr/bin/env bash
# ensure-tool.sh COMMAND DEBIAN_PACKAGE: make sure COMMAND is on PATH,
# installing the Debian package when missing and running as root.
set -euo pipefail
cmd=$1 pkg=$2
command -v "$cmd" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing $pkg (for $cmd)..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  command -v "$cmd" >/dev/null 2>&1 && exit 0
fi
echo "$cmd not found: install it with 'sudo apt-get install $pkg'" >&2
exit 1
