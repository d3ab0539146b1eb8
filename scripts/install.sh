#!/usr/bin/env bash
# Installs the extension into PostgreSQL 15 (system directories: as root, or
# with sudo) when what is built differs from what is installed; otherwise
# does nothing and asks for nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pg_config=/usr/lib/postgresql/15/bin/pg_config
lib=$($pg_config --pkglibdir)
share=$($pg_config --sharedir)/extension
same() { cmp -s "$1" "$2"; }
current=1
same "$top/extension/family.so" "$lib/family.so" || current=0
for f in "$top"/extension/family.control "$top"/extension/sql/family--*.sql; do
    same "$f" "$share/$(basename "$f")" || current=0
done
[ $current = 1 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
log="$top/.run/install.log"
if ! $sudo make -C "$top/extension" install PG_CONFIG=$pg_config >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
echo "installed the extension into $lib"
