#!/usr/bin/env bash
# Line coverage of all our C++ under the test suites: builds a --coverage copy
# of the extension and its unit tests (installed) and of the web service and
# its unit tests (web/build-cov), runs scripts/test.sh with them, and reports
# with gcovr. Fails under 100%. Reinstalls the normal build at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cov="$top/build/coverage"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
flags=(FAMILY_CXXFLAGS="--coverage -O0" FAMILY_LDFLAGS="--coverage" with_llvm=no)

rm -rf "$cov"
mkdir -p "$cov"
cp -r "$top/extension" "$cov/"
make -s -C "$cov/extension" clean >/dev/null
make -s -C "$cov/extension" "${flags[@]}"
make -s -C "$cov/extension/test/unit" clean >/dev/null
make -s -C "$cov/extension/test/unit" "${flags[@]}"
# Backends run as the cluster's user and write their .gcda files here.
[ "$(id -u)" = 0 ] && chown -R postgres: "$cov"
$sudo make -s -C "$cov/extension" install "${flags[@]}" >/dev/null
make -s -C "$top/web" COVERAGE=1 all unit
find "$top/web/build-cov" -name "*.gcda" -delete

set +e
FAMILY_UNIT_BIN="$cov/extension/test/unit/run-unit-tests" \
    FAMILY_WEB_UNIT_BIN="$top/web/build-cov/web-unit-tests" \
    FAMILY_WEB_BIN="$top/web/build-cov/family-web" \
    FAMILY_STATUS_UNIT_BIN="$top/web/build-cov/status-unit-tests" \
    FAMILY_STATUS_BIN="$top/web/build-cov/family-status" "$top/scripts/test.sh"
tests_rc=$?
set -e

$sudo make -s -C "$top/extension" install >/dev/null
mkdir -p "$top/coverage"
gcovr --root "$top" --filter "$cov/extension/src/" --filter "$top/web/src/" \
    --filter "$top/web/status/src/" \
    --html-details "$top/coverage/index.html" --txt "$top/coverage/coverage.txt" \
    --print-summary --fail-under-line 100 "$cov/extension" "$top/web/build-cov" && gcovr_rc=0 || gcovr_rc=$?
cat "$top/coverage/coverage.txt"
[ $tests_rc -eq 0 ] && [ $gcovr_rc -eq 0 ]
