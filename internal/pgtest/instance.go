package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgMajor is the PostgreSQL version whose binaries StartInstance prefers: the one
// scripts/postgis.sh installs, with PostGIS.
const pgMajor = "15"

// readyTimeout bounds waiting for a starting server to accept connections, and
// for pg_ctl to start or stop it.
const readyTimeout = 30 * time.Second

// Instance is a private PostgreSQL server for one test: its own data directory in
// a temporary directory owned by the postgres OS user, on a free TCP port of
// 127.0.0.1, trust auth, PostGIS available (CREATE EXTENSION works since the
// package is installed system-wide). Outage tests stop, start and restart it.
//
// Stop, Start and Restart call t.Fatal on failure, so call them from the test's
// goroutine; they are safe against each other and the cleanup.
type Instance struct {
	bin     string // directory of initdb and pg_ctl
	base    string // temporary directory: data directory and Unix socket
	data    string // data directory
	logFile string // pg_ctl's server log, in the data directory
	asUser  string // OS user to run initdb/pg_ctl as ("" = the current user)
	port    int

	mu      sync.Mutex
	running bool
}

// StartInstance creates (initdb) and starts a private instance, and registers its
// stop and removal with t.Cleanup. It skips the test with a clear message when
// RISKMAP_TEST_DATABASE_URL is unset (same gate as the other service tests: make
// test sets it), and fails the test when the gate is set but initdb/pg_ctl are
// missing or fail. As root, initdb and pg_ctl run as the postgres OS user
// (through runuser), since PostgreSQL refuses to run as root.
func StartInstance(t testing.TB) *Instance {
	t.Helper()
	if os.Getenv(EnvVar) == "" {
		t.Skipf("%s is not set: skipping a test that needs a private PostgreSQL instance (run `make test`, which sets it)", EnvVar)
	}
	bin, err := findBinDir()
	if err != nil {
		t.Fatalf("pgtest: private PostgreSQL instance: %v", err)
	}
	i := &Instance{bin: bin}

	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root, but there is no postgres OS user to run PostgreSQL as (install Debian's postgresql-%s): %v", pgMajor, err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			t.Fatalf("pgtest: postgres uid %q: %v", u.Uid, err)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			t.Fatalf("pgtest: postgres gid %q: %v", u.Gid, err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Fatalf("pgtest: running as root, but runuser (util-linux) is missing to run PostgreSQL as postgres: %v", err)
		}
		i.asUser = "postgres"
	}

	base, err := os.MkdirTemp(os.TempDir(), "riskmap-pg-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	i.base = base
	i.data = filepath.Join(base, "data")
	i.logFile = filepath.Join(i.data, "server.log")
	// From here on, whatever happens, stop the server (if it got started) and
	// remove the directory when the test ends.
	t.Cleanup(i.cleanup(t))
	if uid >= 0 {
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatalf("pgtest: chown %s to postgres: %v", base, err)
		}
	}

	out, err := i.run("initdb", "-D", i.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	if err != nil {
		t.Fatalf("pgtest: initdb in %s: %v\n%s(the temporary directory must be reachable by the postgres OS user)", i.data, err, out)
	}
	if err := i.writeConfig(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	// Pick a free port; if someone takes it before the server binds it, try once
	// more with another.
	for attempt := 1; ; attempt++ {
		if i.port, err = freePort(); err != nil {
			t.Fatalf("pgtest: pick a free port: %v", err)
		}
		logged, err := i.start()
		if err == nil {
			break
		}
		if attempt < 2 && strings.Contains(logged, "already in use") {
			continue
		}
		t.Fatalf("pgtest: start private PostgreSQL on port %d: %v\n--- %s (tail):\n%s", i.port, err, i.logFile, i.logTail())
	}

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, i.AdminURL())
	if err != nil {
		t.Fatalf("pgtest: connect to private PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE riskmap"); err != nil {
		t.Fatalf("pgtest: create database riskmap on private PostgreSQL: %v", err)
	}
	return i
}

// URL returns a postgres:// URL of database riskmap on the instance (created at
// start), sslmode=disable.
func (i *Instance) URL() string { return i.url("riskmap") }

// AdminURL returns the URL of the postgres database on the instance.
func (i *Instance) AdminURL() string { return i.url("postgres") }

// Port returns the TCP port, the same across Stop and Start.
func (i *Instance) Port() int { return i.port }

func (i *Instance) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", i.port, db)
}

// Stop stops the server (pg_ctl stop -m fast), waiting until it is down.
// Connections break.
func (i *Instance) Stop(t testing.TB) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.running {
		t.Fatalf("pgtest: Stop: private PostgreSQL on port %d is not running", i.port)
	}
	if out, err := i.pgctl("stop", "fast"); err != nil {
		t.Fatalf("pgtest: stop private PostgreSQL on port %d: %v\n%s--- %s (tail):\n%s", i.port, err, out, i.logFile, i.logTail())
	}
	i.running = false
}

// Start starts the server again on the same port and data, waiting until it
// accepts connections.
func (i *Instance) Start(t testing.TB) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.running {
		t.Fatalf("pgtest: Start: private PostgreSQL on port %d is already running", i.port)
	}
	if _, err := i.start(); err != nil {
		t.Fatalf("pgtest: restart private PostgreSQL on port %d: %v\n--- %s (tail):\n%s", i.port, err, i.logFile, i.logTail())
	}
}

