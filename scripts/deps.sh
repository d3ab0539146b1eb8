#!/usr/bin/env bash
# Installs the Debian packages the project needs, if any is missing.
set -euo pipefail
packages=(build-essential postgresql-15 postgresql-server-dev-15 postgresql-15-cron
          libboost-test-dev gcovr python3 python3-psycopg2 libcurl4-openssl-dev python3-aiosmtpd
          libpqxx-dev libpistache-dev nlohmann-json3-dev libsodium-dev clang libclang-rt-14-dev
          wrk nginx-light chromium chromium-driver python3-selenium fonts-dejavu-core docker-compose podman runc golang-github-containernetworking-plugin-dnsname debootstrap python3-yaml tesseract-ocr tesseract-ocr-eng)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing: ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# The Debian postgresql-15 package starts a system cluster on 5432; we never use it.
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
