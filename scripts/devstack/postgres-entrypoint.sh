#!/bin/bash
# Entrypoint of the local postgres:16 stand-in: the official image's contract.
# On an empty data folder: initdb with POSTGRES_USER as the superuser and
# POSTGRES_PASSWORD (scram-sha-256 over TCP), create POSTGRES_DB, on a
# temporary server that listens on a private socket only (so the healthcheck's
# pg_isready does not pass before the initialisation is done). Then the server
# itself runs as PID 1, as the postgres user, listening on every interface of
# the container.
set -euo pipefail
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD must be set (as for the official postgres image)" >&2
    exit 1
fi
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "initialising the database cluster in $PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
        -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        sock=$(mktemp -d)
        chown postgres "$sock"
        as_postgres pg_ctl -D "$PGDATA" -w -t 60 -l "$sock/init.log" \
            -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
        db_ident=${POSTGRES_DB//\"/\"\"}
        as_postgres psql -v ON_ERROR_STOP=1 -q -h "$sock" -U "$POSTGRES_USER" -d postgres \
            -c "CREATE DATABASE \"$db_ident\""
        as_postgres pg_ctl -D "$PGDATA" -w -t 60 -m fast stop >/dev/null
        rm -rf "$sock"
    fi
    echo "initialised: user $POSTGRES_USER, database $POSTGRES_DB"
fi

if [ "${1:-}" = postgres ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
fi
exec "$@"