// Restart is Stop then Start.
func (i *Instance) Restart(t testing.TB) {
	t.Helper()
	i.Stop(t)
	i.Start(t)
}

// start starts the server on i.port and waits until it accepts connections. It
// returns what the server logged meanwhile (to tell a port clash). Call with i.mu
// held or before i is shared.
func (i *Instance) start() (logged string, err error) {
	var offset int64
	if st, err := os.Stat(i.logFile); err == nil {
		offset = st.Size()
	}
	out, err := i.pgctl("start", "")
	if err == nil {
		i.running = true
		err = i.waitReady()
	} else {
		err = fmt.Errorf("%v\n%s", err, bytes.TrimSpace(out))
		// pg_ctl may have given up while the server still came up (or is
		// coming up): make sure it is down, so that a retry or the cleanup
		// finds a clean state.
		if pid := i.postmasterPID(); pid > 0 && alive(pid) {
			_, _ = i.pgctl("stop", "immediate")
		}
	}
	if b, rerr := os.ReadFile(i.logFile); rerr == nil && int64(len(b)) >= offset {
		logged = string(b[offset:])
	}
	return logged, err
}

// waitReady connects to the server until it accepts connections.
func (i *Instance) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	delay := 10 * time.Millisecond
	for {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(actx, i.AdminURL())
		if err == nil {
			err = conn.Ping(actx)
			conn.Close(actx)
		}
		acancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server did not accept connections within %v: %w", readyTimeout, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// pgctl runs pg_ctl start (mode "") or stop (mode fast or immediate), waiting
// for the server to be up or down.
func (i *Instance) pgctl(action, mode string) ([]byte, error) {
	args := []string{action, "-D", i.data, "-w", "-t", strconv.Itoa(int(readyTimeout / time.Second))}
	switch action {
	case "start":
		// The log goes to a file; without -l the server would keep the
		// output pipe open and pg_ctl's caller would never see EOF.
		args = append(args, "-l", i.logFile, "-o", "-p "+strconv.Itoa(i.port))
	case "stop":
		args = append(args, "-m", mode)
	}
	return i.run("pg_ctl", args...)
}

// run runs one of the PostgreSQL programs, as postgres when root.
func (i *Instance) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(i.bin, prog)
	var cmd *exec.Cmd
	if i.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", i.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	// A directory the postgres user can enter (the test's may be under /root).
	cmd.Dir = i.base
	cmd.Env = pgFreeEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Should a server process keep the output pipe, don't wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// pgFreeEnv is the environment without the libpq variables (PGPORT, PGDATA...)
// that could point pg_ctl at another server.
func pgFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// writeConfig appends the instance's settings to postgresql.conf.
func (i *Instance) writeConfig() error {
	// A Unix socket in our own directory, so as not to collide with the main
	// cluster's in /var/run/postgresql; none if the path would be too long
	// (108 bytes on Linux): the tests connect over TCP anyway.
	sock := i.base
	if len(sock)+len("/.s.PGSQL.65535.lock") >= 100 {
		sock = ""
	}
	// fsync off: the tests never survive a power loss, so nothing need reach the
	// disk. synchronous_commit stays on (the default, as in production): a commit
	// returns once its WAL is written to the kernel, so a crashed backend (after
	// which the server throws away its WAL buffers) cannot take back what the code
	// under test acknowledged.
	conf := fmt.Sprintf(`
# riskmap/internal/pgtest: a throwaway instance for one test.
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
shared_buffers = 32MB
max_connections = 100
fsync = off
full_page_writes = off
logging_collector = off
`, strings.ReplaceAll(sock, "'", "''"))
	f, err := os.OpenFile(filepath.Join(i.data, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cleanup stops the server if it runs (even after a failed test or start) and
// removes the directory.
func (i *Instance) cleanup(t testing.TB) func() {
	return func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		if pid := i.postmasterPID(); pid > 0 && alive(pid) {
			if out, err := i.pgctl("stop", "fast"); err != nil && alive(pid) {
				t.Errorf("pgtest: cleanup: stop private PostgreSQL on port %d: %v\n%s", i.port, err, out)
				if _, err := i.pgctl("stop", "immediate"); err != nil && alive(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		i.running = false
		if err := os.RemoveAll(i.base); err != nil {
			t.Errorf("pgtest: cleanup: %v", err)
		}
	}
}

// postmasterPID returns the pid in postmaster.pid, or 0.
func (i *Instance) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(i.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// logTail returns the end of the server log.
func (i *Instance) logTail() string {
	b, err := os.ReadFile(i.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const tail = 4000
	if len(b) > tail {
		b = b[len(b)-tail:]
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			b = b[j+1:]
		}
	}
	return string(b)
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findBinDir finds the directory of initdb and pg_ctl: Debian's PostgreSQL 15
// (the version scripts/postgis.sh installs, with PostGIS), else the newest other
// Debian one, else the PATH.
func findBinDir() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl"} {
			if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	want := "/usr/lib/postgresql/" + pgMajor + "/bin"
	if has(want) {
		return want, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(a, b int) bool {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[a])))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[b])))
		return va > vb
	})
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("initdb and pg_ctl not found in %s, /usr/lib/postgresql/*/bin or the PATH (install Debian's postgresql-%s and postgresql-%s-postgis-3; scripts/postgis.sh does)", want, pgMajor, pgMajor)
}
