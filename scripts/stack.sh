#!/usr/bin/env bash
# Starts and stops the local stack under .run/: the PostgreSQL cluster with
# the extension installed in database family, the consistency check
# scheduled, an SMTP sink that keeps its reports in .run/mail/, and the REST
# service (family-web) with a staff account.
#   scripts/stack.sh start | stop | run
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$top/.run"
pg_dir="$run_dir/pg"
port=${FAMILY_PG_PORT:-5433}
smtp_port=${FAMILY_SMTP_PORT:-2525}
mail_dir="$run_dir/mail"
web_port=${FAMILY_WEB_PORT:-8080}
admin_email=${FAMILY_ADMIN_EMAIL:-admin@localhost.localdomain}
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

port_free() {
    /usr/bin/python3 -c "import socket; socket.create_server(('127.0.0.1', $1)).close()" 2>/dev/null
}

# The staff account: its password is FAMILY_ADMIN_PASSWORD, or one made up
# the first time and kept in .run/admin-password (mode 0600).
create_admin() {
    local file="$run_dir/admin-password" password=${FAMILY_ADMIN_PASSWORD:-}
    if [ -z "$password" ]; then
        [ -f "$file" ] || (umask 077 && /usr/bin/python3 -c \
            "import secrets; print(secrets.token_urlsafe(15))" >"$file")
        password=$(cat "$file")
    fi
    printf "%s\n" "$password" | FAMILY_WEB_DSN="host=$pg_dir port=$port dbname=family user=postgres" \
        "$top/web/build/family-web" create-staff "$admin_email" 2>>"$run_dir/web.log"
}

start_web() {
    if [ -f "$run_dir/web.pid" ] && kill -0 "$(cat "$run_dir/web.pid")" 2>/dev/null; then return; fi
    if ! port_free "$web_port"; then
        echo "port $web_port is taken: set FAMILY_WEB_PORT to a free port" >&2
        exit 1
    fi
    FAMILY_WEB_PORT=$web_port FAMILY_WEB_DSN="host=$pg_dir port=$port dbname=family user=family_web" \
        nohup "$top/web/build/family-web" >>"$run_dir/web.log" 2>&1 &
    echo $! >"$run_dir/web.pid"
    for _ in $(seq 50); do
        if /usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$web_port/readyz', timeout=1)" 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    echo "family-web did not become ready; see $run_dir/web.log" >&2
    exit 1
}

start() {
    mkdir -p "$run_dir"
    start_smtp
    "$top/scripts/cluster.sh" start "$pg_dir" "$port"
    psql -d family -v smtp_url="smtp://127.0.0.1:$smtp_port" -f "$top/sql/setup.sql"
    psql -d family -f "$top/sql/app.sql"
    create_admin
    start_web
    cat <<MSG
family is up.
  PostgreSQL  127.0.0.1:$port and socket $pg_dir (database family, user postgres)
  psql        make psql   (or: $PGBIN/psql -h $pg_dir -p $port -U postgres family)
  checks      every 15 minutes by pg_cron; now: SELECT family.run_consistency_check();
  mail        the checks' reports land in $mail_dir/ (SMTP sink on 127.0.0.1:$smtp_port)
  REST API    http://127.0.0.1:$web_port/  (docs: /docs; log: $run_dir/web.log)
  staff       $admin_email, password in $run_dir/admin-password (or FAMILY_ADMIN_PASSWORD)
MSG
}

stop_pid() { # file: SIGTERM, then wait until it is gone
    [ -f "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$1"
}

stop() {
    stop_pid "$run_dir/web.pid"
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
