#!/usr/bin/env bash
# `make run`: serve the Luohu demo data with no setup — no database server, no root.
# Without RISKMAP_DATABASE_URL, riskmap keeps everything in one GeoPackage file
# (RISKMAP_GPKG, default ./riskmap.gpkg), which the first start creates with the demo
# dataset. Readings over MQTT when a broker answers on 127.0.0.1:1883 (or
# RISKMAP_MQTT_URL is set); over HTTP always. Serves on RISKMAP_ADDR (default :8080).
# For PostGIS (production), see `make run-postgis` and the README's "Production".
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p bin .tmp
go build -o bin/riskmap ./cmd/riskmap
if [ -z "${RISKMAP_MQTT_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    export RISKMAP_MQTT_URL=tcp://127.0.0.1:1883
fi
[ -n "${RISKMAP_MQTT_URL:-}" ] || echo "no MQTT broker on 127.0.0.1:1883: readings over HTTP only"
export RISKMAP_SPOOL_DIR=${RISKMAP_SPOOL_DIR:-.tmp/spool}
# A write token for POST /api/v1/readings, alerts and signals, made once, kept out of git.
if [ -z "${RISKMAP_WRITE_TOKEN:-}" ] && [ -z "${RISKMAP_WRITE_TOKEN_FILE:-}" ]; then
    [ -s .tmp/write-token ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > .tmp/write-token)
    export RISKMAP_WRITE_TOKEN_FILE=.tmp/write-token
fi
# An editor token to sign in on the wall map (登录 Sign in), made once per store with
# `riskmap token create`, kept out of git. A new GeoPackage gets a new one.
if [ -z "${RISKMAP_DATABASE_URL:-}" ]; then
    gpkg=${RISKMAP_GPKG:-riskmap.gpkg}
    [ -e "$gpkg" ] || rm -f .tmp/editor-token
    [ -e "$gpkg" ] || echo "no $gpkg yet: creating it, then the Luohu demo dataset (about 15 s)"
    bin/riskmap migrate >/dev/null || true
fi
if [ ! -s .tmp/editor-token ]; then
    if tok=$(bin/riskmap token create --role editor --name "demo editor" 2>/dev/null); then
        (umask 077; echo "$tok" > .tmp/editor-token)
    else
        echo "could not make an editor token now (is another riskmap serve holding the store?)"
    fi
fi
addr=${RISKMAP_ADDR:-:8080}
case "$addr" in :*) addr="localhost$addr" ;; esac
echo "serving the demo data: open the wall map at http://$addr/ (API: http://$addr/api/v1/layers)"
[ -s .tmp/editor-token ] && echo "sign in on the page with the editor token in .tmp/editor-token"
echo "write token: ${RISKMAP_WRITE_TOKEN_FILE:-\$RISKMAP_WRITE_TOKEN}; a storm drill in another terminal:"
echo "  RISKMAP_WRITE_TOKEN=\$(cat ${RISKMAP_WRITE_TOKEN_FILE:-.tmp/write-token}) bin/riskmap simulate --scenario typhoon --speed 60x --server http://$addr"
exec bin/riskmap serve
