package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"riskmap/export"
	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/store/gpkg"
	"riskmap/store/postgis"
)

const exportSynopsis = `Write one layer as GeoJSON, CSV (UTF-8 with BOM, for Excel) or a GeoPackage:

  riskmap export --layer risk_points --format csv --min-grade significant -o risks.csv
  riskmap export --layer slopes --format gpkg --bbox 114.10,22.53,114.16,22.58 -o slopes.gpkg
  riskmap export --layer resources --crs gcj02 > resources-gcj02.geojson

The layer is loaded from the store (--database-url, or the GeoPackage --gpkg) into
the same in-memory index serve answers from, and written as GET /api/v1/export
writes it, byte for byte. The store is only read: it is never migrated or seeded.
A GeoPackage held by a running "riskmap serve" cannot be opened: download from that
server instead (GET /api/v1/export?layer=...&format=...). Columns, coordinate
systems and examples: docs/export.md.`

// exportFilterFlags are the filter flags: the API's filter parameters (but layers)
// with dashes, each passed to index.ParseFilter under its API name.
var exportFilterFlags = []struct{ flag, param, usage string }{
	{"grade", "grade", "risk grades, comma-separated: low, general, significant, major"},
	{"min-grade", "min_grade", "the lowest risk grade kept"},
	{"warning", "warning", "warning levels, comma-separated: none, blue, yellow, orange, red"},
	{"min-warning", "min_warning", "the lowest warning level kept"},
	{"category", "category", "risk categories (codes), comma-separated"},
	{"kind", "kind", "kinds (codes), comma-separated"},
	{"status", "status", "hazard statuses, comma-separated: open, rectifying, closed"},
	{"subdistrict", "subdistrict", "sub-district codes, comma-separated"},
	{"open", "open", "resources open (true) or not (false)"},
	{"min-capacity", "min_capacity", "the smallest capacity kept (persons)"},
}

// exportStore is what export needs of a store: its features, read.
type exportStore interface {
	index.Source
	CheckSchema(ctx context.Context) error
	Close()
}

var (
	_ exportStore = (*postgis.Store)(nil)
	_ exportStore = (*gpkg.Store)(nil)
)

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("export", exportSynopsis, stdout, stderr)
	sf := addStoreFlags(fs)
	layer := fs.String("layer", "", "the layer to export (required): "+strings.Join(layerNames(layers.New()), ", "))
	format := fs.String("format", "geojson", "geojson, csv or gpkg")
	crs := fs.String("crs", "wgs84", "coordinates written (and of --bbox): wgs84 (EPSG:4326) or gcj02 (AMap, Tencent)")
	bbox := fs.String("bbox", "", "minlon,minlat,maxlon,maxlat: keep features whose bounds meet the box")
	out := fs.String("o", "-", "the file to write; - is standard output")
	filters := map[string]*string{}
	for _, f := range exportFilterFlags {
		filters[f.flag] = fs.String(f.flag, "", f.usage)
	}
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	reg := layers.New()
	req, err := exportRequest(fs, reg, *layer, *format, *crs, *bbox, filters)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap export: %v\n", err)
		return 2
	}
	if err := runExport(ctx, sf.spec(), reg, req, *out, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "riskmap export: %v\n", err)
		return 1
	}
	return 0
}

// exportRequest checks the flags: bad usage is an error naming the flag.
func exportRequest(fs *flag.FlagSet, reg *layers.Registry, layer, format, crs, bbox string, filters map[string]*string) (export.Request, error) {
	var req export.Request
	if layer == "" {
		return req, fmt.Errorf("--layer is required: one of %s", strings.Join(layerNames(reg), ", "))
	}
	if _, err := reg.Layer(layer); err != nil {
		return req, fmt.Errorf("--layer: %w (one of %s)", err, strings.Join(layerNames(reg), ", "))
	}
	req.Layer = layer
	var oe *export.OptionError
	f, err := export.ParseFormat(format)
	if errors.As(err, &oe) {
		return req, fmt.Errorf("--%s", err)
	}
	req.Format = f
	c, err := export.ParseCRS(crs)
	if errors.As(err, &oe) {
		return req, fmt.Errorf("--%s", err)
	}
	req.CRS = c
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["bbox"] {
		b, err := export.ParseBBox(bbox)
		if errors.As(err, &oe) {
			return req, fmt.Errorf("--%s", err)
		}
		req.BBox = &b
	}
	params := map[string][]string{}
	flagOf := map[string]string{}
	for _, ff := range exportFilterFlags {
		if set[ff.flag] {
			params[ff.param] = []string{*filters[ff.flag]}
			flagOf[ff.param] = ff.flag
		}
	}
	flt, err := index.ParseFilter(reg, params)
	var fe *index.FilterError
	if errors.As(err, &fe) {
		return req, fmt.Errorf("--%s: %s", flagOf[fe.Param], fe.Reason)
	}
	if err != nil {
		return req, err
	}
	req.Filter = &flt
	return req, nil
}

// runExport loads the layer from the store into an index and writes the export to
// out ("-": stdout). A file is written beside its final name and renamed into place
// once complete, so a failed export leaves no partial file.
func runExport(ctx context.Context, st storeSpec, reg *layers.Registry, req export.Request, out string, stdout, stderr io.Writer) error {
	s, err := openExportStore(ctx, st, reg)
	if err != nil {
		return err
	}
	defer s.Close()
	ix := index.New(reg)
	start := time.Now()
	err = ix.Load(ctx, oneLayer{s, req.Layer}, func(p index.LoadProgress) {
		if p.Layer == req.Layer && !p.Done {
			fmt.Fprintf(stderr, "%s: %d features read\n", p.Layer, p.Loaded)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d features read in %v\n", req.Layer, ix.Count(req.Layer), time.Since(start).Round(time.Millisecond))
	if out != "-" {
		req.TempDir = filepath.Dir(out)
	}
	e, err := export.Prepare(ix, req)
	if err != nil {
		return err
	}
	if out == "-" {
		if err := e.WriteTo(ctx, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d features (%s)\n", e.Count(), req.Format)
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if err := e.WriteTo(ctx, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d features to %s\n", e.Count(), out)
	return nil
}

// openExportStore opens the chosen store to read. A GeoPackage must exist already
// and not be held by a running server.
func openExportStore(ctx context.Context, st storeSpec, reg *layers.Registry) (exportStore, error) {
	return st.openExisting(ctx, reg, "give the store's --gpkg file, or --database-url",
		"download the export from it instead (GET /api/v1/export?layer=...&format=...), or stop it first")
}

// oneLayer is a store streaming only one layer (the others load empty).
type oneLayer struct {
	src   index.Source
	layer string
}

func (o oneLayer) Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error {
	if layer != o.layer {
		return nil
	}
	return o.src.Stream(ctx, layer, fn)
}

// layerNames are the registry's layer names, in its order.
func layerNames(reg *layers.Registry) []string {
	var out []string
	for _, l := range reg.Layers() {
		out = append(out, l.Name)
	}
	return out
}
