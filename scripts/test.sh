#!/usr/bin/env bash
# Runs every test suite against servers it starts itself, then prints one
# summary line: "N passed, N failed". Exits non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
test_dir="$top/.run/test"
log_dir="$test_dir/logs"
PGBIN=/usr/lib/postgresql/15/bin

passed=0
failed=0
failed_suites=()
count() { # suite passed failed
    passed=$((passed + $2))
    failed=$((failed + $3))
    [ "$3" -eq 0 ] || failed_suites+=("$1")
}

"$top/scripts/cluster.sh" stop "$test_dir" 2>/dev/null
rm -rf "$test_dir"
mkdir -p "$log_dir"
port=$("$top/scripts/free-port.sh")
export PGHOST="$test_dir" PGPORT="$port" PGUSER=postgres
FAMILY_PG_FAST=1 "$top/scripts/cluster.sh" start "$test_dir" "$port" || { echo "0 passed, 1 failed"; exit 1; }
trap '"$top/scripts/cluster.sh" stop "$test_dir"' EXIT

# pg_regress and pg_isolation_regress (make installcheck runs both).
echo "== pg_regress and isolation"
regress_out="$log_dir/installcheck.log"
make -s -C extension installcheck >"$regress_out" 2>&1
regress_rc=$?
cat "$regress_out"
# pg_regress ends each run with "All N tests passed." or "M of N tests failed."
while read -r line; do
    if [[ $line =~ All\ ([0-9]+)\ tests\ passed ]]; then
        count regress "${BASH_REMATCH[1]}" 0
    elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed ]]; then
        count regress $((BASH_REMATCH[2] - BASH_REMATCH[1])) "${BASH_REMATCH[1]}"
    fi
done < <(grep -E "tests passed|tests failed" "$regress_out")
if [ $regress_rc -ne 0 ]; then
    for d in extension/regression.diffs extension/output_iso/regression.diffs; do
        [ -f "$d" ] && { echo "== $d"; cat "$d"; }
    done
    grep -qE "tests (passed|failed)" "$regress_out" || count regress 0 1
fi

# A Boost.Test binary: "N test cases out of M passed|failed" counts.
boost_suite() { # suite binary
    local out="$log_dir/$1.log" rc total ok
    "$2" --color_output=no --report_level=short >"$out" 2>&1
    rc=$?
    cat "$out"
    if [[ $(cat "$out") =~ ([0-9]+)\ test\ cases?\ out\ of\ ([0-9]+)\ (passed|failed) ]]; then
        total=${BASH_REMATCH[2]}
        ok=$(grep -oE "[0-9]+ test cases? out of" "$out" | head -1 | grep -oE "^[0-9]+")
        if [ $rc -eq 0 ]; then count "$1" "$total" 0; else count "$1" "${ok:-0}" $((total - ${ok:-0})); fi
    else
        count "$1" 0 1
    fi
}

# Boost.Test unit tests of the pure C++ core, then of the web service's parts.
echo "== unit tests"
boost_suite unit "${FAMILY_UNIT_BIN:-extension/test/unit/run-unit-tests}"
echo "== web unit tests"
boost_suite web-unit "${FAMILY_WEB_UNIT_BIN:-web/build/web-unit-tests}"
echo "== status unit tests"
boost_suite status-unit "${FAMILY_STATUS_UNIT_BIN:-web/build/status-unit-tests}"

# An end-to-end suite: its last line is "NAME: N passed, M failed".
suite() { # name command...
    local name=$1 out="$log_dir/$1.log" rc
    shift
    "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    if [[ $(tail -1 "$out") =~ $name:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        count "$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
        [ $rc -eq 0 ] || [ "${BASH_REMATCH[2]}" -gt 0 ] || count "$name" 0 1
    else
        count "$name" 0 1
    fi
}

# The consistency check end to end: workers, pg_cron, a real SMTP server.
echo "== consistency check"
suite check /usr/bin/python3 tests/check/check_test.py

# Real genealogies (Debian's packages) through import_gedcom, against an
# oracle written from SPEC 5b.
echo "== gedcom"
suite gedcom /usr/bin/python3 tests/gedcom/gedcom_test.py

# The REST service end to end: the real binary against this cluster.
echo "== web"
suite web /usr/bin/python3 tests/web/web_test.py

# The status service end to end, against fakes it can break at will.
echo "== status"
suite status /usr/bin/python3 tests/status/status_test.py

# The whole stack as make start runs it (its own cluster and ports): nginx
# in front, /status/ seeing services go and come back, the page in Chromium.
echo "== stack"
suite stack /usr/bin/python3 tests/stack/stack_test.py

# docker-compose.yml and docker/, without a Docker daemon.
echo "== compose"
suite compose bash tests/compose/compose_test.sh

# The services built with AddressSanitizer and UBSan, through their
# end-to-end suites once.
echo "== sanitize"
suite sanitize scripts/sanitize.sh

# The fuzzers of what parses untrusted bytes, about a minute in all
# (make fuzz runs them longer).
echo "== fuzz"
suite fuzz scripts/fuzz.sh "${FAMILY_FUZZ_SECONDS:-30}"

# Randomized concurrent stress test with a from-scratch oracle.
echo "== stress"
if tests/stress/run.sh "$log_dir/stress.log"; then count stress 1 0; else count stress 0 1; fi
cat "$log_dir/stress.log"

echo
[ ${#failed_suites[@]} -eq 0 ] || echo "failing suites: ${failed_suites[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
