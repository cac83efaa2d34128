# riskmap — the two commands of the README, and helpers.
.PHONY: run run-postgis test build demo-picture

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
