package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"riskmap/migrations"
)

// buildVersion returns the module version and VCS revision recorded at build time.
func buildVersion() string {
	v := "devel"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

func versionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "Print riskmap's version, the Go version and the schema version it needs.", stdout, stderr)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	schema := 0
	if all, err := migrations.PostGIS(); err == nil {
		schema = len(all)
	}
	fmt.Fprintf(stdout, "riskmap %s (%s, schema %d)\n", buildVersion(), runtime.Version(), schema)
	return 0
}
