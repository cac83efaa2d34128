#!/usr/bin/env bash
# `make run`: serve the Luohu demo data. Without RISKMAP_DATABASE_URL it prepares a
# local PostGIS database "riskmap" (installing PostGIS when missing), migrates it,
# seeds the demo dataset on first run, and serves on RISKMAP_ADDR (default :8080).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${RISKMAP_DATABASE_URL:-}" ]; then
    ./scripts/postgis.sh
    ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
    if [ "$(psql "$ADMIN_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = 'riskmap'")" != 1 ]; then
        psql "$ADMIN_URL" -qc "CREATE DATABASE riskmap"
    fi
    export RISKMAP_DATABASE_URL=postgres://postgres@127.0.0.1:5432/riskmap?sslmode=disable
fi

mkdir -p bin
go build -o bin/riskmap ./cmd/riskmap
bin/riskmap migrate
bin/riskmap seed --demo --if-empty
addr=${RISKMAP_ADDR:-:8080}
case "$addr" in :*) addr="localhost$addr" ;; esac
echo "serving the demo data: open http://$addr/api/v1/layers"
exec bin/riskmap serve
