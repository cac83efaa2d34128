package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// needBrowser returns the Chromium binary (RISKMAP_CHROMIUM) and Node.js that run
// script, skipping t with what to install when either, or e2e's npm packages, is
// missing (make test provides them all).
func needBrowser(t *testing.T, script string) (chromium, node string) {
	t.Helper()
	chromium = os.Getenv("RISKMAP_CHROMIUM")
	if chromium == "" {
		t.Skip("RISKMAP_CHROMIUM is not set: set it to a Chromium binary (./scripts/browser.sh installs one and prints its path) to run the browser test")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("e2e/node_modules is missing playwright-core: run ./scripts/browser.sh or npm ci --prefix e2e")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("node is not installed: the browser test runs e2e/%s with Node.js", script)
	}
	return chromium, node
}
