# riskmap — the two commands of the README, and helpers.
.PHONY: run run-postgis test build demo-picture fuzz loadtest soak

# Serve the Luohu demo data from ./riskmap.gpkg: no database server, no root.
run:
	./scripts/run-demo.sh

# Serve the Luohu demo data from PostGIS (prepares a local one when RISKMAP_DATABASE_URL is unset).
run-postgis:
	./scripts/run-postgis.sh

# Everything CI runs: gofmt, go vet, staticcheck, go test -race against a real PostGIS.
test:
	./scripts/test.sh

build:
	go build -o bin/riskmap ./cmd/riskmap

# Redraw docs/demo-data.png from the demo generator.
demo-picture:
	go run ./demo/cmd/demomap -o docs/demo-data.png

# Every native fuzz test for 60 s each (FUZZTIME=10s for less); crashes become testdata/fuzz regressions.
fuzz:
	./scripts/fuzz.sh

# 60 s of mixed load against a riskmap serving the demo data: p50/p99 per kind, errors, memory.
loadtest:
	./scripts/loadtest.sh

# The 10-minute soak of the load test (not part of make test): the heap must stay flat.
soak:
	./scripts/loadtest.sh -soak
