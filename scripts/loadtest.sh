#!/usr/bin/env bash
# `make loadtest` (60 s) and `make soak` (-soak: 10 minutes, the heap must be flat):
# riskmap's mixed load — tiles z10–z17 with gzip, proximity queries, 500 event
# stream clients, 2,000 readings/s, an edit a second — against a server with the
# demo data (internal/cmd/loadtest; docs/benchmarks.md, "Load test and soak").
#
# Without RISKMAP_LOADTEST_URL it builds riskmap, starts `riskmap serve` on a free
# loopback port with the demo data in a temporary directory — a fresh GeoPackage
# (seeded on first start), or the PostGIS database RISKMAP_DATABASE_URL (migrated,
# seeded if empty) — makes a sensor and an editor token first, waits for /readyz,
# runs the load, and stops the server. With RISKMAP_LOADTEST_URL it loads that
# server instead and needs RISKMAP_LOADTEST_SENSOR_TOKEN and
# RISKMAP_LOADTEST_EDITOR_TOKEN. Extra flags for serve: RISKMAP_LOADTEST_SERVE_FLAGS;
# for the load generator: the script's arguments after -soak (e.g. -duration 30s).
#
# Writes docs/loadtest.svg (docs/soak.svg with -soak) and the per-second samples
# to .tmp/loadtest.csv (.tmp/soak.csv); exits non-zero when any request failed
# or, soaking, the heap was not flat.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=loadtest
if [ "${1:-}" = "-soak" ]; then
    mode=soak
    shift
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/riskmap-loadtest.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "building riskmap and the load generator into $tmp"
go build -o "$tmp/riskmap" ./cmd/riskmap
go build -o "$tmp/loadtest" ./internal/cmd/loadtest

args=()
if [ -z "${RISKMAP_LOADTEST_URL:-}" ]; then
    port=$("$tmp/loadtest" -free-port)
    url=http://127.0.0.1:$port
    store=()
    if [ -n "${RISKMAP_DATABASE_URL:-}" ]; then
        store=(--database-url "$RISKMAP_DATABASE_URL")
        "$tmp/riskmap" migrate "${store[@]}" >/dev/null
        "$tmp/riskmap" seed --demo --if-empty "${store[@]}"
        echo "store: PostGIS (RISKMAP_DATABASE_URL)"
    else
        store=(--gpkg "$tmp/riskmap.gpkg")
        # The tokens go in before serve holds the file; serve seeds the demo on its first start.
        "$tmp/riskmap" migrate "${store[@]}" >/dev/null
        echo "store: a fresh GeoPackage, $tmp/riskmap.gpkg"
    fi
    "$tmp/riskmap" token create --role sensor --name "loadtest sensor" "${store[@]}" 2>/dev/null >"$tmp/sensor-token"
    "$tmp/riskmap" token create --role editor --name "loadtest editor" "${store[@]}" 2>/dev/null >"$tmp/editor-token"
    # The load comes from one address standing for hundreds of clients: rate limits
    # generous for it (the limiter still runs; docs/operations.md), unless given.
    export RISKMAP_LIMIT_READS_PER_SECOND=${RISKMAP_LIMIT_READS_PER_SECOND:-2000} RISKMAP_LIMIT_READS_BURST=${RISKMAP_LIMIT_READS_BURST:-2000}
    export RISKMAP_LIMIT_TILES_PER_SECOND=${RISKMAP_LIMIT_TILES_PER_SECOND:-5000} RISKMAP_LIMIT_TILES_BURST=${RISKMAP_LIMIT_TILES_BURST:-5000}
    export RISKMAP_LIMIT_WRITES_PER_SECOND=${RISKMAP_LIMIT_WRITES_PER_SECOND:-100} RISKMAP_LIMIT_WRITES_BURST=${RISKMAP_LIMIT_WRITES_BURST:-100}
    export RISKMAP_LIMIT_READINGS_PER_SECOND=${RISKMAP_LIMIT_READINGS_PER_SECOND:-1000} RISKMAP_LIMIT_READINGS_BURST=${RISKMAP_LIMIT_READINGS_BURST:-1000}
    export RISKMAP_LIMIT_EVENTS_PER_SECOND=${RISKMAP_LIMIT_EVENTS_PER_SECOND:-100} RISKMAP_LIMIT_EVENTS_BURST=${RISKMAP_LIMIT_EVENTS_BURST:-1000}
    # No MQTT: the readings come over HTTP, and another riskmap's broker session is not touched.
    # shellcheck disable=SC2086
    RISKMAP_MQTT_URL= "$tmp/riskmap" serve "${store[@]}" --addr "127.0.0.1:$port" --spool-dir "$tmp/spool" \
        ${RISKMAP_LOADTEST_SERVE_FLAGS:-} >"$tmp/serve.log" 2>&1 &
    server_pid=$!
    echo "riskmap serve (pid $server_pid) on $url, log $tmp/serve.log (the first start seeds the demo, about 15 s)"
    args+=(-ready-timeout 5m)
    args+=(-url "$url" -pid "$server_pid" -sensor-token-file "$tmp/sensor-token" -editor-token-file "$tmp/editor-token")
else
    url=$RISKMAP_LOADTEST_URL
    args+=(-url "$url")
    echo "loading the running server $url"
fi

mkdir -p .tmp docs
if [ "$mode" = soak ]; then
    args+=(-soak -svg docs/soak.svg -csv .tmp/soak.csv)
else
    args+=(-svg docs/loadtest.svg -csv .tmp/loadtest.csv)
fi
echo "machine: $(nproc) CPUs; $(uptime)"
status=0
"$tmp/loadtest" "${args[@]}" "$@" || status=$?
echo "machine after: $(uptime)"
if [ -n "$server_pid" ]; then
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "riskmap serve died during the run:"
        tail -20 "$tmp/serve.log"
        status=1
    elif grep -Eq 'level=ERROR|"level":"ERROR"' "$tmp/serve.log"; then
        echo "the server logged errors (first 5):"
        grep -E 'level=ERROR|"level":"ERROR"' "$tmp/serve.log" | head -5
    fi
fi
exit $status
