package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestServiceUnit: deploy/riskmap.service starts `riskmap serve --config
// /etc/riskmap/riskmap.toml`, gives riskmap more time to stop than the example
// configuration's shutdown grace, and — where systemd-analyze is installed — passes
// `systemd-analyze verify` with the binary in place.
func TestServiceUnit(t *testing.T) {
	unit, err := os.ReadFile("riskmap.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nExecStart=/usr/local/bin/riskmap serve --config /etc/riskmap/riskmap.toml\n") {
		t.Error("riskmap.service: ExecStart is not riskmap serve --config /etc/riskmap/riskmap.toml")
	}
	m := regexp.MustCompile(`\nTimeoutStopSec=(\S+)\n`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("riskmap.service: no TimeoutStopSec")
	}
	stop, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: %v", m[1], err)
	}
	var conf struct {
		Server struct {
			ShutdownGrace string `toml:"shutdown_grace"`
		} `toml:"server"`
	}
	if _, err := toml.DecodeFile("riskmap.toml", &conf); err != nil {
		t.Fatal(err)
	}
	grace, err := time.ParseDuration(conf.Server.ShutdownGrace)
	if err != nil {
		t.Fatalf("riskmap.toml server.shutdown_grace %q: %v", conf.Server.ShutdownGrace, err)
	}
	if stop < grace+10*time.Second {
		t.Errorf("TimeoutStopSec=%v leaves less than 10 s beyond server.shutdown_grace %v: systemd would kill riskmap while it flushes", stop, grace)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze not installed: the unit's syntax is not verified here")
		return
	}
	bin := riskmapBinary(t)
	path := filepath.Join(t.TempDir(), "riskmap.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/riskmap", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify riskmap.service: %v\n%s", err, out)
	}
}
