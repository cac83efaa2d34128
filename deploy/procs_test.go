package deploy_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"riskmap/internal/proctest"
)

// The riskmap binary, built once per test process (without the race detector: the
// processes are the system under test here, not the code under -race) and removed
// by TestMain.
var riskmap = &proctest.Binary{}

func TestMain(m *testing.M) { proctest.Main(m, riskmap) }

// riskmapBinary builds riskmap/cmd/riskmap once per test process.
func riskmapBinary(t *testing.T) string { return riskmap.Path(t) }

// run runs the riskmap binary with args and returns its stdout, failing the test
// on a non-zero exit.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "RISKMAP_DATABASE_URL=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("riskmap %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// startReplica starts `riskmap serve` on dbURL on a free loopback port, with the
// ingest service on or off, in its own directory, and waits (up to 90 s) until its
// /readyz says ready. It is stopped with SIGTERM when the test ends.
func startReplica(t *testing.T, bin, name, dbURL string, ingest bool) *proctest.Proc {
	t.Helper()
	ing := "--ingest=false"
	if ingest {
		ing = "--ingest=true"
	}
	// nginx runs on 127.0.0.1: trusted, as docs/deploy.md says to configure it. The
	// test polls the replicas directly from that address far faster than any client
	// (every millisecond): no rate limits on reads and tiles.
	return proctest.Serve(t, bin, proctest.Options{Name: name, Wait: 90 * time.Second, Dir: t.TempDir(),
		Args: []string{"--database-url", dbURL, ing},
		Env: []string{"RISKMAP_TILE_CACHE_MB=32", "RISKMAP_DATABASE_URL=", "RISKMAP_MQTT_URL=",
			"RISKMAP_TRUSTED_PROXIES=127.0.0.1", "RISKMAP_LIMIT_READS_PER_SECOND=0", "RISKMAP_LIMIT_TILES_PER_SECOND=0"}})
}
