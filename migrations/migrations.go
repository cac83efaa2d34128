// Package migrations holds riskmap's versioned SQL schema, embedded in the binary.
//
// Files are named NNNN_description.sql under a folder per store ("postgis", "gpkg"); the
// number is the schema version the file brings the database to. A migration that has
// been released is never edited: changes come as a new file.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed postgis/*.sql
var postgisFiles embed.FS

//go:embed gpkg/*.sql
var gpkgFiles embed.FS

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string // description part of the file name
	SQL     string
}

// PostGIS returns the PostGIS migrations in version order. Versions are checked to run
// 1, 2, 3... without gaps or duplicates.
func PostGIS() ([]Migration, error) {
	return load(postgisFiles, "postgis")
}

// GPKG returns the GeoPackage store's migrations (store/gpkg) in version order,
// checked like PostGIS's.
func GPKG() ([]Migration, error) {
	return load(gpkgFiles, "gpkg")
}

func load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: read %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, desc, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s/%s: name must be NNNN_description.sql", dir, name)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s/%s: %w", dir, name, err)
		}
		out = append(out, Migration{Version: v, Name: desc, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: %s: expected version %d, found %d (%s)", dir, i+1, m.Version, m.Name)
		}
	}
	return out, nil
}
