#!/usr/bin/env bash
# What `npm run bench` needs besides Dovecot (ensure-dovecot.sh): the peers it compares against, fetchmail
# and getmail6 (plain POP3 clients; no service is configured), and GNU time for peak RSS and CPU time.
exec "$(dirname "${BASH_SOURCE[0]}")/ensure-packages.sh" fetchmail=fetchmail getmail=getmail6 /usr/bin/time=time
