#!/usr/bin/env bash
# What the integration tests need: Dovecot's POP3 server (the tests start their own instances; no service
# is configured) and the openssl CLI (test certificates).
exec "$(dirname "${BASH_SOURCE[0]}")/ensure-packages.sh" /usr/sbin/dovecot=dovecot-pop3d openssl=openssl
