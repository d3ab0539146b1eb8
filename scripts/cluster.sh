#!/usr/bin/env bash
# A PostgreSQL 15 cluster of our own under a directory (never the system one):
#   scripts/cluster.sh start DIR PORT   init if needed, start, create database family
#   scripts/cluster.sh stop DIR
# The cluster listens on 127.0.0.1:PORT and on a unix socket in DIR, trusts
# local connections (development use) and preloads pg_cron.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")

# initdb and postgres refuse to run as root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log"
        cat >>"$dir/data/postgresql.conf" <<CONF
# family: local cluster settings
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'family'
max_worker_processes = 16
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
CONF
        # Extra settings for this cluster, one per line (e.g. the benchmarks').
        [ -n "${FAMILY_PG_CONF:-}" ] && printf "%s\n" "$FAMILY_PG_CONF" >>"$dir/data/postgresql.conf"
        if [ -n "${FAMILY_PG_FAST:-}" ]; then
            # Throwaway test clusters: durability buys nothing there.
            # A short deadlock_timeout lets stress tests resolve lock cycles quickly.
            printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\ndeadlock_timeout = 100ms\n" \
                >>"$dir/data/postgresql.conf"
        fi
    fi
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null
    if ! "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = 'family'" | grep -q 1; then
        "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE family"
    fi
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
