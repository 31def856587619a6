#!/usr/bin/env bash
# Runs a command inside the real components the test suite needs:
#   - PostgreSQL 15 (the Debian cluster, started if it is not running), with a role and a
#     database for the tests; its URL is exported as FIELDKIT_TEST_PG_URL;
#   - a private D-Bus session with gnome-keyring's Secret Service unlocked, in a throwaway
#     HOME so no developer keyring is touched;
#   - Qt on the offscreen platform.
# FIELDKIT_REQUIRE_REAL=1 tells the test suite that a missing component is a failure, never a skip.
#
# `make run` uses it too, with FIELDKIT_NO_POSTGRES=1 (the demo server runs on SQLite) and
# FIELDKIT_WITH_DISPLAY=1 (the app opens on the real display instead of offscreen).
set -euo pipefail

die() { echo "with-services: $*" >&2; exit 3; }

start_postgres() {
  command -v pg_lsclusters >/dev/null || die "PostgreSQL is not installed (make system-deps installs it)."
  local status
  status=$(pg_lsclusters --no-header 2>/dev/null | awk '$1=="15" && $2=="main" {print $4}')
  [ -n "$status" ] || die "PostgreSQL cluster 15/main does not exist."
  if [ "$status" != "online" ]; then
    pg_ctlcluster --skip-systemctl-redirect 15 main start || die "PostgreSQL 15/main did not start."
  fi
  for _ in $(seq 1 50); do
    su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.2
  done
  su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 || die "PostgreSQL does not answer."
  su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fieldkit_test') THEN
    CREATE ROLE fieldkit_test LOGIN PASSWORD 'fieldkit_test' CREATEDB;
  END IF;
END $$;
SQL
  if ! su postgres -c "psql -Atqc \"select 1 from pg_database where datname='fieldkit_test'\"" | grep -q 1; then
    su postgres -c "createdb -O fieldkit_test fieldkit_test"
  fi
  export FIELDKIT_TEST_PG_URL="postgresql+psycopg://fieldkit_test:fieldkit_test@127.0.0.1:5432/fieldkit_test"
  export FIELDKIT_TEST_PG_ADMIN_URL="postgresql+psycopg://fieldkit_test:fieldkit_test@127.0.0.1:5432/postgres"
}

if [ "${FIELDKIT_NO_POSTGRES:-0}" != 1 ]; then
  start_postgres
fi

command -v dbus-run-session >/dev/null || die "dbus-run-session is missing (make system-deps installs dbus)."
command -v gnome-keyring-daemon >/dev/null || die "gnome-keyring-daemon is missing (make system-deps installs gnome-keyring)."

KEYRING_HOME=$(mktemp -d -t fieldkit-keyring-XXXXXX)
trap 'rm -rf "$KEYRING_HOME"' EXIT
mkdir -p "$KEYRING_HOME/run" "$KEYRING_HOME/share" "$KEYRING_HOME/config"
chmod 700 "$KEYRING_HOME/run"

export FIELDKIT_REQUIRE_REAL=1
if [ "${FIELDKIT_WITH_DISPLAY:-0}" != 1 ]; then
  export QT_QPA_PLATFORM=offscreen
fi
export FIELDKIT_KEYRING_HOME="$KEYRING_HOME"

# The keyring's own password only protects this throwaway test keyring.
exec env HOME="$KEYRING_HOME" XDG_DATA_HOME="$KEYRING_HOME/share" \
  XDG_CONFIG_HOME="$KEYRING_HOME/config" XDG_RUNTIME_DIR="$KEYRING_HOME/run" \
  dbus-run-session -- bash -c '
    printf "fieldkit-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 \
      || { echo "with-services: gnome-keyring did not start" >&2; exit 3; }
    exec "$@"' bash "$@"
