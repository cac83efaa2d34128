package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// connsByPID counts the database's client connections (pg_stat_activity) by the
// OS process holding them: each connection's client port is looked up in
// /proc/net/tcp{,6} (the local port's socket inode), and the inode among the
// sockets of pids. Connections not held by one of pids (the test's own) are left
// out; a connection over a Unix socket has no port and cannot be told apart: then
// ok is false.
func connsByPID(ctx context.Context, pool *pgxpool.Pool, pids []int) (counts map[int]int, ok bool, err error) {
	rows, err := pool.Query(ctx, `SELECT coalesce(client_port, -1) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, false, fmt.Errorf("pg_stat_activity: %w", err)
	}
	var ports []int
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			return nil, false, err
		}
		ports = append(ports, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	inodeOfPort := map[int]string{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 10 {
				continue
			}
			_, portHex, _ := strings.Cut(fs[1], ":") // local_address
			port, err := strconv.ParseInt(portHex, 16, 32)
			if err == nil && fs[9] != "0" {
				inodeOfPort[int(port)] = fs[9]
			}
		}
	}
	pidOfInode := map[string]int{}
	for _, pid := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
			if ino, found := strings.CutPrefix(link, "socket:["); found && err == nil {
				pidOfInode[strings.TrimSuffix(ino, "]")] = pid
			}
		}
	}
	counts = map[int]int{}
	ok = true
	for _, p := range ports {
		if p < 0 {
			ok = false
			continue
		}
		if pid, found := pidOfInode[inodeOfPort[p]]; found {
			counts[pid]++
		}
	}
	return counts, ok, nil
}

// rssKB is the resident set size of pid in kB (/proc/pid/status VmRSS).
func rssKB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
