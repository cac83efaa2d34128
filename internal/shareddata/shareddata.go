// Package shareddata finds the project's shared data folder for tests: real census
// files that sit beside the repository and are not part of it (some have no
// licence to redistribute, so they are never committed or copied into testdata).
package shareddata

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Env names the folder holding the shared data when it is not found by walking up
// from the working directory (a clone elsewhere than beside it, as CI's).
const Env = "RISKMAP_SHARED_DATA"

// Fallback is where this workplace keeps the shared data.
const Fallback = "/work/shared/data"

// Dir returns the shared data folder: $RISKMAP_SHARED_DATA, else shared/data in the
// working directory or any parent, else /work/shared/data. The folder may not exist.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if fi, err := os.Stat(filepath.Join(dir, "shared", "data")); err == nil && fi.IsDir() {
				return filepath.Join(dir, "shared", "data")
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return Fallback
}

// Path returns the path of the shared file name, skipping the test with a clear
// message when the file is not there.
func Path(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Dir(), name)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found: this test needs the shared data folder (beside the repository, or set %s)", p, Env)
	} else if err != nil {
		t.Fatal(err)
	}
	return p
}
