#!/bin/bash
# healthcheck.sh of the local mariadb:11 stand-in, the options the compose file
# uses: --connect (the server accepts a connection) and --innodb_initialized
# (InnoDB is ready). Fails while the entrypoint is still initialising.
set -euo pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
[ -r "$cnf" ] || exit 1
for arg in "$@"; do
    case $arg in
        --connect)
            mariadb --defaults-extra-file="$cnf" -e 'SELECT 1' >/dev/null ;;
        --innodb_initialized)
            [ "$(mariadb --defaults-extra-file="$cnf" -N -e \
                "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='InnoDB' AND SUPPORT IN ('YES','DEFAULT','ENABLED')")" = 1 ] ;;
        --su-mysql|--su=*) ;;
        *) echo "healthcheck.sh: unsupported option $arg" >&2; exit 2 ;;
    esac
done
