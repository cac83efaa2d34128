package importer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paulmach/orb"
)

// Limits every reader enforces, so a hostile or broken file cannot exhaust memory.
const (
	// MaxFileBytes is the largest file read (CSV and GeoJSON are read whole).
	MaxFileBytes = 512 << 20
	// MaxRows is the most rows (features) one file may hold.
	MaxRows = 2_000_000
	// MaxColumns is the most columns (CSV header fields, distinct GeoJSON
	// property names, GeoPackage columns).
	MaxColumns = 500
	// MaxLineBytes is the longest CSV line, in bytes.
	MaxLineBytes = 1 << 20
	// MaxFeatureBytes is the largest one GeoJSON feature, in bytes.
	MaxFeatureBytes = 16 << 20
	// MaxDepth is the deepest JSON nesting of one GeoJSON feature (a
	// MultiPolygon's coordinates are 4 deep inside geometry, 6 in all).
	MaxDepth = 32
)

// ErrFormat is wrapped by every error about a file that cannot be read as its
// format at all (as opposed to bad rows, which are RowErrors).
var ErrFormat = errors.New("cannot read file")

// ErrTooLarge is wrapped when a file exceeds one of the limits above.
var ErrTooLarge = errors.New("over a limit")

// Format is an input file format.
type Format string

// Formats.
const (
	GeoJSON    Format = "geojson"
	CSV        Format = "csv"
	GeoPackage Format = "gpkg"
)

// ParseFormat reads a format name (geojson, json, csv, gpkg).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "geojson", "json":
		return GeoJSON, nil
	case "csv", "txt", "tsv":
		return CSV, nil
	case "gpkg", "geopackage":
		return GeoPackage, nil
	}
	return "", fmt.Errorf("%w: unknown format %q: use geojson, csv or gpkg", ErrFormat, s)
}

// FormatOf guesses a file's format from its extension.
func FormatOf(path string) (Format, error) {
	ext := filepath.Ext(path)
	if ext == "" {
		return "", fmt.Errorf("%w: %s has no extension: give --format geojson, csv or gpkg", ErrFormat, path)
	}
	return ParseFormat(ext)
}

// Table is a file read by a reader: its columns and rows.
type Table struct {
	Format Format
	// Name is the GeoPackage table read (empty for other formats).
	Name string
	// Columns are the source column names in file order (GeoJSON: property names
	// in order of first appearance). The geometry is not a column, except in CSV.
	Columns []string
	Rows    []Row
	// CRS is the coordinate system the file declares when it is not WGS84 or
	// CGCS2000 (a GeoPackage in riskmap's "GCJ-02" system); "" otherwise.
	CRS CRS
	// HasGeometry is true for formats with a geometry of their own (GeoJSON,
	// GeoPackage); CSV takes it from columns.
	HasGeometry bool
}

// Row is one source row.
type Row struct {
	// Line is the CSV line the record starts on (header = 1), or the 1-based
	// position of the feature in a GeoJSON or GeoPackage file.
	Line int
	// Values holds one value per Table.Columns entry (missing trailing values are
	// nil): string, float64, int64, bool, json-encoded text of a nested value, or nil.
	Values []any
	// Geometry is the row's geometry (GeoJSON, GeoPackage), in the input CRS.
	Geometry orb.Geometry
	// GeometryErr says why the row's geometry could not be read, "" when it could.
	GeometryErr string
	// Extra counts the non-empty CSV fields past the header's columns: such a row
	// is bad (its values may be shifted).
	Extra int
}

// ReadFile reads path as format (FormatOf(path) when empty). table names the
// GeoPackage feature table to read (the first one when empty).
func ReadFile(path string, format Format, table string) (*Table, error) {
	if format == "" {
		f, err := FormatOf(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if format == GeoPackage {
		return ReadGeoPackage(path, table)
	}
	if table != "" {
		return nil, fmt.Errorf("%w: --table is for GeoPackage input only", ErrFormat)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", path, ErrTooLarge, fi.Size(), MaxFileBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t *Table
	switch format {
	case CSV:
		t, err = ReadCSV(data)
	default:
		t, err = ReadGeoJSON(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// columnIndex finds or adds a column, for readers whose columns grow (GeoJSON).
type columnIndex struct {
	names []string
	index map[string]int
}

func (c *columnIndex) add(name string) (int, error) {
	if i, ok := c.index[name]; ok {
		return i, nil
	}
	if len(c.names) >= MaxColumns {
		return 0, fmt.Errorf("%w: more than %d distinct property names", ErrTooLarge, MaxColumns)
	}
	if c.index == nil {
		c.index = map[string]int{}
	}
	c.index[name] = len(c.names)
	c.names = append(c.names, name)
	return len(c.names) - 1, nil
}
