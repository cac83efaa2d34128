package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"riskmap/feature"
	"riskmap/layers"
)

// ErrMapping is wrapped by errors in the options or in how they meet the file's
// columns (a mapped column that is not there, no geometry columns): the whole
// import stops before any row is looked at.
var ErrMapping = errors.New("bad mapping")

// Pseudo-fields of Options.Map naming the geometry columns of a CSV.
const (
	GeomLon = "lon"
	GeomLat = "lat"
	GeomWKT = "wkt"
)

// Options say how source columns become a layer's fields.
type Options struct {
	// CRS of the input coordinates; "" is WGS84.
	CRS CRS
	// Map takes a layer field name (or GeomLon, GeomLat, GeomWKT) to the source
	// column holding it. An empty column name means the field is read from no
	// column. Fields not in Map are looked for by name (see Synonyms).
	Map map[string]string
	// Set gives a field the same source value on every row, instead of any
	// column (e.g. kind=shelter). The value is parsed like a cell.
	Set map[string]string
	// Values maps, per layer field, a source value (compared folded: NFKC, lower
	// case, trimmed) to the value used instead, e.g. kind: 自然斜坡 → natural_slope.
	Values map[string]map[string]string
	// IDPrefix, when not empty, gives a row without an external_id the id
	// IDPrefix + the first 16 hex digits of SHA-256(name | geometry as WKT with
	// WGS84 coordinates rounded to 6 decimals, about 0.1 m): the same row gets
	// the same id on every import, so a re-import updates it. When empty, a row
	// without an external_id is a bad row.
	IDPrefix string
}

// Synonyms are the source column names recognised, without a mapping, for a field
// (besides the field's own name and its Chinese and English labels). Compared
// case-insensitively after NFKC.
var Synonyms = map[string][]string{
	"external_id":      {"externalid", "ext_id", "src_id", "source_id", "编号", "普查编号", "外部编号", "原编号", "风险点编号"},
	"name":             {"名称", "名字", "风险点名称", "点位名称"},
	"address":          {"addr", "地址", "详细地址", "位置"},
	"subdistrict":      {"街道", "所属街道", "街道办"},
	"category":         {"类别", "风险类别", "风险类型"},
	"risk_grade":       {"grade", "风险等级", "等级", "风险级别"},
	"warning_level":    {"预警等级", "预警级别"},
	"hazard_status":    {"整改状态", "隐患状态"},
	"responsible_dept": {"责任单位", "责任部门", "dept"},
	"capacity":         {"容量", "可容纳人数", "容纳人数"},
	"kind":             {"类型"},
}

// Geometry column names recognised in a CSV without a mapping.
var (
	lonNames = []string{"lon", "lng", "long", "longitude", "经度", "x", "point_x"}
	latNames = []string{"lat", "latitude", "纬度", "y", "point_y"}
	wktNames = []string{"wkt", "geometry", "geom", "the_geom", "shape", "几何"}
)

// silentColumns are source columns never used without a mapping and not listed as
// ignored: what riskmap's own export writes besides the fields (id, version,
// updated_at, and layer in GeoJSON), OGR's feature ids and the reject file's reason columns.
var silentColumns = []string{"id", "version", "updated_at", "layer", "fid", "ogc_fid", "_line", "_field", "_value", "_reason"}

// RowError is one problem of one source row.
type RowError struct {
	// Line is the row's source line (see Row.Line).
	Line int
	// Field is the layer field ("geometry" for the geometry, "row" for the row
	// as a whole).
	Field string
	// Value is the source text the field came from ("" when there was none).
	Value  string
	Reason string
}

func (e RowError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("line %d: %s = %q: %s", e.Line, e.Field, short(e.Value), e.Reason)
}

// Result is a mapped table.
type Result struct {
	// Features are the good rows, normalized by the layer, geometry in WGS84.
	Features []feature.Feature
	// Lines[i] is the source line of Features[i].
	Lines []int
	// Errors are the problems of the bad rows, by line.
	Errors []RowError
	// Duplicates are the lines of rows equal to an earlier row in every field and
	// the geometry (external_id included): they are dropped, not errors.
	Duplicates []int
	// Rows is the number of source rows.
	Rows int
	// Columns says which source column each field was read from ("=value" for a
	// field set by Options.Set), for the report.
	Columns map[string]string
	// Ignored lists the source columns no field was read from (not counting the
	// silent ones: id, version, updated_at, layer, fid, ogc_fid and the reject
	// columns).
	Ignored []string
}

// BadLines returns the distinct lines of Errors, in order.
func (r *Result) BadLines() []int {
	var out []int
	for _, e := range r.Errors {
		if len(out) == 0 || out[len(out)-1] != e.Line {
			out = append(out, e.Line)
		}
	}
	return out
}

