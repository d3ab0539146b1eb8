#!/usr/bin/env bash
# make bench: a cluster of its own under .run/bench (durable settings, like a
# real one), a fresh 1M-person genealogy, then every benchmark side by side.
#   FAMILY_BENCH_PERSONS  size of the genealogy (default 1000000)
#   FAMILY_BENCH_REUSE=1  keep the genealogy loaded by the previous run
#   FAMILY_BENCH_ONLY=check  only the consistency check's benchmarks
#   FAMILY_BENCH_ONLY=import only the GEDCOM import and export (against plain COPY)
#   FAMILY_BENCH_ONLY=kinship   only kinship on random pairs
#   FAMILY_BENCH_SKIP="import kinship"  leave these out (at 10M persons, say)
#   FAMILY_BENCH_DIR      the cluster's directory (default .run/bench): one
#                         per genealogy size keeps each for FAMILY_BENCH_REUSE
# Then the REST service's benchmarks (bench/web.sh, a cluster of their own).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="${FAMILY_BENCH_DIR:-$top/.run/bench}"
PGBIN=/usr/lib/postgresql/15/bin
port=$("$top/scripts/free-port.sh")
"$top/scripts/cluster.sh" stop "$dir" 2>/dev/null || true
# A database server's memory: the 1M-person table and its indexes fit.
FAMILY_PG_CONF="shared_buffers = 2GB
max_wal_size = 4GB" "$top/scripts/cluster.sh" start "$dir" "$port"
trap '"$top/scripts/cluster.sh" stop "$dir"' EXIT
"$PGBIN/psql" -Xq -h "$dir" -p "$port" -U postgres family -c "CREATE EXTENSION IF NOT EXISTS family" \
    -c "ALTER EXTENSION family UPDATE"
reuse=()
[ -n "${FAMILY_BENCH_REUSE:-}" ] && reuse=(--reuse)
[ -n "${FAMILY_BENCH_ONLY:-}" ] && reuse+=(--only "$FAMILY_BENCH_ONLY")
for skip in ${FAMILY_BENCH_SKIP:-}; do reuse+=(--skip "$skip"); done
/usr/bin/python3 "$top/bench/bench.py" "host=$dir port=$port user=postgres dbname=family" \
    --persons "${FAMILY_BENCH_PERSONS:-1000000}" "${reuse[@]}"
if [ -z "${FAMILY_BENCH_ONLY:-}" ]; then
    "$top/bench/web.sh"
fi
