#!/usr/bin/env bash
# Installs what `npm run bench` needs besides Dovecot, on Debian/Ubuntu: the peers it compares against,
# fetchmail and getmail6 (plain POP3 clients; no service is configured), and GNU time for peak RSS and
# CPU time. Dovecot comes from ensure-dovecot.sh.
# Safe to run concurrently.
set -euo pipefail

missing_packages() {
  missing=()
  command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
  command -v getmail >/dev/null 2>&1 || missing+=(getmail6)
  # GNU time: peak RSS and CPU time of each contender process.
  [[ -x /usr/bin/time ]] || missing+=(time)
}

missing_packages
[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "install the benchmark peers: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

exec 9>/tmp/mailbox-poller-ensure-bench-tools.lock
flock 9
missing_packages
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
