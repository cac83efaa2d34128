# riskmap — the two commands of the README, and helpers.
.PHONY: run test build demo-picture

# Serve the Luohu demo data (prepares a local PostGIS when RISKMAP_DATABASE_URL is unset).
run:
	./scripts/run-demo.sh

# Everything CI runs: gofmt, go vet, staticcheck, go test -race against a real PostGIS.
test:
	./scripts/test.sh

build:
	go build -o bin/riskmap ./cmd/riskmap

# Redraw docs/demo-data.png from the demo generator.
demo-picture:
	go run ./demo/cmd/demomap -o docs/demo-data.png
