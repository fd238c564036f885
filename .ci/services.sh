#!/bin/sh
# Start PostgreSQL and Redis on loopback for the two-backend tests (installed by `make services`).
# Idempotent: safe to run when they are already up. Prints nothing on success but the settings to export.
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
VERSION=$(ls /etc/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$VERSION" main start
fi
for i in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
$SUDO runuser -u postgres -- psql -q -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname='faqbot'" | grep -q 1 ||
  $SUDO runuser -u postgres -- psql -q -d postgres -c "CREATE ROLE faqbot LOGIN PASSWORD 'faqbot' CREATEDB"
$SUDO runuser -u postgres -- psql -q -d postgres -tc "SELECT 1 FROM pg_database WHERE datname='faqbot_test'" | grep -q 1 ||
  $SUDO runuser -u postgres -- createdb -O faqbot faqbot_test
if ! redis-cli -p 6390 ping >/dev/null 2>&1; then
  redis-server --port 6390 --bind 127.0.0.1 --daemonize yes --save '' --appendonly no >/dev/null
fi
for i in $(seq 1 30); do
  redis-cli -p 6390 ping >/dev/null 2>&1 && break
  sleep 0.5
done
