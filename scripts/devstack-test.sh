#!/usr/bin/env bash
# The dev stack for real: docker-compose.yml run on a Docker engine of its own.
#
#   scripts/devstack-test.sh [--reduced] [--keep-images] [--timings FILE]
#   just devstack-test
#
# Starts a private dockerd (its own socket, data and exec folders under a
# temporary folder), makes the base images without any registry (debootstrap
# from the package mirror apt uses, then local stand-ins for postgres:16,
# mariadb:11 and rust:slim), builds print-farm-app:dev from the project's
# Dockerfile, and runs the project's docker-compose.yml (with
# scripts/devstack/compose.local.yml, which only swaps the registry image names
# for the local ones). It proves, in order:
#
#   1. `up -d` brings up db and app; the app waits for the healthy database,
#      migrates it, and /health (from the host, 127.0.0.1) reports head, 0 pending;
#   2. the app's log lists each applied revision once;
#   3. `exec app migration status` and `down -n 3` work;
#   4. `restart app` keeps the rollback (the hold `down` records), `migration up`
#      lifts it, and the next restart has nothing to do;
#   5. two app replicas (`--scale app=2`) on a fresh database apply each
#      revision once;
#   6. the same for the MariaDB profile (app-mariadb), unless --reduced;
#   7. `down -v` leaves no container, volume or network.
#
# It stops the daemon it started (by pid) and removes what it created on every
# path, and exits non-zero when anything fails, including a daemon that cannot
# start. Network: the containers only talk on the daemon's own compose network
# (the daemon runs with --iptables=false, so they have no route out); the host
# reaches them on ports published on 127.0.0.1; image builds use --network host
# for the package mirror and crates.io. Every wait is bounded.
#
#   --reduced       skip step 6 (CI's form when the full run is too long)
#   --keep-images   keep the daemon's images and build cache between runs in
#                   $DEVSTACK_CACHE_DIR/docker-data (containers, volumes and
#                   networks are still removed); without it everything goes
#   --timings FILE  also write the wall time of each step to FILE (markdown)
#
# Environment: DEVSTACK_CACHE_DIR (default ~/.cache/seaorm-devstack; holds the
# debootstrap root filesystem tarball), DEVSTACK_TMPDIR (default /var/tmp),
# DEVSTACK_MIRROR (default: the first Debian mirror in /etc/apt/sources.list*),
# DEVSTACK_DOCKERD (default: dockerd; e.g. /bin/false shows the failure path).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/scripts/devstack
REDUCED=0
KEEP_IMAGES=0
TIMINGS_FILE=
while [ $# -gt 0 ]; do
    case $1 in
        --reduced) REDUCED=1 ;;
        --keep-images) KEEP_IMAGES=1 ;;
        --timings) TIMINGS_FILE=${2:?--timings needs a file}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//; /^set -euo/d'; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# The Debian package's docker CLI (20.10) for the Debian daemon, first on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
SUITE=bookworm
CACHE_DIR=${DEVSTACK_CACHE_DIR:-$HOME/.cache/seaorm-devstack}
PROJECT=devstack
APP_IMAGE=print-farm-app:dev
IMG_DEBIAN=localhost/devstack/debian:$SUITE
IMG_RUST=localhost/devstack/rust:local
IMG_POSTGRES=localhost/devstack/postgres:16-local
IMG_MARIADB=localhost/devstack/mariadb:11-local
# The compose file's defaults are what is tested: no .env (an empty
# --env-file), none of its variables from this environment.
unset POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB POSTGRES_PORT APP_PORT APP_MARIADB_PORT \
    MARIADB_USER MARIADB_PASSWORD MARIADB_DATABASE MARIADB_ROOT_PASSWORD MARIADB_PORT \
    DB_CONNECT_ATTEMPTS RUST_LOG COMPOSE_FILE COMPOSE_PROFILES COMPOSE_PROJECT_NAME DOCKER_CONTEXT
APP_PORT_DEFAULT=18080
APP_MARIADB_PORT_DEFAULT=18081
# Host ports of two replicas (`--scale SERVICE=2` with a port range).
REPLICA_PORTS=18090-18091

log() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
DOCKERD=${DEVSTACK_DOCKERD:-dockerd}
for tool in "$DOCKERD" docker docker-compose debootstrap iptables curl jq tar; do
    command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install docker.io docker-compose debootstrap iptables curl jq)"
done
[ "$(id -u)" = 0 ] || fail "run as root (debootstrap and dockerd need it)"

