#!/usr/bin/env bash
# `make run-postgis`: serve the Luohu demo data from PostGIS. Without
# RISKMAP_DATABASE_URL it prepares a local PostGIS database "riskmap" (installing
# PostGIS when missing: root or sudo), migrates it, seeds the demo dataset on first
# run, and serves on RISKMAP_ADDR (default :8080).
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
# Sensors: readings over MQTT from the local Mosquitto (installed when missing), and a
# write token for POST /api/v1/readings, alerts and signals, made once, kept out of git.
if [ -z "${RISKMAP_MQTT_URL:-}" ]; then
    RISKMAP_MQTT_URL=$(./scripts/mqtt.sh) && export RISKMAP_MQTT_URL || echo "no MQTT broker: readings over HTTP only"
fi
export RISKMAP_SPOOL_DIR=${RISKMAP_SPOOL_DIR:-.tmp/spool}
if [ -z "${RISKMAP_WRITE_TOKEN:-}" ] && [ -z "${RISKMAP_WRITE_TOKEN_FILE:-}" ]; then
    mkdir -p .tmp
    [ -s .tmp/write-token ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > .tmp/write-token)
    export RISKMAP_WRITE_TOKEN_FILE=.tmp/write-token
fi
addr=${RISKMAP_ADDR:-:8080}
case "$addr" in :*) addr="localhost$addr" ;; esac
echo "serving the demo data: open the wall map at http://$addr/ (API: http://$addr/api/v1/layers)"
echo "write token: ${RISKMAP_WRITE_TOKEN_FILE:-\$RISKMAP_WRITE_TOKEN}; a storm drill in another terminal:"
echo "  RISKMAP_WRITE_TOKEN=\$(cat ${RISKMAP_WRITE_TOKEN_FILE:-.tmp/write-token}) bin/riskmap simulate --scenario typhoon --speed 60x --server http://$addr"
exec bin/riskmap serve
