#!/usr/bin/env bash
# make bench-web: the REST service under wrk (bench/web.py), against a
# throwaway cluster of its own under .run/bench-web with the extension and
# sql/app.sql, next to bench/trivial.cpp (the framework's ceiling).
# Expects web/build/family-web built (make bench-web builds it) and wrk.
#   FAMILY_BENCH_WEB_SECONDS  seconds per wrk round (default 5)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/.run/bench-web"
build="$top/build/bench"
PGBIN=/usr/lib/postgresql/15/bin
service="$top/web/build/family-web"

command -v wrk >/dev/null || { echo "bench/web.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$service" ] || { echo "bench/web.sh: build $service first (make -C web all)" >&2; exit 1; }
mkdir -p "$build" "$top/.run"
# One run at a time: a second would stop the first one's cluster.
exec 9>"$top/.run/bench-web.lock"
flock -n 9 || { echo "bench/web.sh: another run is in progress" >&2; exit 1; }
g++ -std=c++17 -O2 -Wall -Wextra -Werror -pthread -o "$build/trivial" "$top/bench/trivial.cpp" \
    -lpistache -pthread

"$top/scripts/cluster.sh" stop "$dir" 2>/dev/null || true
rm -rf "$dir"
port=$("$top/scripts/free-port.sh")
FAMILY_PG_FAST=1 "$top/scripts/cluster.sh" start "$dir" "$port" 9>&-  # the lock is ours only
# On the way out: the benchmark (it stops its servers), then the cluster;
# its directory stays when the run failed (logs/ has the servers' stderr).
py=
finish() {
    local status=$?
    if [ -n "$py" ]; then kill -TERM "$py" 2>/dev/null || true; wait "$py" 2>/dev/null || true; fi
    "$top/scripts/cluster.sh" stop "$dir" || true
    [ "$status" = 0 ] && rm -rf "$dir"
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$PGBIN/psql" -Xq -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres family \
    -c "SET client_min_messages = warning" -c "CREATE EXTENSION family" -f "$top/sql/app.sql"
mkdir -p "$dir/logs"
BENCH_WEB_LOGS="$dir/logs" /usr/bin/python3 "$top/bench/web.py" \
    --dsn "host=$dir port=$port user=postgres dbname=family" \
    --service-dsn "host=$dir port=$port user=family_web dbname=family" \
    --service "$service" --trivial "$build/trivial" --seconds "${FAMILY_BENCH_WEB_SECONDS:-5}" &
py=$!
wait "$py"
py=
