#!/usr/bin/env bash
# Installs what the integration tests need on Debian/Ubuntu: Dovecot's POP3 server (the tests start
# their own instances; no service is configured) and the openssl CLI (test certificates).
# Safe to run concurrently: parallel test files may call it at once.
set -euo pipefail

missing_packages() {
  missing=()
  [[ -x /usr/sbin/dovecot ]] || missing+=(dovecot-pop3d)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
}

missing_packages
[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "install the test dependencies: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

exec 9>/tmp/mailbox-poller-ensure-dovecot.lock
flock 9
# Another caller may have installed everything while we waited for the lock.
missing_packages
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
