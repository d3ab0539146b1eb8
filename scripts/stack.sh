#!/usr/bin/env bash
# Starts and stops the local stack, everything under one directory (.run/, or
# FAMILY_RUN_DIR): the PostgreSQL cluster with the extension in database
# family and the consistency check scheduled, an SMTP sink that keeps the
# checks' reports in mail/, the REST service (family-web) with a staff
# account, the status service, and nginx in front.
#   scripts/stack.sh start [SERVICE]   all, or one of: smtp postgresql web status nginx
#   scripts/stack.sh stop [SERVICE]
#   scripts/stack.sh run               start, then stop on Ctrl-C
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir=$(realpath -m "${FAMILY_RUN_DIR:-$top/.run}")
pg_dir="$run_dir/pg"
mail_dir="$run_dir/mail"
port=${FAMILY_PG_PORT:-5433}
smtp_port=${FAMILY_SMTP_PORT:-2525}
web_port=${FAMILY_WEB_PORT:-8080}
status_port=${FAMILY_STATUS_PORT:-8090}
nginx_port=${FAMILY_NGINX_PORT:-8000}
status_interval=${FAMILY_STATUS_INTERVAL:-30}
admin_email=${FAMILY_ADMIN_EMAIL:-admin@localhost.localdomain}
web_bin=${FAMILY_WEB_BIN:-$top/web/build/family-web}
status_bin=${FAMILY_STATUS_BIN:-$top/web/build/family-status}
PGBIN=/usr/lib/postgresql/15/bin
psql() { "$PGBIN/psql" -h "$pg_dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -Xq "$@"; }
services=(smtp postgresql web status nginx)

running() { [ -f "$run_dir/$1.pid" ] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null; }
# Is SERVICE up (one of $services)?
up() {
    case "$1" in
    postgresql) [ -f "$pg_dir/data/postmaster.pid" ] &&
                    kill -0 "$(head -1 "$pg_dir/data/postmaster.pid")" 2>/dev/null ;;
    nginx) [ -f "$run_dir/nginx/nginx.pid" ] && kill -0 "$(cat "$run_dir/nginx/nginx.pid")" 2>/dev/null ;;
    *) running "$1" ;;
    esac
}

port_free() { /usr/bin/python3 -c "import socket; socket.create_server(('127.0.0.1', $1)).close()" 2>/dev/null; }

need_port() { # port variable
    if ! port_free "$1"; then
        echo "port $1 is taken: set $2 to a free port" >&2
        exit 1
    fi
}

# The port and its variable of each service, to check them all before
# starting anything.
port_of() {
    case "$1" in
    smtp) echo "$smtp_port FAMILY_SMTP_PORT" ;;
    postgresql) echo "$port FAMILY_PG_PORT" ;;
    web) echo "$web_port FAMILY_WEB_PORT" ;;
    status) echo "$status_port FAMILY_STATUS_PORT" ;;
    nginx) echo "$nginx_port FAMILY_NGINX_PORT" ;;
    esac
}

wait_http() { # name url
    for _ in $(seq 100); do
        /usr/bin/python3 -c "import urllib.request as u; u.urlopen('$2', timeout=1)" 2>/dev/null && return
        sleep 0.1
    done
    echo "$1 did not answer $2; see $run_dir/$1.log" >&2
    exit 1
}

# A program in the background, its output in NAME.log, its pid in NAME.pid.
daemon() { # name command...
    local name=$1
    shift
    nohup "$@" >>"$run_dir/$name.log" 2>&1 &
    echo $! >"$run_dir/$name.pid"
}

# The staff account: its password is FAMILY_ADMIN_PASSWORD, or one made up
# the first time and kept in admin-password (mode 0600).
create_admin() {
    local file="$run_dir/admin-password" password=${FAMILY_ADMIN_PASSWORD:-}
    if [ -z "$password" ]; then
        [ -f "$file" ] || (umask 077 && /usr/bin/python3 -c \
            "import secrets; print(secrets.token_urlsafe(15))" >"$file")
        password=$(cat "$file")
    fi
    printf "%s\n" "$password" | FAMILY_WEB_DSN="host=$pg_dir port=$port dbname=family user=postgres" \
        "$web_bin" create-staff "$admin_email" 2>>"$run_dir/web.log"
}

start_smtp() {
    up smtp && return
    need_port "$smtp_port" FAMILY_SMTP_PORT
    daemon smtp /usr/bin/python3 "$top/scripts/smtp-sink.py" --port "$smtp_port" --dir "$mail_dir"
}

start_postgresql() {
    up postgresql || need_port "$port" FAMILY_PG_PORT
    "$top/scripts/cluster.sh" start "$pg_dir" "$port"
    psql -d family -v smtp_url="smtp://127.0.0.1:$smtp_port" -f "$top/sql/setup.sql"
    psql -d family -f "$top/sql/app.sql"
    psql -d family -f "$top/sql/status.sql"
    create_admin
}

