package shareddata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirFromEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv(Env, d)
	if got := Dir(); got != d {
		t.Fatalf("Dir() = %q, want %q", got, d)
	}
}

func TestDirWalksUp(t *testing.T) {
	t.Setenv(Env, "")
	root := t.TempDir()
	want := filepath.Join(root, "shared", "data")
	deep := filepath.Join(root, "repo", "pkg", "sub")
	for _, d := range []string{want, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(deep)
	if got := Dir(); got != want {
		t.Fatalf("Dir() = %q, want %q", got, want)
	}
}

// skipRecorder is a testing.TB whose Skipf records the message and stops the
// caller (as the real one does), so the skip of a missing file is tested without a
// skipped test in the run (make test fails on any skip).
type skipRecorder struct {
	testing.TB
	msg string
}

type skipped struct{}

func (r *skipRecorder) Helper() {}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(skipped{})
}

func TestPathSkipsWhenAbsent(t *testing.T) {
	t.Setenv(Env, t.TempDir())
	rec := &skipRecorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(skipped); !ok {
					panic(v)
				}
			}
		}()
		Path(rec, "no-such-file.geojson")
		t.Error("Path did not skip for a missing file")
	}()
	if !strings.Contains(rec.msg, "no-such-file.geojson not found") || !strings.Contains(rec.msg, Env) {
		t.Errorf("skip message %q does not name the file and %s", rec.msg, Env)
	}
}