# ------------------------------------------------------------------ state and cleanup
mkdir -p "$CACHE_DIR"
WORK=$(mktemp -d "${DEVSTACK_TMPDIR:-/var/tmp}/devstack.XXXXXX")
EXEC_ROOT=$WORK/exec
SOCK=$WORK/docker.sock
PIDFILE=$WORK/dockerd.pid
CGROUP_PARENT=/devstack-$(basename "$WORK" | tr -cd 'A-Za-z0-9')
if [ "$KEEP_IMAGES" = 1 ]; then
    DATA_ROOT=$CACHE_DIR/docker-data
    mkdir -p "$DATA_ROOT"
    exec 9>"$CACHE_DIR/docker-data.lock"
    flock -w 600 9 || fail "another run holds $CACHE_DIR/docker-data.lock"
else
    DATA_ROOT=$WORK/data
fi
export DOCKER_HOST=unix://$SOCK DOCKER_BUILDKIT=1
DOCKERD_PID=
ROOTFS=

STEP_NAMES=()
STEP_SECS=()
RUN_START=$(date +%s.%N)
step() {
    local name=$1 t0 t1
    shift
    log "$name"
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    STEP_NAMES+=("$name")
    STEP_SECS+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')")
}
timings() {
    local total i
    total=$(awk -v a="$RUN_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    {
        echo "| step | wall time (s) |"
        echo "|---|---:|"
        for i in "${!STEP_NAMES[@]}"; do
            echo "| ${STEP_NAMES[$i]} | ${STEP_SECS[$i]} |"
        done
        echo "| **total** | **$total** |"
    }
}

