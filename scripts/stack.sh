#!/usr/bin/env bash
# Starts and stops the local stack under .run/: the PostgreSQL cluster with
# the extension installed in database family, the consistency check
# scheduled, and an SMTP sink that keeps its reports in .run/mail/.
#   scripts/stack.sh start | stop | run
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$top/.run"
pg_dir="$run_dir/pg"
port=${FAMILY_PG_PORT:-5433}
smtp_port=${FAMILY_SMTP_PORT:-2525}
mail_dir="$run_dir/mail"
PGBIN=/usr/lib/postgresql/15/bin
psql() { "$PGBIN/psql" -h "$pg_dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -Xq "$@"; }

start_smtp() {
    if [ -f "$run_dir/smtp.pid" ] && kill -0 "$(cat "$run_dir/smtp.pid")" 2>/dev/null; then return; fi
    if ! /usr/bin/python3 -c "import socket; socket.create_server(('127.0.0.1', $smtp_port)).close()" 2>/dev/null; then
        echo "port $smtp_port is taken: set FAMILY_SMTP_PORT to a free port" >&2
        exit 1
    fi
    nohup /usr/bin/python3 "$top/scripts/smtp-sink.py" --port "$smtp_port" --dir "$mail_dir" \
        >"$run_dir/smtp.log" 2>&1 &
    echo $! >"$run_dir/smtp.pid"
}

start() {
    mkdir -p "$run_dir"
    start_smtp
    "$top/scripts/cluster.sh" start "$pg_dir" "$port"
    psql -d family -v smtp_url="smtp://127.0.0.1:$smtp_port" -f "$top/sql/setup.sql"
    cat <<MSG
family is up.
  PostgreSQL  127.0.0.1:$port and socket $pg_dir (database family, user postgres)
  psql        make psql   (or: $PGBIN/psql -h $pg_dir -p $port -U postgres family)
  checks      every 15 minutes by pg_cron; now: SELECT family.run_consistency_check();
  mail        the checks' reports land in $mail_dir/ (SMTP sink on 127.0.0.1:$smtp_port)
MSG
}

stop() {
    if [ -f "$run_dir/smtp.pid" ]; then
        kill "$(cat "$run_dir/smtp.pid")" 2>/dev/null || true
        rm -f "$run_dir/smtp.pid"
    fi
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
