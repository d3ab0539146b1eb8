#!/usr/bin/env bash
# make loadtest: the k6 mix (k6/load.js) played with wrk, against a stack of
# its own (scripts/stack.sh with FAMILY_RUN_DIR=.run/loadtest and free ports:
# PostgreSQL with a background genealogy, the SMTP sink, family-web, nginx).
#   loadtest/run.sh [PART...]   PART: compare long dangers (default: compare long)
#     compare  the mix through nginx vs straight to family-web (target: nginx
#              costs <= 25% of the throughput)
#     long     the mix through nginx for LOADTEST_MINUTES (default 10); any
#              error fails
#     dangers  the measurements behind docs/load-test.md
# Settings: LOADTEST_PERSONS (background genealogy, default 200000),
# LOADTEST_DIR (default .run/loadtest, kept for its logs), and those of
# loadtest/loadtest.py (LOADTEST_MINUTES, LOADTEST_CONNECTIONS, ...).
# Expects the extension installed and web/build/family-web built (make
# loadtest does both).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(compare long)
PGBIN=/usr/lib/postgresql/15/bin

command -v wrk >/dev/null || { echo "loadtest: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$top/web/build/family-web" ] ||
    { echo "loadtest: build web/build/family-web first (make -C web all)" >&2; exit 1; }
mkdir -p "$top/.run"
# One run at a time: a second would stop the first one's stack.
exec 9>"$top/.run/loadtest.lock"
flock -n 9 || { echo "loadtest: another run is in progress" >&2; exit 1; }

export FAMILY_RUN_DIR=${LOADTEST_DIR:-$top/.run/loadtest}
"$top/scripts/stack.sh" stop >/dev/null 2>&1 || true  # a run killed before its trap
rm -rf "$FAMILY_RUN_DIR"
mkdir -p "$FAMILY_RUN_DIR"

# Five distinct free ports.
ports=()
while [ ${#ports[@]} -lt 5 ]; do
    p=$("$top/scripts/free-port.sh")
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
export FAMILY_PG_PORT=${ports[0]} FAMILY_WEB_PORT=${ports[1]} FAMILY_STATUS_PORT=${ports[2]} \
    FAMILY_NGINX_PORT=${ports[3]} FAMILY_SMTP_PORT=${ports[4]}
export FAMILY_ADMIN_EMAIL=loadtest-staff@loadtest.example
FAMILY_ADMIN_PASSWORD=$(/usr/bin/python3 -c "import secrets; print(secrets.token_urlsafe(15))")
export FAMILY_ADMIN_PASSWORD
# Waits on a lock longer than deadlock_timeout (1 s) go to postgres.log.
export FAMILY_PG_CONF="log_lock_waits = on"

trap '"$top/scripts/stack.sh" stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

"$top/scripts/stack.sh" start smtp
"$top/scripts/stack.sh" start postgresql
psql() { "$PGBIN/psql" -h "$FAMILY_RUN_DIR/pg" -p "$FAMILY_PG_PORT" -U postgres -d family \
    -v ON_ERROR_STOP=1 -Xq "$@"; }

# A background genealogy, so that tables and indexes have a realistic size
# and the consistency check real work. It brings its own ids from 1 (the
# staff account stack.sh made is no person: nothing is in the way).
persons=${LOADTEST_PERSONS:-200000}
if [ "$persons" -gt 0 ]; then
    echo "loadtest: loading a genealogy of about $persons persons"
    /usr/bin/python3 "$top/bench/genealogy.py" "$persons" 2>/dev/null | psql >/dev/null
    psql -c "VACUUM ANALYZE"
fi

"$top/scripts/stack.sh" start web
"$top/scripts/stack.sh" start nginx

/usr/bin/python3 "$top/loadtest/loadtest.py" \
    --web "http://127.0.0.1:$FAMILY_WEB_PORT" --nginx "http://127.0.0.1:$FAMILY_NGINX_PORT" \
    --dsn "host=$FAMILY_RUN_DIR/pg port=$FAMILY_PG_PORT dbname=family user=postgres" \
    --run-dir "$FAMILY_RUN_DIR" \
    --staff-email "$FAMILY_ADMIN_EMAIL" --staff-password "$FAMILY_ADMIN_PASSWORD" \
    seed "${parts[@]}"
