// Package proctest runs riskmap's own binary in tests, as an operator would: built
// once per test process, started as `riskmap serve` on a free loopback port,
// ready when its /readyz says so, and stopped with a signal when the test ends.
//
// It serves the tests of cmd/riskmap, deploy and e2e; it never touches a database
// itself (the tests pass URLs in Options.Args or Options.Env).
package proctest

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"riskmap/internal/syncbuf"
)

// Package is the import path of the riskmap command.
const Package = "riskmap/cmd/riskmap"

// Binary is the riskmap binary, built on first use into a temporary folder that
// Remove deletes. Declare one per test package (with Race set or not) and pass it
// to Main from TestMain. Safe for concurrent use.
type Binary struct {
	// Race builds with the race detector: for tests whose subject is the
	// command's own code; tests that only drive processes leave it off.
	Race bool

	once sync.Once
	dir  string
	path string
	out  []byte
	err  error
}

// Path builds the binary on the first call and returns its path; a failed build
// fails the test (and every later caller's) with the compiler's output.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "riskmap-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "riskmap")
		args := []string{"build", "-o", b.path}
		if b.Race {
			args = append(args, "-race")
		}
		b.out, b.err = exec.Command("go", append(args, Package)...).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build %s: %v\n%s", Package, b.err, b.out)
	}
	return b.path
}

// Main is a test package's TestMain: it runs the tests, removes the binaries
// bins built and exits with the tests' code.
func Main(m *testing.M, bins ...*Binary) {
	code := m.Run()
	for _, b := range bins {
		b.Remove()
	}
	os.Exit(code)
}

// Remove deletes what Path built. Main calls it.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Options say how Serve starts `riskmap serve`.
type Options struct {
	// Name names the process in messages; "riskmap serve" when empty.
	Name string
	// Args follow `serve --addr HOST:PORT`.
	Args []string
	// Env is added to the test's environment (later entries win).
	Env []string
	// Dir is the working directory; "" is the test's.
	Dir string
	// Wait is how long the process has to become ready: 60 s when zero.
	Wait time.Duration
	// Stop is the signal that stops it when the test ends: SIGTERM when nil.
	Stop os.Signal
}

// Proc is a running `riskmap serve` started by Serve.
type Proc struct {
	Name string
	Addr string // host:port it listens on
	Base string // http://Addr
	Cmd  *exec.Cmd

	stop   os.Signal
	exited chan struct{} // closed when the process has exited
	log    syncbuf.Buffer
}

// Serve starts `riskmap serve --addr <free loopback port>` with o and waits until
// its /readyz answers "ready", failing the test if the process exits first or is
// not ready within o.Wait. When the test ends the process is stopped (Stop) and,
// if the test failed, its output logged.
func Serve(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	addr := FreeAddr(t)
	p := &Proc{Name: o.Name, Addr: addr, Base: "http://" + addr, stop: o.Stop, exited: make(chan struct{})}
	if p.Name == "" {
		p.Name = "riskmap serve"
	}
	if p.stop == nil {
		p.stop = syscall.SIGTERM
	}
	p.Cmd = exec.Command(bin, append([]string{"serve", "--addr", addr}, o.Args...)...)
	p.Cmd.Dir = o.Dir
	p.Cmd.Env = append(os.Environ(), o.Env...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.log, &p.log
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", p.Name, p.Base, p.Output())
		}
	})
	wait := o.Wait
	if wait == 0 {
		wait = 60 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		st, err := ReadyStatus(http.DefaultClient, p.Base)
		if st == "ready" {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready:\n%s", p.Name, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v (status %q, %v):\n%s", p.Name, wait, st, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends the stop signal and waits for the process to exit, killing it (and
// failing the test) when it has not exited 30 s later. Stopping a process that
// has exited does nothing.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(p.stop)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s of %v; killed", p.Name, p.stop)
		_ = p.Cmd.Process.Kill()
		<-p.exited
	}
}

// Exited is closed when the process has exited (for whatever reason); then
// p.Cmd.ProcessState holds its exit status.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Output is what the process has written to stdout and stderr so far.
func (p *Proc) Output() string { return p.log.String() }

// ReadyStatus is the status the /readyz of base answers with ("" with the error
// when it does not answer JSON).
func ReadyStatus(c *http.Client, base string) (string, error) {
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	return body.Status, err
}

// FreeAddr is a loopback address (host:port) that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
