#!/bin/bash
# Entrypoint of the local mariadb:11 stand-in: the official image's contract.
# On an empty data folder: install the system tables, then on a temporary
# server without networking set the root password, create MARIADB_DATABASE and
# MARIADB_USER (all privileges on that database, from any host) and the
# `healthcheck` account healthcheck.sh uses. Then mariadbd itself runs as PID 1,
# as the mysql user, on port 3306 of every interface of the container.
set -euo pipefail
DATADIR=/var/lib/mysql
if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
    echo "error: MARIADB_ROOT_PASSWORD must be set (as for the official mariadb image)" >&2
    exit 1
fi
as_mysql() { setpriv --reuid=mysql --regid=mysql --init-groups -- "$@"; }
# A string literal / an identifier for SQL.
lit() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
ident() { printf '`%s`' "${1//\`/\`\`}"; }

mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld

if [ "${1:-}" = mariadbd ] && [ ! -d "$DATADIR/mysql" ]; then
    echo "initialising the database in $DATADIR"
    as_mysql mariadb-install-db --datadir="$DATADIR" --skip-test-db \
        --auth-root-authentication-method=normal >/dev/null
    sock=/run/mysqld/init.sock
    # Not through as_mysql: $! must be the server itself (setpriv execs it).
    setpriv --reuid=mysql --regid=mysql --init-groups -- \
        mariadbd --datadir="$DATADIR" --skip-networking --socket="$sock" &
    init_pid=$!
    for _ in $(seq 1 120); do
        mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1 && break
        kill -0 "$init_pid" 2>/dev/null || { echo "error: the temporary server exited" >&2; exit 1; }
        sleep 0.5
    done
    health_pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    {
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(lit "$MARIADB_ROOT_PASSWORD");"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY $(lit "$MARIADB_ROOT_PASSWORD");"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '$health_pw';"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS $(ident "$MARIADB_DATABASE");"
        fi
        if [ -n "${MARIADB_USER:-}" ]; then
            echo "CREATE USER $(lit "$MARIADB_USER")@'%' IDENTIFIED BY $(lit "${MARIADB_PASSWORD:-}");"
            if [ -n "${MARIADB_DATABASE:-}" ]; then
                echo "GRANT ALL ON $(ident "$MARIADB_DATABASE").* TO $(lit "$MARIADB_USER")@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --socket="$sock" -uroot
    # A clean shutdown; the real server starts only once this one is gone
    # (it holds InnoDB's lock on the data files until then).
    MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb-admin --socket="$sock" -uroot shutdown \
        || kill "$init_pid"
    wait "$init_pid" || true
    umask 077
    printf '[mariadb-client]\nuser=healthcheck\npassword=%s\nprotocol=socket\nsocket=/run/mysqld/mysqld.sock\n' \
        "$health_pw" > "$DATADIR/.my-healthcheck.cnf"
    chown mysql:mysql "$DATADIR/.my-healthcheck.cnf"
    echo "initialised: database ${MARIADB_DATABASE:-(none)}, user ${MARIADB_USER:-(none)}"
fi

if [ "${1:-}" = mariadbd ]; then
    shift
    exec setpriv --reuid=mysql --regid=mysql --init-groups -- mariadbd --datadir="$DATADIR" \
        --bind-address=0.0.0.0 --port=3306 --socket=/run/mysqld/mysqld.sock "$@"
fi
exec "$@"
