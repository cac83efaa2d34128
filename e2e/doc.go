// Package e2e holds riskmap's real-browser end-to-end tests: the server's vector tiles,
// TileJSON and MapLibre style drawn by MapLibre GL JS in headless Chromium.
//
// The tests need Node.js, the npm packages of package-lock.json in e2e/node_modules
// and a Chromium binary named by RISKMAP_CHROMIUM; without them they skip.
// ./scripts/browser.sh installs what is missing and prints the Chromium path:
//
//	./scripts/browser.sh
//	RISKMAP_CHROMIUM=/usr/bin/chromium go test -race ./e2e
//
// Screenshots are written to .tmp/e2e/ at the top of the repository.
package e2e
