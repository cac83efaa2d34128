package deploy_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The riskmap binary, built once per test process (without the race detector: the
// processes are the system under test here, not the code under -race) into binDir,
// which TestMain removes.
var (
	binDir    string
	binOnce   sync.Once
	binPath   string
	binErr    error
	binOutput []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// riskmapBinary builds riskmap/cmd/riskmap once per test process.
func riskmapBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "riskmap-deploy-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "riskmap")
		binOutput, binErr = exec.Command("go", "build", "-o", binPath, "riskmap/cmd/riskmap").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build riskmap: %v\n%s", binErr, binOutput)
	}
	return binPath
}

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

// replica is a `riskmap serve` child process.
type replica struct {
	name   string
	addr   string // host:port
	base   string // http://addr
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{} // closed when the process has exited
}

// startReplica starts `riskmap serve` on dbURL on a free loopback port, with the
// ingest service on or off, in its own directory, and waits (up to 90 s) until its
// /readyz says ready. It is stopped with SIGTERM when the test ends.
func startReplica(t *testing.T, bin, name, dbURL string, ingest bool) *replica {
	t.Helper()
	addr := freeAddr(t)
	r := &replica{name: name, addr: addr, base: "http://" + addr, exited: make(chan struct{})}
	ing := "--ingest=false"
	if ingest {
		ing = "--ingest=true"
	}
	r.cmd = exec.Command(bin, "serve", "--addr", addr, "--database-url", dbURL, ing)
	r.cmd.Dir = t.TempDir()
	// nginx runs on 127.0.0.1: trusted, as docs/deploy.md says to configure it. The
	// test polls the replicas directly from that address far faster than any client
	// (every millisecond): no rate limits on reads and tiles.
	r.cmd.Env = append(os.Environ(), "RISKMAP_TILE_CACHE_MB=32", "RISKMAP_DATABASE_URL=", "RISKMAP_MQTT_URL=",
		"RISKMAP_TRUSTED_PROXIES=127.0.0.1", "RISKMAP_LIMIT_READS_PER_SECOND=0", "RISKMAP_LIMIT_TILES_PER_SECOND=0")
	w := writerFunc(func(b []byte) (int, error) { r.mu.Lock(); defer r.mu.Unlock(); return r.log.Write(b) })
	r.cmd.Stdout, r.cmd.Stderr = w, w
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("log of %s (%s):\n%s", r.name, r.base, r.output())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		if st, _ := readyStatus(http.DefaultClient, r.base); st == "ready" {
			return r
		}
		select {
		case <-r.exited:
			t.Fatalf("%s exited before it was ready:\n%s", r.name, r.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 90 s:\n%s", r.name, r.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit (killing it after 30 s).
func (r *replica) stop(t *testing.T) {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s of SIGTERM; killed", r.name)
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

func (r *replica) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// readyStatus is the status /readyz of base answers ("" when it does not answer).
func readyStatus(c *http.Client, base string) (string, error) {
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	return body.Status, err
}

// freeAddr is a free loopback address (host:port).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
