package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// buildBinary builds riskmap into bin from the module this tool belongs to.
func buildBinary(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("not inside the riskmap module: run from its directory, or pass -bin")
	}
	start := time.Now()
	fmt.Printf("building riskmap: go build -o %s ./cmd/riskmap\n", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/riskmap")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	fmt.Printf("  built in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// database is the benchmark's own database.
type database struct {
	admin, name, url string
}

func createDatabase(ctx context.Context, admin string) (*database, error) {
	u, err := url.Parse(admin)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return nil, fmt.Errorf("-admin-url must be a postgres:// URL, got %q", admin)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := "riskmap_feedlag_" + hex.EncodeToString(b[:])
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", admin, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	fmt.Printf("database %s created\n", name)
	return &database{admin: admin, name: name, url: u.String()}, nil
}

// drop drops the database, whatever is still connected to it.
func (d *database) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "feedlag: drop database %s: %v\n", d.name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "feedlag: drop database %s: %v\n", d.name, err)
		return
	}
	fmt.Printf("database %s dropped\n", d.name)
}

// childEnv is the environment without RISKMAP_* variables, so the children run with
// the defaults and the flags given.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RISKMAP_") {
			env = append(env, kv)
		}
	}
	return env
}

// prepareDatabase migrates the database and seeds the demo dataset, showing the
// seed's progress, then runs ANALYZE when analyze is set: a database in service has
// statistics (autovacuum analyzes new tables within a minute or so), and without
// them PostgreSQL may plan the feed's query of the change log badly.
func prepareDatabase(ctx context.Context, bin, dbURL string, analyze bool) error {
	for _, args := range [][]string{{"migrate"}, {"seed", "--demo"}} {
		start := time.Now()
		fmt.Printf("riskmap %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, bin, append(args, "--database-url", dbURL)...)
		cmd.Env = childEnv()
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				fmt.Printf("  %s\n", sc.Text())
			}
		}()
		err := cmd.Run()
		pw.Close()
		<-done
		if err != nil {
			return fmt.Errorf("riskmap %s: %w", strings.Join(args, " "), err)
		}
		fmt.Printf("  done in %v\n", time.Since(start).Round(time.Millisecond))
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var autovacuum string
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		return err
	}
	if !analyze {
		fmt.Printf("no ANALYZE after seeding (-no-analyze; autovacuum is %s on this server)\n", autovacuum)
		return nil
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Printf("ANALYZE in %v (autovacuum is %s on this server; -no-analyze skips this)\n", time.Since(start).Round(time.Millisecond), autovacuum)
	return nil
}

// server is one `riskmap serve` child process.
type server struct {
	n       int
	base    string // http://127.0.0.1:port
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	args    []string
	started time.Time
	exited  chan struct{}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts process n, logging to a file in dir.
func startServer(ctx context.Context, bin, dbURL string, n int, dir string, eventFlush time.Duration) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{n: n, base: "http://" + addr, logPath: filepath.Join(dir, fmt.Sprintf("serve-%d.log", n)), exited: make(chan struct{})}
	s.args = []string{"serve", "--addr", addr, "--database-url", dbURL}
	if eventFlush > 0 {
		s.args = append(s.args, "--event-flush", eventFlush.String())
	}
	if s.logFile, err = os.Create(s.logPath); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	// Its own process group: a Ctrl-C in the terminal reaches only this tool, which
	// stops the servers in order. Pdeathsig: they end if the tool is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		s.logFile.Close()
		return nil, err
	}
	s.started = time.Now()
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	fmt.Printf("process %d: %s %s (pid %d, log %s)\n", n, filepath.Base(bin), strings.Join(redact(s.args), " "), s.cmd.Process.Pid, s.logPath)
	return s, nil
}

// redact shortens the database URL in printed arguments to its database name.
func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i := 1; i < len(out); i++ {
		if out[i-1] == "--database-url" {
			if u, err := url.Parse(out[i]); err == nil {
				out[i] = "postgres://…" + u.Path
			}
		}
	}
	return out
}

// waitReady waits until /readyz answers "ready".
func (s *server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	last := ""
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("process %d exited before it was ready (%v); log: %s\n%s", s.n, s.cmd.ProcessState, s.logPath, tail(s.logPath, 20))
		default:
		}
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			var body struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if body.Status == "ready" {
				fmt.Printf("process %d ready %v after its start (index loaded)\n", s.n, time.Since(s.started).Round(time.Millisecond))
				return nil
			}
			last = body.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d not ready after %v (last: %s); log: %s", s.n, limit, last, s.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop interrupts the process and waits for it (killing it after 20 s).
func (s *server) stop() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			fmt.Fprintf(os.Stderr, "feedlag: process %d (pid %d) did not stop in 20 s; killing it\n", s.n, s.cmd.Process.Pid)
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.logFile.Close()
}

func stopServers(servers []*server) {
	for _, s := range servers {
		s.stop()
	}
	if len(servers) > 0 {
		fmt.Printf("%d server processes stopped\n", len(servers))
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procCPU is the user+system CPU time of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	// Fields after the command: state(3) ... utime(14) stime(15), 1-based.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return ticks(ut + st), true
}

// ticks converts clock ticks (USER_HZ, 100 on Linux) to a duration.
func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// backendsCPU sums the CPU time of the PostgreSQL backends connected to database
// name (their process title names it). Backends that ended are not counted.
func backendsCPU(name string) map[int]time.Duration {
	out := map[int]time.Duration{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cl), "postgres: ") || !strings.Contains(string(cl), " "+name+" ") {
			continue
		}
		if c, ok := procCPU(pid); ok {
			out[pid] = c
		}
	}
	return out
}

// machineCPU reads /proc/stat: busy and total time of all CPUs.
func machineCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	var sum, idle int64
	for i, x := range f[1:] {
		v, _ := strconv.ParseInt(x, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		sum += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return ticks(sum - idle), ticks(sum)
}

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
