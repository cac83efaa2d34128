package shareddata

import (
	"os"
	"path/filepath"
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

func TestPathSkipsWhenAbsent(t *testing.T) {
	t.Setenv(Env, t.TempDir())
	ran := false
	t.Run("absent", func(t *testing.T) {
		defer func() { ran = true }()
		Path(t, "no-such-file.geojson")
		t.Error("Path did not skip for a missing file")
	})
	if !ran {
		t.Fatal("subtest did not run")
	}
}