// Mapper turns the rows of a Table into features of one layer.
type Mapper struct {
	layer *layers.Layer
	opts  Options
}

// NewMapper checks opts against the layer.
func NewMapper(l *layers.Layer, opts Options) (*Mapper, error) {
	if opts.CRS == "" {
		opts.CRS = WGS84
	}
	if _, err := ParseCRS(string(opts.CRS)); err != nil {
		return nil, err
	}
	for k := range opts.Map {
		if k == GeomLon || k == GeomLat || k == GeomWKT {
			continue
		}
		if _, ok := l.Field(k); !ok {
			return nil, fmt.Errorf("%w: --map %s: not a field of layer %s (fields: %s; and lon, lat, wkt)", ErrMapping, k, l.Name, strings.Join(l.FieldNames(), ", "))
		}
	}
	for k := range opts.Set {
		if _, ok := l.Field(k); !ok {
			return nil, fmt.Errorf("%w: --set %s: not a field of layer %s", ErrMapping, k, l.Name)
		}
	}
	vals := map[string]map[string]string{}
	for k, m := range opts.Values {
		if _, ok := l.Field(k); !ok {
			return nil, fmt.Errorf("%w: --value %s: not a field of layer %s", ErrMapping, k, l.Name)
		}
		vals[k] = map[string]string{}
		for from, to := range m {
			vals[k][fold(from)] = to
		}
	}
	opts.Values = vals
	if len(opts.IDPrefix) > 40 {
		return nil, fmt.Errorf("%w: --id-prefix is %d bytes long, at most 40", ErrMapping, len(opts.IDPrefix))
	}
	return &Mapper{layer: l, opts: opts}, nil
}

// source says where a field's value comes from: a column, a constant, or nothing.
type source struct {
	col      int // -1: none
	constant string
	isConst  bool
}

func findColumn(cols []string, names ...string) int {
	for _, n := range names {
		fn := fold(n)
		for i, c := range cols {
			if fold(c) == fn {
				return i
			}
		}
	}
	return -1
}

func (m *Mapper) column(t *Table, key string, auto []string) (int, error) {
	if c, ok := m.opts.Map[key]; ok {
		if c == "" {
			return -1, nil
		}
		i := slices.Index(t.Columns, c)
		if i < 0 {
			i = findColumn(t.Columns, c)
		}
		if i < 0 {
			return -1, fmt.Errorf("%w: --map %s=%s: the file has no column %q (its columns: %s)", ErrMapping, key, c, c, strings.Join(t.Columns, ", "))
		}
		return i, nil
	}
	return findColumn(t.Columns, auto...), nil
}

