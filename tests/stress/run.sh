#!/usr/bin/env bash
# Runs the stress test against the cluster in PGHOST/PGPORT, in its own
# database; writes its report to $1.
set -uo pipefail
log=${1:-/dev/stdout}
PGBIN=/usr/lib/postgresql/15/bin
db=family_stress
"$PGBIN/psql" -Xq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >"$log" 2>&1 || exit 1
"$PGBIN/psql" -Xq -d $db -c "CREATE EXTENSION family" >>"$log" 2>&1 || exit 1
/usr/bin/python3 "$(dirname "$0")/stress.py" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db" \
    --clients "${FAMILY_STRESS_CLIENTS:-4}" --seconds "${FAMILY_STRESS_SECONDS:-30}" >>"$log" 2>&1
