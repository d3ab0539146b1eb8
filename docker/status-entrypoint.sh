#!/bin/bash
# family-status in its container: the database password from
# FAMILY_DB_PASSWORD (or FAMILY_DB_PASSWORD_FILE) reaches libpq as
# PGPASSWORD, so that FAMILY_STATUS_DSN carries none.
set -euo pipefail
# shellcheck source=docker/secret.sh
. /usr/local/bin/secret.sh
PGPASSWORD=$(need_secret FAMILY_DB_PASSWORD)
export PGPASSWORD
exec family-status "$@"
