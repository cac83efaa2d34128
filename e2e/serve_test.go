package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"riskmap/internal/proctest"
)

// The riskmap binary the browser tests drive, built once per test process and
// removed by TestMain.
var riskmap = &proctest.Binary{}

func TestMain(m *testing.M) { proctest.Main(m, riskmap) }

// seededDemo builds riskmap (once per test process), migrates the database at dbURL
// and seeds the demo into it, as an operator would; it returns the binary and a
// runner of its subcommands on that database, which returns their stdout and fails
// the test when one exits non-zero.
func seededDemo(t *testing.T, ctx context.Context, dbURL string) (bin string, run func(args ...string) string) {
	t.Helper()
	start := time.Now()
	bin = riskmap.Path(t)
	run = func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "RISKMAP_DATABASE_URL="+dbURL)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("riskmap %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	run("migrate")
	run("seed", "--demo")
	t.Logf("built, migrated and seeded the demo: %v", time.Since(start).Round(time.Millisecond))
	return bin, run
}

// startServe runs riskmap serve on dbURL on a free port with args, its spool in
// spool, and waits until it is ready; stop ends it (SIGINT; safe to call twice and
// from any goroutine). It is stopped when the test ends in any case.
func startServe(t *testing.T, bin, dbURL, spool string, args ...string) (base string, stop func()) {
	t.Helper()
	p := proctest.Serve(t, bin, proctest.Options{Name: "riskmap serve " + strings.Join(args, " "), Stop: os.Interrupt,
		Args: append([]string{"--spool-dir", spool, "--event-flush", "50ms"}, args...),
		Env:  []string{"RISKMAP_DATABASE_URL=" + dbURL, "RISKMAP_WRITE_TOKEN=" + wallToken, "RISKMAP_MQTT_URL=", "RISKMAP_WRITE_TOKEN_FILE="}})
	return p.Base, func() { p.Stop(t) }
}
