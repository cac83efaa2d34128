// Package export writes one layer of the in-memory index as a file a GIS office
// opens: GeoJSON (RFC 7946 FeatureCollection), CSV (UTF-8 with a BOM, for Excel) or
// a standalone GeoPackage 1.3. The command line (riskmap export) and the HTTP API
// (GET /api/v1/export) both go through Prepare and Export.WriteTo, so they write the
// same bytes for the same request.
//
// Coordinates are WGS84 / CGCS2000 longitude-latitude degrees (EPSG:4326), or, with
// CRS GCJ02, the GCJ-02 offset coordinates Chinese consumer map apps (AMap, Tencent)
// use: every geometry is then transformed with geo.WGS84ToGCJ02 on a copy (the
// index's geometries are shared and never modified).
//
// GeoJSON and CSV are streamed: a feature is encoded, written and forgotten; what is
// held is the list of the selected records (pointers into the index, immutable).
// A GeoPackage is an SQLite database, written to a temporary file and then copied.
//
// It is pure: no network, no database server (the GeoPackage is a local file).
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/index"
	"riskmap/layers"
)

// Format is an export file format.
type Format string

// Formats.
const (
	GeoJSON Format = "geojson"
	CSV     Format = "csv"
	GPKG    Format = "gpkg"
)

// Formats lists the formats, in the order the help texts name them.
func Formats() []Format { return []Format{GeoJSON, CSV, GPKG} }

// CRS is the coordinate system of an export's coordinates (and of its bbox).
type CRS string

// Coordinate systems.
const (
	// WGS84 is longitude-latitude degrees on WGS 84 (EPSG:4326), which riskmap
	// stores; CGCS2000 (EPSG:4490) is the same to within centimeters.
	WGS84 CRS = "wgs84"
	// GCJ02 is the offset coordinate system of Chinese web maps (AMap, Tencent).
	GCJ02 CRS = "gcj02"
)

// OptionError is an export option with a bad value: Option names it as the API's
// query parameter ("format", "crs", "bbox").
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Reason }

// ParseFormat reads a format name; anything else is an *OptionError.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if s == string(f) {
			return f, nil
		}
	}
	return "", &OptionError{"format", fmt.Sprintf("%q is not one of geojson, csv, gpkg", s)}
}

// ParseCRS reads a coordinate system name ("" is WGS84); anything else is an
// *OptionError.
func ParseCRS(s string) (CRS, error) {
	switch CRS(s) {
	case "", WGS84:
		return WGS84, nil
	case GCJ02:
		return GCJ02, nil
	}
	return "", &OptionError{"crs", fmt.Sprintf("%q is not one of wgs84, gcj02", s)}
}