// Map maps every row of t. The error is an ErrMapping problem that stops the whole
// import; bad rows are in Result.Errors.
func (m *Mapper) Map(t *Table) (*Result, error) {
	l := m.layer
	res := &Result{Rows: len(t.Rows), Columns: map[string]string{}}
	used := make([]bool, len(t.Columns))
	srcs := make([]source, len(l.Fields))
	for i, f := range l.Fields {
		if v, ok := m.opts.Set[f.Name]; ok {
			srcs[i] = source{col: -1, constant: v, isConst: true}
			res.Columns[f.Name] = "=" + v
			continue
		}
		auto := append([]string{f.Name, f.LabelZH, f.LabelEN}, Synonyms[f.Name]...)
		c, err := m.column(t, f.Name, auto)
		if err != nil {
			return nil, err
		}
		srcs[i] = source{col: c}
		if c >= 0 {
			used[c] = true
			res.Columns[f.Name] = t.Columns[c]
		}
	}
	lonCol, latCol, wktCol := -1, -1, -1
	if !t.HasGeometry {
		var err error
		if wktCol, err = m.column(t, GeomWKT, wktNames); err != nil {
			return nil, err
		}
		if lonCol, err = m.column(t, GeomLon, lonNames); err != nil {
			return nil, err
		}
		if latCol, err = m.column(t, GeomLat, latNames); err != nil {
			return nil, err
		}
		if _, mapped := m.opts.Map[GeomWKT]; !mapped && lonCol >= 0 && latCol >= 0 {
			wktCol = -1 // lon/lat columns win over a stray "geometry" column unless wkt is mapped
		}
		switch {
		case wktCol >= 0:
			used[wktCol] = true
			res.Columns["geometry"] = t.Columns[wktCol]
			lonCol, latCol = -1, -1
		case lonCol >= 0 && latCol >= 0:
			used[lonCol], used[latCol] = true, true
			res.Columns["geometry"] = t.Columns[lonCol] + ", " + t.Columns[latCol]
		default:
			return nil, fmt.Errorf("%w: no geometry: the CSV needs lon and lat columns or a WKT column (recognised: %s / %s / %s; or --map lon=COL,lat=COL or --map wkt=COL); its columns: %s",
				ErrMapping, strings.Join(lonNames, ","), strings.Join(latNames, ","), strings.Join(wktNames, ","), strings.Join(t.Columns, ", "))
		}
	}
	for i, c := range t.Columns {
		if !used[i] && !slices.Contains(silentColumns, fold(c)) {
			res.Ignored = append(res.Ignored, c)
		}
	}
	type firstRow struct{ line, feature int } // feature: index in res.Features, -1 when bad
	seen := map[string]firstRow{}             // external_id → its first row
	res.Features = make([]feature.Feature, 0, len(t.Rows))
	res.Lines = make([]int, 0, len(t.Rows))
	for ri := range t.Rows {
		row := &t.Rows[ri]
		errs := len(res.Errors)
		bad := func(field, value, reason string) {
			res.Errors = append(res.Errors, RowError{Line: row.Line, Field: field, Value: value, Reason: reason})
		}
		if row.Extra > 0 {
			bad("row", "", fmt.Sprintf("has %d more values than the header has columns", row.Extra))
		}
		props := make(map[string]any, len(l.Fields))
		rawText := map[string]string{}
		for i, f := range l.Fields {
			var s string
			var ok bool
			switch {
			case srcs[i].isConst:
				s, ok = strings.TrimSpace(srcs[i].constant), strings.TrimSpace(srcs[i].constant) != ""
			case srcs[i].col >= 0 && srcs[i].col < len(row.Values):
				s, ok = text(row.Values[srcs[i].col])
			}
			if !ok {
				continue
			}
			rawText[f.Name] = s
			v, reason := m.convert(f, s)
			if reason != "" {
				bad(f.Name, s, reason)
				continue
			}
			props[f.Name] = v
		}
		g, gtext, reason := m.geometry(t, row, lonCol, latCol, wktCol)
		if reason != "" {
			bad("geometry", gtext, reason)
		}
		if _, ok := props["external_id"]; !ok && m.opts.IDPrefix != "" && g != nil {
			props["external_id"] = m.opts.IDPrefix + stableID(props["name"], g)
		}
		eid, hasID := props["external_id"].(string)
		var dupOf *firstRow
		if hasID {
			if prev, dup := seen[eid]; dup {
				dupOf = &prev
			} else {
				seen[eid] = firstRow{line: row.Line, feature: -1}
			}
		} else if _, failed := rawText["external_id"]; !failed && m.opts.IDPrefix == "" {
			bad("external_id", "", "is empty: every row needs one (give the column with --map external_id=COLUMN, or --id-prefix to derive ids from name and location)")
		}
		norm, err := l.Normalize(props)
		var ve *layers.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				if reported(res.Errors[errs:], p.Field) {
					continue
				}
				bad(p.Field, rawText[p.Field], p.Reason)
			}
		} else if err != nil {
			return nil, err
		}
		if g != nil && reason == "" {
			if err := l.ValidateGeometry(g); errors.As(err, &ve) {
				for _, p := range ve.Problems {
					bad(p.Field, gtext, p.Reason)
				}
			}
		}
		if dupOf != nil {
			if len(res.Errors) == errs && dupOf.feature >= 0 && sameFeature(res.Features[dupOf.feature], norm, g) {
				res.Duplicates = append(res.Duplicates, row.Line)
				continue
			}
			bad("external_id", eid, fmt.Sprintf("is also the external_id of line %d", dupOf.line))
		}
		if len(res.Errors) > errs {
			continue
		}
		if hasID {
			seen[eid] = firstRow{line: row.Line, feature: len(res.Features)}
		}
		res.Features = append(res.Features, feature.Feature{Layer: l.Name, Geometry: g, Props: norm})
		res.Lines = append(res.Lines, row.Line)
	}
	return res, nil
}

// sameFeature reports whether f has exactly props and geometry g.
func sameFeature(f feature.Feature, props map[string]any, g orb.Geometry) bool {
	if !orb.Equal(f.Geometry, g) || len(f.Props) != len(props) {
		return false
	}
	for k, v := range props {
		w, ok := f.Props[k]
		if !ok || !reflect.DeepEqual(v, w) {
			return false
		}
	}
	return true
}

