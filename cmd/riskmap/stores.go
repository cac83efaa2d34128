package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"riskmap/demo"
	"riskmap/feed"
	"riskmap/httpapi"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/layers"
	"riskmap/migrations"
	"riskmap/store/gpkg"
	"riskmap/store/postgis"
)

// backend is what serve needs of a store; store/postgis and store/gpkg both are one.
type backend interface {
	feed.Source
	httpapi.Store
	httpapi.SensorStore
	httpapi.EditStore
	httpapi.Tokens
	ingest.Store
	ingest.RelayStore
	mqtt.Store
	CheckSchema(ctx context.Context) error
	PruneChanges(ctx context.Context, cutoff time.Time) (int64, error)
	Close()
}

// schemaStore is what migrate and seed need of a store.
type schemaStore interface {
	demo.Sink
	Migrate(ctx context.Context, progress func(m migrations.Migration)) (int, error)
	SchemaVersion(ctx context.Context) (current, latest int, err error)
	CheckSchema(ctx context.Context) error
	Close()
}

// tokenStore is what the token command needs of a store.
type tokenStore interface {
	httpapi.Tokens
	CheckSchema(ctx context.Context) error
	Close()
}

var (
	_ tokenStore  = (*postgis.Store)(nil)
	_ tokenStore  = (*gpkg.Store)(nil)
	_ backend     = (*postgis.Store)(nil)
	_ backend     = (*gpkg.Store)(nil)
	_ schemaStore = (*postgis.Store)(nil)
	_ schemaStore = (*gpkg.Store)(nil)
)

// storeFlags are the flags that choose the store: PostGIS when a database URL is
// given, else the embedded GeoPackage file.
type storeFlags struct {
	dbURL, gpkgPath *string
}

// storeSpec is the chosen store: PostGIS at DatabaseURL when it is not empty, else
// the GeoPackage file GPKG.
type storeSpec struct {
	DatabaseURL, GPKG string
}

// spec is the store the parsed flags choose.
func (f storeFlags) spec() storeSpec { return storeSpec{DatabaseURL: *f.dbURL, GPKG: *f.gpkgPath} }

// defaultGPKG is the GeoPackage file used when no database URL is given.
const defaultGPKG = "riskmap.gpkg"

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		dbURL: databaseFlag(fs),
		gpkgPath: fs.String("gpkg", envOr("RISKMAP_GPKG", defaultGPKG),
			"the GeoPackage file of the embedded store, used when no database URL is given (env RISKMAP_GPKG)"),
	}
}

// openSchemaStore opens the chosen store for migrate and seed.
func (st storeSpec) openSchemaStore(ctx context.Context, reg *layers.Registry) (schemaStore, error) {
	if st.DatabaseURL != "" {
		return postgis.Open(ctx, st.DatabaseURL, reg)
	}
	return gpkg.Open(ctx, st.GPKG, reg)
}

// openBackend opens the chosen store for serve. PostGIS is opened lazily (the
// database may come up later; the feed retries) and must already be migrated. The
// GeoPackage is this process's own: a new or older file is migrated at once, and a
// file without features gets the demo dataset, saying so on out.
func (st storeSpec) openBackend(ctx context.Context, reg *layers.Registry, out io.Writer) (backend, error) {
	if st.DatabaseURL != "" {
		return postgis.OpenLazy(ctx, st.DatabaseURL, reg)
	}
	_, statErr := os.Stat(st.GPKG)
	s, err := gpkg.Open(ctx, st.GPKG, reg)
	if err != nil {
		return nil, err
	}
	if os.IsNotExist(statErr) {
		fmt.Fprintf(out, "no %s yet: creating it with the Luohu demo dataset (no database server needed; give --database-url for PostGIS)\n", st.GPKG)
	}
	if err := prepareGPKG(ctx, s, reg, out); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepareGPKG migrates the file and seeds the demo dataset when it holds no feature.
func prepareGPKG(ctx context.Context, s *gpkg.Store, reg *layers.Registry, out io.Writer) error {
	_, err := s.Migrate(ctx, func(m migrations.Migration) {
		fmt.Fprintf(out, "%s: applying schema %04d_%s\n", s.Path(), m.Version, m.Name)
	})
	if err != nil {
		return err
	}
	var n int64
	for _, l := range reg.Layers() {
		c, err := s.Count(ctx, l.Name)
		if err != nil {
			return err
		}
		n += c
	}
	if n > 0 {
		return nil
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return err
	}
	res, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{IfEmpty: true, Progress: out})
	if err != nil {
		return fmt.Errorf("seed %s: %w", s.Path(), err)
	}
	fmt.Fprintf(out, "%s: wrote the demo dataset (%d sensors, %d readings of history) in %v\n", s.Path(), res.Sensors, res.Readings, res.Elapsed.Round(time.Millisecond))
	return nil
}

// cliStore is what the command-line tools that work on an existing store need:
// tokens, import and export. Both stores are one.
type cliStore interface {
	tokenStore
	importStore
	exportStore
}

var (
	_ cliStore = (*postgis.Store)(nil)
	_ cliStore = (*gpkg.Store)(nil)
)

// openExisting opens the chosen store for a command-line tool: PostGIS, or a
// GeoPackage that must exist already (missing: what to do instead, in the error)
// and not be held by a running serve (held: what to do instead). The schema must be
// at this binary's version.
func (st storeSpec) openExisting(ctx context.Context, reg *layers.Registry, missing, held string) (cliStore, error) {
	var s cliStore
	if st.DatabaseURL != "" {
		ps, err := postgis.Open(ctx, st.DatabaseURL, reg)
		if err != nil {
			return nil, err
		}
		s = ps
	} else {
		if _, err := os.Stat(st.GPKG); err != nil {
			return nil, fmt.Errorf("%s: %w (%s)", st.GPKG, err, missing)
		}
		gs, err := gpkg.Open(ctx, st.GPKG, reg)
		if errors.Is(err, gpkg.ErrLocked) {
			return nil, fmt.Errorf("%w\nA running riskmap serve holds %s: %s", err, st.GPKG, held)
		}
		if err != nil {
			return nil, err
		}
		s = gs
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w (run riskmap migrate)", err)
	}
	return s, nil
}