// ParseBBox reads "minlon,minlat,maxlon,maxlat" (degrees; spaces around the numbers
// allowed). The box must be finite, inside -180..180 and -90..90, with min ≤ max
// (a box crossing the antimeridian is refused). A malformed box is an *OptionError.
func ParseBBox(s string) (orb.Bound, error) {
	bad := func(format string, args ...any) (orb.Bound, error) {
		return orb.Bound{}, &OptionError{"bbox", fmt.Sprintf(format, args...)}
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return bad("%q is not four numbers minlon,minlat,maxlon,maxlat", truncate(s))
	}
	var v [4]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad("%q is not a number", truncate(strings.TrimSpace(p)))
		}
		v[i] = x
	}
	for _, i := range []int{0, 2} {
		if v[i] < -180 || v[i] > 180 {
			return bad("longitude %v is outside -180..180 degrees", v[i])
		}
		if v[i+1] < -90 || v[i+1] > 90 {
			return bad("latitude %v is outside -90..90 degrees", v[i+1])
		}
	}
	if v[0] > v[2] {
		return bad("minlon %v is greater than maxlon %v", v[0], v[2])
	}
	if v[1] > v[3] {
		return bad("minlat %v is greater than maxlat %v", v[1], v[3])
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Request is what to export.
type Request struct {
	Layer  string
	Format Format
	CRS    CRS // "" is WGS84
	// BBox, when not nil, keeps the features whose bounds intersect the box, in the
	// coordinates of CRS (a GCJ-02 box is converted to WGS84 corner by corner), as
	// POST /api/v1/query's bbox does.
	BBox *orb.Bound
	// Filter, when not nil, keeps the features passing its attribute conditions (the
	// filter grammar of the whole API, index.ParseFilter); its layer list is not
	// read.
	Filter *index.Filter
	// TempDir is where a GeoPackage is written before it is copied out; "" is the
	// system's temporary directory.
	TempDir string
}

// Export is one prepared export: the layer and its selected records, by ascending
// id. The records are immutable; an Export may be written more than once.
type Export struct {
	layer *layers.Layer
	recs  []*index.Record
	crs   CRS
	form  Format
	tmp   string
}

// ErrNoFormat: a Request without a format.
var ErrNoFormat = errors.New("export: no format")

// Prepare checks req and selects its records from ix. An unknown layer is an error
// wrapping layers.ErrUnknownLayer; a bad format or CRS an *OptionError.
func Prepare(ix *index.Index, req Request) (*Export, error) {
	l, err := ix.Registry().Layer(req.Layer)
	if err != nil {
		return nil, err
	}
	if req.Format == "" {
		return nil, ErrNoFormat
	}
	if _, err := ParseFormat(string(req.Format)); err != nil {
		return nil, err
	}
	crs, err := ParseCRS(string(req.CRS))
	if err != nil {
		return nil, err
	}
	b := index.World
	if req.BBox != nil {
		b = *req.BBox
		if crs == GCJ02 {
			b = gcj02BoxToWGS84(b)
		}
	}
	f := index.Filter{MinCapacity: -1} // no condition
	if req.Filter != nil {
		f = *req.Filter
	}
	recs := make([]*index.Record, 0, ix.Count(l.Name)) // Visit holds the read lock: no regrowth under it
	err = ix.Visit(l.Name, b, f, func(r *index.Record) bool {
		recs = append(recs, r)
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b *index.Record) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return &Export{layer: l, recs: recs, crs: crs, form: req.Format, tmp: req.TempDir}, nil
}

// gcj02BoxToWGS84 is the WGS84 box spanned by a GCJ-02 box's four corners converted
// back: the corners are exact, and as the offset changes slowly (570 to 620 m
// across Shenzhen) the edges between them are within a few meters of the GCJ-02
// box's.
func gcj02BoxToWGS84(b orb.Bound) orb.Bound {
	out := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, p := range []orb.Point{b.Min, b.Max, {b.Min[0], b.Max[1]}, {b.Max[0], b.Min[1]}} {
		out = out.Extend(geo.GCJ02ToWGS84(p))
	}
	return out
}

// Count is the number of features the export holds.
func (e *Export) Count() int { return len(e.recs) }

// Layer is the exported layer.
func (e *Export) Layer() *layers.Layer { return e.layer }

// ContentType is the media type of the export's format.
func (e *Export) ContentType() string { return ContentType(e.form) }

// FileName is the export's download name: riskmap-LAYER-YYYYMMDD[-gcj02].EXT, the
// date of now in China Standard Time.
func (e *Export) FileName(now time.Time) string {
	name := "riskmap-" + e.layer.Name + "-" + now.In(cst).Format("20060102")
	if e.crs == GCJ02 {
		name += "-gcj02"
	}
	return name + "." + string(e.form)
}

var cst = time.FixedZone("CST", 8*3600)

// ContentType is the media type of a format.
func ContentType(f Format) string {
	switch f {
	case GeoJSON:
		return "application/geo+json"
	case CSV:
		return "text/csv; charset=utf-8"
	case GPKG:
		return "application/geopackage+sqlite3"
	}
	return "application/octet-stream"
}

// WriteTo writes the export to w in its format. It stops with ctx's error when ctx
// ends (checked every few hundred features); what was written by then is a
// truncated file. For a GeoPackage nothing is written to w before the whole file is
// made, so an error then leaves w untouched.
func (e *Export) WriteTo(ctx context.Context, w io.Writer) error {
	switch e.form {
	case GeoJSON:
		return e.writeGeoJSON(ctx, w)
	case CSV:
		return e.writeCSV(ctx, w)
	case GPKG:
		return e.writeGPKG(ctx, w)
	}
	return ErrNoFormat
}

// checkEvery is how many features are written between two looks at the context.
const checkEvery = 256

// geometry returns the record's geometry in the export's CRS: the index's own (not
// to be modified) for WGS84, a transformed copy for GCJ-02.
func (e *Export) geometry(r *index.Record) orb.Geometry {
	if e.crs != GCJ02 {
		return r.Geometry
	}
	return toGCJ02(orb.Clone(r.Geometry))
}

// toGCJ02 transforms g in place (g must be the caller's own copy) and returns it.
func toGCJ02(g orb.Geometry) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		return geo.WGS84ToGCJ02(g)
	case orb.MultiPoint:
		points(g)
	case orb.LineString:
		points(g)
	case orb.MultiLineString:
		for _, ls := range g {
			points(ls)
		}
	case orb.Ring:
		points(g)
	case orb.Polygon:
		for _, ring := range g {
			points(ring)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, ring := range p {
				points(ring)
			}
		}
	case orb.Collection:
		for i := range g {
			g[i] = toGCJ02(g[i])
		}
	}
	return g
}

func points[S ~[]orb.Point](ps S) {
	for i, p := range ps {
		ps[i] = geo.WGS84ToGCJ02(p)
	}
}

// props returns the record's properties as canonical Go values by field name.
func props(l *layers.Layer, r *index.Record) map[string]any {
	m := make(map[string]any, len(l.Fields))
	r.EachProp(func(i int, v layers.PackedValue) bool {
		m[l.Fields[i].Name] = l.Value(v, i)
		return true
	})
	return m
}

// isPointLayer reports whether every feature of l is a Point (CSV: lon, lat
// columns; GeoPackage: a POINT column).
func isPointLayer(l *layers.Layer) bool {
	return len(l.Geometry) == 1 && l.Geometry[0] == layers.Point
}