func reported(errs []RowError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// convert parses one cell for field f.
func (m *Mapper) convert(f layers.Field, s string) (any, string) {
	if vm := m.opts.Values[f.Name]; len(vm) > 0 {
		if to, ok := vm[fold(s)]; ok {
			s = to
		}
	}
	switch f.Type {
	case layers.TypeEnum:
		return parseEnum(f, s, nil)
	case layers.TypeInt, layers.TypeFloat:
		return parseNumber(s, f.Unit)
	case layers.TypeBool:
		return parseBool(s)
	case layers.TypeDate:
		return parseDate(s)
	}
	return s, ""
}

// geometry reads a row's geometry, converted to WGS84 and reduced to the layer's
// single type when it is a Multi* of one part. gtext is the source text to quote in
// an error.
func (m *Mapper) geometry(t *Table, row *Row, lonCol, latCol, wktCol int) (g orb.Geometry, gtext, reason string) {
	cell := func(c int) (string, bool) {
		if c < 0 || c >= len(row.Values) {
			return "", false
		}
		return text(row.Values[c])
	}
	switch {
	case t.HasGeometry:
		if row.GeometryErr != "" {
			return nil, "", row.GeometryErr
		}
		if row.Geometry == nil {
			return nil, "", "is required (the feature has no geometry)"
		}
		g = orb.Clone(row.Geometry)
		gtext = row.Geometry.GeoJSONType()
		if p, ok := g.(orb.Point); ok {
			gtext = fmt.Sprintf("%v, %v", p[0], p[1])
		}
	case wktCol >= 0:
		s, ok := cell(wktCol)
		if !ok {
			return nil, "", "is required (the WKT column is empty)"
		}
		gtext = s
		if i := strings.IndexByte(s, ';'); i >= 0 && strings.HasPrefix(strings.ToUpper(s), "SRID=") {
			s = s[i+1:]
		}
		var err error
		g, err = wkt.Unmarshal(s)
		if err != nil {
			return nil, gtext, "is not WKT (POINT (lon lat), POLYGON ((...)), ...)"
		}
	default:
		lon, okLon := cell(lonCol)
		lat, okLat := cell(latCol)
		gtext = strings.TrimSpace(lon + ", " + lat)
		switch {
		case !okLon && !okLat:
			return nil, "", "is required (lon and lat are empty)"
		case !okLon:
			return nil, gtext, "lon is empty"
		case !okLat:
			return nil, gtext, "lat is empty"
		}
		x, r1 := parseNumber(lon, "deg")
		y, r2 := parseNumber(lat, "deg")
		if r1 != "" || r2 != "" {
			return nil, gtext, "lon and lat must be decimal degrees"
		}
		if x == 0 && y == 0 {
			return nil, gtext, "0, 0 is not a location (a failed geocode?)"
		}
		if (y < -90 || y > 90) && x >= -90 && x <= 90 {
			return nil, gtext, "lon and lat look swapped (lat is outside -90..90)"
		}
		g = orb.Point{x, y}
	}
	g = m.single(g)
	g = m.opts.CRS.toWGS84(g)
	return g, gtext, ""
}

// single reduces a Multi* of one part to its part when the layer does not take
// the Multi* type but takes the part's.
func (m *Mapper) single(g orb.Geometry) orb.Geometry {
	l := m.layer
	switch v := g.(type) {
	case orb.MultiPoint:
		if len(v) == 1 && l.Accepts(layers.Point) {
			return v[0]
		}
	case orb.MultiLineString:
		if len(v) == 1 && !l.Accepts(layers.MultiLineString) && l.Accepts(layers.LineString) {
			return v[0]
		}
	case orb.MultiPolygon:
		if len(v) == 1 && !l.Accepts(layers.MultiPolygon) && l.Accepts(layers.Polygon) {
			return v[0]
		}
	}
	return g
}

// stableID is the hash part of a derived external_id: the first 16 hex digits of
// SHA-256 of the name, "|" and the WGS84 geometry as WKT with coordinates rounded to
// 6 decimals.
func stableID(name any, g orb.Geometry) string {
	n, _ := name.(string)
	h := sha256.New()
	h.Write([]byte(n))
	h.Write([]byte{'|'})
	h.Write([]byte(roundedWKT(g)))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func roundedWKT(g orb.Geometry) string {
	c := orb.Clone(g)
	r := func(ps []orb.Point) {
		for i := range ps {
			for k := range 2 {
				v, _ := strconv.ParseFloat(strconv.FormatFloat(ps[i][k], 'f', 6, 64), 64)
				ps[i][k] = v
			}
		}
	}
	switch v := c.(type) {
	case orb.Point:
		s := []orb.Point{v}
		r(s)
		c = s[0]
	case orb.MultiPoint:
		r(v)
	case orb.LineString:
		r(v)
	case orb.MultiLineString:
		for _, x := range v {
			r(x)
		}
	case orb.Polygon:
		for _, x := range v {
			r(x)
		}
	case orb.MultiPolygon:
		for _, p := range v {
			for _, x := range p {
				r(x)
			}
		}
	}
	return wkt.MarshalString(c)
}