start_web() {
    up web && return
    need_port "$web_port" FAMILY_WEB_PORT
    # nginx in front: the login throttle keys on the address nginx names.
    FAMILY_WEB_PORT=$web_port FAMILY_WEB_TRUST_PROXY=1 \
        FAMILY_WEB_DSN="host=$pg_dir port=$port dbname=family user=family_web" \
        daemon web "$web_bin"
    wait_http web "http://127.0.0.1:$web_port/readyz"
}

start_status() {
    up status && return
    need_port "$status_port" FAMILY_STATUS_PORT
    FAMILY_STATUS_PORT=$status_port FAMILY_STATUS_INTERVAL=$status_interval \
        FAMILY_STATUS_DSN="host=$pg_dir port=$port dbname=family user=family_status" \
        FAMILY_STATUS_WEB_URL="http://127.0.0.1:$web_port/readyz" \
        FAMILY_STATUS_NGINX_URL="http://127.0.0.1:$nginx_port/nginx/healthz" \
        FAMILY_STATUS_SMTP="127.0.0.1:$smtp_port" \
        daemon status "$status_bin"
    wait_http status "http://127.0.0.1:$status_port/healthz"
}

start_nginx() {
    up nginx && return
    need_port "$nginx_port" FAMILY_NGINX_PORT
    "$top/scripts/nginx.sh" start "$run_dir/nginx" "127.0.0.1:$nginx_port" \
        "127.0.0.1:$web_port" "127.0.0.1:$status_port"
    wait_http nginx "http://127.0.0.1:$nginx_port/nginx/healthz"
}

stop_pid() { # name: SIGTERM, then wait until it is gone
    local file="$run_dir/$1.pid" pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$file"
}

stop_one() {
    case "$1" in
    postgresql) "$top/scripts/cluster.sh" stop "$pg_dir" ;;
    nginx) "$top/scripts/nginx.sh" stop "$run_dir/nginx" ;;
    *) stop_pid "$1" ;;
    esac
}

# Stops the services this start started, when it fails half-way.
started=()
roll_back() {
    [ ${#started[@]} -eq 0 ] && return
    echo "start failed: stopping what it started (${started[*]})" >&2
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do stop_one "${started[i]}" 2>/dev/null || true; done
}

start() {
    mkdir -p "$run_dir"
    if [ -n "${1:-}" ]; then
        "start_$1"
        return
    fi
    local s down=() p var
    for s in "${services[@]}"; do up "$s" || down+=("$s"); done
    if [ ${#down[@]} -eq 0 ]; then
        echo "family is already up."
        summary
        return
    fi
    # Every port first: a taken one stops the start before anything runs.
    for s in "${down[@]}"; do
        read -r p var <<<"$(port_of "$s")"
        need_port "$p" "$var"
    done
    trap roll_back EXIT
    for s in "${down[@]}"; do
        started+=("$s")
        "start_$s"
    done
    trap - EXIT
    echo "family is up."
    summary
}

summary() {
    cat <<MSG
  PostgreSQL  127.0.0.1:$port and socket $pg_dir (database family, user postgres)
  psql        make psql   (or: $PGBIN/psql -h $pg_dir -p $port -U postgres family)
  checks      every 15 minutes by pg_cron; now: SELECT family.run_consistency_check();
  mail        the checks' reports land in $mail_dir/ (SMTP sink on 127.0.0.1:$smtp_port)
  REST API    http://127.0.0.1:$nginx_port/ through nginx (docs: /docs), or the service
              itself on 127.0.0.1:$web_port
  status      http://127.0.0.1:$nginx_port/status/ (checks every ${status_interval} s)
  staff       $admin_email, password in $run_dir/admin-password (or FAMILY_ADMIN_PASSWORD)
  logs        $run_dir/*.log, $run_dir/nginx/access.log, $run_dir/pg/postgres.log
MSG
}

stop() {
    if [ -n "${1:-}" ]; then
        stop_one "$1"
        return
    fi
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do stop_one "${services[i]}"; done
    echo "family is stopped."
}

check_service() {
    [ -z "${1:-}" ] && return
    for s in "${services[@]}"; do [ "$s" = "$1" ] && return; done
    echo "unknown service $1: one of ${services[*]}" >&2
    exit 2
}

case "${1:-}" in
start) check_service "${2:-}"; start "${2:-}" ;;
stop) check_service "${2:-}"; stop "${2:-}" ;;
run)
    start
    sleeper=
    trap '[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true; stop; exit 0' INT TERM
    echo "Press Ctrl-C to stop."
    # Wait for a signal; sleep in the background so the trap runs at once
    # (and is killed with it: nothing is left behind).
    while true; do sleep 3600 & sleeper=$!; wait $sleeper; done
    ;;
*)
    echo "usage: $0 start [SERVICE] | stop [SERVICE] | run   (SERVICE: ${services[*]})" >&2
    exit 2
    ;;
esac
