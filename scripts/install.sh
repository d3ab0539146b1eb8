#!/usr/bin/env bash
# Installs the extension into PostgreSQL 15 (system directories: as root, or
# with sudo) when what is built differs from what is installed; otherwise
# does nothing and asks for nothing. DESTDIR (make install DESTDIR=DIR)
# installs under DIR instead, as PGXS does.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pg_config=/usr/lib/postgresql/15/bin/pg_config
destdir=${DESTDIR:-}
lib=$destdir$($pg_config --pkglibdir)
share=$destdir$($pg_config --sharedir)/extension
same() { cmp -s "$1" "$2"; }
current=1
same "$top/extension/family.so" "$lib/family.so" || current=0
for f in "$top"/extension/family.control "$top"/extension/sql/family--*.sql; do
    same "$f" "$share/$(basename "$f")" || current=0
done
[ $current = 1 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || [ -n "$destdir" ] || sudo=sudo
log="$top/.run/install.log"
if ! $sudo make -C "$top/extension" install PG_CONFIG=$pg_config DESTDIR="$destdir" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
echo "installed the extension into $lib"
