#!/usr/bin/env bash
# `make test`: everything CI runs. Makes sure PostGIS, Mosquitto and GDAL are there, creates a throwaway
# database, points RISKMAP_TEST_DATABASE_URL at it, and runs gofmt, go vet,
# staticcheck and the tests with the race detector. Fails if any test was skipped:
# under `make test` every PostGIS test must really run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/postgis.sh
# Chromium and e2e/node_modules for the real-browser test (e2e/), which skips without
# RISKMAP_CHROMIUM; under make test it must run.
chromium=$(./scripts/browser.sh)
export RISKMAP_CHROMIUM="$chromium"
# GDAL's ogrinfo (and GeoPackage validator) for the test that opens the embedded
# store's file with GDAL (store/gpkg), which skips without RISKMAP_OGRINFO.
RISKMAP_OGRINFO=$(./scripts/gdal.sh)
export RISKMAP_OGRINFO
# An MQTT broker (Mosquitto) for the sensor ingest tests.
RISKMAP_TEST_MQTT_URL=$(./scripts/mqtt.sh)
export RISKMAP_TEST_MQTT_URL
# nginx for the test of three riskmap replicas behind deploy/nginx.conf (deploy/),
# which skips without RISKMAP_NGINX; the system's nginx service is never started.
RISKMAP_NGINX=$(./scripts/nginx.sh)
export RISKMAP_NGINX

ADMIN_URL=${RISKMAP_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DB="riskmap_test_$(date +%s)_$$"
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB"
cleanup() { psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT
export RISKMAP_TEST_DATABASE_URL="${ADMIN_URL%%/postgres\?*}/$DB?sslmode=disable"
echo "test database: $RISKMAP_TEST_DATABASE_URL"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
    echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go tool staticcheck ./...
echo "== go test -race"
mkdir -p .tmp
log=.tmp/test.log
if ! go test -race -count=1 -timeout 30m -v ./... >"$log" 2>&1; then
    grep -E -- '^(--- FAIL|FAIL|panic|ok )|_test.go:[0-9]+:' "$log" || cat "$log"
    echo "tests failed (full log: $log)"
    exit 1
fi
grep -E '^(ok|\?) ' "$log"
passed=$(grep -c -- '^--- PASS' "$log" || true)
skipped=$(grep -c -- '--- SKIP' "$log" || true)
echo "tests passed: $passed top-level, skipped: $skipped"
if [ "$skipped" != 0 ]; then
    grep -A2 -- '--- SKIP' "$log"
    echo "a test was skipped under make test: every service-backed test must run"
    exit 1
fi
