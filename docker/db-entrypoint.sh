#!/bin/bash
# The database container: PostgreSQL 15 with pg_cron and the family
# extension, its cluster in $PGDATA (the compose file's named volume).
# At every start, before serving: the image's settings and pg_hba.conf are
# written (a new image changes them on an old volume too), then, on a
# server listening on a private socket only (so that the health check and
# the other services wait), sql/setup.sql, sql/app.sql and sql/status.sql
# are applied (they are idempotent: ALTER EXTENSION family UPDATE brings an
# old volume up to the image's extension) and the service roles' passwords
# set.
# The passwords of the roles family_web and family_status are made up at the
# first start and kept in the secrets volumes the services mount
# (/var/lib/family/secrets/web/db-password, .../status/db-password: mode
# 0640, group family-web or family-status, so that only that service's user
# reads it). Delete one and restart to change it.
#   FAMILY_SMTP_URL (smtp://smtp:2525): where the checks' reports go
#   FAMILY_MAIL_TO (dba@localhost): who gets them
set -euo pipefail
# shellcheck source=docker/secret.sh
. /usr/local/bin/secret.sh
web_password=$(generated_secret /var/lib/family/secrets/web/db-password 0640)
status_password=$(generated_secret /var/lib/family/secrets/status/db-password 0640)
sql=/usr/local/share/family/sql
init_socket=$(mktemp -d)

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # Local connections: the OS user postgres as the superuser (peer);
    # network connections: passwords (SCRAM).
    initdb -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8
    echo "include_if_exists = 'family.conf'" >>"$PGDATA/postgresql.conf"
fi

cat >"$PGDATA/family.conf" <<CONF
# Written by docker/db-entrypoint.sh at every start: edit the image, not this.
listen_addresses = '*'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'family'
# pg_cron runs each job over a connection of its own: the unix socket, as
# the OS user postgres (peer), so that no password is stored for it.
cron.host = '/var/run/postgresql'
# The consistency check runs a coordinator and one worker per CPU.
max_worker_processes = 16
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
# A wait on a lock longer than deadlock_timeout (1 s) is logged
# (docs/load-test.md: lock waits).
log_lock_waits = on
CONF

cat >"$PGDATA/pg_hba.conf" <<HBA
# Written by docker/db-entrypoint.sh at every start: edit the image, not this.
# The superuser: only the OS user postgres in this container (docker-compose
# exec db psql family; pg_cron's jobs). Nobody else logs in locally.
local   all      postgres                          peer
# The services, from the compose network, with their passwords.
host    family   family_web,family_status  samenet  scram-sha-256
HBA

pg_ctl -D "$PGDATA" -w -t 120 \
    -o "-c listen_addresses='' -c unix_socket_directories='$init_socket'" start
psql() { command psql -h "$init_socket" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
if [ -z "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'family'")" ]; then
    psql -d postgres -c "CREATE DATABASE family"
fi
psql -d family -v smtp_url="${FAMILY_SMTP_URL:-smtp://smtp:2525}" -f "$sql/setup.sql"
psql -d family -f "$sql/app.sql"
psql -d family -f "$sql/status.sql"
# Variables are interpolated in a script, not in -c: hence standard input.
psql -d family -v web="$web_password" -v status="$status_password" \
    -v mail_to="${FAMILY_MAIL_TO:-dba@localhost}" <<'SQL'
ALTER ROLE family_web PASSWORD :'web';
ALTER ROLE family_status PASSWORD :'status';
ALTER DATABASE family SET family.mail_to = :'mail_to';
SQL
pg_ctl -D "$PGDATA" -m fast -w stop
rmdir "$init_socket"
unset FAMILY_WEB_DB_PASSWORD FAMILY_STATUS_DB_PASSWORD web_password status_password

exec postgres -D "$PGDATA" "$@"
