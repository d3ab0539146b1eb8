# shellcheck shell=bash
# Sourced by the entrypoints. secret NAME prints the value of variable NAME,
# or the contents of the file named by NAME_FILE (Docker secrets: e.g.
# FAMILY_ADMIN_PASSWORD_FILE=/run/secrets/admin_password), without the
# trailing newline.
secret() {
    local file_var="${1}_FILE"
    if [ -n "${!file_var:-}" ]; then
        local value
        value=$(cat "${!file_var}")
        printf "%s" "$value"
    else
        printf "%s" "${!1:-}"
    fi
}

# need_secret NAME: secret NAME, or exit naming what to set.
need_secret() {
    local value
    value=$(secret "$1")
    if [ -z "$value" ]; then
        echo "$(basename "$0"): set $1 (or ${1}_FILE, a file holding it)" >&2
        exit 1
    fi
    printf "%s" "$value"
}

# generated_secret FILE MODE: prints the secret kept in FILE, made up (24
# random bytes, base64url) and written with MODE the first time.
generated_secret() {
    if [ ! -s "$1" ]; then
        local tmp="$1.new"
        (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$tmp")
        chmod "$2" "$tmp"
        mv "$tmp" "$1"
    fi
    local value
    value=$(cat "$1")
    printf "%s" "$value"
}
