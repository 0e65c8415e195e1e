#!/usr/bin/env bash
# Installs Debian/Ubuntu packages whose program is missing: ensure-packages.sh PROGRAM=PACKAGE ...
# (PROGRAM is a path, or a command looked up on PATH). As root directly, otherwise through `sudo -n`;
# without either it prints the apt-get line to run and fails. Safe to run concurrently: one lock for all.
set -euo pipefail

missing_packages() {
  missing=()
  local pair program
  for pair in "$@"; do
    program=${pair%%=*}
    if [[ $program == */* ]]; then [[ -x $program ]] && continue
    else command -v "$program" >/dev/null 2>&1 && continue
    fi
    missing+=("${pair#*=}")
  done
}

missing_packages "$@"
[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "install: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

exec 9>/tmp/mailbox-poller-ensure-packages.lock
flock 9
# Another caller may have installed everything while we waited for the lock.
missing_packages "$@"
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
