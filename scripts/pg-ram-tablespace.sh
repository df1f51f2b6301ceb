#!/usr/bin/env bash
# Gives a local PostgreSQL server a tablespace in RAM (tmpfs) for temporary
# tables, so `check` and `revision --autogenerate` build their scratch sides
# without creating and unlinking thousands of files on disk (docs/autogenerate.md,
# "PostgreSQL scratch speed"). Run on the database server's host, as root (or
# with sudo), once per boot: /dev/shm is emptied at reboot.
#
#   scripts/pg-ram-tablespace.sh [NAME] [PSQL_URL]
#
# Then either `ALTER DATABASE <scratch db> SET temp_tablespaces = 'NAME'` (what
# the W3 benchmark does with --pg-temp-tablespace NAME) or the same with
# ALTER ROLE, or `temp_tablespaces = 'NAME'` in postgresql.conf.
set -euo pipefail
name="${1:-scratch_ram}"
url="${2:-postgres://postgres@127.0.0.1:5432/postgres}"
dir="/dev/shm/pg_${name}"
owner="$(stat -c %U "$(psql "$url" -Atc 'SHOW data_directory')" 2>/dev/null || echo postgres)"
mkdir -p "$dir"
chown "$owner:$owner" "$dir"
chmod 700 "$dir"
exists="$(psql "$url" -Atc "SELECT 1 FROM pg_tablespace WHERE spcname = '${name}'")"
if [ "$exists" = "1" ] && [ -z "$(ls -A "$dir")" ]; then
    # A reboot emptied /dev/shm: the tablespace's folder is gone; recreate it.
    psql "$url" -qc "DROP TABLESPACE \"${name}\""
    exists=""
fi
if [ "$exists" != "1" ]; then
    psql "$url" -qc "CREATE TABLESPACE \"${name}\" LOCATION '${dir}'"
fi
echo "tablespace ${name} at ${dir}; use: SET temp_tablespaces = '${name}' (or ALTER DATABASE/ROLE ... SET)"