# Every mount below a folder, deepest first, unmounted.
unmount_below() {
    local dir=$1 m
    for m in $(findmnt -rn -o TARGET | grep -F "$dir" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# Processes in the cgroups our daemon made for its containers (by pid).
kill_container_processes() {
    local procs pid
    for procs in /sys/fs/cgroup/pids"$CGROUP_PARENT"/*/cgroup.procs /sys/fs/cgroup/pids"$CGROUP_PARENT"/cgroup.procs; do
        [ -r "$procs" ] || continue
        while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < "$procs"
    done
}

stop_daemon() {
    local pid=$DOCKERD_PID
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd ($pid) did not stop in 30 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    DOCKERD_PID=
    # A daemon killed hard leaves its containerd, shims and containers: they
    # are ours if their command line names our folder or they sit in our cgroups.
    local p
    for p in /proc/[0-9]*; do
        if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF "$WORK"; then
            kill -KILL "${p#/proc/}" 2>/dev/null || true
        fi
    done
    kill_container_processes
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        if [ "$rc" != 0 ]; then
            log "failure: the last lines of each container's log"
            dc_all logs --no-color --tail 40 2>&1 | tail -n 200
        fi
        log "cleanup: compose down -v, then the daemon (pid $DOCKERD_PID)"
        timeout 120 docker-compose "${COMPOSE_ARGS[@]}" --profile mariadb down -v --remove-orphans --timeout 10 >/dev/null 2>&1
        # Anything else this daemon runs (e.g. a container left by a failed step).
        docker ps -aq 2>/dev/null | xargs -r timeout 60 docker rm -f -v >/dev/null 2>&1
    fi
    stop_daemon
    [ -n "$ROOTFS" ] && unmount_below "$ROOTFS"
    unmount_below "$WORK"
    if [ "$KEEP_IMAGES" = 1 ]; then
        unmount_below "$DATA_ROOT"
    fi
    rm -rf "$WORK"
    for ctrl in /sys/fs/cgroup/*"$CGROUP_PARENT"; do
        [ -d "$ctrl" ] && find "$ctrl" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    if [ "$rc" = 0 ]; then
        log "PASS: the dev stack works ($(basename "$0"))"
    else
        log "FAILED (exit $rc)"
    fi
    if [ ${#STEP_NAMES[@]} -gt 0 ]; then
        timings
        [ -n "$TIMINGS_FILE" ] && timings > "$TIMINGS_FILE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

COMPOSE_ARGS=(-p "$PROJECT" --env-file "$WORK/empty.env" -f "$REPO/docker-compose.yml" -f "$HERE/compose.local.yml")
: > "$WORK/empty.env"
dc() { docker-compose "${COMPOSE_ARGS[@]}" "$@"; }
dc_all() { docker-compose "${COMPOSE_ARGS[@]}" --profile mariadb "$@"; }

# ------------------------------------------------------------------ steps
mirror() {
    if [ -n "${DEVSTACK_MIRROR:-}" ]; then
        echo "$DEVSTACK_MIRROR"
        return
    fi
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' \
        | grep -v security | head -n1 || true)
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
            | awk '/^URIs:/ { print $2 }' | grep -v security | head -n1 || true)
    fi
    [ -n "$m" ] || fail "no Debian mirror in /etc/apt/sources.list*; set DEVSTACK_MIRROR"
    echo "$m"
}

ROOTFS_TAR=
make_rootfs() {
    local mirror key
    mirror=$(mirror)
    key=$(printf '%s %s minbase v1' "$SUITE" "$mirror" | sha256sum | cut -c1-12)
    ROOTFS_TAR=$CACHE_DIR/rootfs-$SUITE-minbase-$key.tar
    if [ -s "$ROOTFS_TAR" ]; then
        echo "reusing $ROOTFS_TAR"
        return
    fi
    ROOTFS=$WORK/rootfs
    echo "debootstrap --variant=minbase $SUITE from $mirror"
    if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$mirror" > "$WORK/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK/debootstrap.log" >&2
        fail "debootstrap failed"
    fi
    unmount_below "$ROOTFS"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    tar -C "$ROOTFS" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$ROOTFS"
    ROOTFS=
    echo "cached $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

start_daemon() {
    mkdir -p "$EXEC_ROOT" "$DATA_ROOT"
    echo '{}' > "$WORK/daemon.json"
    # --iptables=false: no NAT, so containers reach nothing beyond their own
    # network; published ports still work through docker-proxy on 127.0.0.1.
    "$DOCKERD" --config-file "$WORK/daemon.json" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
        -H "unix://$SOCK" --pidfile "$PIDFILE" --bridge=none --iptables=false --ip-masq=false \
        --ip-forward=false --cgroup-parent "$CGROUP_PARENT" \
        > "$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 60); do
        if docker version >/dev/null 2>&1; then
            echo "dockerd $(docker version --format '{{.Server.Version}}') up, pid $DOCKERD_PID, socket $SOCK"
            return 0
        fi
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            tail -n 30 "$WORK/dockerd.log" >&2
            DOCKERD_PID=
            fail "dockerd exited on start"
        fi
        sleep 0.5
    done
    tail -n 30 "$WORK/dockerd.log" >&2
    fail "dockerd did not answer on $SOCK within 30 s"
}

# Leftovers of an interrupted run in a kept data folder (with --keep-images
# only images and the build cache are meant to survive a run).
preclean() {
    dc_all down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
    docker ps -aq | xargs -r docker rm -f -v >/dev/null
    docker volume prune -f >/dev/null
    docker network prune -f >/dev/null
}

build() {
    local what=$1
    shift
    if ! docker build --network host --progress plain "$@" > "$WORK/build-$what.log" 2>&1; then
        tail -n 40 "$WORK/build-$what.log" >&2
        fail "building $what failed"
    fi
}

import_base() {
    docker import "$ROOTFS_TAR" "$IMG_DEBIAN" >/dev/null
    docker run --rm --network none "$IMG_DEBIAN" cat /etc/debian_version
}

builder_image() {
    local sysroot version ctx=$WORK/builder-ctx
    sysroot=$(realpath "$(rustc --print sysroot)")
    version=$("$sysroot/bin/rustc" --version)
    echo "toolchain: $version ($sysroot)"
    mkdir -p "$ctx"
    # A local copy (hard links when possible) without the documentation.
    cp -al "$sysroot" "$ctx/rust" 2>/dev/null || cp -a "$sysroot" "$ctx/rust"
    rm -rf "$ctx/rust/share/doc"
    # The certificate authorities the host trusts on top of Debian's (public
    # certificates only), so that cargo's downloads verify as on the host.
    mkdir -p "$ctx/ca"
    find /usr/local/share/ca-certificates -maxdepth 2 -name '*.crt' -exec cp {} "$ctx/ca/" \; 2>/dev/null || true
    build rust-builder -f "$HERE/rust-builder.Dockerfile" --build-arg BASE_IMAGE="$IMG_DEBIAN" -t "$IMG_RUST" "$ctx"
    rm -rf "$ctx"
}

postgres_image() {
    build postgres -f "$HERE/postgres.Dockerfile" --build-arg BASE_IMAGE="$IMG_DEBIAN" -t "$IMG_POSTGRES" "$HERE"
}

mariadb_image() {
    build mariadb -f "$HERE/mariadb.Dockerfile" --build-arg BASE_IMAGE="$IMG_DEBIAN" -t "$IMG_MARIADB" "$HERE"
}

app_image() {
    grep -q "image: $APP_IMAGE" "$REPO/docker-compose.yml" || fail "docker-compose.yml does not name $APP_IMAGE"
    build app --build-arg BUILDER_IMAGE="$IMG_RUST" --build-arg RUNTIME_IMAGE="$IMG_DEBIAN" -t "$APP_IMAGE" "$REPO"
    grep -E 'Finished .release' "$WORK/build-app.log" | tail -n1 || true
    docker run --rm --network none "$APP_IMAGE" migration --version
}

# GET /health on 127.0.0.1:PORT until it reports PENDING pending revisions
# (the database answering); at most ATTEMPTS tries, 3 s each plus 1 s apart.
HEALTH=
wait_health() {
    local port=$1 pending=$2 attempts=${3:-90} i
    for i in $(seq 1 "$attempts"); do
        if HEALTH=$(curl -sS --noproxy '*' --max-time 3 "http://127.0.0.1:$port/health" 2>/dev/null) \
            && [ "$(jq -r .database <<<"$HEALTH" 2>/dev/null)" = ok ] \
            && [ "$(jq -r .pending <<<"$HEALTH")" = "$pending" ]; then
            echo "/health on 127.0.0.1:$port after $i tries: $HEALTH"
            return 0
        fi
        sleep 1
    done
    fail "/health on 127.0.0.1:$port did not report $pending pending in $attempts tries (last: ${HEALTH:-no answer})"
}

# Waits until every container of SERVICE is healthy (bounded).
wait_healthy_containers() {
    local service=$1 want=$2 ids states
    for _ in $(seq 1 90); do
        ids=$(dc_all ps -q "$service")
        if [ "$(wc -w <<<"$ids")" = "$want" ]; then
            # shellcheck disable=SC2086
            states=$(docker inspect --format '{{.State.Health.Status}}' $ids | sort -u | tr '\n' ' ')
            if [ "$states" = "healthy " ]; then
                echo "$want container(s) of $service healthy"
                return 0
            fi
        fi
        sleep 1
    done
    fail "$service: expected $want healthy container(s), have: ${states:-none}"
}

REVISIONS=()
HEADS=
revisions_of() {
    local service=$1 json
    json=$(dc_all exec -T "$service" migration status --format json)
    mapfile -t REVISIONS < <(jq -r '.revisions[].revision' <<<"$json")
    HEADS=$(jq -c '.heads' <<<"$json")
    [ "${#REVISIONS[@]}" -gt 3 ] || fail "expected more than 3 revisions, got ${#REVISIONS[@]}"
}

# The app's log (all containers of SERVICE) has exactly one `applied` line per revision.
assert_applied_once() {
    local service=$1 logs id n total=0
    logs=$(dc_all logs --no-color "$service")
    for id in "${REVISIONS[@]}"; do
        n=$(grep -c "applied revision=$id " <<<"$logs" || true)
        [ "$n" = 1 ] || fail "$service's log has $n 'applied' lines for $id (want 1)"
        total=$((total + 1))
    done
    n=$(grep -c ' applied revision=' <<<"$logs" || true)
    [ "$n" = "$total" ] || fail "$service's log has $n 'applied' lines, want $total"
    echo "the log of $service lists each of the $total revisions once:"
    grep ' applied revision=' <<<"$logs" | sed 's/^/    /' | cut -c1-160
}

count_in_log() { dc_all logs --no-color "$1" | grep -c "$2" || true; }

up_and_healthy() {
    local service=$1 db=$2
    dc_all up -d "$db" "$service"
    [ "$(docker inspect --format '{{.State.Health.Status}}' "$(dc_all ps -q "$db")")" = healthy ] \
        || fail "$db is not healthy after up (compose should have waited for it)"
}

health_at_head() {
    local port=$1
    wait_health "$port" 0
    [ "$(jq -r .status <<<"$HEALTH")" = ok ] || fail "/health status is not ok: $HEALTH"
    [ "$(jq -c '.current | sort' <<<"$HEALTH")" = "$(jq -c '.heads | sort' <<<"$HEALTH")" ] \
        || fail "/health: current is not the heads: $HEALTH"
}

logs_and_status() {
    local service=$1 out
    revisions_of "$service"
    assert_applied_once "$service"
    out=$(dc_all exec -T "$service" migration status)
    grep -q '^Pending: 0$' <<<"$out" || { echo "$out"; fail "migration status does not say Pending: 0"; }
    echo "$out" | sed 's/^/    /'
}

rollback() {
    local service=$1 port=$2 out
    out=$(dc_all exec -T "$service" migration down -n 3)
    echo "$out" | sed 's/^/    /'
    grep -q 'Reverted 3 revision(s)' <<<"$out" || fail "down -n 3 did not revert 3 revisions"
    grep -qi 'hold' <<<"$out" || fail "down -n 3 did not say it recorded a hold"
    wait_health "$port" 3
}

restart_keeps_rollback() {
    local service=$1 port=$2 applied_before out
    applied_before=$(count_in_log "$service" ' applied revision=')
    dc_all restart "$service"
    wait_health "$port" 3
    [ "$(jq -r .status <<<"$HEALTH")" = outdated ] || fail "/health should say outdated: $HEALTH"
    [ "$(jq -r '.hold != null' <<<"$HEALTH")" = true ] || fail "/health does not report the hold: $HEALTH"
    [ "$(count_in_log "$service" ' applied revision=')" = "$applied_before" ] \
        || fail "the restart re-applied reverted revisions"
    [ "$(count_in_log "$service" 'migrations on hold')" -ge 1 ] || fail "the app did not log the hold"
    dc_all logs --no-color "$service" | grep 'migrations on hold' | tail -n1 | cut -c1-220
    # `migration up` lifts the hold; the next restart has nothing to do.
    out=$(dc_all exec -T "$service" migration up)
    echo "$out" | sed 's/^/    /'
    grep -q 'Applied 3 revision(s)' <<<"$out" || fail "migration up did not apply the 3 revisions"
    dc_all restart "$service"
    health_at_head "$port"
    [ "$(jq -r .hold <<<"$HEALTH")" = null ] || fail "the hold is still reported after up: $HEALTH"
}

replicas() {
    local service=$1 db=$2 port_var=$3 ids id port
    dc_all down -v --timeout 10
    env "$port_var=$REPLICA_PORTS" docker-compose "${COMPOSE_ARGS[@]}" --profile mariadb \
        up -d --scale "$service=2" "$db" "$service"
    wait_healthy_containers "$service" 2
    ids=$(dc_all ps -q "$service")
    for id in $ids; do
        port=$(docker port "$id" 8080/tcp | head -n1 | sed 's/.*://')
        wait_health "$port" 0 30
    done
    assert_applied_once "$service"
    local ready
    ready=$(count_in_log "$service" 'database ready')
    [ "$ready" = 2 ] || fail "expected 2 replicas to report 'database ready', got $ready"
    dc_all down -v --timeout 10
}

suite() {
    local label=$1 service=$2 db=$3 port=$4 port_var=$5
    step "$label: up -d ($db, $service)" up_and_healthy "$service" "$db"
    step "$label: healthy, migrated to head" health_at_head "$port"
    step "$label: log and migration status" logs_and_status "$service"
    step "$label: rollback (down -n 3)" rollback "$service" "$port"
    step "$label: restart keeps the rollback; up lifts it" restart_keeps_rollback "$service" "$port"
    step "$label: 2 replicas on a fresh database" replicas "$service" "$db" "$port_var"
}

final_down() {
    dc_all down -v --remove-orphans --timeout 10
    local left
    left=$(docker ps -aq)
    [ -z "$left" ] || fail "containers left after down -v: $left"
    left=$(docker volume ls -q)
    [ -z "$left" ] || fail "volumes left after down -v: $left"
    left=$(docker network ls --format '{{.Name}}' | grep -v -x -E 'bridge|host|none' || true)
    [ -z "$left" ] || fail "networks left after down -v: $left"
    if curl -s --noproxy '*' --max-time 2 "http://127.0.0.1:$APP_PORT_DEFAULT/health" >/dev/null 2>&1; then
        fail "something still answers on 127.0.0.1:$APP_PORT_DEFAULT"
    fi
    echo "no container, volume or network left"
    if [ "$KEEP_IMAGES" = 1 ]; then
        # Images replaced by this run's builds (the build cache stays).
        docker image prune -f >/dev/null
    fi
}

stop_step() {
    stop_daemon
    echo "dockerd stopped"
}

# ------------------------------------------------------------------ the run
echo "work folder $WORK; data root $DATA_ROOT; cache $CACHE_DIR"
step "debootstrap (or the cached root filesystem)" make_rootfs
step "start dockerd" start_daemon
preclean
step "image: local debian base (docker import)" import_base
step "image: rust builder (debian + host toolchain)" builder_image
step "image: postgres stand-in" postgres_image
[ "$REDUCED" = 1 ] || step "image: mariadb stand-in" mariadb_image
step "image: $APP_IMAGE (the Dockerfile, release build)" app_image

suite postgres app db "$APP_PORT_DEFAULT" APP_PORT
[ "$REDUCED" = 1 ] || suite mariadb app-mariadb mariadb "$APP_MARIADB_PORT_DEFAULT" APP_MARIADB_PORT

step "down -v leaves nothing" final_down
step "stop dockerd" stop_step
