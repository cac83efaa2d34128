#!/usr/bin/env bash
# Make sure a local PostgreSQL with PostGIS is installed and running on 127.0.0.1:5432.
# Installs Debian's postgresql-$PG_MAJOR-postgis-3 (and PostgreSQL itself) when missing;
# that needs root. Used by `make test` and `make run`.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "postgis.sh: $* missing and not root: install with: sudo apt-get install -y $*" >&2
        exit 1
    fi
    echo "postgis.sh: installing $* (apt-get)..."
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "$@"; then
        apt-get update -q
        apt-get install -y -q "$@"
    fi
}

missing=()
[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] || missing+=("postgresql-$PG_MAJOR")
[ -f "/usr/share/postgresql/$PG_MAJOR/extension/postgis.control" ] || missing+=("postgresql-$PG_MAJOR-postgis-3")
command -v psql >/dev/null || missing+=("postgresql-client-$PG_MAJOR")
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    echo "postgis.sh: starting PostgreSQL $PG_MAJOR..."
    if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
        pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
        sleep 1
    done
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        echo "postgis.sh: PostgreSQL is not answering on $PG_HOST:$PG_PORT" >&2
        exit 1
    fi
fi
