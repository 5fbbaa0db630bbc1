#!/usr/bin/env bash
# make bench-compare: haoyuan side by side with PostgreSQL, Redis and a one-Mutex baseline on
# the same booking workload (see src/main.rs for the workloads and what each system runs).
#
# - installs postgresql / redis-server from Debian's packages if they are missing (needs root);
# - starts a throwaway PostgreSQL cluster (initdb into a temp dir, as a non-root user) and a
#   Redis server, both bound to 127.0.0.1 on free ports, and stops them on any exit;
# - builds and runs benches/compare (with haoyuan's sync journal when the core has it);
# - writes the table into BENCHMARKS.md (between its bench-compare markers), with the machine
#   and the date.
#
# Knobs (environment): THREADS (2), STREAM (20000 bookings), CROWD (100000 requests),
# CROWD_SLOTS (2000), OUT (BENCHMARKS.md at the repo root), ONLY (one system: haoyuan,
# haoyuan-sync, naive, redis, postgres).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
threads=${THREADS:-2}
stream=${STREAM:-20000}
crowd=${CROWD:-100000}
crowd_slots=${CROWD_SLOTS:-2000}
out=${OUT:-$root/BENCHMARKS.md}

work=$(mktemp -d /tmp/haoyuan-compare.XXXXXX)
chmod 755 "$work"
pg_bin=""
pg_started=""
redis_started=""
redis_port=""
pg_user=""

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}

cleanup() {
    if [ -n "$pg_started" ]; then as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
    if [ -n "$redis_started" ]; then redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "bench-compare: $* missing and not root: install it (apt-get install -y $*)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

find_pg() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# ---------------------------------------------------------------- servers
pg_bin=$(find_pg)
if [ -z "$pg_bin" ]; then
    apt_install postgresql
    pg_bin=$(find_pg)
fi
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server

# PostgreSQL refuses to run as root: use the package's `postgres` user, or make a system user.
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then
        pg_user=postgres
    else
        id haoyuan-bench >/dev/null 2>&1 || useradd --system --no-create-home haoyuan-bench
        pg_user=haoyuan-bench
    fi
fi
mkdir -p "$work/pg" "$work/redis" "$work/haoyuan"
[ -n "$pg_user" ] && chown "$pg_user" "$work/pg"
pg_port=$(free_port)
as_pg "$pg_bin/initdb" -D "$work/pg" -U bench --auth=trust -E UTF8 --locale=C >/dev/null
# Durable by default (fsync on, synchronous_commit on): the fair peer of a journaled engine.
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $pg_port -k $work/pg -c max_connections=50 -c shared_buffers=256MB" start >/dev/null
pg_started=1

redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes --daemonize yes \
    --dir "$work/redis" --save '' --appendonly no --logfile "$work/redis/server.log" --pidfile "$work/redis/server.pid"
redis_started=1
for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

# ---------------------------------------------------------------- build and run
features=()
if grep -q 'DurableEngine' "$root/core/src/lib.rs"; then features=(--features durable); fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml" "${features[@]}"
bin="${CARGO_TARGET_DIR:-$here/target}/release/haoyuan-compare"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
machine="$(nproc) cores ($cpu), $(free -g | awk '/^Mem/ {print $2}') GB RAM, $(uname -sr); \
$("$pg_bin/postgres" --version); Redis $(redis-server --version | awk '{print $3}' | sed 's/v=//'); \
load average at start $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)"
only=()
if [ -n "${ONLY:-}" ]; then only=(--only "$ONLY"); fi

"$bin" --threads "$threads" --stream "$stream" --crowd "$crowd" --crowd-slots "$crowd_slots" \
    --pg "host=127.0.0.1 port=$pg_port user=bench dbname=postgres" \
    --redis "redis://127.0.0.1:$redis_port/" \
    --durable-dir "$work/haoyuan" \
    --machine "$machine" --date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --out "$out" "${only[@]}"
echo "bench-compare: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
