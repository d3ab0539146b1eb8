#!/usr/bin/env bash
# Starts and stops the local stack under .run/: the PostgreSQL cluster with
# the extension installed in database family.
#   scripts/stack.sh start | stop | run
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$top/.run"
pg_dir="$run_dir/pg"
port=${FAMILY_PG_PORT:-5433}
PGBIN=/usr/lib/postgresql/15/bin
psql() { "$PGBIN/psql" -h "$pg_dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -Xq "$@"; }

start() {
    mkdir -p "$run_dir"
    "$top/scripts/cluster.sh" start "$pg_dir" "$port"
    psql -d family -f "$top/sql/setup.sql"
    cat <<MSG
family is up.
  PostgreSQL  127.0.0.1:$port and socket $pg_dir (database family, user postgres)
  psql        make psql   (or: $PGBIN/psql -h $pg_dir -p $port -U postgres family)
MSG
}

stop() {
    "$top/scripts/cluster.sh" stop "$pg_dir"
    echo "family is stopped."
}

case "${1:-}" in
start) start ;;
stop) stop ;;
run)
    start
    trap 'stop; exit 0' INT TERM
    echo "Press Ctrl-C to stop."
    # Wait for a signal; sleep in the background so the trap runs at once.
    while true; do sleep 3600 & wait $!; done
    ;;
*)
    echo "usage: $0 start|stop|run" >&2
    exit 2
    ;;
esac
